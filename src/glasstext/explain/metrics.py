"""Faithfulness of an attribution, measured against a chosen model.

The shared yardstick of every explainer in the project. Words are ranked by
score, highest first (the words that push hardest toward the explained class;
ties keep text order), and the chosen model's probability ``f`` of the
explained class is measured on texts built with the attribution's own masking
(deletion or its mask string):

- **comprehensiveness** (AOPC, DeYoung et al. 2020): the mean over fractions
  ``q`` (default 10%, 20%, ..., 100%) of ``f(x) - f(x without its top q of
  words)``. Higher is better: the top words carry the prediction.
- **sufficiency** (AOPC): the mean of ``f(x) - f(only the top q of words)``.
  Lower is better: the top words alone keep the prediction.
- **deletion AUC** (Petsiuk et al. 2018): area under ``f`` as words are
  removed one by one in rank order, over the fraction removed in [0, 1]. Lower
  is better.
- **insertion AUC**: area under ``f`` as words are added one by one in rank
  order to the fully masked text. Higher is better.

The top ``q`` of ``n`` words is ``ceil(q * n)`` words (at least one). For two
attributions of the same text, :func:`top_k_agreement` and
:func:`rank_agreement` measure how much they agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from glasstext.explain.attribution import Attribution
from glasstext.explain.perturb import render_many
from glasstext.explain.scorers import as_scorer
from glasstext.results import ResultMixin

__all__ = [
    "DEFAULT_FRACTIONS",
    "Faithfulness",
    "comprehensiveness",
    "deletion_auc",
    "faithfulness",
    "insertion_auc",
    "rank_agreement",
    "sufficiency",
    "top_k_agreement",
]

DEFAULT_FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 11))


@dataclass(frozen=True)
class Faithfulness(ResultMixin):
    """All faithfulness metrics of one attribution against one model.

    Attributes
    ----------
    comprehensiveness, sufficiency : float
        AOPC over the fractions (higher / lower is better).
    deletion_auc, insertion_auc : float
        Areas under the probability curves (lower / higher is better).
    value : float
        The model's probability of the explained class for the full text.
    n_calls : int
        Texts the model evaluated to measure them.
    curve_fractions : tuple of float
        Share of the words removed (deletion) or added back (insertion) at
        each point of the two curves, from 0 to 1.
    deletion_curve, insertion_curve : tuple of float
        The explained class's probability at each of those points.
    """

    comprehensiveness: float
    sufficiency: float
    deletion_auc: float
    insertion_auc: float
    value: float
    n_calls: int
    curve_fractions: tuple[float, ...] = ()
    deletion_curve: tuple[float, ...] = ()
    insertion_curve: tuple[float, ...] = ()

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (``top`` is ignored: there is no ranked list)."""
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"faithfulness (value {self.value:.4f}, {self.n_calls} model calls):\n"
            f"  comprehensiveness {self.comprehensiveness:+.4f}  (higher is better)\n"
            f"  sufficiency       {self.sufficiency:+.4f}  (lower is better)\n"
            f"  deletion AUC      {self.deletion_auc:.4f}  (lower is better)\n"
            f"  insertion AUC     {self.insertion_auc:.4f}  (higher is better)"
        )


def _check_fractions(fractions: Sequence[float]) -> list[float]:
    items = [float(f) for f in fractions]
    if not items or any(not 0.0 < f <= 1.0 for f in items):
        raise ValueError(f"fractions must be non-empty and in (0, 1], got {list(fractions)}")
    return items


def _top_counts(fractions: Sequence[float], n_units: int) -> list[int]:
    return [min(n_units, max(1, math.ceil(f * n_units - 1e-9))) for f in fractions]


def _curve_counts(n_units: int, max_steps: int | None) -> np.ndarray:
    """0, ..., n_units words (or ``max_steps + 1`` evenly spaced counts)."""
    if max_steps is None or max_steps >= n_units:
        return np.arange(n_units + 1)
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")
    return np.unique(np.round(np.linspace(0, n_units, max_steps + 1)).astype(np.int64))


