"""Audit a language model used as a classifier: what drives it, and whether it is biased.

:func:`audit_lm` takes a target (an LM with a prompt and label words, a spec
such as ``openai:MODEL@URL``, an estimator, a function returning class
probabilities) and a corpus, and returns an :class:`LMAudit`:

1. **Scores.** The target scores every text (through
   :class:`~glasstext.explain.audit_scoring.BudgetedScorer`: batched, counted
   against ``budget``, cached in a file so a rerun spends nothing again). An
   LM's class probabilities are a softmax of its label words' log-probabilities,
   calibrated on content-free inputs (``calibrate=True``) as
   :class:`~glasstext.explain.LMScorer` does. The *score* of a text is the
   target's log-odds of the second class (two classes) or its centred
   log-probabilities (more).
2. **Surrogate.** An Aug-Linear hybrid regressor is distilled on the scores
   (:func:`~glasstext.explain.learn_proxy`), and an Aug-Tree of depth at most
   4 draws its main rules. A share of the texts (``holdout``) is kept out of the
   distillation: on them the surrogate's *fidelity* is measured (agreement of
   its predicted class with the target's, Spearman correlation of the scores,
   each with a percentile bootstrap interval). Below ``min_agreement``, less
   than ``min_above_majority`` above always answering the target's most
   frequent class, or below ``min_spearman``, the surrogate is reported as
   untrusted and its table is not presented as the target's reasons.
3. **Drivers.** The n-grams with the largest surrogate values (in at least
   ``min_support`` texts of the corpus), with example texts; the tree's rules;
   with ``y_true``, the n-grams whose value for the target differs most from
   their value for the gold labels (the same regressor fitted to the labels,
   scaled to the target's spread): what the target over- and under-weights.
4. **Probes.** For term pairs ``(a, b)`` (default :data:`DEMOGRAPHIC_PAIRS`),
   texts holding ``a`` get ``b`` instead and texts holding ``b`` get ``a``; the
   measured shift is the mean change of the target's score toward "``b``
   instead of ``a``", with a bootstrap interval over the paired texts. The
   surrogate predicts each shift first (no call), probes run in the order of
   the predicted size while the budget lasts, and each says whether the
   surrogate predicted it.
5. **Disagreements.** With ``y_true``, the texts where target and labels
   disagree, grouped by the n-gram that pushes the surrogate most toward the
   target's answer; a sample is explained by KernelSHAP on the target itself.
6. **Proxy.** With ``proxy=``, the proxy scores the corpus and the target only
   a sample (``target_fraction``); the proxy's class agreement with the target
   on the sample is screened by the sequential test of
   :class:`~glasstext.explain.ProxyTask`. Accepted, the surrogate learns from
   the target's scores on the sample and the proxy's (mapped to the target's
   scale by least squares) elsewhere; rejected, from the sample alone.
   Fidelity is always measured against the target.

When the budget runs out while scoring, the audit stops: the result is
partial (``complete=False``), what was scored is in the cache, and the same
call resumes from it.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from glasstext.explain import scorers
from glasstext.explain.audit_scoring import BudgetedScorer, BudgetExhausted, ScoreCache
from glasstext.explain.proxy_task import learn_proxy, sequential_screen
from glasstext.explain.scorers import (
    CONTENT_FREE_INPUTS,
    SENTIMENT_LABELS,
    SENTIMENT_TEMPLATE,
    CallableScorer,
    LMScorer,
    Scorer,
    as_scorer,
)
from glasstext.io import jsonable
from glasstext.results import ResultMixin, limit, view
from glasstext.text import extract_ngrams
from glasstext.validation import (
    Interval,
    check_param,
    check_seed,
    check_texts,
    wordless_positions,
)

__all__ = [
    "DEMOGRAPHIC_PAIRS",
    "Driver",
    "LMAudit",
    "Probe",
    "audit_lm",
    "parse_probe",
    "swap_terms",
]

#: The built-in counterfactual probes: ``(a, b)`` swaps, both ways.
DEMOGRAPHIC_PAIRS: tuple[tuple[str, str], ...] = (
    ("he", "she"),
    ("man", "woman"),
    ("men", "women"),
    ("boy", "girl"),
    ("father", "mother"),
    ("son", "daughter"),
    ("husband", "wife"),
    ("brother", "sister"),
    ("John", "Aisha"),
    ("Michael", "Jamal"),
    ("Emily", "Lakisha"),
    ("Christian", "Muslim"),
)

_EPS = 1e-6


# -- results ---------------------------------------------------------------------------


def _f(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Driver:
    """One n-gram of the surrogate's table: its value toward a class, where it occurs."""

    ngram: str
    value: float
    support: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ngram": self.ngram,
            "value": _f(self.value),
            "support": self.support,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class Probe:
    """One counterfactual probe: ``b`` instead of ``a`` in the texts holding either.

    ``measured_shift`` is the target's mean score change (``None`` when the
    probe was not run: ``status`` says why); ``predicted_shift`` the
    surrogate's on the same rewrites.
    """

    a: str
    b: str
    n_texts: int
    predicted_shift: float | None
    measured_shift: float | None = None
    ci95: tuple[float, float] | None = None
    calls: int = 0
    status: str = "measured"

    @property
    def significant(self) -> bool | None:
        """Whether the measured interval excludes 0."""
        if self.ci95 is None:
            return None
        return not (self.ci95[0] <= 0.0 <= self.ci95[1])

    @property
    def surrogate_predicted(self) -> bool | None:
        """Whether the surrogate foresaw the measured shift.

        A significant shift: the prediction has its sign and at least a third of
        its size. A shift not told apart from 0: the prediction lies inside the
        interval (or within 0.25 of 0).
        """
        if self.measured_shift is None or self.predicted_shift is None or self.ci95 is None:
            return None
        pred, meas = self.predicted_shift, self.measured_shift
        if self.significant:
            return bool(np.sign(pred) == np.sign(meas) and abs(pred) >= abs(meas) / 3)
        return bool(self.ci95[0] <= pred <= self.ci95[1] or abs(pred) < 0.25)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "n_texts": self.n_texts,
            "predicted_shift": _f(self.predicted_shift),
            "measured_shift": _f(self.measured_shift),
            "ci95": [_f(v) for v in self.ci95] if self.ci95 else None,
            "significant": self.significant,
            "surrogate_predicted": self.surrogate_predicted,
            "calls": self.calls,
            "status": self.status,
        }


