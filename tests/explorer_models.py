"""Small fitted models for the explorer tests: fast, offline, no real encoder."""

from __future__ import annotations

import zlib

import numpy as np

from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "acting", "the", "a", "is", "was", "and", "very", "story"]


class FakeEncoder:
    """Deterministic word vectors carrying the planted sentiment; n-gram = mean of words."""

    dim = 12

    def word_vector(self, word: str) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(word.encode()))
        v = rng.normal(size=self.dim)
        v[0] = 2.0 if word in POS else -2.0 if word in NEG else 0.0
        return v

    def encode(self, texts):
        return np.array(
            [np.mean([self.word_vector(w) for w in t.split()], axis=0) for t in texts],
            dtype=np.float32,
        ).reshape(len(texts), self.dim)


def training_texts(n: int = 160, seed: int = 0) -> tuple[list[str], list[str]]:
    X, y = planted_texts(n, [NEG, POS], [0, 1], FILLER, 4, seed)
    return list(X), ["negative" if v == 0 else "positive" for v in y]


def fitted_auglinear(**params):
    from glasstext import AugLinearClassifier

    X, y = training_texts()
    params = {"encoder": FakeEncoder(), "ngram_range": (1, 2), "cv": 3, **params}
    return AugLinearClassifier(**params).fit(X, y)


def fitted_augtree(**params):
    from glasstext import AugTreeClassifier

    X, y = training_texts()
    return AugTreeClassifier(max_depth=3, expansion="none", **params).fit(X, y)
