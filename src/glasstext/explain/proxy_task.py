"""Proxy explanations of a whole task: screen the proxy once, then apply it.

The screen-and-apply design of Liu, Yu & Zhang (arXiv 2505.12509): rather
than checking the proxy on every explanation
(:class:`~glasstext.explain.ProxyExplainer`), check
it once per task, on a few of the task's instances, and then use it for every
instance where it gives the target's prediction.

1. **Prediction check.** The target and the proxy score every text of the
   task once (one target call per text). The explained class is the target's
   prediction (or ``target_class``).
2. **Screening.** Instances where the two predictions agree are drawn in a
   seeded random order. For each, the method explains the target (the
   oracle) and the proxy with the same perturbations, and the *quality* of
   both explanations is measured **on the target** with a faithfulness
   metric (comprehensiveness AOPC by default; these metric texts are target
   calls and are counted). With ``d_i = q_proxy_i - tau * q_target_i``, a
   one-sided paired t-test asks whether ``mean(d) > 0`` (the proxy keeps at
   least ``tau`` of the oracle's quality) and the opposite test whether
   ``mean(d) < 0``. The tests are run at the looks ``min_screen_texts``,
   ``2 * min_screen_texts``, ... up to ``max_screen_texts``, each at level ``delta /
   n_looks`` (Bonferroni), so that a proxy whose quality is below ``tau`` of
   the oracle's is accepted with probability at most ``delta`` however many
   looks are taken (under the t-test's assumptions). The screen stops at the
   first decisive look; after the last look, an undecided screen rejects.
3. **Apply.** Accepted: every other instance whose predictions agree gets
   the proxy's explanation (no target call); the others fall back to the
   target's own explanation. Rejected: every instance gets the target's
   explanation. Screened instances keep the target explanation already paid
   for.

The :class:`ProxyTaskResult` reports the target calls spent on each step
(:class:`TaskCosts`), and the cost-reduction ratio against explaining every
instance with the target (the distinct perturbed texts of each instance's
design, which is what the target alone would evaluate).

:func:`learn_proxy` distils a cheap proxy for a target from target-scored
perturbations of the task's texts (an Aug-Linear regressor on the target's
log-odds by default).
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from scipy import stats
from scipy.special import expit, logit, softmax

from glasstext._deprecation import renamed_attribute, renamed_parameters, warn_renamed
from glasstext.exceptions import InvalidParameterError
from glasstext.explain.attribution import Attribution
from glasstext.explain.base import DEFAULT_MAX_UNITS, Explainer
from glasstext.explain.methods import get_explainer
from glasstext.explain.metrics import DEFAULT_FRACTIONS, comprehensiveness, deletion_auc
from glasstext.explain.perturb import make_units, render_many
from glasstext.explain.scorers import Scorer, as_scorer
from glasstext.io import jsonable
from glasstext.results import ResultMixin, limit
from glasstext.validation import (
    Interval,
    Options,
    check_param,
    check_seed,
    check_texts,
    wordless_positions,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "LearnedProxy",
    "ProxyTask",
    "ProxyTaskResult",
    "ScreeningReport",
    "TaskCosts",
    "TaskScreen",
    "combine_attributions",
    "learn_proxy",
    "screening_looks",
    "sequential_screen",
]

QUALITY_METRICS = ("comprehensiveness", "deletion")


@renamed_parameters(min_screen="min_screen_texts", max_screen="max_screen_texts")
def screening_looks(min_screen_texts: int, max_screen_texts: int) -> list[int]:
    """The numbers of screened instances at which the test is run: doubling, then the maximum."""
    looks, n = [], min_screen_texts
    while n < max_screen_texts:
        looks.append(n)
        n *= 2
    looks.append(max_screen_texts)
    return looks


def _one_sided(d: np.ndarray, alternative: Literal["greater", "less"]) -> float:
    """p-value of a one-sample t-test of ``mean(d) = 0`` (a constant ``d`` decides outright)."""
    if len(d) < 2:
        return 1.0
    if float(np.ptp(d)) < 1e-12:
        m = float(d[0])
        return 0.0 if (m > 0 if alternative == "greater" else m < 0) else 1.0
    return float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)


@renamed_parameters(min_screen="min_screen_texts", max_screen="max_screen_texts")
def sequential_screen(
    proxy_quality: Sequence[float],
    target_quality: Sequence[float],
    *,
    tau: float = 0.9,
    delta: float = 0.01,
    min_screen_texts: int = 5,
    max_screen_texts: int = 50,
) -> tuple[str, int, float, float]:
    """Run the sequential one-sided paired test on given per-instance qualities.

    The instances are read in order; at each look (:func:`screening_looks`)
    the paired differences ``q_proxy - tau * q_target`` of the instances so
    far are tested. Used by :class:`ProxyTask` and to replay the screen on
    measured qualities. ``min_screen_texts`` and ``max_screen_texts`` are as
    in :class:`ProxyTask` (``min_screen`` and ``max_screen`` are their
    deprecated names).

    Returns
    -------
    decision : {"accept", "reject", "undecided"}
        ``"undecided"``: the qualities ran out before a decisive look, or the
        last look was not decisive (a task treats it as a rejection).
    n_used : int
        Instances read when the decision was taken.
    p_accept, p_reject : float
        The last look's p-values of "mean difference > 0" and "< 0".
    """
    qp = np.asarray(proxy_quality, dtype=np.float64)
    qt = np.asarray(target_quality, dtype=np.float64)
    if qp.shape != qt.shape:
        raise ValueError("proxy_quality and target_quality must have the same length")
    looks = screening_looks(min_screen_texts, max_screen_texts)
    level = delta / len(looks)
    p_acc = p_rej = 1.0
    for n in looks:
        if n > len(qp):
            return "undecided", len(qp), p_acc, p_rej
        d = qp[:n] - tau * qt[:n]
        p_acc, p_rej = _one_sided(d, "greater"), _one_sided(d, "less")
        if p_acc < level:
            return "accept", n, p_acc, p_rej
        if p_rej < level:
            return "reject", n, p_acc, p_rej
    return "undecided", min(len(qp), looks[-1]), p_acc, p_rej


@dataclass(frozen=True)
class ScreeningReport(ResultMixin):
    """The task-level screen: what was measured and what it decided.

    Attributes
    ----------
    decision : {"accept", "reject", "undecided", "skipped"}
        ``"undecided"`` (no decisive look) and ``"skipped"`` (no instance where
        the predictions agree) use the target everywhere, as a rejection does.
    n_screened : int
        Instances explained with both models.
    instances : list of int
        Their positions in the task.
    proxy_quality, target_quality : list of float
        Each instance's explanation quality, measured on the target.
    quality_ratio : float
        ``sum(proxy_quality) / sum(target_quality)`` over the screened instances.
    p_accept, p_reject : float
        p-values of the last look.
    tau, delta : float
    looks : list of int
    metric : str
    """

    decision: str
    n_screened: int
    instances: list[int]
    proxy_quality: list[float]
    target_quality: list[float]
    quality_ratio: float
    p_accept: float
    p_reject: float
    tau: float
    delta: float
    looks: list[int]
    metric: str

    @property
    def accepted(self) -> bool:
        return self.decision == "accept"

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (``top`` is ignored)."""
        return {
            "decision": self.decision,
            "n_screened": self.n_screened,
            "instances": list(self.instances),
            "proxy_quality": [jsonable(q) for q in self.proxy_quality],
            "target_quality": [jsonable(q) for q in self.target_quality],
            "quality_ratio": jsonable(self.quality_ratio),
            "p_accept": jsonable(self.p_accept),
            "p_reject": jsonable(self.p_reject),
            "tau": self.tau,
            "delta": self.delta,
            "looks": list(self.looks),
            "metric": self.metric,
        }

    def __str__(self) -> str:
        return (
            f"screening: {self.decision} after {self.n_screened} instances "
            f"({self.metric} ratio {self.quality_ratio:.3f}, tau {self.tau}, "
            f"p(>= tau) {self.p_accept:.2g}, p(< tau) {self.p_reject:.2g}, delta {self.delta})"
        )