@dataclass
class LMAudit(ResultMixin):
    """What :func:`audit_lm` found (the result protocol: ``to_dict``, ``str``, ``to_html``).

    Attributes
    ----------
    classes : tuple of str
    score_name : str
        What a *score* is (the log-odds of the second class, or centred log-probabilities).
    n_texts : int
    complete : bool
        False when the budget ran out before the audit could finish; ``stopped``
        says where.
    target_calls : int
        Target calls spent in this run (the cache file served ``calls_from_cache`` more).
    budget : int or None
    fidelity : dict
        ``agreement``, ``spearman`` (held-out), their ``*_ci95``, ``majority``
        (always answering the target's most frequent class), ``n_heldout``,
        ``trusted`` and the thresholds.
    table : dict of str to list of Driver
        Per class (two classes: the second), the surrogate's n-grams by value.
    tree_rules : str
    weighting : list of dict
        With ``y_true``: n-grams by ``difference`` = target value - gold value.
    probes : list of Probe
    disagreements : dict
    proxy : dict or None
    stages : dict of str to str
        Each stage's outcome ("done", "skipped: ...").
    """

    classes: tuple[str, ...]
    score_name: str
    n_texts: int
    complete: bool
    target_calls: int
    calls_from_cache: int
    budget: int | None
    stopped: str | None = None
    fidelity: dict[str, Any] = field(default_factory=dict)
    table: dict[str, list[Driver]] = field(default_factory=dict)
    tree_rules: str = ""
    weighting: list[dict[str, Any]] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    disagreements: dict[str, Any] = field(default_factory=dict)
    proxy: dict[str, Any] | None = None
    stages: dict[str, str] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)
    surrogate: Any = field(default=None, repr=False, compare=False)
    tree: Any = field(default=None, repr=False, compare=False)

    @property
    def trusted(self) -> bool:
        """Whether the surrogate met the fidelity thresholds on held-out texts."""
        return bool(self.fidelity.get("trusted", False))

    def drivers(
        self, k: int = 20, target_class: int | str | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` n-grams of largest absolute effect on the target's score, largest first.

        Two classes: values toward the second class. More: ``target_class``
        names the class (index or name).
        """
        name = self._class_name(target_class)
        rows = sorted(self.table.get(name, []), key=lambda d: -abs(d.value))
        return [(d.ngram, float(d.value)) for d in rows[: max(int(k), 0)]]

    def _class_name(self, target_class: int | str | None) -> str:
        if target_class is None:
            if len(self.classes) == 2:
                return self.classes[1]
            raise ValueError(f"give target_class: one of {list(self.classes)}")
        if isinstance(target_class, int):
            return self.classes[target_class]
        if target_class not in self.classes:
            raise ValueError(f"target_class {target_class!r} is not one of {list(self.classes)}")
        return target_class

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        return jsonable(
            {
                "classes": list(self.classes),
                "score": self.score_name,
                "n_texts": self.n_texts,
                "complete": self.complete,
                "stopped": self.stopped,
                "target_calls": self.target_calls,
                "calls_from_cache": self.calls_from_cache,
                "budget": self.budget,
                "class_counts": self.class_counts,
                "fidelity": self.fidelity,
                "table": {c: [d.to_dict() for d in limit(v, top)] for c, v in self.table.items()},
                "tree_rules": self.tree_rules,
                "weighting": limit(self.weighting, top),
                "probes": [p.to_dict() for p in self.probes],
                "disagreements": self.disagreements,
                "proxy": self.proxy,
                "stages": self.stages,
            }
        )

    def __str__(self) -> str:
        lines = [
            f"LM audit of {self.n_texts} texts, classes {list(self.classes)}",
            f"target calls: {self.target_calls}"
            + (f" of a budget of {self.budget}" if self.budget is not None else "")
            + (f" ({self.calls_from_cache} from the cache)" if self.calls_from_cache else ""),
        ]
        if not self.complete:
            lines.append(f"INCOMPLETE: the budget ran out during {self.stopped}")
        fid = self.fidelity
        if fid:
            lines.append(
                f"surrogate fidelity on {fid['n_heldout']} held-out texts: agreement "
                f"{_pct(fid['agreement'])} {_ci(fid['agreement_ci95'])} (majority "
                f"{_pct(fid['majority'])}), Spearman {_num(fid['spearman'])} "
                f"{_ci(fid['spearman_ci95'])}: "
                + ("trusted" if self.trusted else "NOT TRUSTED: the table is not the LM's reasons")
            )
        if self.table:
            for name, rows in self.table.items():
                top = sorted(rows, key=lambda d: -abs(d.value))[:10]
                lines.append(f"drivers toward {name} (+) / away (-):")
                lines.extend(f"  {d.value:+.3f}  {d.ngram}  ({d.support} texts)" for d in top)
        if self.weighting:
            lines.append("over-/under-weighted against the labels (target beyond the labels):")
            lines.extend(f"  {w['difference']:+.3f}  {w['ngram']}" for w in self.weighting[:10])
        if self.probes:
            lines.append("probes (b instead of a; score shift):")
            for p in self.probes:
                if p.measured_shift is None:
                    lines.append(f"  {p.a} -> {p.b}: {p.status}")
                else:
                    lines.append(
                        f"  {p.a} -> {p.b}: {p.measured_shift:+.3f} {_ci(p.ci95)} on "
                        f"{p.n_texts} texts, surrogate {p.predicted_shift:+.3f}"
                        + (" (foreseen)" if p.surrogate_predicted else " (not foreseen)")
                    )
        if self.disagreements.get("n"):
            d = self.disagreements
            lines.append(f"disagreements with the labels: {d['n']} ({_pct(d['rate'])})")
            lines.extend(f"  {g['ngram']}: {g['count']} texts" for g in d["groups"][:8])
        if self.proxy:
            lines.append(
                f"proxy: {self.proxy['decision']}, target calls {self.proxy['target_calls']} "
                f"({_pct(self.proxy['target_call_fraction'])} of scoring every text)"
            )
        return "\n".join(lines)

    def save_html(self, path: str | os.PathLike[str]) -> Path:
        """The report as a standalone page at ``path``."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(str(view(self, "page")), encoding="utf-8")
        return out

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """``audit.html`` and ``audit.json`` in ``folder``; returns the HTML path."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "audit.json").write_text(self.to_json(indent=1), encoding="utf-8")
        return self.save_html(out / "audit.html")


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * float(v):.1f}%"


def _num(v: Any) -> str:
    return "–" if v is None else f"{float(v):.3f}"


def _ci(ci: Any) -> str:
    if not ci or ci[0] is None:
        return ""
    return f"[{float(ci[0]):.3f}, {float(ci[1]):.3f}]"


# -- probes: the rewrites ----------------------------------------------------------------


def parse_probe(value: str) -> tuple[str, str]:
    """``"a:b"`` as a probe pair (``"a:"`` deletes ``a``)."""
    if not isinstance(value, str) or value.count(":") != 1:
        raise ValueError(f"a probe is 'TERM:OTHER', got {value!r}")
    a, b = (s.strip() for s in value.split(":"))
    if not a:
        raise ValueError(f"a probe needs a term before ':', got {value!r}")
    if a.lower() == b.lower():
        raise ValueError(f"a probe swaps two different terms, got {value!r}")
    return a, b


def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def _like(found: str, new: str) -> str:
    if not new:
        return new
    if found.isupper() and len(found) > 1:
        return new.upper()
    if found[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def swap_terms(text: str, a: str, b: str) -> str:
    """``text`` with every whole-word ``a`` (any case) replaced by ``b`` in its case."""
    out = _pattern(a).sub(lambda m: _like(m.group(0), b), text)
    return re.sub(r"[ \t]{2,}", " ", out).strip() if not b else out


# -- the audit -----------------------------------------------------------------------------


def _resolve_target(
    lm: Any,
    prompt: str | None,
    labels: Sequence[str] | None,
    calibrate: bool,
    chat: bool,
    content_free: Sequence[str] | None = None,
) -> tuple[Scorer, str | None]:
    """The scorer of ``lm`` and its identity for the cache (``None``: unknown)."""
    from glasstext.backends.lm_base import LanguageModel
    from glasstext.backends.redaction import redact_spec

    if isinstance(lm, str | os.PathLike | LanguageModel):
        scorer = LMScorer(
            lm,
            prompt or SENTIMENT_TEMPLATE,
            labels or SENTIMENT_LABELS,
            calibrate=calibrate,
            chat=chat,
            content_free=tuple(content_free or CONTENT_FREE_INPUTS),
        )
        if isinstance(scorer, scorers.LMScorer):
            ident = (
                f"{scorer.lm.identity}|{scorer.template}|{scorer.labels}|{calibrate}|{chat}"
                f"|{scorer.content_free}"
            )
        else:  # a stand-in for LMScorer
            ident = f"{lm}|{prompt}|{labels}|{calibrate}|{chat}"
        return scorer, redact_spec(ident)
    if prompt is not None:
        raise ValueError("prompt= applies to a language model, not to a scorer or function")
    if isinstance(lm, scorers.LMScorer):
        ident = (
            f"{lm.lm.identity}|{lm.template}|{lm.labels}|{lm.calibrate}|{lm.chat}|{lm.content_free}"
        )
        return lm, redact_spec(ident)
    if callable(lm) and not isinstance(lm, Scorer) and not hasattr(lm, "predict_proba"):
        return CallableScorer(lm, classes=[s.strip() for s in labels] if labels else None), None
    return as_scorer(lm), None


def _scores(probs: np.ndarray) -> np.ndarray:
    """The target's scores: log-odds of the second class (2 classes), else centred log-probs."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0 - _EPS)
    if p.shape[1] == 2:
        return (np.log(p[:, 1]) - np.log(p[:, 0]))[:, None]
    logp = np.log(p)
    return logp - logp.mean(axis=1, keepdims=True)


def _classes_of(scores: np.ndarray) -> np.ndarray:
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(int)
    return np.argmax(scores, axis=1)


def _bootstrap_ci(
    data: tuple[np.ndarray, ...], statistic: Callable[..., Any], seed: int, vectorized: bool
) -> tuple[float, float] | None:
    n = len(data[0])
    if n < 3:
        return None
    if all(np.ptp(d) == 0 for d in data) and vectorized:
        v = float(statistic(*data, axis=-1))
        return v, v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            data,
            statistic,
            paired=True,
            vectorized=vectorized,
            n_resamples=999,
            method="percentile",
            random_state=np.random.default_rng(seed),
        )
    low, high = res.confidence_interval
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return float(low), float(high)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b).statistic)


def fidelity(
    target_scores: np.ndarray,
    surrogate_scores: np.ndarray,
    *,
    min_agreement: float = 0.85,
    min_above_majority: float = 0.05,
    min_spearman: float = 0.6,
    threshold: float = 0.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Agreement and Spearman correlation of the surrogate with the target, with intervals.

    Scores are ``(n, 1)`` log-odds or ``(n, k)`` centred log-probabilities;
    for several classes the Spearman correlation is the mean over classes.
    Two classes: the surrogate answers the second class above ``threshold``.
    Trusted: agreement at least ``min_agreement`` and ``min_above_majority``
    above the share of the target's most frequent class (a target that gives
    one answer to almost every text is followed by any constant), and Spearman
    at least ``min_spearman``.
    """
    t_cls = _classes_of(target_scores)
    s_cls = (
        (surrogate_scores[:, 0] > threshold).astype(int)
        if surrogate_scores.shape[1] == 1
        else _classes_of(surrogate_scores)
    )
    agree = (t_cls == s_cls).astype(np.float64)
    k = target_scores.shape[1]

    def spear(*cols: np.ndarray) -> float:
        return float(np.mean([_spearman(cols[j], cols[k + j]) for j in range(k)]))

    cols = tuple(target_scores[:, j] for j in range(k)) + tuple(
        surrogate_scores[:, j] for j in range(k)
    )
    agreement = float(agree.mean()) if agree.size else float("nan")
    spearman = spear(*cols) if agree.size >= 3 else float("nan")
    majority = float(np.bincount(t_cls).max() / t_cls.size) if t_cls.size else float("nan")
    trusted = bool(
        agree.size >= 3
        and agreement >= min_agreement
        and agreement - majority >= min_above_majority
        and spearman >= min_spearman
    )
    return {
        "agreement": agreement,
        "agreement_ci95": _bootstrap_ci((agree,), np.mean, seed, True),
        "spearman": spearman,
        "spearman_ci95": _bootstrap_ci(cols, spear, seed, False),
        "majority": majority,
        "n_heldout": int(agree.size),
        "threshold": float(threshold),
        "min_agreement": min_agreement,
        "min_above_majority": min_above_majority,
        "min_spearman": min_spearman,
        "trusted": trusted,
    }


def _threshold(target_scores: np.ndarray, surrogate_scores: np.ndarray) -> float:
    """Two classes: the cut of the surrogate's scores that best reproduces the target's
    classes on the distillation texts (a regressor shrinks toward the mean, so with a
    target that leans to one class, 0 is not the best cut); nearest 0 among ties."""
    if target_scores.shape[1] != 1 or len(target_scores) < 2:
        return 0.0
    t_cls = target_scores[:, 0] > 0
    s = np.sort(surrogate_scores[:, 0])
    cuts = np.concatenate([[0.0], (s[1:] + s[:-1]) / 2])
    hits = np.array([np.mean((surrogate_scores[:, 0] > c) == t_cls) for c in cuts])
    best = np.flatnonzero(hits >= hits.max() - 1e-12)
    return float(cuts[best[np.argmin(np.abs(cuts[best]))]])


def _surrogate_scores(surrogate: Any, texts: Sequence[str]) -> np.ndarray:
    texts = [t if t.strip() else "." for t in texts]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cols = [np.asarray(r.predict(texts), dtype=np.float64) for r in surrogate.regressors]
    return np.column_stack(cols)


def _regressor_factory(encoder: Any, seed: int) -> Callable[[], Any]:
    from glasstext.models.auglinear import AugLinearRegressor

    def make() -> Any:
        options: dict[str, Any] = {"progress": False, "random_state": seed}
        if encoder is not None:
            options["encoder"] = encoder
        return AugLinearRegressor(**options)

    return make


def _table_values(regressor: Any) -> dict[str, float]:
    """Every training n-gram's value in a fitted Aug-Linear regressor."""
    rows = regressor.top_ngrams(k=len(regressor.vocabulary_) + 1)["positive"]
    return {str(g): float(v) for g, v, *_ in rows}


def _document_frequency(texts: Sequence[str], ngram_range: tuple[int, int]) -> Counter[str]:
    df: Counter[str] = Counter()
    for t in texts:
        df.update(set(extract_ngrams(t, ngram_range)))
    return df


def _examples(ngram: str, texts: Sequence[str], n: int = 2) -> tuple[str, ...]:
    pattern = _pattern(ngram)
    found = [t for t in texts if pattern.search(t)]
    found.sort(key=len)
    return tuple(t if len(t) <= 240 else t[:237] + "..." for t in found[:n])


def _labels_as_indices(y_true: Sequence[Any], classes: tuple[str, ...], n: int) -> np.ndarray:
    y = list(y_true)
    if len(y) != n:
        raise ValueError(f"y_true has {len(y)} labels for {n} texts")
    names = [c.strip().lower() for c in classes]
    out = []
    for v in y:
        index = isinstance(v, int | np.integer) and 0 <= int(v) < len(classes)
        if isinstance(v, bool | np.bool_) or index:
            out.append(int(v))
        elif str(v).strip().lower() in names:
            out.append(names.index(str(v).strip().lower()))
        else:
            raise ValueError(
                f"label {v!r} is neither a class index nor one of the classes {list(classes)}"
            )
    return np.asarray(out, dtype=int)


def audit_lm(
    lm: Any,
    texts: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    prompt: str | None = None,
    budget: int | None = None,
    y_true: Sequence[Any] | None = None,
    probes: Sequence[tuple[str, str] | str] | None = None,
    proxy: Any = None,
    encoder: Any = None,
    calibrate: bool = True,
    content_free: Sequence[str] | None = None,
    chat: bool = False,
    holdout: float = 0.25,
    min_agreement: float = 0.85,
    min_above_majority: float = 0.05,
    min_spearman: float = 0.6,
    min_support: int = 3,
    ngram_range: tuple[int, int] = (1, 2),
    max_depth: int = 4,
    tree: bool = True,
    probe_texts: int = 50,
    n_shap: int = 5,
    shap_samples: int = 64,
    target_fraction: float = 0.2,
    n_perturbations: int = 0,
    tau: float = 0.9,
    cache: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    seed: int = 0,
) -> LMAudit:
    """Audit ``lm`` used as a classifier on ``texts`` (see the module notes).

    Parameters
    ----------
    lm : str, LanguageModel, Scorer, estimator or callable
        The target: an LM name or spec (``"gemma-3-270m"``, ``"openai:MODEL@URL"``)
        or instance, used with ``prompt`` and ``labels``; or anything
        :func:`~glasstext.explain.as_scorer` accepts.
    texts : sequence of str
        The corpus.
    labels : sequence of str, optional
        An LM's label words, in class order (default: the sentiment labels);
        for a function, the class names.
    prompt : str, optional
        An LM's template with ``{text}`` (default: the sentiment prompt).
    budget : int, optional
        Most target calls this run may spend (texts the target evaluates; texts in
        the cache are free). ``None``: no limit.
    y_true : sequence, optional
        Gold labels (class indices or class names): adds the over/under-weighting
        table and the disagreements.
    probes : sequence of (a, b) or "a:b", optional
        Counterfactual swaps; default :data:`DEMOGRAPHIC_PAIRS`; ``[]``: none.
    proxy : LM name, LanguageModel, Scorer, estimator or callable, optional
        Scores the corpus instead of the target (same prompt and labels for an LM).
    encoder : optional
        The surrogate's encoder (an ``encoder=`` value of the Aug models);
        default the models' default.
    calibrate, chat : bool
        For an LM target: content-free calibration, chat template.
    content_free : sequence of str, optional
        For an LM target: the calibration's content-free inputs (default
        :class:`~glasstext.explain.LMScorer`'s; ``[" "]`` calibrates on an empty text).
    holdout : float, default=0.25
        Share of the scored texts kept out of the distillation to measure fidelity.
    min_agreement, min_above_majority, min_spearman : float
        The surrogate is trusted when, on the held-out texts, its agreement is
        at least ``min_agreement`` and at least ``min_above_majority`` above
        always answering the target's most frequent class, and its Spearman
        correlation at least ``min_spearman``.
    min_support : int, default=3
        Texts of the corpus an n-gram must occur in to be listed.
    ngram_range : (int, int), default=(1, 2)
        The n-grams listed (the surrogate's own range is its default).
    max_depth : int, default=4
        Depth of the Aug-Tree (at most 4); ``tree=False`` skips it.
    probe_texts : int, default=50
        Most texts rewritten per direction of a probe.
    n_shap, shap_samples : int
        Disagreements explained by KernelSHAP on the target, and its samples each.
    n_perturbations : int, default=0
        Random word deletions of each training text, scored by the target and
        added to the distillation set (``learn_proxy``): more calls, a surrogate
        that has seen the LM react to missing words. Skipped (with a note in
        ``stages``) when the budget cannot pay them; not used with a proxy.
    target_fraction : float, default=0.2
        With a proxy: the share of texts the target scores.
    tau : float, default=0.9
        With a proxy: the class agreement with the target its screen asks for.
    cache : path, optional
        The score cache file (default ``out/scores.jsonl`` when ``out`` is given).
    out : path, optional
        A folder: ``audit.html``, ``audit.json`` and the cache are written there,
        also when the budget runs out.
    progress : bool, optional
        The bar of calls spent and left (default: on a terminal).
    seed : int, default=0

    Returns
    -------
    LMAudit
    """
    items = check_texts(texts, "texts", allow_empty_list=False)
    if budget is not None:
        check_param(budget, [Interval(int, 1, None)], "budget")
    check_param(holdout, [Interval(float, 0.05, 0.9)], "holdout")
    check_param(min_above_majority, [Interval(float, 0.0, 1.0)], "min_above_majority")
    check_param(max_depth, [Interval(int, 1, 4)], "max_depth")
    check_param(min_support, [Interval(int, 1, None)], "min_support")
    check_param(probe_texts, [Interval(int, 1, None)], "probe_texts")
    check_param(n_shap, [Interval(int, 0, None)], "n_shap")
    check_param(n_perturbations, [Interval(int, 0, None)], "n_perturbations")
    check_param(shap_samples, [Interval(int, 4, None)], "shap_samples")
    check_param(target_fraction, [Interval(float, 0.0, 1.0, closed="right")], "target_fraction")
    seed = check_seed(seed, "seed")
    pairs = (
        list(DEMOGRAPHIC_PAIRS)
        if probes is None
        else [parse_probe(p) if isinstance(p, str) else (str(p[0]), str(p[1])) for p in probes]
    )
    scorer, identity = _resolve_target(lm, prompt, labels, calibrate, chat, content_free)
    if cache is None and out is not None:
        cache = Path(out) / "scores.jsonl"
    store = ScoreCache(cache, identity)
    target = BudgetedScorer(scorer, store, budget, progress=progress)
    try:
        return _run(
            target,
            items,
            labels=labels,
            prompt=prompt,
            calibrate=calibrate,
            content_free=content_free,
            chat=chat,
            y_true=y_true,
            pairs=pairs,
            proxy=proxy,
            encoder=encoder,
            holdout=holdout,
            min_agreement=min_agreement,
            min_above_majority=min_above_majority,
            min_spearman=min_spearman,
            min_support=min_support,
            ngram_range=ngram_range,
            max_depth=max_depth if tree else 0,
            probe_texts=probe_texts,
            n_shap=n_shap,
            shap_samples=shap_samples,
            target_fraction=target_fraction,
            n_perturbations=n_perturbations,
            tau=tau,
            out=out,
            seed=seed,
        )
    finally:
        target.close()


def _run(target: BudgetedScorer, items: list[str], **o: Any) -> LMAudit:
    seed = int(o["seed"])
    rng = np.random.default_rng(seed)
    n = len(items)
    result = LMAudit(
        classes=(),
        score_name="",
        n_texts=n,
        complete=True,
        target_calls=0,
        calls_from_cache=0,
        budget=target.budget,
    )

    def finish(stopped: str | None = None) -> LMAudit:
        result.target_calls = target.spent
        result.calls_from_cache = target.from_cache
        if stopped is not None:
            result.complete = False
            result.stopped = stopped
            result.stages[stopped] = "stopped: the budget ran out"
        if o["out"] is not None:
            result.save(o["out"])
        return result

    # 1. scores (the target's, or the proxy's with a target sample)
    order = rng.permutation(n)
    proxy_scores = None
    if o["proxy"] is not None:
        proxy = _proxy_scorer(o["proxy"], o)
        proxy_probs = proxy(items)
        proxy_scores = _scores(proxy_probs)
        n_target = min(n, max(math.ceil(o["target_fraction"] * n), 20))
        sample = np.sort(order[:n_target])
    else:
        sample = np.arange(n)
    try:
        target_probs = target([items[i] for i in sample])
    except BudgetExhausted:
        return finish("scoring")
    classes = target.classes or tuple(str(c) for c in range(target_probs.shape[1]))
    result.classes = tuple(classes)
    k = target_probs.shape[1]
    result.score_name = (
        f"log-odds of {classes[1]!r}" if k == 2 else "centred log-probability of each class"
    )
    t_scores = _scores(target_probs)
    t_cls = _classes_of(t_scores)
    result.class_counts = {classes[c]: int((t_cls == c).sum()) for c in range(k)}
    result.stages["scoring"] = "done"

    # 2. the surrogate: distilled on the training part, checked on the held-out part
    n_held = max(round(o["holdout"] * len(sample)), min(3, len(sample) - 1))
    perm = rng.permutation(len(sample))
    held_pos, train_pos = np.sort(perm[:n_held]), np.sort(perm[n_held:])
    held_idx = sample[held_pos]
    train_texts = [items[i] for i in sample[train_pos]]
    train_scores = t_scores[train_pos]
    if proxy_scores is not None:
        decision, proxy_info, extra_texts, extra_scores = _screen_proxy(
            proxy_scores, t_scores, sample, train_pos, items, o
        )
        proxy_info.update(
            target_calls=target.spent + target.from_cache,
            target_call_fraction=(target.spent + target.from_cache) / n,
        )
        result.proxy = proxy_info
        if decision == "accept":
            train_texts = train_texts + extra_texts
            train_scores = np.vstack([train_scores, extra_scores])
    surrogate = None
    if o["n_perturbations"] and proxy_scores is None:
        try:
            surrogate = learn_proxy(
                target,
                train_texts,
                n_perturbations=o["n_perturbations"],
                regressor=_regressor_factory(o["encoder"], seed),
                seed=seed,
            )
            result.stages["perturbations"] = "done"
        except BudgetExhausted:
            result.stages["perturbations"] = "skipped: the budget ran out"
    if surrogate is None:
        surrogate = _distil(train_texts, train_scores, classes, o)
    result.surrogate = surrogate
    held_texts = [items[i] for i in held_idx]
    result.fidelity = fidelity(
        t_scores[held_pos],
        _surrogate_scores(surrogate, held_texts),
        min_agreement=o["min_agreement"],
        min_above_majority=o["min_above_majority"],
        min_spearman=o["min_spearman"],
        threshold=_threshold(train_scores, _surrogate_scores(surrogate, train_texts)),
        seed=seed,
    )
    result.stages["surrogate"] = "done"

    # 3. drivers, rules, weighting against the labels
    df = _document_frequency(items, tuple(o["ngram_range"]))
    values = [_table_values(r) for r in surrogate.regressors]
    names = [classes[1]] if k == 2 else list(classes)
    for name, table in zip(names, values, strict=True):
        listed = [(g, v) for g, v in table.items() if df.get(g, 0) >= o["min_support"]]
        listed.sort(key=lambda gv: -abs(gv[1]))
        result.table[name] = [
            Driver(g, v, df[g], _examples(g, items) if i < 30 else ())
            for i, (g, v) in enumerate(listed[:200])
        ]
    if o["max_depth"]:
        result.tree = _fit_tree(train_texts, train_scores, classes, o)
        result.tree_rules = result.tree.export_text()
        result.stages["tree"] = "done"
    all_scores = np.full((n, t_scores.shape[1]), np.nan)
    all_scores[sample] = t_scores
    y_idx = None
    if o["y_true"] is not None:
        y_idx = _labels_as_indices(o["y_true"], result.classes, n)
        result.weighting = _weighting(items, y_idx, all_scores, values, names, df, o)
        result.stages["weighting"] = "done"

    # 4. probes, in the order of the surrogate's predicted shift
    result.probes = _run_probes(target, surrogate, items, o["pairs"], o, rng)
    result.stages["probes"] = "done"

    # 5. disagreements with the labels
    if y_idx is not None:
        result.disagreements = _disagreements(
            target, surrogate, items, sample, t_cls, y_idx, result.classes, o, rng
        )
        result.stages["disagreements"] = "done"
    return finish()


def _proxy_scorer(proxy: Any, o: dict[str, Any]) -> Scorer:
    from glasstext.backends.lm_base import LanguageModel

    if isinstance(proxy, str | os.PathLike | LanguageModel):
        return LMScorer(
            proxy,
            o["prompt"] or SENTIMENT_TEMPLATE,
            o["labels"] or SENTIMENT_LABELS,
            calibrate=o["calibrate"],
            chat=o["chat"],
            content_free=tuple(o["content_free"] or CONTENT_FREE_INPUTS),
        )
    return as_scorer(proxy)


def _screen_proxy(
    proxy_scores: np.ndarray,
    t_scores: np.ndarray,
    sample: np.ndarray,
    train_pos: np.ndarray,
    items: list[str],
    o: dict[str, Any],
) -> tuple[str, dict[str, Any], list[str], np.ndarray]:
    """The proxy's class agreement screened on the target's sample (ProxyTask's test);
    accepted, the proxy's scores off the sample mapped to the target's scale."""
    p_sample = proxy_scores[sample]
    agree = (_classes_of(p_sample) == _classes_of(t_scores)).astype(float)
    decision, n_used, p_acc, p_rej = sequential_screen(
        agree,
        np.ones_like(agree),
        tau=o["tau"],
        delta=0.01,
        min_screen_texts=min(5, len(agree)),
        max_screen_texts=max(min(len(agree), 200), 1),
    )
    # Least squares, per score column, on the sample's training part.
    x, y = p_sample[train_pos], t_scores[train_pos]
    slopes, intercepts = [], []
    for j in range(y.shape[1]):
        if np.ptp(x[:, j]) > 0:
            slope, intercept = np.polyfit(x[:, j], y[:, j], 1)
        else:
            slope, intercept = 0.0, float(y[:, j].mean())
        slopes.append(slope)
        intercepts.append(intercept)
    rest = np.setdiff1d(np.arange(len(items)), sample)
    mapped = proxy_scores[rest] * np.asarray(slopes) + np.asarray(intercepts)
    info = {
        "decision": decision,
        "agreement_on_sample": float(agree.mean()),
        "n_screened": int(n_used),
        "p_accept": p_acc,
        "p_reject": p_rej,
        "tau": o["tau"],
        "n_target_texts": len(sample),
        "calibration": {"slope": slopes, "intercept": intercepts},
    }
    return decision, info, [items[i] for i in rest], mapped


def _distil(texts: list[str], scores: np.ndarray, classes: Sequence[str], o: dict[str, Any]) -> Any:
    """The Aug-Linear surrogate on given scores, through :func:`learn_proxy`.

    The scores are handed over as a fixed function of the training texts, so
    distillation costs no target call.
    """
    lookup = {t: s for t, s in zip(texts, scores, strict=True)}

    def known(batch: list[str]) -> np.ndarray:
        s = np.stack([lookup[t] for t in batch])
        if s.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-s[:, 0]))
            return np.column_stack([1.0 - p, p])
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return learn_proxy(
        CallableScorer(known, classes=classes),
        texts,
        n_perturbations=0,
        regressor=_regressor_factory(o["encoder"], o["seed"]),
        seed=o["seed"],
    )


def _fit_tree(
    texts: list[str], scores: np.ndarray, classes: Sequence[str], o: dict[str, Any]
) -> Any:
    from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor

    options: dict[str, Any] = {
        "max_depth": o["max_depth"],
        "random_state": o["seed"],
        "progress": False,
    }
    if o["encoder"] is not None:
        options["encoder"] = o["encoder"]
    # Blank texts give a tree nothing to split on (and Aug-Tree refuses them).
    kept = [i for i, t in enumerate(texts) if t.strip()]
    texts, scores = [texts[i] for i in kept], scores[kept]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if scores.shape[1] == 1:
            return AugTreeRegressor(**options).fit(texts, scores[:, 0])
        names = np.asarray(classes, dtype=object)[_classes_of(scores)]
        return AugTreeClassifier(**options).fit(texts, list(names))


def _weighting(
    items: list[str],
    y_idx: np.ndarray,
    all_scores: np.ndarray,
    values: list[dict[str, float]],
    names: list[str],
    df: Counter[str],
    o: dict[str, Any],
) -> list[dict[str, Any]]:
    """The same regressor fitted to the gold labels (scaled to the target's spread),
    compared n-gram by n-gram with the surrogate's table.

    The gold table is first mapped onto the target's by least squares over the
    listed n-grams (the two fits differ in scale and offset: label noise, the
    LM's bias toward a class); ``difference`` is what is left, the target's
    value beyond what the labels account for."""
    # The scored texts; blank ones teach a table nothing (and Aug-Linear refuses them).
    scored = ~np.isnan(all_scores[:, 0]) & np.array([bool(t.strip()) for t in items])
    texts = [t for t, s in zip(items, scored, strict=True) if s]
    onehot = np.eye(max(len(names), 2))[y_idx[scored]]
    rows: list[dict[str, Any]] = []
    for j, name in enumerate(names):
        col = onehot[:, 1] if len(names) == 1 else onehot[:, j] - 1.0 / len(names)
        spread = np.std(all_scores[scored, j])
        gold_target = (col - col.mean()) / (np.std(col) or 1.0) * spread
        make = _regressor_factory(o["encoder"], o["seed"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gold = _table_values(make().fit(texts, gold_target))
        common = [g for g in values[j] if g in gold and df.get(g, 0) >= o["min_support"]]
        if len(common) < 3:
            continue
        lm_v = np.array([values[j][g] for g in common])
        gold_v = np.array([gold[g] for g in common])
        slope, intercept = np.polyfit(gold_v, lm_v, 1) if np.ptp(gold_v) > 0 else (0.0, lm_v.mean())
        expected = slope * gold_v + intercept
        rows.extend(
            {
                "class": name,
                "ngram": g,
                "target_value": float(v),
                "gold_value": float(gv),
                "expected_value": float(e),
                "difference": float(v - e),
                "support": df[g],
            }
            for g, v, gv, e in zip(common, lm_v, gold_v, expected, strict=True)
        )
    rows.sort(key=lambda r: -abs(r["difference"]))
    return rows[:200]


def _run_probes(
    target: BudgetedScorer,
    surrogate: Any,
    items: list[str],
    pairs: list[tuple[str, str]],
    o: dict[str, Any],
    rng: np.random.Generator,
) -> list[Probe]:
    planned: list[tuple[float, Probe, list[str], list[str], np.ndarray]] = []
    for a, b in pairs:
        originals: list[str] = []
        rewrites: list[str] = []
        signs: list[float] = []
        for term, other, sign in ((a, b, 1.0), (b, a, -1.0)):
            if not term:
                continue
            holding = [t for t in items if _pattern(term).search(t)]
            if len(holding) > o["probe_texts"]:
                picks = rng.choice(len(holding), size=o["probe_texts"], replace=False)
                holding = [holding[i] for i in np.sort(picks)]
            for t in holding:
                new = swap_terms(t, term, other)
                if new != t and new.strip():
                    originals.append(t)
                    rewrites.append(new)
                    signs.append(sign)
        if not originals:
            none = Probe(a, b, 0, None, status="no text holds either term")
            planned.append((-1.0, none, [], [], np.zeros(0)))
            continue
        s = np.asarray(signs)
        pred = _surrogate_scores(surrogate, rewrites) - _surrogate_scores(surrogate, originals)
        # Several classes: the class whose mean shift is largest.
        means = (pred * s[:, None]).mean(axis=0)
        predicted = float(means[np.argmax(np.abs(means))])
        planned.append(
            (abs(predicted), Probe(a, b, len(originals), predicted), originals, rewrites, s)
        )
    planned.sort(key=lambda p: -p[0])
    done: list[Probe] = []
    for _, probe, originals, rewrites, s in planned:
        if not originals:
            done.append(probe)
            continue
        need = int((~target.known(originals + rewrites)).sum())
        if need > target.left:
            done.append(_replace(probe, status=f"skipped: needs {need} calls, {target.left} left"))
            continue
        before = target.spent
        try:
            probs_o = target(originals)
            probs_r = target(rewrites)
        except BudgetExhausted:
            done.append(
                _replace(probe, status="skipped: the budget ran out", calls=target.spent - before)
            )
            continue
        d = _scores(probs_r) - _scores(probs_o)
        if d.shape[1] == 1:
            diffs = d[:, 0] * s
        else:
            j = int(np.argmax(np.abs((d * s[:, None]).mean(axis=0))))
            diffs = d[:, j] * s
        done.append(
            _replace(
                probe,
                measured_shift=float(diffs.mean()),
                ci95=_bootstrap_ci((diffs,), np.mean, o["seed"], True),
                calls=target.spent - before,
            )
        )
    return done


def _replace(probe: Probe, **changes: Any) -> Probe:
    from dataclasses import replace

    return replace(probe, **changes)


def _disagreements(
    target: BudgetedScorer,
    surrogate: Any,
    items: list[str],
    sample: np.ndarray,
    t_cls: np.ndarray,
    y_idx: np.ndarray,
    classes: tuple[str, ...],
    o: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, Any]:
    from glasstext.explain.kernelshap import KernelShapExplainer

    wrong = [(int(i), int(c)) for i, c in zip(sample, t_cls, strict=True) if c != y_idx[i]]
    groups: dict[str, list[int]] = {}
    for i, c in wrong:
        text = items[i] if items[i].strip() else "."
        j = 0 if len(surrogate.regressors) == 1 else c
        sign = (1.0 if c == 1 else -1.0) if len(surrogate.regressors) == 1 else 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            contributions = surrogate.regressors[j].explain(text).contributions
        toward = [(g, sign * float(np.ravel(v)[0])) for g, v in contributions]
        toward = [gv for gv in toward if gv[1] > 0]
        if toward:
            best = max(toward, key=lambda gv: gv[1])[0]
            groups.setdefault(best, []).append(i)
    grouped = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    shap_rows: list[dict[str, Any]] = []
    # SHAP explains words: a disagreement on a text without one is grouped, not explained.
    wordless = set(wordless_positions([items[i] for i, _ in wrong]))
    explainable = [k for k in range(len(wrong)) if k not in wordless]
    picks = [explainable[k] for k in rng.permutation(len(explainable))[: o["n_shap"]]]
    explainer = KernelShapExplainer(target, n_samples=o["shap_samples"], seed=o["seed"])
    status = "done"
    for p in picks:
        i, c = wrong[p]
        if target.left < o["shap_samples"]:
            status = f"stopped after {len(shap_rows)}: the budget ran out"
            break
        try:
            a = explainer.explain(items[i], target_class=c)
        except BudgetExhausted:
            status = f"stopped after {len(shap_rows)}: the budget ran out"
            break
        shap_rows.append(
            {
                "text": items[i],
                "target_class": classes[c],
                "gold": classes[int(y_idx[i])],
                "top": [[w, s] for w, s in a.top(5, by="signed")],
                "calls": a.n_calls,
            }
        )
    return {
        "n": len(wrong),
        "rate": len(wrong) / max(len(sample), 1),
        "groups": [
            {
                "ngram": g,
                "count": len(rows),
                "examples": [items[i] for i in rows[:3]],
            }
            for g, rows in grouped[:30]
        ],
        "kernelshap": shap_rows,
        "kernelshap_status": status,
    }
