"""LIME for text: a kernel-weighted ridge regression on binary word masks.

Sampling and weighting follow Ribeiro et al. (2016) and the ``lime`` package's
text explainer, so results are comparable: the first sample is the text
itself; each other sample removes a number of words drawn uniformly from
``1 .. n_words - 1``, at random positions. A sample's weight is an
exponential kernel of its cosine distance to the text (times 100, width 25).
Scores are the coefficients of a ridge regression (``alpha=1``) of the
explained class's probability on the masks, the base value its intercept.

Unlike ``lime``, a mask drawn several times is scored once and weighted by its
count (the same regression, fewer model calls), and the texts are scored in
bounded chunks rather than all at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glasstext.backends.runtime import blas_threads
from glasstext.explain.base import (
    DEFAULT_MAX_UNITS,
    Design,
    Explainer,
    distinct,
    make_design,
)
from glasstext.explain.perturb import Units
from glasstext.validation import check_int

__all__ = ["LimeExplainer", "lime_masks"]


def lime_masks(n_units: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """LIME's samples: the full mask, then masks removing ``U{1..n_units-1}`` units.

    A one-unit text has only two masks: keep it or remove it.
    """
    if n_units == 1:
        return np.array([[True], [False]])
    n_draw = n_samples - 1
    n_removed = rng.integers(1, n_units, size=n_draw)
    order = np.argsort(rng.random((n_draw, n_units)), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n_units)[None, :], axis=1)
    drawn = ranks >= n_removed[:, None]
    return np.vstack([np.ones((1, n_units), dtype=bool), drawn])


def lime_kernel(masks: np.ndarray, kernel_width: float) -> np.ndarray:
    """``sqrt(exp(-d^2 / width^2))`` of the cosine distance (x100) of each mask to the text."""
    n_units = masks.shape[1]
    kept = masks.sum(axis=1).astype(np.float64)
    cosine = np.sqrt(kept / n_units)  # cosine similarity of a 0/1 mask with all-ones
    distance = (1.0 - cosine) * 100.0
    return np.asarray(np.sqrt(np.exp(-(distance**2) / kernel_width**2)))


class LimeExplainer(Explainer):
    """LIME over the words of a text.

    Parameters
    ----------
    model : Scorer, estimator or callable
        The model to explain.
    n_samples : int, default=500
        Masks drawn, the text itself included (``lime``'s ``num_samples``).
        Repeated masks and repeated texts are scored once, so the model
        calls are at most this.
    kernel_width : float, default=25.0
        Width of the exponential kernel on cosine distance x 100.
    alpha : float, default=1.0
        Ridge penalty.
    mask_token, max_units, seed
        See :class:`~glasstext.explain.base.Explainer`.

    Notes
    -----
    A one-word text has two masks, and its score is the difference of the
    two values (a ridge fit on two points would only shrink it).
    """

    method = "lime"

    def __init__(
        self,
        model: Any,
        n_samples: int = 500,
        *,
        kernel_width: float = 25.0,
        alpha: float = 1.0,
        mask_token: str | None = None,
        max_units: int | None = DEFAULT_MAX_UNITS,
        seed: int | None = 0,
    ) -> None:
        super().__init__(model, mask_token=mask_token, max_units=max_units, seed=seed)
        self.n_samples = check_int(n_samples, "n_samples", minimum=2)
        if not kernel_width > 0:
            raise ValueError(f"kernel_width must be > 0, got {kernel_width}")
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.kernel_width = float(kernel_width)
        self.alpha = float(alpha)

    def design(self, units: Units, rng: np.random.Generator) -> Design:
        masks, counts = distinct(lime_masks(len(units), self.n_samples, rng))
        return make_design(units, masks, counts, self.mask_token, self.n_samples)

    def solve(self, design: Design, values: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
        masks = design.masks
        if masks.shape[1] == 1:
            empty = int(np.flatnonzero(~masks[:, 0])[0])
            base = float(values[empty])
            return np.array([values[design.full_row] - base]), base, {"r2": 1.0}
        from sklearn.linear_model import Ridge

        X = masks.astype(np.float64)
        weights = lime_kernel(masks, self.kernel_width) * design.weights
        with blas_threads(1):
            ridge = Ridge(alpha=self.alpha, fit_intercept=True)
            ridge.fit(X, values, sample_weight=weights)
            r2 = float(ridge.score(X, values, sample_weight=weights))
        return np.asarray(ridge.coef_, dtype=np.float64), float(ridge.intercept_), {"r2": r2}