def _masks(order: np.ndarray, counts: Sequence[int] | np.ndarray, keep_top: bool) -> np.ndarray:
    """Rows keeping only (``keep_top``) or removing the first ``k`` ranked units."""
    n_units = len(order)
    masks = np.full((len(counts), n_units), not keep_top, dtype=bool)
    for row, k in enumerate(counts):
        masks[row, order[: int(k)]] = keep_top
    return masks


def _area(counts: np.ndarray, values: np.ndarray, n_units: int) -> float:
    x = counts / n_units
    return float(np.sum((values[1:] + values[:-1]) / 2.0 * np.diff(x)))


class _Evaluator:
    """Builds every text a set of metrics needs and scores them in one call."""

    def __init__(self, attribution: Attribution, model: Any) -> None:
        if not isinstance(attribution, Attribution):
            raise TypeError(f"expected an Attribution, got {type(attribution).__name__}")
        self.attribution = attribution
        self.scorer = as_scorer(model)
        self.order = attribution.ranking()
        self.n_units = len(attribution)
        self.requests: list[np.ndarray] = []

    def add(self, counts: Sequence[int] | np.ndarray, keep_top: bool) -> int:
        self.requests.append(_masks(self.order, counts, keep_top))
        return len(self.requests) - 1

    def run(self) -> tuple[float, list[np.ndarray], int]:
        a = self.attribution
        masks = np.vstack(self.requests) if self.requests else np.zeros((0, self.n_units), bool)
        texts = [a.text, *render_many(a.units, masks, a.mask_token)]
        before = self.scorer.n_calls
        probs = self.scorer(texts)
        n_calls = self.scorer.n_calls - before
        if a.explained_class >= probs.shape[1]:
            raise ValueError(
                f"the model has {probs.shape[1]} classes; the attribution explains "
                f"class {a.explained_class}"
            )
        values = probs[:, a.explained_class]
        out, start = [], 1
        for block in self.requests:
            out.append(values[start : start + len(block)])
            start += len(block)
        return float(values[0]), out, n_calls


