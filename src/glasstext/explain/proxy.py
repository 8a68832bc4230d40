"""Proxy explanations: explain an expensive model with a cheap one, after checking.

Liu, Yu & Zhang (2025), *Towards Budget-Friendly Model-Agnostic Explanation
Generation for LLMs* (arXiv 2505.12509), show that LIME and SHAP explanations
computed on a small proxy model's outputs are faithful to a large target model
at a fraction of its cost, provided the proxy is screened first. Here:

1. the method (LIME, KernelSHAP or occlusion) draws its perturbation set, and
   the **proxy** scores all of it;
2. a small random subset of it - always with the text itself and the fully
   masked text - is scored by the **target** too (``n_screen``), and the
   **agreement** is the Pearson correlation of the explained class's
   probability under the two models over that subset;
3. if ``agreement >= threshold`` the explanation is computed from the proxy's
   values, mapped to the target's scale by the least-squares line fitted on
   the screened texts (whose measured target values are used as they are);
4. otherwise the default ``fallback="target"`` scores the rest of the
   perturbation set with the target and returns the target's own explanation
   (the screened texts are cached, so they are not paid twice).

Why fall back to the target rather than calibrate: LIME and KernelSHAP are
linear in the values they are given, so an affine calibration of the proxy
only rescales its scores - it cannot reorder the words. A proxy that does not
track the target locally gives the wrong words whatever its scale. Calibration
is therefore applied only where it is sound: on a proxy that already agrees
(it puts scores and base value in the target's units). ``fallback="calibrate"``
returns the calibrated proxy anyway, flagged ``"calibrated-proxy"``, for when
the target budget is a hard limit.

The default threshold, 0.7: below it the proxy's value function explains less
than half of the target's local variance. With the default screen (6% of the
distinct perturbed texts, at least 10, plus the text and the masked text: 12
points at a budget of 128, 32 at 500) a correlation near 0.7 has a standard
error of about 0.15 to 0.09.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from glasstext._deprecation import renamed_attribute, renamed_parameters
from glasstext.explain.attribution import Attribution, ProxyReport
from glasstext.explain.base import (
    DEFAULT_MAX_UNITS,
    Design,
    Explainer,
    resolve_class,
    scorer_context,
)
from glasstext.explain.methods import EXPLAINERS, get_explainer
from glasstext.explain.perturb import Units, check_text
from glasstext.explain.proxy_task import ProxyTask, ProxyTaskResult
from glasstext.explain.scorers import as_scorer

__all__ = ["METHODS", "ProxyExplainer", "local_agreement"]

# The method table lives in glasstext.explain.methods; this is its former name.
METHODS: dict[str, type[Explainer]] = EXPLAINERS


def local_agreement(proxy_values: np.ndarray, target_values: np.ndarray) -> float:
    """Pearson correlation of two value vectors; 1 if both are constant, 0 if one is."""
    p = np.asarray(proxy_values, dtype=np.float64)
    t = np.asarray(target_values, dtype=np.float64)
    flat_p, flat_t = bool(np.ptp(p) < 1e-9), bool(np.ptp(t) < 1e-9)
    if flat_p or flat_t:
        return 1.0 if flat_p and flat_t else 0.0
    return float(np.clip(np.corrcoef(p, t)[0, 1], -1.0, 1.0))


def _affine_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``y = slope * x + intercept`` (slope 0 for constant ``x``)."""
    var = float(np.var(x))
    slope = float(np.mean((x - x.mean()) * (y - y.mean())) / var) if var > 1e-18 else 0.0
    return slope, float(y.mean() - slope * x.mean())


