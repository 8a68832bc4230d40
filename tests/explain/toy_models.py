"""Tiny models whose explanations are known, for the explainer tests."""

from __future__ import annotations

import itertools
import math

import numpy as np

from glasstext.text import tokenize


def words_text(n: int) -> str:
    """``"w0 w1 ... w{n-1}"``: every word distinct, so a text shows which words are kept."""
    return " ".join(f"w{i}" for i in range(n))


def kept(text: str, n: int) -> np.ndarray:
    """Which of the words ``w0 .. w{n-1}`` a (perturbed) text still contains."""
    present = set(tokenize(text))
    return np.array([f"w{i}" in present for i in range(n)], dtype=np.float64)


class LinearToy:
    """Class 1 scores ``bias + sum of the weights of the kept words`` (class 0 its negative).

    Its Shapley values are exactly the weights, and its LIME scores too (without a penalty).
    """

    def __init__(self, weights: list[float], bias: float = 0.1) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = bias
        self.n_texts_seen = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.n_texts_seen += len(texts)
        z = np.array([self.bias + kept(t, len(self.weights)) @ self.weights for t in texts])
        return np.column_stack([-z, z])


class InteractionToy:
    """A non-additive model: a logistic of weights plus pairwise interactions."""

    def __init__(self, n: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.w = rng.normal(size=n)
        self.pairs = rng.normal(size=(n, n)) * np.triu(np.ones((n, n)), 1)

    def value(self, x: np.ndarray) -> float:
        z = float(x @ self.w + x @ self.pairs @ x)
        return 1.0 / (1.0 + math.exp(-z))

    def __call__(self, texts: list[str]) -> np.ndarray:
        p = np.array([self.value(kept(t, self.n)) for t in texts])
        return np.column_stack([1 - p, p])


def brute_force_shapley(value, n: int) -> np.ndarray:
    """Shapley values by averaging marginal contributions over every permutation."""
    phi = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for perm in perms:
        x = np.zeros(n)
        previous = value(x)
        for i in perm:
            x[i] = 1.0
            current = value(x)
            phi[i] += current - previous
            previous = current
    return phi / len(perms)
