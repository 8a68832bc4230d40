"""Small fitted models and results to draw, shared by the report and browser tests (seconds)."""

from __future__ import annotations

import zlib

import numpy as np

from synthetic import NEG, POS

FILLER = ["movie", "film", "plot", "acting", "story", "the", "a", "was", "very", "cast"]
EXAMPLES = [
    "the movie was great and the acting was lovely",
    "a dull plot and terrible acting",
    "the film was fine but the story was boring",
    "an awesome cast in a fun film",
]
PROTO_FAST = {
    "warmup_epochs": 1,
    "epochs": 3,
    "last_layer_epochs": 5,
    "patience": 3,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "head_learning_rate": 1e-2,
}


class WordEncoder:
    """Deterministic word vectors (an n-gram is the mean of its words): no model, instant."""

    dim = 12

    def encode(self, texts):
        rows = []
        for t in texts:
            vecs = []
            for w in t.split():
                v = np.random.default_rng(zlib.crc32(w.encode())).normal(size=self.dim) * 0.3
                v[0] += 2.0 if w in POS else -2.0 if w in NEG else 0.0
                vecs.append(v)
            rows.append(np.mean(vecs, axis=0))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)


def texts(n: int = 160, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Review-like texts: filler words and one planted sentiment word, labels neg/pos."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(FILLER, size=5))
        words.insert(int(rng.integers(0, 4)), str(rng.choice(POS if label else NEG)))
        if rng.random() < 0.3:  # a second, weaker cue so bigrams matter
            words.append("not bad" if label else "not good")
        X.append(" ".join(words))
        y.append("pos" if label else "neg")
    return X, np.array(y)


def three_classes(y: np.ndarray) -> np.ndarray:
    return np.array([c if i % 3 else "mixed" for i, c in enumerate(y)])


def auglinear(hybrid: bool, n_classes: int = 2):
    from glasstext import AugLinearClassifier

    X, y = texts()
    if n_classes == 3:
        y = three_classes(y)
    return AugLinearClassifier(encoder=WordEncoder(), hybrid=hybrid, cv=3).fit(X, y)


def auglinear_regressor():
    from glasstext import AugLinearRegressor

    X, y = texts()
    target = np.where(y == "pos", 4.0, 1.0) + np.linspace(0, 0.5, len(y))
    return AugLinearRegressor(encoder=WordEncoder()).fit(X, target)


def augtree(n_classes: int = 2):
    from glasstext import AugTreeClassifier

    X, y = texts()
    if n_classes == 3:
        y = three_classes(y)
    return AugTreeClassifier(max_depth=3, expansion="none", ngram_range=(1, 2)).fit(X, y)


def protolm(encoder_dir):
    from glasstext import ProtoLMClassifier

    X, y = texts(96)
    model = ProtoLMClassifier(encoder=str(encoder_dir), n_prototypes_per_class=2, **PROTO_FAST)
    return model.fit(X, y)


def toy_scorer(texts_in):
    """Probability of 'pos' rises with good words, falls with bad ones."""
    out = []
    for t in texts_in:
        words = t.lower().split()
        score = sum(w in POS for w in words) - sum(w in NEG for w in words)
        p = 1.0 / (1.0 + np.exp(-1.5 * score))
        out.append([1.0 - p, p])
    return np.array(out)


def attribution(method: str = "kernelshap"):
    from glasstext.explain import CallableScorer, KernelShapExplainer, LimeExplainer

    scorer = CallableScorer(toy_scorer, classes=["negative", "positive"])
    cls = KernelShapExplainer if method == "kernelshap" else LimeExplainer
    return cls(scorer, seed=0).explain(
        "A great cast, a lovely story, but the ending was boring",
        target_class="positive",
    )


def proxied_attribution():
    from glasstext.explain import CallableScorer, ProxyExplainer

    target = CallableScorer(toy_scorer, classes=["negative", "positive"])
    proxy = CallableScorer(toy_scorer, classes=["negative", "positive"])
    return ProxyExplainer(target, proxy, method="kernelshap", seed=0).explain(
        "a great cast and a lovely story but a dull ending", target_class="positive"
    )


def faithfulness_result():
    from glasstext.explain import faithfulness

    return faithfulness(attribution(), toy_scorer)
