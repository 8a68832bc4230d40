"""Leave-one-out occlusion: each word's score is the drop when it alone is masked."""

from __future__ import annotations

from typing import Any

import numpy as np

from glasstext.explain.base import Design, Explainer, distinct, make_design
from glasstext.explain.perturb import Units

__all__ = ["OcclusionExplainer"]


class OcclusionExplainer(Explainer):
    """Leave-one-out occlusion over the words of a text.

    ``score_i = f(text) - f(text without word i)``; the base value is
    ``f(text with every word masked)``. It costs ``n_words + 2`` texts (fewer
    when some coincide) and needs no sampling, so the seed plays no part.

    Parameters
    ----------
    model : Scorer, estimator or callable
        The model to explain.
    mask_token, max_units, seed
        See :class:`~glasstext.explain.base.Explainer`.
    """

    method = "occlusion"

    def design(self, units: Units, rng: np.random.Generator) -> Design:
        d = len(units)
        rows = np.vstack([np.ones((1, d), bool), np.zeros((1, d), bool), ~np.eye(d, dtype=bool)])
        masks, counts = distinct(rows)
        return make_design(units, masks, counts, self.mask_token, len(masks))

    def solve(self, design: Design, values: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
        masks = design.masks
        d = masks.shape[1]
        row_of = {m.tobytes(): i for i, m in enumerate(masks)}
        keep_others = ~np.eye(d, dtype=bool)
        left_out = np.array([row_of[keep_others[i].tobytes()] for i in range(d)], dtype=np.int64)
        empty = row_of[np.zeros(d, dtype=bool).tobytes()]
        v_all = values[design.full_row]
        return np.asarray(v_all - values[left_out]), float(values[empty]), {}
