"""KernelSHAP over words: Shapley values by a constrained weighted regression.

The value of a coalition ``S`` of words is the explained class's probability
for the text with the other words masked. Shapley values are the solution of a
weighted least-squares problem over coalitions with the Shapley kernel
``(d - 1) / (C(d, |S|) |S| (d - |S|))`` (Lundberg & Lee, 2017), subject to the
efficiency constraint ``sum(phi) = v(all) - v(none)``, which is enforced
exactly.

Coalitions are chosen like the ``shap`` package's ``KernelExplainer``:
coalition sizes are visited from the outside in (1 and d-1, 2 and d-2, ...),
and a size whose share of the kernel mass the budget can cover is enumerated
completely with its exact weight. The remaining sizes are sampled in
complementary pairs, by size in proportion to the kernel; a coalition drawn
again only adds to its weight and is never scored twice. When every coalition
fits in the budget (``2**d <= n_samples``), all are enumerated and the Shapley
values are computed exactly from their definition.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import numpy as np

from glasstext.explain.base import (
    DEFAULT_MAX_UNITS,
    Design,
    Explainer,
    make_design,
)
from glasstext.explain.perturb import Units
from glasstext.validation import check_int

__all__ = ["KernelShapExplainer", "exact_shapley", "shapley_kernel_design"]

#: Most units for which exact enumeration may be forced (2**16 coalitions).
MAX_EXACT_UNITS = 16


def _all_masks(n_units: int) -> np.ndarray:
    """Every coalition as a boolean row; row ``i`` has bit ``j`` of ``i`` at unit ``j``."""
    codes = np.arange(2**n_units, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n_units, dtype=np.int64)) & 1).astype(bool)


def exact_shapley(values_by_code: np.ndarray, n_units: int) -> np.ndarray:
    """Shapley values from the values of all ``2**n_units`` coalitions.

    ``values_by_code[c]`` is the value of the coalition whose units are the set
    bits of ``c``. ``phi_i = sum_S |S|! (d-|S|-1)! / d! * (v(S + i) - v(S))``.
    """
    codes = np.arange(2**n_units, dtype=np.int64)
    sizes = np.zeros(len(codes), dtype=np.int64)
    for j in range(n_units):
        sizes += (codes >> j) & 1
    weight_of_size = np.array(
        [1.0 / (n_units * math.comb(n_units - 1, s)) for s in range(n_units)], dtype=np.float64
    )
    phi = np.empty(n_units, dtype=np.float64)
    for i in range(n_units):
        bit = np.int64(1) << i
        without = codes[(codes & bit) == 0]
        gains = values_by_code[without | bit] - values_by_code[without]
        phi[i] = float(np.sum(weight_of_size[sizes[without]] * gains))
    return phi


def shapley_kernel_design(
    n_units: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """Coalitions and kernel weights for KernelSHAP with a budget of ``n_samples`` texts.

    Returns
    -------
    masks : ndarray of shape (m, n_units), bool
        Distinct coalitions; the first two rows are everything and nothing.
    weights : ndarray of shape (m,)
        Kernel weights (0 for the first two rows, which are constraints).
    n_full_sizes : int
        Coalition sizes (counting a size and its complement once) enumerated
        completely.
    """
    d = n_units
    masks: list[np.ndarray] = [np.ones(d, dtype=bool), np.zeros(d, dtype=bool)]
    weights: list[float] = [0.0, 0.0]
    left = n_samples - 2
    n_sizes = math.ceil((d - 1) / 2)
    n_paired = (d - 1) // 2
    size_weight = np.array([(d - 1) / (s * (d - s)) for s in range(1, n_sizes + 1)])
    size_weight[:n_paired] *= 2
    size_weight /= size_weight.sum()

    n_full = 0
    remaining = size_weight.copy()
    for size in range(1, n_sizes + 1):
        paired = size <= n_paired
        n_subsets = math.comb(d, size) * (2 if paired else 1)
        if left * remaining[size - 1] / n_subsets < 1.0 - 1e-8:
            break
        n_full += 1
        left -= n_subsets
        if remaining[size - 1] < 1.0:
            remaining /= 1.0 - remaining[size - 1]
        w = size_weight[size - 1] / math.comb(d, size) / (2 if paired else 1)
        for members in itertools.combinations(range(d), size):
            mask = np.zeros(d, dtype=bool)
            mask[list(members)] = True
            masks.append(mask)
            weights.append(w)
            if paired:
                masks.append(~mask)
                weights.append(w)

    if n_full < n_sizes and left > 0:
        n_fixed = len(masks)
        probs = size_weight.copy()
        probs[:n_paired] /= 2  # a paired draw yields two coalitions
        probs = probs[n_full:] / probs[n_full:].sum()
        seen: dict[bytes, int] = {}
        max_draws = 10 * left + 100
        sizes = n_full + 1 + rng.choice(len(probs), size=max_draws, p=probs)
        for size in sizes:
            if left <= 0:
                break
            mask = np.zeros(d, dtype=bool)
            mask[rng.permutation(d)[:size]] = True
            paired = size <= n_paired
            key = mask.tobytes()
            row = seen.get(key)
            if row is not None:
                weights[row] += 1.0
                if paired:
                    weights[row + 1] += 1.0
                continue
            seen[key] = len(masks)
            masks.append(mask)
            weights.append(1.0)
            left -= 1
            if paired and left > 0:
                masks.append(~mask)
                weights.append(1.0)
                left -= 1
            elif paired:
                seen.pop(key)  # no room for its complement: keep the pairing exact
                masks.pop()
                weights.pop()
                left += 1
                break
        sampled = np.asarray(weights[n_fixed:], dtype=np.float64)
        if sampled.size:
            sampled *= size_weight[n_full:].sum() / sampled.sum()
            weights[n_fixed:] = sampled.tolist()
    return np.asarray(masks, dtype=bool), np.asarray(weights, dtype=np.float64), n_full


def constrained_wls(
    masks: np.ndarray, weights: np.ndarray, values: np.ndarray, v_none: float, v_all: float
) -> np.ndarray:
    """Weighted least squares of ``values - v_none`` on ``masks``, with ``sum = v_all - v_none``.

    The solution is written ``phi = delta / d + u`` with ``u`` orthogonal to the
    all-ones vector, and ``u`` is the minimum-norm least-squares solution, so
    the constraint holds exactly and no unit is singled out when the
    coalitions do not determine every value.
    """
    d = masks.shape[1]
    delta = v_all - v_none
    Z = masks.astype(np.float64)
    projector = np.eye(d) - 1.0 / d
    target = values - v_none - Z.sum(axis=1) * (delta / d)
    root = np.sqrt(np.maximum(weights, 0.0))
    if not np.any(root > 0):
        return np.full(d, delta / d)
    u, *_ = np.linalg.lstsq((Z @ projector) * root[:, None], target * root, rcond=None)
    phi = delta / d + projector @ u
    return np.asarray(phi + (delta - phi.sum()) / d)  # remove rounding drift


class KernelShapExplainer(Explainer):
    """KernelSHAP over the words of a text.

    Parameters
    ----------
    model : Scorer, estimator or callable
        The model to explain.
    n_samples : int, default=500
        Most texts scored per explanation, the text itself and the fully
        masked text included (distinct coalitions; ``shap``'s ``nsamples``
        plus those two).
    exact : bool or "auto", default="auto"
        ``"auto"`` enumerates every coalition (exact Shapley values) when
        ``2**n_words <= n_samples``; ``True`` always does (at most 16 words);
        ``False`` never does.
    mask_token, max_units, seed
        See :class:`~glasstext.explain.base.Explainer`.

    Notes
    -----
    Scores always satisfy ``sum(scores) == value - base_value`` (up to
    floating point), where ``base_value`` is the value of the fully masked text.
    """

    method = "kernelshap"

    def __init__(
        self,
        model: Any,
        n_samples: int = 500,
        *,
        exact: bool | Literal["auto"] = "auto",
        mask_token: str | None = None,
        max_units: int | None = DEFAULT_MAX_UNITS,
        seed: int | None = 0,
    ) -> None:
        super().__init__(model, mask_token=mask_token, max_units=max_units, seed=seed)
        self.n_samples = check_int(n_samples, "n_samples", minimum=2)
        if exact not in (True, False, "auto"):
            raise ValueError(f"exact must be True, False or 'auto', got {exact!r}")
        self.exact = exact

    def _use_exact(self, n_units: int) -> bool:
        if self.exact is True:
            if n_units > MAX_EXACT_UNITS:
                raise ValueError(
                    f"exact Shapley values need 2**{n_units} model calls; "
                    f"exact=True allows at most {MAX_EXACT_UNITS} words"
                )
            return True
        return self.exact == "auto" and 2**n_units <= self.n_samples

    def design(self, units: Units, rng: np.random.Generator) -> Design:
        d = len(units)
        if self._use_exact(d):
            masks = _all_masks(d)[::-1]  # the full coalition first
            info: dict[str, Any] = {"exact": True}
            return make_design(units, masks, np.ones(len(masks)), self.mask_token, len(masks), info)
        masks, weights, n_full = shapley_kernel_design(d, self.n_samples, rng)
        info = {"exact": False, "n_full_sizes": n_full}
        return make_design(units, masks, weights, self.mask_token, len(masks), info)

    def solve(self, design: Design, values: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
        masks = design.masks
        d = masks.shape[1]
        empty = int(np.flatnonzero(~masks.any(axis=1))[0])
        v_none, v_all = float(values[empty]), float(values[design.full_row])
        if design.info.get("exact"):
            codes = masks.astype(np.int64) @ (np.int64(1) << np.arange(d, dtype=np.int64))
            by_code = np.empty(2**d, dtype=np.float64)
            by_code[codes] = values
            return exact_shapley(by_code, d), v_none, {}
        phi = constrained_wls(masks, design.weights, values, v_none, v_all)
        return phi, v_none, {}