@dataclass(frozen=True)
class TaskCosts:
    """What explaining a task cost: target calls per step, proxy calls, seconds.

    ``to_dict()`` is the ``costs`` entry of :meth:`ProxyTaskResult.to_dict`.

    Attributes
    ----------
    target_calls_screening : int
        The screen: the target's explanations of the screened texts and
        their quality metric's texts.
    target_calls_predictions : int
        The prediction check (the target scores every text once).
    target_calls_fallbacks : int
        The target's own explanations of the texts the proxy did not explain.
    target_calls_all_target : int
        What explaining every text with the target alone evaluates (the
        distinct perturbed texts of each text's design).
    proxy_calls : int
        Calls made by the proxies (summed over an ensemble).
    seconds : float
    target_calls_learned_proxy : int or None, default=None
        Target calls spent learning the proxy, when the caller counts them
        in the task's cost (``glasstext explain-llm --learned-proxy`` does).
    """

    target_calls_screening: int
    target_calls_predictions: int
    target_calls_fallbacks: int
    target_calls_all_target: int
    proxy_calls: int
    seconds: float
    target_calls_learned_proxy: int | None = None

    @property
    def target_calls_total(self) -> int:
        """Every target call of the task: screening, predictions, fallbacks, learning."""
        learning = self.target_calls_learned_proxy or 0
        return (
            self.target_calls_screening
            + self.target_calls_predictions
            + self.target_calls_fallbacks
            + learning
        )

    @property
    def target_call_fraction(self) -> float:
        """``target_calls_total / target_calls_all_target`` (NaN for an empty design)."""
        if not self.target_calls_all_target:
            return math.nan
        return self.target_calls_total / self.target_calls_all_target

    @property
    def cost_reduction(self) -> float:
        """``target_calls_all_target / target_calls_total`` (infinite without a target call)."""
        total = self.target_calls_total
        return self.target_calls_all_target / total if total else math.inf

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (a non-finite ratio as ``None``)."""
        out: dict[str, Any] = {
            "target_calls_screening": self.target_calls_screening,
            "target_calls_predictions": self.target_calls_predictions,
            "target_calls_fallbacks": self.target_calls_fallbacks,
            "target_calls_total": self.target_calls_total,
            "target_calls_all_target": self.target_calls_all_target,
            "target_call_fraction": jsonable(self.target_call_fraction),
            "cost_reduction": jsonable(self.cost_reduction),
            "proxy_calls": self.proxy_calls,
            "seconds": jsonable(self.seconds),
        }
        if self.target_calls_learned_proxy is not None:
            out["target_calls_learned_proxy"] = self.target_calls_learned_proxy
        return out

    # -- deprecated for one release: reading the costs as a dict -----------------------------
    def __getitem__(self, key: str) -> Any:
        warn_renamed(f'costs["{key}"]', f"costs.{key}")
        return self._entries()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Deprecated: read the attribute."""
        warn_renamed(f'costs.get("{key}")', f"costs.{key}")
        return self._entries().get(key, default)

    def keys(self) -> Iterator[str]:
        """Deprecated: ``to_dict().keys()``."""
        warn_renamed("costs.keys()", "costs.to_dict().keys()")
        return iter(self._entries())

    def items(self) -> Iterator[tuple[str, Any]]:
        """Deprecated: ``to_dict().items()``."""
        warn_renamed("costs.items()", "costs.to_dict().items()")
        return iter(self._entries().items())

    def _entries(self) -> dict[str, Any]:
        # The values a dict reader gets: the ratios unconverted (NaN and infinity kept).
        out = self.to_dict()
        out["target_call_fraction"] = self.target_call_fraction
        out["cost_reduction"] = self.cost_reduction
        return out


