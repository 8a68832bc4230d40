"""Explanations put to work: prompt compression and pruning of harmful demonstrations.

Two uses of word (or unit) attributions that the proxy-explanation paper
(arXiv 2505.12509) reports, built on the existing explainers:

**Prompt compression** (:func:`compress_prompt`, :func:`compress_prompts`).
The units of a prompt (words or sentences) are ranked by their attribution
toward the target's answer, lowest first, by any explainer - one on the target,
a :class:`~glasstext.explain.ProxyExplainer`, or a plain explainer on a cheap
proxy (no target call at all). Then either

- ``verify=True`` (greedy): each unit in that order is dropped if the target,
  asked again, still gives the same answer, and kept otherwise (one target call
  per tried unit); the answer is kept by construction and the measured figure
  is how much was dropped; or
- ``verify=False`` (fixed rate): the ``rate`` lowest units are dropped at once
  and one target call measures whether the answer survived.

**Pruning in-context demonstrations** (:func:`prune_demonstrations`). A
few-shot prompt's demonstrations are the units: each mask keeps a subset of
them, the query follows, and the value explained is the target's probability
of a *wrong* answer (``1 - p(gold label)``) on labelled ranking queries. The
demonstrations with the highest mean attribution toward wrong answers are
removed, and accuracy on held-out queries is measured before, after, and after
removing as many demonstrations at random (several seeds).

In both, the target is a :class:`~glasstext.explain.scorers.Scorer` (or
anything :func:`~glasstext.explain.scorers.as_scorer` accepts) and every call
it makes is counted: ``target_calls`` includes those spent ranking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from glasstext.explain.attribution import Attribution
from glasstext.explain.base import Explainer, resolve_class
from glasstext.explain.methods import get_explainer
from glasstext.explain.occlusion import OcclusionExplainer
from glasstext.explain.perturb import Units, check_text, make_units, render
from glasstext.explain.proxy import ProxyExplainer
from glasstext.explain.scorers import Scorer, as_scorer
from glasstext.io import jsonable
from glasstext.results import ResultMixin, limit
from glasstext.validation import check_int, check_seed

__all__ = [
    "CompressedPrompt",
    "CompressionReport",
    "DemonstrationPruning",
    "compress_prompt",
    "compress_prompts",
    "explain_units",
    "few_shot_prompt",
    "prune_demonstrations",
    "sentence_units",
    "text_units",
]

UnitKind = Literal["word", "sentence"]
# A sentence ends at . ! ? (and closing quotes or brackets) followed by white
# space, or at a line break.
_SENTENCE_RE = re.compile(r"[^\n]+?(?:[.!?]+[\"')\]]*(?=\s)|$)", re.MULTILINE)


# -- units -------------------------------------------------------------------------------


def sentence_units(text: str) -> Units:
    """The sentences of ``text`` as explanation units (spans trimmed of white space)."""
    check_text(text)
    spans: list[tuple[int, int]] = []
    for match in _SENTENCE_RE.finditer(text):
        start, end = match.span()
        piece = text[start:end]
        if not piece.strip():
            continue
        start += len(piece) - len(piece.lstrip())
        end -= len(piece) - len(piece.rstrip())
        spans.append((start, end))
    if not spans:
        raise ValueError(f"text has no sentence to explain: {text[:60]!r}")
    return Units(text, tuple(spans), grouped=True)


def text_units(text: str, unit: UnitKind = "word") -> Units:
    """The words (every word a unit, however long the text) or sentences of ``text``."""
    if unit == "word":
        return make_units(text, None)
    if unit == "sentence":
        return sentence_units(text)
    raise ValueError(f"unit must be 'word' or 'sentence', got {unit!r}")


def explain_units(
    explainer: Explainer | ProxyExplainer, units: Units, target_class: int | str | None = None
) -> Attribution:
    """Explain ``units.text`` over the given units (words, sentences, any spans).

    The same as ``explainer.explain(units.text, target_class, units=units)``.

    Parameters
    ----------
    explainer : Explainer or ProxyExplainer
        Any explainer; a :class:`~glasstext.explain.ProxyExplainer` screens
        its proxy over the same units.
    units : Units
        The units to attribute to, e.g. from :func:`text_units`.
    target_class : int, str or None, default=None
        The class to explain; ``None``: the explained model's answer.

    Returns
    -------
    Attribution
    """
    if not isinstance(explainer, Explainer | ProxyExplainer):
        raise TypeError(f"explainer must be an Explainer or a ProxyExplainer, got {explainer!r}")
    return explainer.explain(units.text, target_class=target_class, units=units)


# -- prompt compression ------------------------------------------------------------------


@dataclass(frozen=True)
class CompressedPrompt(ResultMixin):
    """A prompt with its lowest-attributed units dropped, and what the target said.

    Attributes
    ----------
    text, compressed : str
        The prompt before and after compression.
    unit : {"word", "sentence"}
    units : tuple of str
        The prompt's units in text order.
    kept : tuple of bool
        Which units the compressed prompt keeps.
    order : tuple of int
        The units in the order they were tried for dropping (lowest attribution first).
    answer : int
        The target's answer (class index) for the full prompt.
    answer_name : str or None
    answer_kept : bool
        Whether the target gives the same answer for the compressed prompt.
    probability, compressed_probability : float
        The target's probability of ``answer`` before and after.
    compression_rate : float
        Fraction of the units dropped.
    char_compression_rate : float
        ``1 - len(compressed) / len(text)``.
    mode : {"greedy", "fixed"}
        ``"greedy"``: each drop re-checked with the target; ``"fixed"``: the
        lowest ``rate`` units dropped at once, checked once.
    ranking : str
        What ranked the units (the explainer's method, ``"proxy:..."`` or ``"random"``).
    target_calls : int
        Texts the target evaluated, ranking included.
    ranking_target_calls, ranking_proxy_calls : int
        Of which spent ranking on the target; texts a separate proxy scorer evaluated.
    """

    text: str
    compressed: str
    unit: str
    units: tuple[str, ...]
    kept: tuple[bool, ...]
    order: tuple[int, ...]
    answer: int
    answer_name: str | None
    answer_kept: bool
    probability: float
    compressed_probability: float
    compression_rate: float
    char_compression_rate: float
    mode: str
    ranking: str
    target_calls: int
    ranking_target_calls: int
    ranking_proxy_calls: int

    @property
    def dropped(self) -> tuple[str, ...]:
        """The dropped units, in text order."""
        return tuple(u for u, k in zip(self.units, self.kept, strict=True) if not k)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary; ``top`` bounds the list of dropped units."""
        return {
            "text": self.text,
            "compressed": self.compressed,
            "unit": self.unit,
            "n_units": len(self.units),
            "dropped": limit(list(self.dropped), top),
            "answer": self.answer_name if self.answer_name is not None else self.answer,
            "answer_kept": self.answer_kept,
            "probability": jsonable(self.probability),
            "compressed_probability": jsonable(self.compressed_probability),
            "compression_rate": jsonable(self.compression_rate),
            "char_compression_rate": jsonable(self.char_compression_rate),
            "mode": self.mode,
            "ranking": self.ranking,
            "target_calls": self.target_calls,
            "ranking_target_calls": self.ranking_target_calls,
            "ranking_proxy_calls": self.ranking_proxy_calls,
        }

    def __str__(self) -> str:
        answer = self.answer_name if self.answer_name is not None else self.answer
        kept = "kept" if self.answer_kept else "CHANGED"
        return (
            f"compressed ({self.mode}, ranked by {self.ranking}): {self.compressed!r}\n"
            f"  {self.compression_rate:.0%} of {len(self.units)} {self.unit}s dropped "
            f"({self.char_compression_rate:.0%} of the characters); answer {answer!r} {kept} "
            f"(p {self.probability:.3f} -> {self.compressed_probability:.3f}); "
            f"target calls {self.target_calls} ({self.ranking_target_calls} ranking)"
        )


def _ranking_name(explainer: Any) -> str:
    if isinstance(explainer, str):
        return "random"
    if isinstance(explainer, ProxyExplainer):
        return f"proxy-screened:{explainer.explainer.method}"
    return str(getattr(explainer, "method", type(explainer).__name__))


def _explainer_scorer(explainer: Any) -> Scorer | None:
    """The scorer a plain explainer queries (a proxy's, for a ProxyExplainer)."""
    if isinstance(explainer, ProxyExplainer):
        return explainer.proxy
    return getattr(explainer, "scorer", None)


def _argmax_rows(probs: np.ndarray) -> np.ndarray:
    return np.asarray(np.argmax(probs, axis=1), dtype=np.int64)


def compress_prompt(
    text: str,
    target: Any,
    *,
    explainer: Explainer | ProxyExplainer | Literal["random"] | None = None,
    unit: UnitKind = "word",
    rate: float | None = None,
    verify: bool = True,
    seed: int | None = 0,
) -> CompressedPrompt:
    """Drop the units of a prompt with the lowest attribution while the target's answer holds.

    Parameters
    ----------
    text : str
        The prompt's text (what the target scorer receives, e.g. the review an
        :class:`~glasstext.explain.LMScorer` puts into its template).
    target : Scorer, estimator or callable
        The model whose answer must be kept.
    explainer : Explainer, ProxyExplainer, "random" or None, default=None
        What ranks the units: any explainer (on the target, or on a cheap proxy
        scorer: then ranking costs no target call); ``"random"`` a seeded random
        order (the baseline); ``None`` leave-one-out occlusion on the target.
    unit : {"word", "sentence"}, default="word"
    rate : float in (0, 1) or None, default=None
        Fraction of the units to drop. With ``verify``, the most dropped
        (``None``: no limit, every unit is tried); without, exactly this many
        (required).
    verify : bool, default=True
        Re-check the answer with the target after each drop (greedy) rather
        than dropping ``rate`` of the units at once.
    seed : int or None, default=0
        Seed of the random order (``explainer="random"``).

    Returns
    -------
    CompressedPrompt
    """
    if rate is not None and not (isinstance(rate, int | float) and 0.0 < rate < 1.0):
        raise ValueError(f"rate must be a fraction in (0, 1) or None, got {rate!r}")
    if not verify and rate is None:
        raise ValueError("verify=False drops a fixed fraction of the units: give rate")
    check_seed(seed, "seed", allow_none=True)
    scorer = as_scorer(target)
    units = text_units(check_text(text), unit)
    n = len(units)
    start_calls = scorer.n_calls
    full = scorer([text])[0]
    answer = int(np.argmax(full))

    ranker = OcclusionExplainer(scorer) if explainer is None else explainer
    ranker_scorer = None if isinstance(ranker, str) else _explainer_scorer(ranker)
    proxy_before = ranker_scorer.n_calls if ranker_scorer is not None else 0
    if isinstance(ranker, str):
        if ranker != "random":
            raise ValueError(f"explainer must be an explainer, 'random' or None, got {ranker!r}")
        order = np.random.default_rng(seed).permutation(n)
    else:
        attribution = explain_units(ranker, units, target_class=answer)
        order = np.argsort(attribution.scores, kind="stable")
    ranking_target = scorer.n_calls - start_calls - 1
    proxy_calls = 0
    if ranker_scorer is not None and ranker_scorer is not scorer:
        proxy_calls = ranker_scorer.n_calls - proxy_before

    keep = np.ones(n, dtype=bool)
    if verify:
        limit_drop = n - 1 if rate is None else min(n - 1, math.floor(rate * n + 1e-9))
        for i in order:
            if n - int(keep.sum()) >= limit_drop:
                break
            trial = keep.copy()
            trial[i] = False
            if int(np.argmax(scorer([render(units, trial)])[0])) == answer:
                keep = trial
    else:
        assert rate is not None
        n_drop = min(n - 1, max(1, round(rate * n)))
        keep[order[:n_drop]] = False
    compressed = render(units, keep)
    after = scorer([compressed])[0]
    names = scorer.classes
    return CompressedPrompt(
        text=text,
        compressed=compressed,
        unit=unit,
        units=units.words,
        kept=tuple(bool(k) for k in keep),
        order=tuple(int(i) for i in order),
        answer=answer,
        answer_name=names[answer] if names is not None and answer < len(names) else None,
        answer_kept=int(np.argmax(after)) == answer,
        probability=float(full[answer]),
        compressed_probability=float(after[answer]),
        compression_rate=float(1.0 - keep.mean()),
        char_compression_rate=float(1.0 - len(compressed) / len(text)),
        mode="greedy" if verify else "fixed",
        ranking=_ranking_name(ranker),
        target_calls=scorer.n_calls - start_calls,
        ranking_target_calls=max(ranking_target, 0),
        ranking_proxy_calls=proxy_calls,
    )


@dataclass(frozen=True)
class CompressionReport(ResultMixin):
    """Prompt compression over many prompts: the compression reached and the answers kept.

    Attributes
    ----------
    prompts : list of CompressedPrompt
    answer_preservation : float
        Fraction of prompts whose compressed form keeps the target's answer.
    mean_compression_rate, median_compression_rate : float
        Fraction of units dropped (mean and median over prompts).
    mean_char_compression_rate : float
    target_calls, ranking_target_calls, ranking_proxy_calls : int
        Totals over the prompts.
    """

    prompts: list[CompressedPrompt]
    answer_preservation: float
    mean_compression_rate: float
    median_compression_rate: float
    mean_char_compression_rate: float
    target_calls: int
    ranking_target_calls: int
    ranking_proxy_calls: int
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, prompts: list[CompressedPrompt], **settings: Any) -> CompressionReport:
        """The report of compressed prompts."""
        rates = np.array([p.compression_rate for p in prompts], dtype=np.float64)
        return cls(
            prompts=prompts,
            answer_preservation=float(np.mean([p.answer_kept for p in prompts])),
            mean_compression_rate=float(rates.mean()),
            median_compression_rate=float(np.median(rates)),
            mean_char_compression_rate=float(np.mean([p.char_compression_rate for p in prompts])),
            target_calls=sum(p.target_calls for p in prompts),
            ranking_target_calls=sum(p.ranking_target_calls for p in prompts),
            ranking_proxy_calls=sum(p.ranking_proxy_calls for p in prompts),
            settings=settings,
        )

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary; ``top`` bounds the list of prompts."""
        return {
            "n_prompts": len(self.prompts),
            "answer_preservation": jsonable(self.answer_preservation),
            "mean_compression_rate": jsonable(self.mean_compression_rate),
            "median_compression_rate": jsonable(self.median_compression_rate),
            "mean_char_compression_rate": jsonable(self.mean_char_compression_rate),
            "target_calls": self.target_calls,
            "ranking_target_calls": self.ranking_target_calls,
            "ranking_proxy_calls": self.ranking_proxy_calls,
            "settings": jsonable(self.settings),
            "prompts": [p.to_dict() for p in limit(self.prompts, top)],
        }

    def __str__(self) -> str:
        lines = [
            f"{len(self.prompts)} prompt(s): answer kept on {self.answer_preservation:.0%}, "
            f"{self.mean_compression_rate:.0%} of the units dropped on average "
            f"(median {self.median_compression_rate:.0%}, "
            f"{self.mean_char_compression_rate:.0%} of the characters); "
            f"target calls {self.target_calls} ({self.ranking_target_calls} ranking), "
            f"proxy calls {self.ranking_proxy_calls}"
        ]
        lines += [f"- {p.compressed!r}" for p in self.prompts[:10]]
        if len(self.prompts) > 10:
            lines.append(f"  ... and {len(self.prompts) - 10} more")
        return "\n".join(lines)


def compress_prompts(texts: Sequence[str], target: Any, **options: Any) -> CompressionReport:
    """:func:`compress_prompt` for every text, with the figures over all of them.

    Parameters
    ----------
    texts : sequence of str
    target : Scorer, estimator or callable
        Wrapped once (see :func:`~glasstext.explain.scorers.as_scorer`), so its
        cache is shared across the texts.
    **options
        Passed to :func:`compress_prompt`.

    Returns
    -------
    CompressionReport
    """
    items = list(texts)
    if not items:
        raise ValueError("texts is empty: there is nothing to compress")
    scorer = as_scorer(target)
    prompts = [compress_prompt(t, scorer, **options) for t in items]
    settings = {k: v for k, v in options.items() if k != "explainer"}
    settings["ranking"] = prompts[0].ranking
    return CompressionReport.of(prompts, **settings)


# -- pruning harmful demonstrations --------------------------------------------------------


@dataclass(frozen=True)
class DemonstrationPruning(ResultMixin):
    """Which demonstrations of a few-shot prompt push the target toward wrong answers.

    Attributes
    ----------
    demonstrations : tuple of str
    scores : tuple of float
        Mean attribution of each demonstration toward a wrong answer over the
        ranking queries (higher: more harmful).
    removed : tuple of int
        The ``n_remove`` demonstrations with the highest scores, worst first.
    accuracy_before, accuracy_after : float
        Target accuracy on the evaluation queries with every demonstration,
        and without the removed ones.
    random_accuracies : tuple of float
        Accuracy after removing ``n_remove`` demonstrations at random, one per seed.
    n_eval, n_ranking : int
        Evaluation and ranking queries.
    held_out : bool
        Whether the evaluation queries differ from the ranking queries.
    method : str
        The attribution method (``"proxy:..."`` when a proxy ranked).
    target_calls, ranking_target_calls, ranking_proxy_calls : int
        Texts the target evaluated in all (ranking included), of which ranking;
        texts the proxy evaluated.
    """

    demonstrations: tuple[str, ...]
    scores: tuple[float, ...]
    removed: tuple[int, ...]
    accuracy_before: float
    accuracy_after: float
    random_accuracies: tuple[float, ...]
    n_eval: int
    n_ranking: int
    held_out: bool
    method: str
    target_calls: int
    ranking_target_calls: int
    ranking_proxy_calls: int

    @property
    def random_accuracy(self) -> float:
        """Mean accuracy after random removal (over the seeds)."""
        return float(np.mean(self.random_accuracies)) if self.random_accuracies else math.nan

    @property
    def kept(self) -> tuple[str, ...]:
        """The demonstrations left, in their order."""
        gone = set(self.removed)
        return tuple(d for i, d in enumerate(self.demonstrations) if i not in gone)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary; ``top`` bounds the ranked demonstrations listed."""
        ranked = np.argsort(-np.asarray(self.scores), kind="stable")
        return {
            "n_demonstrations": len(self.demonstrations),
            "removed": list(self.removed),
            "removed_demonstrations": [self.demonstrations[i] for i in self.removed],
            "ranked": [
                {"index": int(i), "score": jsonable(self.scores[i]), "text": self.demonstrations[i]}
                for i in limit(list(ranked), top)
            ],
            "accuracy_before": jsonable(self.accuracy_before),
            "accuracy_after": jsonable(self.accuracy_after),
            "random_accuracy": jsonable(self.random_accuracy),
            "random_accuracies": [jsonable(a) for a in self.random_accuracies],
            "n_eval": self.n_eval,
            "n_ranking": self.n_ranking,
            "held_out": self.held_out,
            "method": self.method,
            "target_calls": self.target_calls,
            "ranking_target_calls": self.ranking_target_calls,
            "ranking_proxy_calls": self.ranking_proxy_calls,
        }

    def __str__(self) -> str:
        where = "held-out" if self.held_out else "ranking (not held out)"
        lines = [
            f"removed {len(self.removed)} of {len(self.demonstrations)} demonstrations "
            f"(ranked by {self.method}): accuracy on {self.n_eval} {where} queries "
            f"{self.accuracy_before:.3f} -> {self.accuracy_after:.3f}; random removal "
            f"{self.random_accuracy:.3f} (mean of {len(self.random_accuracies)} seeds); "
            f"target calls {self.target_calls} ({self.ranking_target_calls} ranking)"
        ]
        for i in self.removed:
            lines.append(f"- [{i}] score {self.scores[i]:+.4f}: {self.demonstrations[i]!r}")
        return "\n".join(lines)