def comprehensiveness(
    attribution: Attribution, model: Any, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> float:
    """AOPC comprehensiveness: mean drop of ``f`` when the top words are removed.

    Parameters
    ----------
    attribution : Attribution
    model : Scorer, estimator or callable
        The model the metric is computed against (not necessarily the one explained).
    fractions : sequence of float, default=(0.1, 0.2, ..., 1.0)

    Returns
    -------
    float
    """
    ev = _Evaluator(attribution, model)
    ev.add(_top_counts(_check_fractions(fractions), ev.n_units), keep_top=False)
    full, (removed,), _ = ev.run()
    return float(np.mean(full - removed))


def sufficiency(
    attribution: Attribution, model: Any, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> float:
    """AOPC sufficiency: mean drop of ``f`` when only the top words are kept (lower is better)."""
    ev = _Evaluator(attribution, model)
    ev.add(_top_counts(_check_fractions(fractions), ev.n_units), keep_top=True)
    full, (kept,), _ = ev.run()
    return float(np.mean(full - kept))


def deletion_auc(attribution: Attribution, model: Any, max_steps: int | None = None) -> float:
    """Area under ``f`` as words are removed in rank order (lower is better).

    ``max_steps`` bounds the number of texts for long texts (evenly spaced counts).
    """
    ev = _Evaluator(attribution, model)
    counts = _curve_counts(ev.n_units, max_steps)
    ev.add(counts, keep_top=False)
    _, (curve,), _ = ev.run()
    return _area(counts, curve, ev.n_units)


def insertion_auc(attribution: Attribution, model: Any, max_steps: int | None = None) -> float:
    """Area under ``f`` as words are added in rank order to the masked text (higher is better)."""
    ev = _Evaluator(attribution, model)
    counts = _curve_counts(ev.n_units, max_steps)
    ev.add(counts, keep_top=True)
    _, (curve,), _ = ev.run()
    return _area(counts, curve, ev.n_units)


def faithfulness(
    attribution: Attribution,
    model: Any,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    max_steps: int | None = None,
) -> Faithfulness:
    """Every metric at once, from one batched scoring call (shared texts scored once)."""
    ev = _Evaluator(attribution, model)
    tops = _top_counts(_check_fractions(fractions), ev.n_units)
    counts = _curve_counts(ev.n_units, max_steps)
    ev.add(tops, keep_top=False)
    ev.add(tops, keep_top=True)
    ev.add(counts, keep_top=False)
    ev.add(counts, keep_top=True)
    full, (removed, kept, deletion, insertion), n_calls = ev.run()
    return Faithfulness(
        comprehensiveness=float(np.mean(full - removed)),
        sufficiency=float(np.mean(full - kept)),
        deletion_auc=_area(counts, deletion, ev.n_units),
        insertion_auc=_area(counts, insertion, ev.n_units),
        value=full,
        n_calls=n_calls,
        curve_fractions=tuple(float(c) / ev.n_units for c in counts),
        deletion_curve=tuple(float(v) for v in deletion),
        insertion_curve=tuple(float(v) for v in insertion),
    )


def _check_same_units(a: Attribution, b: Attribution) -> None:
    if a.text != b.text or a.spans != b.spans:
        raise ValueError("the two attributions must explain the same text with the same words")


def top_k_agreement(a: Attribution, b: Attribution, k: int = 5, by: str = "abs") -> float:
    """Share of the ``k`` top words of ``a`` that are among the ``k`` top words of ``b``.

    Parameters
    ----------
    a, b : Attribution
        Attributions of the same text (same units).
    k : int, default=5
        Capped at the number of words.
    by : {"abs", "signed"}, default="abs"
        Rank by magnitude of the score, or by the score itself.

    Returns
    -------
    float in [0, 1]
    """
    _check_same_units(a, b)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if by not in ("abs", "signed"):
        raise ValueError(f"by must be 'abs' or 'signed', got {by!r}")
    k = min(k, len(a))

    def top(x: Attribution) -> set[int]:
        key = -np.abs(x.scores) if by == "abs" else -x.scores
        return {int(i) for i in np.argsort(key, kind="stable")[:k]}

    return len(top(a) & top(b)) / k


def rank_agreement(a: Attribution, b: Attribution) -> float:
    """Spearman rank correlation of the two attributions' scores (``nan`` if one is constant)."""
    from scipy.stats import rankdata

    _check_same_units(a, b)
    ra, rb = rankdata(a.scores), rankdata(b.scores)
    if len(a) < 2 or np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


# -- Proto-LM's token attention as an attribution, and how faithful it is -----------------

__all__ += ["AttentionFaithfulness", "attention_attribution", "attention_faithfulness"]


def attention_attribution(model: Any, text: str) -> Attribution:
    """A Proto-LM model's token attention as an :class:`Attribution` over words.

    Each word scores the attention on its tokens (``model.explain(text).words``);
    the explained class is the predicted one. Feed it to the faithfulness
    metrics above or compare it with LIME (:func:`attention_faithfulness`).

    Parameters
    ----------
    model : ProtoLMClassifier
        A fitted model (anything whose ``explain(text, k=1)`` gives ``words``,
        ``logits``, ``probabilities`` and ``classes``).
    text : str

    Raises
    ------
    ValueError
        The tokenizer gives no character offsets (not a fast tokenizer).
    """
    from glasstext.explain.perturb import make_units

    e = model.explain(text, k=1)
    if not e.words:
        raise ValueError("word-level attention needs a fast tokenizer (character offsets)")
    units = make_units(e.text, None)
    cls = int(np.argmax(e.logits))
    return Attribution(
        text=e.text,
        words=units.words,
        spans=units.spans,
        scores=np.array([a for _, a in e.words]),
        base_value=0.0,
        value=float(e.probabilities[cls]),
        explained_class=cls,
        class_name=str(e.classes[cls]),
        method="attention",
        n_calls=1,
        n_texts=1,
        n_samples=0,
    )


@dataclass
class AttentionFaithfulness:
    """Comprehensiveness and sufficiency of three word rankings of the same model.

    ``attention`` ranks words by Proto-LM's token attention, ``lime`` by a
    LIME explanation of the same model's predicted class, ``random`` by a
    seeded random order (the floor). Comprehensiveness (higher is better)
    and sufficiency (lower is better) are the metrics of this module,
    averaged over the texts.

    Attributes
    ----------
    n_texts : int
    lime_samples : int
    attention, lime, random : dict of str to float
        ``{"comprehensiveness": ..., "sufficiency": ...}`` means.
    per_text : list of dict
    model_calls : int
        Texts the model scored for all of it.
    seconds : float
    """

    n_texts: int
    lime_samples: int
    attention: dict[str, float]
    lime: dict[str, float]
    random: dict[str, float]
    per_text: list[dict[str, Any]]
    model_calls: int
    seconds: float

    def to_dict(self, per_text: bool = False) -> dict[str, Any]:
        """A JSON-ready dictionary (per-text figures on request)."""
        out = {
            "n_texts": self.n_texts,
            "lime_samples": self.lime_samples,
            "attention": self.attention,
            "lime": self.lime,
            "random": self.random,
            "model_calls": self.model_calls,
            "seconds": self.seconds,
        }
        if per_text:
            out["per_text"] = self.per_text
        return out


def attention_faithfulness(
    model: Any,
    texts: Sequence[str],
    *,
    lime_samples: int = 300,
    fractions: Sequence[float] | None = None,
    seed: int = 0,
) -> AttentionFaithfulness:
    """How faithful Proto-LM's token attention is, next to LIME on the same model.

    For each text the three rankings (attention, LIME, random) are scored
    with :func:`comprehensiveness` and :func:`sufficiency` against the model
    itself, for its predicted class; one scorer (with its text cache) serves
    everything.

    Parameters
    ----------
    model : ProtoLMClassifier
        A fitted model.
    texts : sequence of str
    lime_samples : int, default=300
        LIME's perturbed texts per explanation.
    fractions : sequence of float, optional
        The metrics' fractions of top words (default 0.1, ..., 1.0).
    seed : int, default=0
        Seeds LIME and the random ranking.

    Returns
    -------
    AttentionFaithfulness
    """
    import time

    from sklearn.utils.validation import check_is_fitted

    from glasstext.explain.lime import LimeExplainer
    from glasstext.explain.scorers import EstimatorScorer
    from glasstext.validation import check_documents

    check_is_fitted(model, "prototype_vectors_")
    items = check_documents(texts, "texts")
    chosen = tuple(fractions) if fractions is not None else DEFAULT_FRACTIONS
    started = time.perf_counter()
    scorer = EstimatorScorer(model, batch_size=256)
    lime = LimeExplainer(scorer, n_samples=lime_samples, seed=seed, max_units=None)
    rng = np.random.default_rng(seed)
    per_text: list[dict[str, Any]] = []
    for text in items:
        attention = attention_attribution(model, text)
        lime_attr = lime.explain(text, target_class=attention.explained_class)
        shuffled = Attribution(
            text=attention.text,
            words=attention.words,
            spans=attention.spans,
            scores=rng.random(len(attention)),
            base_value=0.0,
            value=attention.value,
            explained_class=attention.explained_class,
            class_name=attention.class_name,
            method="random",
            n_calls=0,
            n_texts=0,
            n_samples=0,
        )
        row: dict[str, Any] = {"text": text, "n_words": len(attention)}
        rankings = (("attention", attention), ("lime", lime_attr), ("random", shuffled))
        for name, attribution in rankings:
            row[name] = {
                "comprehensiveness": comprehensiveness(attribution, scorer, chosen),
                "sufficiency": sufficiency(attribution, scorer, chosen),
            }
        per_text.append(row)

    def mean(name: str) -> dict[str, float]:
        return {
            metric: round(float(np.mean([r[name][metric] for r in per_text])), 6)
            for metric in ("comprehensiveness", "sufficiency")
        }

    return AttentionFaithfulness(
        n_texts=len(items),
        lime_samples=lime_samples,
        attention=mean("attention"),
        lime=mean("lime"),
        random=mean("random"),
        per_text=per_text,
        model_calls=scorer.n_calls,
        seconds=round(time.perf_counter() - started, 2),
    )