@dataclass(frozen=True, eq=False)
class ProxyTaskResult(ResultMixin):
    """Explanations of every text of a task, which model gave each, and the cost.

    Attributes
    ----------
    attributions : list of Attribution
        One per text, in the task's order.
    sources : list of str
        Per text: ``"proxy"`` (the proxy's explanation), ``"screened"`` (the
        target's, computed while screening), ``"fallback"`` (the target's: the
        predictions differ or the screen rejected), or ``"target"``
        (:meth:`ProxyTask.explain_with_target`).
    target_predictions, proxy_predictions : list of int
    screening : ScreeningReport or None
        ``None`` when no screen ran (:meth:`ProxyTask.explain_with_target`).
    costs : TaskCosts
    mode : {"task", "target"}
        ``"task"``: screened once, then applied; ``"target"``: every text
        explained by the target.
    method : str
    """

    attributions: list[Attribution]
    sources: list[str]
    target_predictions: list[int]
    proxy_predictions: list[int]
    screening: ScreeningReport | None
    costs: TaskCosts
    mode: str
    method: str
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.attributions)

    @property
    def prediction_agreement(self) -> float:
        """Share of texts where proxy and target predict the same class."""
        t, p = np.asarray(self.target_predictions), np.asarray(self.proxy_predictions)
        return float(np.mean(t == p)) if len(t) else math.nan

    def counts(self) -> dict[str, int]:
        """How many texts each source explained."""
        return {s: self.sources.count(s) for s in sorted(set(self.sources))}

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary; ``top`` bounds each attribution's word list."""
        return {
            "mode": self.mode,
            "method": self.method,
            "n_texts": len(self),
            "sources": self.counts(),
            "prediction_agreement": jsonable(self.prediction_agreement),
            "screening": self.screening.to_dict() if self.screening else None,
            "costs": self.costs.to_dict(),
            "extras": {k: jsonable(v) for k, v in self.extras.items()},
            "explanations": [
                {"source": s, **a.to_dict(top)}
                for s, a in zip(self.sources, self.attributions, strict=True)
            ],
        }

    def __str__(self) -> str:
        c = self.costs
        how = "task-level screening" if self.mode == "task" else "the target alone"
        lines = [
            f"{self.method} explanations of {len(self)} texts ({how}): "
            + ", ".join(f"{n} {s}" for s, n in self.counts().items()),
            f"predictions agree on {self.prediction_agreement:.1%} of the texts",
        ]
        if self.screening is not None:
            lines.append(str(self.screening))
        learning = c.target_calls_learned_proxy  # counted by whoever learned it
        lines.append(
            f"target calls {c.target_calls_total} (screening {c.target_calls_screening}, "
            f"predictions {c.target_calls_predictions}, fallbacks {c.target_calls_fallbacks}"
            + (f", learning the proxy {learning}" if learning is not None else "")
            + f") of {c.target_calls_all_target} for the target "
            f"alone: {c.target_call_fraction:.1%}, cost reduction {c.cost_reduction:.2f}x"
        )
        for s, a in limit(list(zip(self.sources, self.attributions, strict=True)), 5):
            words = ", ".join(w for w, _ in a.top(3))
            lines.append(f"  [{s}] {a.text[:50]!r}: {words}")
        if len(self) > 5:
            lines.append(f"  ... {len(self) - 5} more")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class TaskScreen:
    """A task after its prediction check and screen (:meth:`ProxyTask.screen`).

    Attributes
    ----------
    texts : list of str
    classes : list of int
        The class explained for each text.
    target_predictions, proxy_predictions : list of int
    agree : list of bool
        Where the proxy may be used (always True without the prediction check).
    report : ScreeningReport
    screened : dict of int to Attribution
        The target's explanations computed while screening, by position.
    target_calls_predictions, target_calls_screening, proxy_calls : int
    seconds : float
    """

    texts: list[str]
    classes: list[int]
    target_predictions: list[int]
    proxy_predictions: list[int]
    agree: list[bool]
    report: ScreeningReport
    screened: dict[int, Attribution]
    target_calls_predictions: int
    target_calls_screening: int
    proxy_calls: int
    seconds: float