def few_shot_prompt(
    demonstrations: Sequence[str],
    query: str,
    keep: np.ndarray | None = None,
    separator: str = "\n\n",
) -> str:
    """The demonstrations kept by ``keep`` (all by default), then the query, joined."""
    parts = [d for i, d in enumerate(demonstrations) if keep is None or keep[i]]
    return separator.join([*parts, query])


def _gold_indices(labels: Sequence[Any], scorer: Scorer, n_classes: int) -> np.ndarray:
    """Class indices of ``labels`` (indices or the scorer's class names)."""
    gold = [resolve_class(label, np.zeros(n_classes), scorer) for label in labels]
    return np.asarray(gold, dtype=np.int64)


def _accuracy(
    scorer: Scorer,
    demonstrations: Sequence[str],
    queries: Sequence[str],
    gold: np.ndarray,
    keep: np.ndarray,
    separator: str,
) -> float:
    prompts = [few_shot_prompt(demonstrations, q, keep, separator) for q in queries]
    return float(np.mean(_argmax_rows(scorer(prompts)) == gold))


def _demonstration_scores(
    ranker: Explainer,
    demonstrations: Sequence[str],
    queries: Sequence[str],
    gold: np.ndarray,
    separator: str,
) -> np.ndarray:
    """Mean attribution of each demonstration to ``1 - p(gold)`` over the queries."""
    block = separator.join(demonstrations)
    spans, at = [], 0
    for d in demonstrations:
        spans.append((at, at + len(d)))
        at += len(d) + len(separator)
    units = Units(block, tuple(spans), grouped=True)
    design = ranker.design(units, ranker.rng())
    total = np.zeros(len(demonstrations), dtype=np.float64)
    for query, g in zip(queries, gold, strict=True):
        prompts = [few_shot_prompt(demonstrations, query, m, separator) for m in design.masks]
        probs = ranker.scorer(prompts)
        scores, _, _ = ranker.solve(design, 1.0 - probs[:, g])
        total += scores
    return total / len(queries)


