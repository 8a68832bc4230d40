"""Synthetic labelled texts shared by the model tests: filler words with one planted class word."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

POS = ["good", "great", "fine", "awesome", "lovely", "fun"]
NEG = ["bad", "awful", "terrible", "boring", "dull"]


def planted_texts(
    n: int,
    pools: Sequence[Sequence[str]],
    labels: Sequence[Any],
    filler: Sequence[str],
    n_filler: int,
    seed: int = 0,
) -> tuple[list[str], np.ndarray]:
    """``n`` texts whose class cycles through ``pools``.

    Each text is ``n_filler`` words drawn from ``filler`` with one word of its
    class's pool inserted at one of the first four positions; its label is
    ``labels[class]``. The same arguments give the same texts.
    """
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        label = i % len(pools)
        words = list(rng.choice(filler, size=n_filler))
        words.insert(int(rng.integers(0, 4)), str(rng.choice(pools[label])))
        X.append(" ".join(words))
        y.append(labels[label])
    return X, np.array(y)