class ProxyTask:
    """Explain many texts of a task with a target and a cheaper proxy (screen once, then apply).

    See the module notes for the procedure.

    Parameters
    ----------
    target : Scorer, estimator or callable
        The model whose behaviour is explained.
    proxy : Scorer, estimator, callable, or a list or tuple of them
        A cheaper model with the same classes in the same order. A list makes
        an ensemble: its prediction is the weighted mean of
        the proxies' probabilities, and its explanation the weighted mean of
        the proxies' explanations, each scaled to unit L1 norm first (see
        :func:`combine_attributions`), so proxies whose outputs live on
        different scales weigh as ``proxy_weights`` says.
    method : {"lime", "kernelshap", "occlusion"}, default="lime"
    n_samples : int, default=128
        The method's sample budget (ignored by occlusion).
    proxy_samples : int, list of int or None, default=None
        The sample budget of the proxy's explanations (``None``:
        ``n_samples``; a list: one per proxy of an ensemble). Proxy calls are
        cheap, so a larger budget buys a less noisy proxy explanation without
        a target call; the target's explanations (screening, fallbacks) keep
        ``n_samples``.
    proxy_weights : list of float or None, default=None
        An ensemble's weights (``None``: equal), normalised to sum to one.
    tau : float, default=0.9
        The share of the oracle's explanation quality the proxy must keep.
    delta : float, default=0.01
        Error level of the screen: a proxy below ``tau`` is accepted with
        probability at most ``delta``.
    min_screen_texts : int, default=5
        The task's texts screened before the first look.
    max_screen_texts : int, default=50
        The most of the task's texts screened.
    quality : {"comprehensiveness", "deletion"}, default="comprehensiveness"
        How explanation quality is measured on the target: comprehensiveness
        AOPC over ``fractions``, or ``value - deletion AUC`` (the mean drop of
        the deletion curve). Either way higher is better.
    fractions : sequence of float, default=(0.1, ..., 1.0)
    prediction_check : bool, default=True
        Use the proxy only where proxy and target predict the same class.
    mask_token, max_units, seed
        See :class:`~glasstext.explain.base.Explainer`; ``seed`` also orders
        the screened instances.
    **method_options
        Passed to the method's explainer.

    Notes
    -----
    ``min_screen`` and ``max_screen`` are the deprecated names of
    ``min_screen_texts`` and ``max_screen_texts``. The screen runs once per
    task: ``screening="task"`` and ``threshold`` are still accepted, with a
    warning, and do nothing. Per-explanation screening is
    :class:`~glasstext.explain.ProxyExplainer` applied to each text: in the
    task benchmark (``benchmarks/results/proxy_explanations.json``) it kept
    0.88-0.95 of the target's fidelity for 62-76% of its calls, within 0.01
    of sending that share of the texts to the target at random.
    """

    min_screen = renamed_attribute("min_screen", "min_screen_texts")
    max_screen = renamed_attribute("max_screen", "max_screen_texts")

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_samples": [Interval(int, 1, None)],
        "proxy_samples": [Interval(int, 1, None), list, tuple, None],
        "tau": [Interval(float, 0.0, None, closed="neither")],
        "delta": [Interval(float, 0.0, 1.0, closed="neither")],
        "min_screen_texts": [Interval(int, 2, None)],
        "max_screen_texts": [Interval(int, 2, None)],
        "quality": [Options(QUALITY_METRICS)],
        "prediction_check": ["boolean"],
    }

    @renamed_parameters(min_screen="min_screen_texts", max_screen="max_screen_texts")
    def __init__(
        self,
        target: Any,
        proxy: Any,
        method: str = "lime",
        *,
        n_samples: int = 128,
        proxy_samples: int | Sequence[int] | None = None,
        proxy_weights: Sequence[float] | None = None,
        tau: float = 0.9,
        delta: float = 0.01,
        min_screen_texts: int = 5,
        max_screen_texts: int = 50,
        quality: Literal["comprehensiveness", "deletion"] = "comprehensiveness",
        fractions: Sequence[float] = DEFAULT_FRACTIONS,
        prediction_check: bool = True,
        mask_token: str | None = None,
        max_units: int | None = DEFAULT_MAX_UNITS,
        seed: int | None = 0,
        **method_options: Any,
    ) -> None:
        _drop_per_explanation_options(method_options)
        params = {
            "n_samples": n_samples,
            "proxy_samples": proxy_samples,
            "tau": tau,
            "delta": delta,
            "min_screen_texts": min_screen_texts,
            "max_screen_texts": max_screen_texts,
            "quality": quality,
            "prediction_check": prediction_check,
        }
        for name, value in params.items():
            check_param(value, self._parameter_constraints[name], name)
        if max_screen_texts < min_screen_texts:
            raise InvalidParameterError(
                f"max_screen_texts ({max_screen_texts}) must be >= "
                f"min_screen_texts ({min_screen_texts})"
            )
        self.seed = check_seed(seed, "seed", allow_none=True)
        self.method_class = get_explainer(method)
        self.target = as_scorer(target)
        proxies = list(proxy) if isinstance(proxy, (list, tuple)) else [proxy]
        if not proxies:
            raise InvalidParameterError("proxy must be a model or a non-empty list of models")
        self.proxies = [as_scorer(p) for p in proxies]
        self.proxy = self.proxies[0]
        self.proxy_budgets = _per_proxy(proxy_samples, len(self.proxies), "proxy_samples")
        self.proxy_weights = _weights(proxy_weights, len(self.proxies))
        self.method = method
        self.n_samples = n_samples
        self.proxy_samples = proxy_samples
        self.tau = float(tau)
        self.delta = float(delta)
        self.min_screen_texts = min_screen_texts
        self.max_screen_texts = max_screen_texts
        self.quality = quality
        self.fractions = tuple(fractions)
        self.prediction_check = bool(prediction_check)
        self.mask_token = mask_token
        self.max_units = max_units
        self.method_options = dict(method_options)

    # -- pieces ----------------------------------------------------------------------------
    def explainer(self, scorer: Scorer, n_samples: int | None = None) -> Explainer:
        """The method's explainer on ``scorer`` with this task's settings.

        ``n_samples`` overrides the task's budget (the proxy's ``proxy_samples``).
        """
        options: dict[str, Any] = dict(self.method_options)
        if "n_samples" in inspect.signature(self.method_class).parameters:  # not occlusion
            options["n_samples"] = self.n_samples if n_samples is None else n_samples
        return self.method_class(
            scorer, mask_token=self.mask_token, max_units=self.max_units, seed=self.seed, **options
        )

    def proxy_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """The proxy's class probabilities (an ensemble's weighted mean)."""
        probs = [w * p(texts) for w, p in zip(self.proxy_weights, self.proxies, strict=True)]
        return np.asarray(sum(probs))

    def proxy_calls(self) -> int:
        """Calls made so far by the proxies (summed over an ensemble)."""
        return sum(p.n_calls for p in self.proxies)

    def proxy_explainers(self) -> list[Explainer]:
        """One explainer per proxy, each with its own budget."""
        return [self.explainer(p, n) for p, n in zip(self.proxies, self.proxy_budgets, strict=True)]

    def explain_with_proxy(
        self, explainers: Sequence[Explainer], text: str, target_class: int
    ) -> Attribution:
        """The proxy's explanation of ``text`` (an ensemble's combined explanation)."""
        attrs = [ex.explain(text, target_class=target_class) for ex in explainers]
        if len(attrs) == 1:
            return attrs[0]
        return combine_attributions(attrs, self.proxy_weights.tolist())

    def quality_of(self, attribution: Attribution) -> float:
        """The explanation's quality measured on the target (target calls, counted)."""
        if self.quality == "comprehensiveness":
            return comprehensiveness(attribution, self.target, self.fractions)
        return attribution.value - deletion_auc(attribution, self.target)

    def design_size(self, text: str) -> int:
        """Distinct texts the target alone would evaluate to explain ``text``."""
        ex = self.explainer(self.target)
        return len(ex.design(ex.units(text), ex.rng()).texts)

    # -- the task ---------------------------------------------------------------------------
    def explain_many(
        self, texts: Sequence[str], target_class: int | str | None = None
    ) -> ProxyTaskResult:
        """Explain the target's output for every text (see the module notes).

        This is :meth:`screen` followed by :meth:`apply`.

        Parameters
        ----------
        texts : sequence of str
        target_class : int, str or None, default=None
            The class explained for every text; ``None`` explains the
            target's prediction for each text.

        Returns
        -------
        ProxyTaskResult
        """
        return self.apply(self.screen(texts, target_class))

    def explain_with_target(
        self, texts: Sequence[str], target_class: int | str | None = None
    ) -> ProxyTaskResult:
        """Explain every text with the target alone: what the task's costs are measured against.

        The prediction check runs as in :meth:`explain_many` (its calls are
        counted); no screen runs and the proxy explains nothing.

        Parameters
        ----------
        texts : sequence of str
        target_class : int, str or None, default=None

        Returns
        -------
        ProxyTaskResult
            ``mode`` ``"target"``, every source ``"target"``; the target's
            explanations count as ``target_calls_fallbacks``.
        """
        started = time.perf_counter()
        target_start, proxy_start = self.target.n_calls, self.proxy_calls()
        items, classes, t_pred, p_pred, _ = self._predictions(texts, target_class)
        prediction_calls = self.target.n_calls - target_start
        explainer = self.explainer(self.target)
        attributions = [
            explainer.explain(t, target_class=c) for t, c in zip(items, classes, strict=True)
        ]
        costs = self._costs(
            items,
            screening=0,
            predictions=prediction_calls,
            fallbacks=self.target.n_calls - target_start - prediction_calls,
            proxy_calls=self.proxy_calls() - proxy_start,
            seconds=time.perf_counter() - started,
        )
        return ProxyTaskResult(
            attributions=attributions,
            sources=["target"] * len(items),
            target_predictions=t_pred,
            proxy_predictions=p_pred,
            screening=None,
            costs=costs,
            mode="target",
            method=self.method,
        )

    def screen(self, texts: Sequence[str], target_class: int | str | None = None) -> TaskScreen:
        """Steps 1 and 2 of a task: the prediction check and the screen.

        The result holds the screen's decision and the target explanations
        it paid for; :meth:`apply` then explains the task's texts (all of
        them, or only those needed now) with the proxy or the target.

        Parameters
        ----------
        texts : sequence of str
            Every text of the task.
        target_class : int, str or None, default=None

        Returns
        -------
        TaskScreen
        """
        started = time.perf_counter()
        target_start, proxy_start = self.target.n_calls, self.proxy_calls()
        items, classes, t_pred, p_pred, agree = self._predictions(texts, target_class)
        prediction_calls = self.target.n_calls - target_start
        before = self.target.n_calls
        report, done = self._screen(items, classes, agree)
        return TaskScreen(
            texts=items,
            classes=classes,
            target_predictions=t_pred,
            proxy_predictions=p_pred,
            agree=agree,
            report=report,
            screened=done,
            target_calls_predictions=prediction_calls,
            target_calls_screening=self.target.n_calls - before,
            proxy_calls=self.proxy_calls() - proxy_start,
            seconds=time.perf_counter() - started,
        )

    def apply(self, screen: TaskScreen, indices: Sequence[int] | None = None) -> ProxyTaskResult:
        """Step 3: explain the task's texts after :meth:`screen`.

        Screened texts keep the target's explanation; with an accepted
        screen, texts where the predictions agree get the proxy's; the others
        fall back to the target's.

        Parameters
        ----------
        screen : TaskScreen
            From :meth:`screen` on this task.
        indices : sequence of int or None, default=None
            Positions of the texts to explain (``None``: all, in order).

        Returns
        -------
        ProxyTaskResult
            ``costs`` count the whole task's prediction checks and screening
            and the fallbacks of the explained texts, against explaining every
            text of the task with the target alone.
        """
        started = time.perf_counter()
        target_start, proxy_start = self.target.n_calls, self.proxy_calls()
        n = len(screen.texts)
        positions = list(range(n)) if indices is None else [int(i) for i in indices]
        if any(not 0 <= i < n for i in positions):
            raise IndexError(f"indices must be positions of the task's {n} texts")
        target_ex = self.explainer(self.target)
        proxy_ex = self.proxy_explainers()
        attributions: list[Attribution] = []
        sources: list[str] = []
        for i in positions:
            text, cls = screen.texts[i], screen.classes[i]
            if i in screen.screened:
                attributions.append(screen.screened[i])
                sources.append("screened")
            elif screen.report.accepted and screen.agree[i]:
                attributions.append(self.explain_with_proxy(proxy_ex, text, cls))
                sources.append("proxy")
            else:
                attributions.append(target_ex.explain(text, target_class=cls))
                sources.append("fallback")
        fallback_calls = self.target.n_calls - target_start
        costs = self._costs(
            screen.texts,
            screening=screen.target_calls_screening,
            predictions=screen.target_calls_predictions,
            fallbacks=fallback_calls,
            proxy_calls=screen.proxy_calls + self.proxy_calls() - proxy_start,
            seconds=screen.seconds + time.perf_counter() - started,
        )
        pick = (lambda xs: [xs[i] for i in positions]) if indices is not None else list
        return ProxyTaskResult(
            attributions=attributions,
            sources=sources,
            target_predictions=pick(screen.target_predictions),
            proxy_predictions=pick(screen.proxy_predictions),
            screening=screen.report,
            costs=costs,
            mode="task",
            method=self.method,
        )

    def _predictions(
        self, texts: Sequence[str], target_class: int | str | None
    ) -> tuple[list[str], list[int], list[int], list[int], list[bool]]:
        """Step 1: both models score every text once; the explained classes."""
        items = check_texts(texts, "texts", allow_empty_list=False)
        for i, t in enumerate(items):
            if not t.strip():
                raise ValueError(f"texts[{i}] is blank: there is nothing to explain")
        t_probs = self.target(items)
        p_probs = self.proxy_probabilities(items)
        if t_probs.shape[1] != p_probs.shape[1]:
            raise ValueError(
                f"the target has {t_probs.shape[1]} classes and the proxy "
                f"{p_probs.shape[1]}: they must have the same classes in the same order"
            )
        t_pred = [int(i) for i in np.argmax(t_probs, axis=1)]
        p_pred = [int(i) for i in np.argmax(p_probs, axis=1)]
        if target_class is None:
            classes = list(t_pred)
        else:
            from glasstext.explain.base import resolve_class

            cls = resolve_class(target_class, t_probs[0], self.target)
            classes = [cls] * len(items)
        agree = [(not self.prediction_check) or t == p for t, p in zip(t_pred, p_pred, strict=True)]
        return items, classes, t_pred, p_pred, agree

    def _costs(
        self,
        items: list[str],
        *,
        screening: int,
        predictions: int,
        fallbacks: int,
        proxy_calls: int,
        seconds: float,
    ) -> TaskCosts:
        return TaskCosts(
            target_calls_screening=screening,
            target_calls_predictions=predictions,
            target_calls_fallbacks=fallbacks,
            target_calls_all_target=sum(self.design_size(t) for t in items),
            proxy_calls=proxy_calls,
            seconds=round(seconds, 3),
        )

    def _screen(
        self, items: list[str], classes: list[int], agree: list[bool]
    ) -> tuple[ScreeningReport, dict[int, Attribution]]:
        """Step 2: the sequential paired test on instances where the predictions agree."""
        target_ex = self.explainer(self.target)
        proxy_ex = self.proxy_explainers()
        rng = np.random.default_rng(None if self.seed is None else [self.seed, 2])
        candidates = [i for i in rng.permutation(len(items)) if agree[i]][: self.max_screen_texts]
        looks = screening_looks(self.min_screen_texts, self.max_screen_texts)
        level = self.delta / len(looks)
        done: dict[int, Attribution] = {}
        qp: list[float] = []
        qt: list[float] = []
        decision, p_acc, p_rej = "undecided", 1.0, 1.0
        for i in candidates:
            i = int(i)
            t_attr = target_ex.explain(items[i], target_class=classes[i])
            p_attr = self.explain_with_proxy(proxy_ex, items[i], classes[i])
            done[i] = t_attr
            qt.append(self.quality_of(t_attr))
            qp.append(self.quality_of(p_attr))
            if len(qp) in looks:
                d = np.asarray(qp) - self.tau * np.asarray(qt)
                p_acc, p_rej = _one_sided(d, "greater"), _one_sided(d, "less")
                if p_acc < level or p_rej < level:
                    decision = "accept" if p_acc < level else "reject"
                    break
        if not candidates:
            decision = "skipped"
        report = ScreeningReport(
            decision=decision,
            n_screened=len(qp),
            instances=list(done),
            proxy_quality=qp,
            target_quality=qt,
            quality_ratio=float(sum(qp) / sum(qt)) if qt and sum(qt) != 0 else math.nan,
            p_accept=p_acc,
            p_reject=p_rej,
            tau=self.tau,
            delta=self.delta,
            looks=looks,
            metric=self.quality,
        )
        return report, done

    def __repr__(self) -> str:
        proxy = self.proxies if len(self.proxies) > 1 else self.proxy
        return (
            f"ProxyTask(target={self.target!r}, proxy={proxy!r}, method={self.method!r}, "
            f"tau={self.tau}, delta={self.delta})"
        )