def prune_demonstrations(
    demonstrations: Sequence[str],
    queries: Sequence[str],
    labels: Sequence[int | str],
    target: Any,
    *,
    n_remove: int = 1,
    method: str = "occlusion",
    proxy: Any = None,
    n_samples: int = 64,
    eval_queries: Sequence[str] | None = None,
    eval_labels: Sequence[int | str] | None = None,
    n_random: int = 5,
    separator: str = "\n\n",
    seed: int | None = 0,
) -> DemonstrationPruning:
    """Remove the demonstrations whose attribution most favours wrong answers.

    Parameters
    ----------
    demonstrations : sequence of str
        The few-shot examples, each a complete input/answer text, in prompt order.
    queries, labels : sequences
        Labelled queries (the text that follows the demonstrations, ending
        where the answer goes) used to rank the demonstrations; labels are
        class indices or the target's class names.
    target : Scorer, estimator or callable
        Maps a whole prompt to class probabilities (e.g.
        ``LMScorer(lm, template="{text}", labels=(" negative", " positive"))``).
    n_remove : int, default=1
        Demonstrations to remove.
    method : str, default="occlusion"
        Attribution method over demonstrations (a name of
        :data:`~glasstext.explain.methods.EXPLAINERS`).
    proxy : Scorer, estimator, callable or None, default=None
        Rank with this cheaper model instead of the target (same classes).
    n_samples : int, default=64
        Sample budget of LIME / KernelSHAP per ranking query.
    eval_queries, eval_labels : sequences or None
        Held-out queries for the accuracies; ``None`` reuses the ranking
        queries (then ``held_out`` is False and the gain is optimistic).
    n_random : int, default=5
        Seeds of the random-removal baseline.
    separator : str, default="\\n\\n"
        Between demonstrations, and before the query.
    seed : int or None, default=0
        Seed of the attribution sampling and of the random removals.

    Returns
    -------
    DemonstrationPruning
    """
    demos = [check_text(d) for d in demonstrations]
    queries = [check_text(q) for q in queries]
    if len(demos) < 2:
        raise ValueError("give at least two demonstrations")
    if not queries or len(queries) != len(labels):
        raise ValueError(
            f"queries and labels must be non-empty and of the same length, got "
            f"{len(queries)} and {len(labels)}"
        )
    check_int(n_remove, "n_remove", minimum=1)
    if n_remove >= len(demos):
        raise ValueError(f"n_remove must be below the {len(demos)} demonstrations, got {n_remove}")
    check_int(n_random, "n_random", minimum=1)
    check_seed(seed, "seed", allow_none=True)
    held_out = eval_queries is not None
    if eval_queries is None:
        eval_queries, eval_labels = queries, labels
    if eval_labels is None or len(eval_labels) != len(eval_queries) or not eval_queries:
        raise ValueError("eval_queries and eval_labels must be non-empty and of the same length")
    eval_queries = [check_text(q) for q in eval_queries]

    scorer = as_scorer(target)
    ranking_scorer = scorer if proxy is None else as_scorer(proxy)
    method_class = get_explainer(method)
    options: dict[str, Any] = {"seed": seed}
    if method_class is not OcclusionExplainer:
        options["n_samples"] = n_samples
    ranker = method_class(ranking_scorer, **options)

    start, proxy_start = scorer.n_calls, ranking_scorer.n_calls
    n_classes = scorer([few_shot_prompt(demos, queries[0], None, separator)]).shape[1]
    gold = _gold_indices(labels, scorer, n_classes)
    eval_gold = _gold_indices(eval_labels, scorer, n_classes)
    scores = _demonstration_scores(ranker, demos, queries, gold, separator)
    ranking_target = scorer.n_calls - start
    proxy_calls = ranking_scorer.n_calls - proxy_start if proxy is not None else 0

    removed = np.argsort(-scores, kind="stable")[:n_remove]
    keep_all = np.ones(len(demos), dtype=bool)
    keep = keep_all.copy()
    keep[removed] = False
    before = _accuracy(scorer, demos, eval_queries, eval_gold, keep_all, separator)
    after = _accuracy(scorer, demos, eval_queries, eval_gold, keep, separator)
    rng = np.random.default_rng(None if seed is None else [seed, 2])
    randoms = []
    for _ in range(n_random):
        keep_r = keep_all.copy()
        keep_r[rng.choice(len(demos), size=n_remove, replace=False)] = False
        randoms.append(_accuracy(scorer, demos, eval_queries, eval_gold, keep_r, separator))
    return DemonstrationPruning(
        demonstrations=tuple(demos),
        scores=tuple(float(s) for s in scores),
        removed=tuple(int(i) for i in removed),
        accuracy_before=before,
        accuracy_after=after,
        random_accuracies=tuple(randoms),
        n_eval=len(eval_queries),
        n_ranking=len(queries),
        held_out=held_out,
        method=method if proxy is None else f"proxy:{method}",
        target_calls=scorer.n_calls - start,
        ranking_target_calls=ranking_target,
        ranking_proxy_calls=proxy_calls,
    )