class ProxyExplainer:
    """Explain a target model with a cheaper proxy, checking their local agreement first.

    Parameters
    ----------
    target : Scorer, estimator or callable
        The model whose behaviour is explained (e.g. an :class:`LMScorer` on a
        large or remote LM).
    proxy : Scorer, estimator or callable
        A cheaper model with the same classes in the same order.
    method : {"lime", "kernelshap", "occlusion"}, default="lime"
        The perturbation method, a name of
        :data:`~glasstext.explain.methods.EXPLAINERS` (``"shap"`` is an alias
        of ``"kernelshap"``).
    n_samples : int, default=500
        The method's sample budget (ignored by occlusion).
    threshold : float, default=0.7
        Agreement (Pearson r on the screened texts) needed to use the proxy.
    n_screen : int or float, default=0.06
        Screened texts besides the text itself and the fully masked text: an
        int is a count, a float in (0, 1) a fraction of the distinct
        perturbed texts; at least ``min_screen_perturbations``.
    min_screen_perturbations : int, default=10
        The fewest perturbed texts screened besides the text and the fully
        masked text (``min_screen`` is its deprecated name).
    fallback : {"target", "calibrate"}, default="target"
        Below the threshold: score everything with the target, or return the
        calibrated proxy anyway (see the module notes).
    calibrate : bool, default=True
        Map proxy values to the target's scale on the screened texts (and use
        the target's measured values there) when proxy values are used.
    mask_token, max_units, seed
        See :class:`~glasstext.explain.base.Explainer`.
    **method_options
        Passed to the method's explainer (``kernel_width``, ``exact`` ...).
    """

    min_screen = renamed_attribute("min_screen", "min_screen_perturbations")

    @renamed_parameters(min_screen="min_screen_perturbations")
    def __init__(
        self,
        target: Any,
        proxy: Any,
        method: str = "lime",
        *,
        n_samples: int = 500,
        threshold: float = 0.7,
        n_screen: int | float = 0.06,
        min_screen_perturbations: int = 10,
        fallback: Literal["target", "calibrate"] = "target",
        calibrate: bool = True,
        mask_token: str | None = None,
        max_units: int | None = DEFAULT_MAX_UNITS,
        seed: int | None = 0,
        **method_options: Any,
    ) -> None:
        method_class = get_explainer(method)
        if fallback not in ("target", "calibrate"):
            raise ValueError(f"fallback must be 'target' or 'calibrate', got {fallback!r}")
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be a correlation in [-1, 1], got {threshold}")
        if isinstance(n_screen, float) and not 0.0 < n_screen < 1.0:
            raise ValueError(f"a fractional n_screen must be in (0, 1), got {n_screen}")
        if isinstance(n_screen, int) and n_screen < 1:
            raise ValueError(f"n_screen must be >= 1, got {n_screen}")
        if min_screen_perturbations < 2:
            raise ValueError(
                f"min_screen_perturbations must be >= 2, got {min_screen_perturbations}"
            )
        self.target = as_scorer(target)
        self.proxy = as_scorer(proxy)
        self.method = method
        self.threshold = float(threshold)
        self.n_screen = n_screen
        self.min_screen_perturbations = min_screen_perturbations
        self.fallback = fallback
        self.calibrate = calibrate
        self.seed = seed
        options: dict[str, Any] = dict(method_options)
        if "n_samples" in inspect.signature(method_class).parameters:  # not occlusion
            options["n_samples"] = n_samples
        self.explainer = method_class(
            self.proxy, mask_token=mask_token, max_units=max_units, seed=seed, **options
        )

    def _screen_rows(self, design: Design) -> np.ndarray:
        """Distinct texts scored by both models: the text, the empty text, a random subset."""
        n_texts = len(design.texts)
        first = [design.full_text]
        empty = np.flatnonzero(~design.masks.any(axis=1))
        if len(empty):
            first.append(int(design.text_index[empty[0]]))
        first = list(dict.fromkeys(first))
        if isinstance(self.n_screen, float):
            wanted = math.ceil(self.n_screen * n_texts)
        else:
            wanted = int(self.n_screen)
        wanted = min(max(wanted, self.min_screen_perturbations), n_texts - len(first))
        others = np.setdiff1d(np.arange(n_texts), first)
        rng = np.random.default_rng(None if self.seed is None else [self.seed, 1])
        picked = rng.choice(others, size=max(wanted, 0), replace=False) if len(others) else ()
        return np.asarray(first + sorted(int(i) for i in picked), dtype=np.int64)

    def explain(
        self, text: str, target_class: int | str | None = None, *, units: Units | None = None
    ) -> Attribution:
        """Explain the target's output for ``text`` (see the class notes).

        Parameters
        ----------
        text : str
        target_class : int, str or None, default=None
            The class to explain; ``None``: the target's answer.
        units : Units or None, default=None
            The units to attribute to (see :meth:`Explainer.explain`); the
            proxy is screened over the same units.

        Returns
        -------
        Attribution
            ``n_calls`` counts the target's calls; ``proxy`` holds the
            decision, the agreement and the calls spent on each model.
        """
        check_text(text)
        ex = self.explainer
        design = ex.design(ex.units_of(text, units), ex.rng())
        target_before, proxy_before = self.target.n_calls, self.proxy.n_calls
        proxy_probs = self.proxy(design.texts)
        screen = self._screen_rows(design)
        target_probs = self.target([design.texts[i] for i in screen])
        if target_probs.shape[1] != proxy_probs.shape[1]:
            raise ValueError(
                f"the target has {target_probs.shape[1]} classes and the proxy "
                f"{proxy_probs.shape[1]}: they must have the same classes in the same order"
            )
        cls = resolve_class(target_class, target_probs[0], self.target)
        measured = target_probs[:, cls]
        agreement = local_agreement(proxy_probs[screen, cls], measured)
        if agreement >= self.threshold:
            decision = "proxy"
        else:
            decision = "target" if self.fallback == "target" else "calibrated-proxy"

        calibration: tuple[float, float] | None = None
        if decision == "target":
            text_values = self.target(design.texts)[:, cls]
        elif self.calibrate:
            calibration = _affine_fit(proxy_probs[screen, cls], measured)
            text_values = calibration[0] * proxy_probs[:, cls] + calibration[1]
            text_values[screen] = measured
        else:
            text_values = proxy_probs[:, cls]
        target_calls = self.target.n_calls - target_before
        report = ProxyReport(
            decision=decision,
            agreement=agreement,
            threshold=self.threshold,
            n_screened=len(screen),
            target_calls=target_calls,
            proxy_calls=self.proxy.n_calls - proxy_before,
            calibration=calibration,
        )
        attribution = ex.attribution(
            design, text_values[design.text_index], cls, target_calls, proxy=report
        )
        names = self.target.classes
        class_name = names[cls] if names is not None and cls < len(names) else None
        context = scorer_context(self.target, target_probs[0])
        return replace(attribution, class_name=class_name, extras={**attribution.extras, **context})

    def explain_many(
        self, texts: Any, target_class: int | str | None = None, **task_options: Any
    ) -> ProxyTaskResult:
        """Explain many texts, screening the proxy once for the whole task.

        A :class:`~glasstext.explain.proxy_task.ProxyTask` with this
        explainer's target, proxy, method, budget, masking and seed;
        ``task_options`` set its other parameters (``tau``, ``delta``,
        ``max_screen_texts`` ...).

        Returns
        -------
        ProxyTaskResult
        """
        ex = self.explainer
        options = {
            "n_samples": getattr(ex, "n_samples", 128),
            "mask_token": ex.mask_token,
            "max_units": ex.max_units,
            "seed": self.seed,
            **task_options,
        }
        task = ProxyTask(self.target, self.proxy, self.method, **options)
        return task.explain_many(texts, target_class)

    def __repr__(self) -> str:
        return (
            f"ProxyExplainer(target={self.target!r}, proxy={self.proxy!r}, "
            f"method={self.method!r}, threshold={self.threshold})"
        )