def _drop_per_explanation_options(options: dict[str, Any]) -> None:
    """Take ``screening`` and ``threshold`` out of ``options``: the screen runs once per task.

    ``screening="task"`` and ``threshold`` (the per-explanation agreement)
    warn and do nothing; ``screening="explanation"`` is an error that says
    what replaces it.
    """
    if "screening" in options:
        screening = options.pop("screening")
        if screening == "explanation":
            raise InvalidParameterError(
                "ProxyTask(screening='explanation') is removed: screening each explanation "
                "kept 0.88-0.95 of the target's fidelity for 62-76% of its calls, within 0.01 "
                "of sending that share of the texts to the target at random "
                "(benchmarks/results/proxy_explanations.json); for it, call "
                "ProxyExplainer(target, proxy).explain(text) on each text"
            )
        if screening != "task":
            raise InvalidParameterError(f"screening must be 'task', got {screening!r}")
        # 5: the caller of ProxyTask(), above __init__ and its renaming wrapper
        warn_renamed(
            "ProxyTask(screening='task')", "ProxyTask without it (its only mode)", stacklevel=5
        )
    if "threshold" in options:
        options.pop("threshold")
        warn_renamed(
            "ProxyTask(threshold=...), which does nothing,",
            "ProxyExplainer(threshold=...) for a per-explanation screen",
            stacklevel=5,
        )


def _per_proxy(value: Any, n: int, name: str) -> list[int | None]:
    """One budget per proxy from an int, a list or None."""
    if value is None or isinstance(value, int):
        return [value] * n
    items = list(value)
    if len(items) != n:
        raise InvalidParameterError(f"{name} has {len(items)} entries for {n} proxies")
    for item in items:
        check_param(item, [Interval(int, 1, None), None], name)
    return items


def _weights(value: Sequence[float] | None, n: int) -> np.ndarray:
    """Ensemble weights, non-negative and summing to one (``None``: equal)."""
    if value is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(list(value), dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InvalidParameterError(
            f"proxy_weights must be {n} non-negative numbers with a positive sum, got {value!r}"
        )
    return w / w.sum()


def combine_attributions(
    attributions: Sequence[Attribution], weights: Sequence[float] | None = None
) -> Attribution:
    """The weighted mean of explanations of one text, each scaled to unit L1 norm first.

    Explanations of different models (a zero-shot LM's probabilities, a
    distilled regressor's) live on different scales; scaling each to unit L1
    norm makes ``weights`` the share of the ranking each one decides. The
    result's scores are unitless (they no longer sum to ``value -
    base_value``); ``value`` and ``base_value`` are the weighted means,
    ``n_calls`` / ``n_texts`` / ``n_samples`` the sums, and ``extras`` says
    what was combined.

    Parameters
    ----------
    attributions : sequence of Attribution
        Explanations of the same text and class (same units).
    weights : sequence of float or None, default=None
        Non-negative; ``None`` gives equal weights.

    Returns
    -------
    Attribution
    """
    attrs = list(attributions)
    if not attrs:
        raise ValueError("combine_attributions needs at least one attribution")
    first = attrs[0]
    for a in attrs[1:]:
        if a.text != first.text or a.spans != first.spans:
            raise ValueError("the attributions explain different texts or units")
        if a.explained_class != first.explained_class:
            raise ValueError("the attributions explain different classes")
    w = _weights(weights, len(attrs))
    scores = np.zeros(len(first))
    for wi, a in zip(w, attrs, strict=True):
        norm = float(np.abs(a.scores).sum())
        if norm > 0:
            scores += wi * np.asarray(a.scores) / norm
    return replace(
        first,
        scores=scores,
        base_value=float(sum(wi * a.base_value for wi, a in zip(w, attrs, strict=True))),
        value=float(sum(wi * a.value for wi, a in zip(w, attrs, strict=True))),
        n_calls=sum(a.n_calls for a in attrs),
        n_texts=sum(a.n_texts for a in attrs),
        n_samples=sum(a.n_samples for a in attrs),
        extras={
            "ensemble": [
                {"weight": float(wi), "n_samples": a.n_samples, "extras": a.extras}
                for wi, a in zip(w, attrs, strict=True)
            ]
        },
    )


# -- a proxy learned for the target ------------------------------------------------------


class LearnedProxy(Scorer):
    """A proxy distilled from target-scored texts (see :func:`learn_proxy`).

    Binary targets: one regressor on the target's log-odds, read through the
    logistic. More classes: one regressor per class on the centred
    log-probabilities, read through a softmax.

    Attributes
    ----------
    regressors : list
    classes : tuple of str or None
    target_calls : int
        Target calls spent collecting the training texts.
    n_train : int
    """

    def __init__(
        self,
        regressors: list[Any],
        classes: tuple[str, ...] | None,
        *,
        target_calls: int,
        n_train: int,
        batch_size: int = 1024,
    ) -> None:
        super().__init__(batch_size=batch_size)
        self.regressors = regressors
        self._classes = classes
        self.target_calls = target_calls
        self.n_train = n_train

    @property
    def classes(self) -> tuple[str, ...] | None:
        return self._classes

    def _score(self, texts: list[str]) -> Any:
        texts = [t if t.strip() else "." for t in texts]  # glasstext models reject blank texts
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = [np.asarray(r.predict(texts), dtype=np.float64) for r in self.regressors]
        if len(outs) == 1:
            p = expit(outs[0])
            return np.column_stack([1.0 - p, p])
        return softmax(np.column_stack(outs), axis=1)

    def __repr__(self) -> str:
        return f"LearnedProxy(n_train={self.n_train}, target_calls={self.target_calls})"


def _default_regressor() -> Any:
    from glasstext.models.auglinear import AugLinearRegressor

    return AugLinearRegressor(progress=False)


def learn_proxy(
    target: Any,
    texts: Sequence[str],
    *,
    n_perturbations: int = 2,
    keep: tuple[float, float] = (0.2, 0.9),
    regressor: Callable[[], Any] | None = None,
    mask_token: str | None = None,
    seed: int = 0,
) -> LearnedProxy:
    """Distil a cheap proxy for ``target`` on target-scored perturbations of ``texts``.

    The training set is every text of ``texts`` and ``n_perturbations``
    random word deletions of each (each keeps a uniform share of its words in
    ``keep``), all scored once by the target: ``len(texts) * (1 +
    n_perturbations)`` target calls at most (fewer for texts the target
    scorer has already seen, e.g. in a :class:`ProxyTask`'s prediction check
    when the same scorer is used). The proxy is the regressor fitted to the
    target's log-odds (a binary target) or centred log-probabilities.

    Parameters
    ----------
    target : Scorer, estimator or callable
    texts : sequence of str
        The task's texts (the perturbations are drawn around them).
    n_perturbations : int, default=2
    keep : (float, float), default=(0.2, 0.9)
    regressor : callable, optional
        Returns an unfitted regressor with ``fit(texts, y)`` / ``predict(texts)``;
        default a hybrid :class:`~glasstext.AugLinearRegressor`.
    mask_token : str or None, default=None
        How a deleted word is rendered (as in the explainers).
    seed : int, default=0

    Returns
    -------
    LearnedProxy
    """
    scorer = as_scorer(target)
    items = check_texts(texts, "texts", allow_empty_list=False)
    check_param(n_perturbations, [Interval(int, 0, None)], "n_perturbations")
    lo, hi = (float(k) for k in keep)
    if not 0.0 <= lo <= hi <= 1.0:
        raise InvalidParameterError(
            f"keep must be (low, high) with 0 <= low <= high <= 1, got {keep}"
        )
    seed = check_seed(seed, "seed")
    rng = np.random.default_rng(seed)
    train: list[str] = []
    wordless = set(wordless_positions(items)) if n_perturbations else set()
    for i, text in enumerate(items):
        train.append(text)
        if n_perturbations == 0 or i in wordless:  # a text with no word has nothing to delete
            continue
        units = make_units(text)
        n = len(units)
        shares = rng.uniform(lo, hi, size=n_perturbations)
        masks = rng.random((n_perturbations, n)) < shares[:, None]
        train.extend(render_many(units, masks, mask_token))
    train = [t for t in dict.fromkeys(train) if t.strip()]
    before = scorer.n_calls
    probs = np.clip(scorer(train), 1e-6, 1.0 - 1e-6)
    calls = scorer.n_calls - before
    make = regressor or _default_regressor
    if probs.shape[1] == 2:
        targets = [logit(probs[:, 1])]
    else:
        logp = np.log(probs)
        targets = list((logp - logp.mean(axis=1, keepdims=True)).T)
    regressors = []
    for y in targets:
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train, np.asarray(y))
        regressors.append(model)
    return LearnedProxy(regressors, scorer.classes, target_calls=calls, n_train=len(train))
