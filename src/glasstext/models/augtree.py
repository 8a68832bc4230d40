"""Aug-Tree: decision trees whose splits are phrase sets expanded by embeddings or an LM.

Every split asks one question: *does the text contain any of these phrases?*
The tree is grown breadth-first. At each node:

1. every candidate keyword (an n-gram of the training corpus) is scored by the
   impurity decrease of the split "contains it / does not" (gini or entropy;
   squared error for regression), vectorised over the whole vocabulary;
2. the best ``max_features`` keywords are expanded into related phrases (by an
   LM, by embedding neighbours, or not at all; see :mod:`glasstext.expansion`),
   one batched request per tree level;
3. for each keyword, expansions are added greedily (forward selection: the one
   that improves the split most, then the next...), each kept only if it makes
   the split purer on both fixed halves of the node's texts;
4. the best phrase set splits the node.

Prediction is string matching (:class:`~glasstext.text.PhraseMatcher`) plus a
walk down the tree: no torch, no LM. The model prints as phrase sets
(:meth:`export_text`) and every prediction comes with its decision path
(:meth:`explain`).

Reference: Singh et al., "Augmenting Interpretable Models with LLMs during
Training", Nature Communications 2023 (arXiv 2209.11799). Unlike that
paper's public code, impurities here are computed with their usual signs,
stop words stay among the candidates, multiclass and regression are supported
and the estimators follow the scikit-learn contract.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from glasstext.backends.encoder import Encoder, EncoderSetting
from glasstext.backends.lm import usage_delta
from glasstext.backends.registry import DEFAULT_ENCODER
from glasstext.backends.runtime import progress_bar
from glasstext.exceptions import ModelFileError
from glasstext.expansion import (
    CombinedExpander,
    EmbeddingExpander,
    Expander,
    LLMExpander,
    NoExpander,
)
from glasstext.io import jsonable, python_scalar
from glasstext.models.base import Evidence, GlassModel, SummaryEvidence, register_model
from glasstext.models.saved_state import (
    check_array,
    check_class_list,
    check_count,
    check_keys,
    check_number,
    check_strings,
)
from glasstext.results import ResultMixin
from glasstext.text import (
    SPLIT_WORD_PATTERN,
    WORD_PATTERN,
    PhraseMatcher,
    check_ngram_range,
    ngrams_of_tokens,
    tokenize,
)
from glasstext.validation import (
    Constraint,
    HasMethods,
    Interval,
    Options,
    RegexPattern,
    check_documents,
    check_target,
    check_texts,
)

__all__ = [
    "AugTreeClassifier",
    "AugTreeRegressor",
    "PathStep",
    "TreeExplanation",
    "TreeStructure",
    "candidate_keywords",
]

ExpansionSetting = Literal["embedding", "llm", "llm+embedding", "none"] | Expander
_TOLERANCE = 1e-12
#: Options that no longer exist, with the saved values that are what the model now does.
_REMOVED_PARAMS: dict[str, tuple[Any, ...]] = {
    "selection": ("both_halves",),
    "stop_words": (None, []),
}
_STRATEGIES = ("embedding", "llm", "llm+embedding", "none")


class _Count(Interval):
    """An int of at least ``low``, named in words ("a positive integer")."""

    def __str__(self) -> str:
        return "a positive integer" if self.low == 1 else "a non-negative integer"


# -- the fitted structure ----------------------------------------------------------------


@dataclass
class TreeStructure:
    """One fitted tree, as plain lists and an array of node values.

    Node 0 is the root. ``left[i]``/``right[i]`` are the children of node
    ``i`` (-1 at a leaf): *right* holds the texts that contain one of
    ``phrases[i]``, *left* those that contain none.

    Attributes
    ----------
    left, right : list of int
    keyword : list of str
        The keyword each split was grown from ("" at a leaf).
    phrases : list of list of str
        The phrase set of each split: the keyword first, then the expansions kept.
    n_samples : list of int
        Training texts that reached each node.
    gain : list of float
        Impurity decrease of each split, as a fraction of the root's samples.
    value : ndarray of shape (n_nodes, n_outputs)
        Class fractions (classifier) or mean target (regressor) at each node.
    """

    left: list[int] = field(default_factory=list)
    right: list[int] = field(default_factory=list)
    keyword: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    n_samples: list[int] = field(default_factory=list)
    gain: list[float] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        return len(self.left)

    @property
    def value(self) -> np.ndarray:
        return np.vstack(self.values)

    def add_node(self, n_samples: int, value: np.ndarray) -> int:
        self.left.append(-1)
        self.right.append(-1)
        self.keyword.append("")
        self.phrases.append([])
        self.n_samples.append(int(n_samples))
        self.gain.append(0.0)
        self.values.append(np.asarray(value, dtype=np.float64))
        return self.n_nodes - 1

    def depth(self) -> int:
        """Length of the longest root-to-leaf path, in splits."""
        depths = [0] * self.n_nodes
        for i in range(self.n_nodes):
            for child in (self.left[i], self.right[i]):
                if child >= 0:
                    depths[child] = depths[i] + 1
        return max(depths, default=0)

    def to_config(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "right": self.right,
            "keyword": self.keyword,
            "phrases": self.phrases,
            "n_samples": self.n_samples,
            "gain": self.gain,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], value: np.ndarray) -> TreeStructure:
        """The tree :meth:`to_config` wrote, with its node values ``(n_nodes, n_outputs)``.

        Raises
        ------
        ValueError
            A list is missing, of another length or holds values of another
            type, ``value`` has another number of rows, or the children do
            not form a tree.
        """
        check_keys(config, "a tree", dict.fromkeys(_TREE_LISTS, list))
        n = len(config["left"])
        if any(len(config[name]) != n for name in _TREE_LISTS) or value.shape[:1] != (n,):
            raise ValueError("tree arrays have inconsistent sizes or child indices")
        tree = cls(
            left=[check_count(c, "a child index", low=-1, high=n - 1) for c in config["left"]],
            right=[check_count(c, "a child index", low=-1, high=n - 1) for c in config["right"]],
            keyword=check_strings(config["keyword"], "a tree's keywords"),
            phrases=[check_strings(ps, "a tree's phrase set") for ps in config["phrases"]],
            n_samples=[check_count(v, "a node's sample count") for v in config["n_samples"]],
            gain=[check_number(v, "a split's gain") for v in config["gain"]],
            values=list(value),
        )
        tree._check_shape()
        return tree

    def _check_shape(self) -> None:
        """Every node but the root is the child of exactly one node listed after it, all
        are reached from the root (no cycle, nothing detached), a node has two children
        or none, and they share its samples out."""
        n = self.n_nodes
        if n == 0:
            raise ValueError("a tree has no nodes")
        if any((a < 0) != (b < 0) for a, b in zip(self.left, self.right, strict=True)):
            raise ValueError("tree child indices do not form a tree (a node with one child)")
        # Grown breadth-first, a tree lists every child after its node (depth() relies on it).
        pairs = zip(self.left, self.right, strict=True)
        if any(0 <= c <= node for node, pair in enumerate(pairs) for c in pair):
            raise ValueError("tree child indices do not form a tree (a child before its node)")
        children = [c for c in self.left + self.right if c != -1]
        reached, stack = 0, [0]
        while stack and reached <= n:
            node = stack.pop()
            reached += 1
            stack += [c for c in (self.left[node], self.right[node]) if c != -1]
        if sorted(children) != list(range(1, n)) or reached != n:
            raise ValueError("tree child indices do not form a tree (a cycle or a shared node)")
        # A split shares its node's training texts out between its two children.
        for node, (a, b) in enumerate(zip(self.left, self.right, strict=True)):
            if a >= 0 and self.n_samples[a] + self.n_samples[b] != self.n_samples[node]:
                raise ValueError("a tree's sample counts do not add up from its leaves")


#: The per-node lists of a saved tree.
_TREE_LISTS = ("left", "right", "keyword", "phrases", "n_samples", "gain")


@dataclass
class PathStep:
    """One question on a decision path."""

    node: int
    phrases: list[str]
    matched: list[str]

    @property
    def answer(self) -> bool:
        """Whether the text contains one of the phrases."""
        return bool(self.matched)


@dataclass
class TreeExplanation(ResultMixin):
    """Why a tree predicted what it did: the questions asked and the phrases found.

    Attributes
    ----------
    text : str
    steps : list of PathStep
        The splits from the root, each with the phrases of the text it matched.
    leaf : int
    value : ndarray
        Class probabilities (classifier) or the predicted value (regressor) of
        the tree; for an ensemble, of its first tree (see ``prediction``).
    prediction : object
        The model's prediction for the text (the whole ensemble's).
    classes : list or None
    tree_index : int
    """

    text: str
    steps: list[PathStep]
    leaf: int
    value: np.ndarray
    prediction: Any
    classes: list[Any] | None = None
    tree_index: int = 0

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict: the path's questions and the leaf value (``top`` is ignored)."""
        return {
            "text": self.text,
            "prediction": jsonable(self.prediction),
            "path": [
                {"phrases": s.phrases, "matched": s.matched, "answer": s.answer} for s in self.steps
            ],
            "leaf_value": jsonable(self.value),
        }

    def __str__(self) -> str:
        lines = []
        for step in self.steps:
            shown = _phrase_list(step.phrases)
            if step.answer:
                found = ", ".join(f'"{p}"' for p in step.matched)
                lines.append(f"contains any of {shown}? yes: found {found}")
            else:
                lines.append(f"contains any of {shown}? no")
        lines.append(f"-> {_value_text(self.value, self.classes)}; prediction: {self.prediction}")
        return "\n".join(lines)


# -- growing ---------------------------------------------------------------------------


def _weighted_impurity(stats: np.ndarray, criterion: str) -> np.ndarray:
    """``n * impurity`` of each row of sufficient statistics.

    Classification rows hold class counts; regression rows ``[n, sum y, sum y^2]``.
    """
    stats = np.atleast_2d(stats)
    if criterion == "squared_error":
        n, s1, s2 = stats[:, 0], stats[:, 1], stats[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            sse = s2 - np.where(n > 0, s1 * s1 / n, 0.0)
        return np.asarray(np.maximum(sse, 0.0))
    n = stats.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n[:, None] > 0, stats / n[:, None], 0.0)
    if criterion == "gini":
        return np.asarray(n * (1.0 - (p * p).sum(axis=1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.asarray(n * -(p * logs).sum(axis=1))


def _sizes(stats: np.ndarray, criterion: str) -> np.ndarray:
    stats = np.atleast_2d(stats)
    return np.asarray(stats[:, 0] if criterion == "squared_error" else stats.sum(axis=1))


def _split_gain(parent: np.ndarray, right: np.ndarray, criterion: str, min_leaf: int) -> np.ndarray:
    """Impurity decrease of splits given the parent's and each right child's statistics."""
    right = np.atleast_2d(right)
    left = parent[None, :] - right
    gain = (
        _weighted_impurity(parent[None, :], criterion)
        - _weighted_impurity(left, criterion)
        - _weighted_impurity(right, criterion)
    )
    ok = (_sizes(left, criterion) >= min_leaf) & (_sizes(right, criterion) >= min_leaf)
    return np.asarray(np.where(ok, gain, -np.inf))


class _Coverage:
    """Which training texts contain a phrase, memoised per phrase."""

    def __init__(
        self,
        texts: list[str],
        vocabulary: list[str],
        features: sp.csc_matrix,
        stem: bool,
        pattern: str | None,
    ):
        self.texts = texts
        self.stem = stem
        self.pattern = pattern
        self.features = features
        self.column = {g: j for j, g in enumerate(vocabulary)}
        self._extra: dict[str, np.ndarray] = {}

    def prepare(self, phrases: Sequence[str]) -> None:
        """Match every phrase outside the vocabulary against the texts, in one pass."""
        todo = [p for p in dict.fromkeys(phrases) if p not in self.column and p not in self._extra]
        if todo:
            hits = PhraseMatcher(todo, self.stem, self.pattern).matrix(self.texts).tocsc()
            for j, p in enumerate(todo):
                vec = np.zeros(len(self.texts), dtype=bool)
                vec[hits.indices[hits.indptr[j] : hits.indptr[j + 1]]] = True
                self._extra[p] = vec

    def vector(self, phrase: str) -> np.ndarray:
        j = self.column.get(phrase)
        if j is None:
            self.prepare([phrase])
            return self._extra[phrase]
        vec = np.zeros(len(self.texts), dtype=bool)
        vec[self.features.indices[self.features.indptr[j] : self.features.indptr[j + 1]]] = True
        return vec


@dataclass
class _Frontier:
    node: int
    rows: np.ndarray
    depth: int
    candidates: list[str] = field(default_factory=list)


class _Grower:
    """Grows one tree breadth-first; expansions are requested once per level."""

    def __init__(
        self, est: _AugTreeBase, data: _FitData, expander: Expander, held: np.ndarray
    ) -> None:
        self.est = est
        self.data = data
        self.expander = expander
        self.criterion = est._criterion()
        # The texts of the second fixed half: a phrase is kept only if it makes
        # the split purer on both halves.
        self.held = held

    def grow(self, rows: np.ndarray, progress: Any) -> TreeStructure:
        tree = TreeStructure()
        root = tree.add_node(len(rows), self._value(rows))
        frontier = [_Frontier(root, rows, 0)]
        n_root = max(len(rows), 1)
        while frontier:
            splittable = [f for f in frontier if self._may_split(f)]
            for f in splittable:
                f.candidates = self._top_keywords(f.rows)
            self._expand_level([k for f in splittable for k in f.candidates])
            frontier = []
            for f in splittable:
                best = self._best_phrase_set(f)
                if best is None:
                    continue
                phrases, gain, mask = best
                if gain / n_root <= self.est.min_impurity_decrease:
                    continue
                tree.keyword[f.node], tree.phrases[f.node] = phrases[0], phrases
                tree.gain[f.node] = float(gain / n_root)
                for side, child_rows in (("left", f.rows[~mask]), ("right", f.rows[mask])):
                    child = tree.add_node(len(child_rows), self._value(child_rows))
                    getattr(tree, side)[f.node] = child
                    frontier.append(_Frontier(child, child_rows, f.depth + 1))
            progress.update(1)
        return tree

    def _value(self, rows: np.ndarray) -> np.ndarray:
        return self.est._node_value(self.data.stats[rows].sum(axis=0))

    def _may_split(self, f: _Frontier) -> bool:
        if f.depth >= self.est.max_depth or len(f.rows) < 2 * self.est.min_samples_leaf:
            return False
        parent = self.data.stats[f.rows].sum(axis=0)
        return bool(_weighted_impurity(parent, self.criterion)[0] > _TOLERANCE)

    def _top_keywords(self, rows: np.ndarray) -> list[str]:
        stats = self.data.stats[rows]
        parent = stats.sum(axis=0)
        right = np.asarray(self.data.features[rows].T @ stats)
        gain = _split_gain(parent, right, self.criterion, self.est.min_samples_leaf)
        k = min(self.est.max_features, len(gain))
        # Equal gains (to rounding) go to the more frequent keyword (the
        # vocabulary's order), not wherever a partial sort happens to leave them.
        top = np.lexsort((np.arange(len(gain)), -np.round(gain, 9)))[:k]
        return [self.data.vocabulary[j] for j in top if gain[j] > _TOLERANCE]

    def _expand_level(self, keywords: list[str]) -> None:
        todo = [k for k in dict.fromkeys(keywords) if k not in self.data.expansions]
        if todo:
            self.data.expansions.update(self.expander.expand(todo))
        phrases = [p for k in keywords for p in self.data.expansions.get(k, [])]
        self.data.coverage.prepare(phrases)

    def _best_phrase_set(self, f: _Frontier) -> tuple[list[str], float, np.ndarray] | None:
        stats = self.data.stats[f.rows]
        parent = stats.sum(axis=0)
        best: tuple[list[str], float, np.ndarray] | None = None
        for keyword in f.candidates:
            result = self._grow_phrase_set(keyword, f.rows, stats, parent)
            if best is None or result[1] > best[1] + _TOLERANCE:
                best = result
        return best

    def _grow_phrase_set(
        self, keyword: str, rows: np.ndarray, stats: np.ndarray, parent: np.ndarray
    ) -> tuple[list[str], float, np.ndarray]:
        """Forward selection: add the expansion that helps most, while one helps.

        The node's texts are cut in two fixed halves. Expansions are ranked on
        all texts and each is kept only if it makes the split purer on both
        halves (one that fails is skipped), so phrases that fit a few training
        texts by chance are left out and rare real synonyms are kept.
        """
        coverage = self.data.coverage
        mask = coverage.vector(keyword)[rows]
        chosen = [keyword]
        pool = {}
        for p in self.data.expansions.get(keyword, []):
            vec = coverage.vector(p)[rows]
            if (vec & ~mask).any():
                pool[p] = vec
        if pool:
            halves = self._halves(rows, stats)
            score = [self._gain_of(mask, *half) for half in halves]
            while pool and len(chosen) <= self.est.n_expansions:
                ranked = {p: self._gain_of(mask | v, *halves[0]) for p, v in pool.items()}
                phrase = max(ranked, key=lambda q: ranked[q])
                trial = [ranked[phrase]]
                trial += [self._gain_of(mask | pool[phrase], *h) for h in halves[1:]]
                # A phrase that does not help on both halves is skipped: the
                # next may still hold.
                if not all(_improves(t, s) for t, s in zip(trial, score, strict=True)):
                    pool.pop(phrase)
                    continue
                score = trial
                mask = mask | pool.pop(phrase)
                chosen.append(phrase)
                pool = {p: v for p, v in pool.items() if (v & ~mask).any()}
        return chosen, self._gain_of(mask, stats, parent), mask

    def _halves(
        self, rows: np.ndarray, stats: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """``(stats, parent, row filter)`` of the texts expansions are ranked on (all),
        then judged on (each half)."""
        held = self.held[rows]
        return [
            (stats, stats.sum(axis=0), None),
            (stats[~held], stats[~held].sum(axis=0), ~held),
            (stats[held], stats[held].sum(axis=0), held),
        ]

    def _gain_of(
        self,
        mask: np.ndarray,
        stats: np.ndarray,
        parent: np.ndarray,
        keep: np.ndarray | None = None,
    ) -> float:
        """Impurity decrease of splitting ``stats``'s rows by ``mask`` (rows ``keep`` only)."""
        if keep is not None:
            mask = mask[keep]
        right = stats[mask].sum(axis=0)
        # Halves may be small: only the full node enforces ``min_samples_leaf``.
        min_leaf = self.est.min_samples_leaf if keep is None else 0
        return float(_split_gain(parent, right, self.criterion, min_leaf)[0])


def _improves(new: float, old: float) -> bool:
    return new > old + _TOLERANCE * max(1.0, abs(old))


@dataclass
class _FitData:
    vocabulary: list[str]
    features: sp.csr_matrix
    coverage: _Coverage
    stats: np.ndarray
    pool: list[str] = field(default_factory=list)
    expansions: dict[str, list[str]] = field(default_factory=dict)


# -- estimators --------------------------------------------------------------------------


class _AugTreeBase(GlassModel, BaseEstimator):
    """Shared parameters, growing, matching, printing and saving."""

    _task = "classification"
    _fitted_attribute = "trees_"
    _runtime_params: ClassVar[frozenset[str]] = frozenset({"progress"})
    _removed_params: ClassVar[dict[str, str]] = {
        "selection": "expansions are always kept by the both-halves check",
        "stop_words": "every n-gram is a candidate (dropping stop-word-only ones cost "
        "scikit-learn's tree 4.7 AUC points on average, augtree_factors.json)",
    }
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "max_depth": [_Count(int, 1)],
        "expansion": [Options(_STRATEGIES), HasMethods(("expand",))],
        "lm": [None, "path", HasMethods(("generate",))],
        "encoder": ["path", HasMethods(("encode",))],
        "context": [None, str],
        "n_expansions": [_Count(int, 0)],
        "max_features": [_Count(int, 1)],
        "min_samples_leaf": [_Count(int, 1)],
        "min_impurity_decrease": [Interval(float, 0.0)],
        "ngram_range": [tuple, list],
        "min_df": [_Count(int, 1)],
        "max_vocabulary": [None, Interval(int, 1)],
        "pool_min_df": [_Count(int, 1)],
        "pool_size": [None, Interval(int, 1)],
        "leaf_smoothing": [Interval(float, 0.0)],
        "token_pattern": [RegexPattern()],
        "stem": ["boolean"],
        "max_phrase_words": [_Count(int, 0)],
        "n_estimators": [_Count(int, 1)],
        "random_state": [None, Interval(int)],
        "progress": [None, "boolean"],
    }
    cli_name = "augtree"
    cli_help = "Aug-Tree: a decision tree over phrase sets"
    cli_options: ClassVar[dict[str, str]] = {
        "max_depth": "most questions from the root to a leaf",
        "expansion": "how keywords become phrase sets",
        "lm": "for --expansion llm: alias, folder, hub id or openai:MODEL@BASE_URL "
        "(default: the packaged SmolLM2-135M-Instruct)",
        "encoder": "for --expansion embedding",
        "context": 'domain for the LM, e.g. "movie reviews"',
        "n_expansions": "phrases proposed per keyword",
        "max_features": "keywords expanded per node",
        "min_samples_leaf": "fewest training texts in a leaf",
        "n_estimators": "above 1: bagged trees",
        "stem": "match phrases by word stems",
        "random_state": "seed of the bootstrap samples",
    }
    cli_encoder_options = ("device",)
    # The phrase matcher of the fitted trees, built on first prediction.
    _matcher_cache: tuple[PhraseMatcher, list[sp.csr_matrix]] | None = None

    def __init__(
        self,
        max_depth: int = 5,
        expansion: ExpansionSetting = "embedding",
        *,
        lm: Any = None,
        encoder: EncoderSetting = DEFAULT_ENCODER,
        context: str | None = None,
        n_expansions: int = 20,
        max_features: int = 5,
        criterion: str = "gini",
        min_samples_leaf: int = 1,
        min_impurity_decrease: float = 0.0,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 1,
        max_vocabulary: int | None = None,
        pool_min_df: int = 3,
        pool_size: int | None = 20_000,
        leaf_smoothing: float = 1.0,
        token_pattern: str = SPLIT_WORD_PATTERN,
        stem: bool = False,
        max_phrase_words: int = 3,
        n_estimators: int = 1,
        random_state: int | None = None,
        progress: bool | None = None,
    ) -> None:
        self.max_depth = max_depth
        self.expansion = expansion
        self.lm = lm
        self.encoder = encoder
        self.context = context
        self.n_expansions = n_expansions
        self.max_features = max_features
        self.criterion = criterion
        self.min_samples_leaf = min_samples_leaf
        self.min_impurity_decrease = min_impurity_decrease
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_vocabulary = max_vocabulary
        self.pool_min_df = pool_min_df
        self.pool_size = pool_size
        self.leaf_smoothing = leaf_smoothing
        self.token_pattern = token_pattern
        self.stem = stem
        self.max_phrase_words = max_phrase_words
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.progress = progress

    # -- parameters ----------------------------------------------------------------
    def _criterion(self) -> str:
        return str(self.criterion)

    def _check_settings(self) -> None:
        """The declared constraints, then what they cannot say (1 <= min_n <= max_n)."""
        self._validate_params()
        check_ngram_range(self.ngram_range)

    def _device(self) -> str:
        """The encoder's device setting, also where a local LM named by ``lm`` runs."""
        return str(self.encoder.device) if isinstance(self.encoder, Encoder) else "auto"

    def _make_expander(self, pool: list[str]) -> Expander:
        if not isinstance(self.expansion, str):
            return self.expansion
        if self.expansion == "none" or self.n_expansions == 0:
            return NoExpander()
        llm = LLMExpander(
            self.lm,
            n_phrases=self.n_expansions,
            context=self.context,
            max_words=self.max_phrase_words,
            device=self._device(),
        )
        if self.expansion == "llm":
            return llm
        embedding = EmbeddingExpander(pool, self.encoder, n_phrases=self.n_expansions)
        return embedding if self.expansion == "embedding" else CombinedExpander(llm, embedding)

    # -- candidate keywords ------------------------------------------------------------
    def _build_vocabulary(self, texts: list[str]) -> tuple[list[str], list[str]]:
        """The keywords a split may start from, and the pool embedding expansions come from.

        The pool is narrower (``pool_min_df``, ``pool_size``): every pool phrase
        is embedded once, and phrases seen in one or two texts are the ones a
        greedy set would add by chance.
        """
        df = _document_frequencies(texts, self.ngram_range, self.token_pattern)
        vocabulary = _frequent(df, self.min_df, self.max_vocabulary, frozenset())
        pool = _frequent(df, self.pool_min_df, self.pool_size, frozenset())
        return vocabulary, pool

    def _prepare_fit(self, texts: list[str], stats: np.ndarray) -> _FitData:
        vocabulary, pool = self._build_vocabulary(texts)
        if not vocabulary:
            raise ValueError(
                f"no candidate keywords: no n-gram occurs in min_df={self.min_df} texts"
            )
        features = PhraseMatcher(vocabulary, self.stem, self.token_pattern).matrix(texts)
        coverage = _Coverage(texts, vocabulary, features.tocsc(), self.stem, self.token_pattern)
        return _FitData(vocabulary, features.tocsr().astype(np.float64), coverage, stats, pool)

    # -- fitting ---------------------------------------------------------------------
    def _fit(self, X: Any, stats: np.ndarray) -> None:
        texts = check_documents(X)
        started = time.perf_counter()
        data = self._prepare_fit(texts, stats)
        expander = self._make_expander(data.pool)
        before = _usage_of(expander)
        rng = np.random.default_rng(self.random_state)
        total = self.n_estimators * (self.max_depth + 1)
        progress = progress_bar(total, "Aug-Tree levels", self.progress, "level")
        trees = []
        try:
            for index in range(self.n_estimators):
                rows = np.arange(len(texts))
                if self.n_estimators > 1:
                    rows = np.sort(rng.integers(0, len(texts), size=len(texts)))
                grower = _Grower(self, data, expander, self._halves_mask(len(texts), index))
                trees.append(grower.grow(rows, progress))
        finally:
            progress.close()
        self.trees_ = trees
        self.vocabulary_size_ = len(data.vocabulary)
        self.expansions_ = {k: list(v) for k, v in data.expansions.items()}
        self.expansion_usage_ = usage_delta(before, _usage_of(expander))
        self.fit_seconds_ = time.perf_counter() - started
        self._matcher_cache = None

    def _halves_mask(self, n_texts: int, index: int) -> np.ndarray:
        """The texts of the second of the two halves that judge expansions.

        Fixed even without a seed, so a single tree is deterministic.
        """
        seed = [0 if self.random_state is None else self.random_state, index]
        return np.random.default_rng(seed).random(n_texts) < 0.5

    # -- matching ----------------------------------------------------------------------
    def _phrase_columns(self) -> tuple[PhraseMatcher, list[sp.csr_matrix]]:
        """One matcher over every phrase of every tree, and per tree a phrase-by-node map."""
        cached: tuple[PhraseMatcher, list[sp.csr_matrix]] | None = getattr(
            self, "_matcher_cache", None
        )
        if cached is not None:
            return cached
        phrases = sorted({p for t in self.trees_ for ps in t.phrases for p in ps})
        column = {p: j for j, p in enumerate(phrases)}
        maps = []
        for t in self.trees_:
            rows = [column[p] for ps in t.phrases for p in ps]
            cols = [i for i, ps in enumerate(t.phrases) for _ in ps]
            maps.append(
                sp.csr_matrix(
                    (np.ones(len(rows), dtype=np.int32), (rows, cols)),
                    shape=(len(phrases), t.n_nodes),
                )
            )
        built = (PhraseMatcher(phrases, self.stem, self._pattern()), maps)
        self._matcher_cache = built
        return built

    def _leaf_values(self, texts: list[str]) -> list[np.ndarray]:
        """Each tree's leaf value for each text: a list of (n_texts, n_outputs) arrays."""
        matcher, maps = self._phrase_columns()
        out = [np.empty((len(texts), t.value.shape[1])) for t in self.trees_]
        chunk = 8192
        for lo in range(0, len(texts), chunk):
            hits = matcher.matrix(texts[lo : lo + chunk]).astype(np.int32)
            for t, node_map, dest in zip(self.trees_, maps, out, strict=True):
                leaves = _walk(t, np.asarray((hits @ node_map).toarray() > 0))
                dest[lo : lo + chunk] = t.value[leaves]
        return out

    def apply(self, X: Any) -> np.ndarray:
        """Index of the leaf each text reaches, shape ``(n_texts, n_estimators)``."""
        check_is_fitted(self, "trees_")
        texts = check_texts(X, "X")
        matcher, maps = self._phrase_columns()
        hits = matcher.matrix(texts).astype(np.int32)
        return (
            np.stack(
                [
                    _walk(t, np.asarray((hits @ m).toarray() > 0))
                    for t, m in zip(self.trees_, maps, strict=True)
                ],
                axis=1,
            )
            if texts
            else np.zeros((0, len(self.trees_)), dtype=np.int64)
        )

    def _mean_value(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "trees_")
        texts = check_texts(X, "X")
        if not texts:
            return np.zeros((0, self.trees_[0].value.shape[1]))
        return np.asarray(np.mean(self._leaf_values(texts), axis=0))

    # -- reading ----------------------------------------------------------------------
    def _path(self, text: str, tree_index: int) -> tuple[list[PathStep], int]:
        tree = self.trees_[tree_index]
        node, steps = 0, []
        while tree.left[node] >= 0:
            phrases = tree.phrases[node]
            row = PhraseMatcher(phrases, self.stem, self._pattern()).matrix([text])
            matched = [phrases[j] for j in row.indices]
            steps.append(PathStep(node, list(phrases), matched))
            node = tree.right[node] if matched else tree.left[node]
        return steps, node

    def _explain(self, text: str, tree_index: int) -> TreeExplanation:
        check_is_fitted(self, "trees_")
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not 0 <= tree_index < len(self.trees_):
            raise ValueError(f"tree_index must be in [0, {len(self.trees_)}), got {tree_index}")
        steps, leaf = self._path(text, tree_index)
        prediction = python_scalar(self.predict([text])[0])
        return TreeExplanation(
            text,
            steps,
            leaf,
            self.trees_[tree_index].value[leaf],
            prediction,
            self._class_list(),
            tree_index,
        )

    def _class_list(self) -> list[Any] | None:
        return None

    def export_text(self, tree_index: int = 0, max_phrases: int | None = None) -> str:
        """The tree as indented questions about phrase sets, with counts and values.

        Parameters
        ----------
        tree_index : int, default=0
            Which tree of an ensemble.
        max_phrases : int or None, default=None
            Show at most this many phrases per split (the rest are counted).

        Returns
        -------
        str
        """
        check_is_fitted(self, "trees_")
        tree = self.trees_[tree_index]
        classes = self._class_list()
        lines = [
            f"{type(self).__name__} (tree {tree_index + 1} of {len(self.trees_)}): "
            f"depth {tree.depth()}, {sum(1 for c in tree.left if c < 0)} leaves"
        ]

        # Depth first, "yes" before "no"; a stack rather than recursion, for deep trees.
        stack = [(0, "", "")]
        while stack:
            node, indent, label = stack.pop()
            summary = (
                f"[{tree.n_samples[node]:,} samples: {_value_text(tree.value[node], classes)}]"
            )
            if tree.left[node] < 0:
                lines.append(
                    f"{indent}{label}predict {self._leaf_label(tree.value[node])}  {summary}"
                )
                continue
            shown = _phrase_list(tree.phrases[node], max_phrases)
            lines.append(f"{indent}{label}contains any of {shown}?  {summary}")
            child_indent = indent + ("|   " if label else "")
            stack.append((tree.left[node], child_indent, "|--- no:  "))
            stack.append((tree.right[node], child_indent, "|--- yes: "))
        return "\n".join(lines)

    def _leaf_label(self, value: np.ndarray) -> str:
        return f"{float(value[0]):.4g}"

    def phrase_sets(self) -> list[list[str]]:
        """Every split's phrase set, root first, over all trees."""
        check_is_fitted(self, "trees_")
        return [list(ps) for t in self.trees_ for ps in t.phrases if ps]

    # -- the CLI and summaries ---------------------------------------------------------------
    def fit_notes(self, X_test: Any = None) -> list[str]:
        """The LM calls the expansions cost (with ``expansion="llm"``), then the tree."""
        check_is_fitted(self, "trees_")
        notes = []
        if self.expansion in ("llm", "llm+embedding"):
            usage = self.expansion_usage_
            notes.append(
                f"LM calls: {usage.get('n_generate_calls', 0)} "
                f"(cache hits: {usage.get('n_cache_hits', 0)})"
            )
        return [*notes, self.export_text(max_phrases=8)]

    def _split_rises(self) -> tuple[list[tuple[str, ...]], np.ndarray]:
        """Every distinct phrase set and how its "contains" branch moves the node value.

        For every split, the value of its "contains" child (``right``) minus
        that of its "does not contain" child (``left``), times the share of
        training texts that reached the split; summed over the trees of an
        ensemble and divided by their number. Rows follow the phrase sets.
        """
        weights: dict[tuple[str, ...], np.ndarray] = {}
        for tree in self.trees_:
            root = max(int(tree.n_samples[0]), 1)
            for node in range(tree.n_nodes):
                if tree.left[node] < 0 or not tree.phrases[node]:
                    continue
                yes, no = tree.values[tree.right[node]], tree.values[tree.left[node]]
                rise = (np.asarray(yes) - np.asarray(no)) * tree.n_samples[node] / root
                key = tuple(tree.phrases[node])
                weights[key] = weights.get(key, 0.0) + rise / len(self.trees_)
        sets = list(weights)
        n_outputs = self.trees_[0].value.shape[1]
        table = np.vstack([weights[s] for s in sets]) if sets else np.zeros((0, n_outputs))
        return sets, table

    def _ranked_sets(self, k: int) -> list[tuple[Any, Evidence]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary_evidence(self, k: int) -> SummaryEvidence:
        """Per class (``"higher"`` / ``"lower"`` for a regressor), the ``k`` phrase sets
        whose "contains" branch points toward it most, weighted as in ``_split_rises``."""
        check_is_fitted(self, "trees_")
        return SummaryEvidence("phrase sets", self._task, self._ranked_sets(k))

    # -- persistence (loading and predicting need neither torch nor the LM) ----------------
    def _unsaveable_param(self, name: str, value: Any) -> Any:
        if name == "expansion":  # a custom expander is saved as its type name
            return type(value).__name__
        if name in ("lm", "encoder"):  # a model object is not saved; predicting needs none
            return None
        return super()._unsaveable_param(name, value)

    def _pattern(self) -> str:
        # Models saved before ``token_pattern`` existed matched with the shared tokenizer.
        return str(getattr(self, "token_pattern", WORD_PATTERN))

    @classmethod
    def _from_saved_params(cls, saved: Any, path: str | os.PathLike[str]) -> Any:
        """As :meth:`GlassModel._from_saved_params`; a removed option loads when its saved
        value is what the model now does, and is refused otherwise."""
        if isinstance(saved, dict):
            for name, now in _REMOVED_PARAMS.items():
                if name in saved and saved[name] not in now:
                    value = f"{saved[name]!r:.60}"
                    message = f"{path} holds {name}={value}: that option no longer exists"
                    raise ModelFileError(" ".join(message.split()))
            saved = {k: v for k, v in saved.items() if k not in _REMOVED_PARAMS}
        return super()._from_saved_params(saved, path)

    @classmethod
    def _params_from_saved(cls, saved: dict[str, Any]) -> dict[str, Any]:
        if "token_pattern" not in saved:  # saved before the option: the shared tokenizer
            saved = {**saved, "token_pattern": WORD_PATTERN}
        params = super()._params_from_saved(saved)
        if params.get("expansion") not in _STRATEGIES:
            params["expansion"] = "none"  # a custom expander is not saved; fitting needs one
        return params

    def _state_config(self) -> dict[str, Any]:
        return {
            "trees": [t.to_config() for t in self.trees_],
            "vocabulary_size": int(self.vocabulary_size_),
        }

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {f"value_{i}": t.value for i, t in enumerate(self.trees_)}

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        trees = config["trees"]
        if not isinstance(trees, list) or not trees:
            raise ValueError("no trees")
        names = [f"value_{i}" for i in range(len(trees))]
        if set(arrays) != set(names):
            raise ValueError(f"the node value arrays do not match the {len(trees)} tree(s)")
        n_outputs = arrays[names[0]].shape[-1] if arrays[names[0]].ndim else 0
        values = [check_array(arrays, name, (None, n_outputs), np.float64) for name in names]
        self.trees_ = [
            TreeStructure.from_config(tree, value)
            for tree, value in zip(trees, values, strict=True)
        ]
        if max(tree.depth() for tree in self.trees_) > self.max_depth:
            raise ValueError(f"a tree is deeper than max_depth={self.max_depth}")
        self.vocabulary_size_ = check_count(config["vocabulary_size"], "vocabulary_size")
        self._matcher_cache = None


@register_model
class AugTreeClassifier(ClassifierMixin, _AugTreeBase):
    """Decision tree (or bagged trees) over expanded phrase sets, for classification.

    Figures below are AUC points from ``benchmarks/results/augtree.json``
    (Aug-Tree against scikit-learn's default tree, "CART") and
    ``augtree_factors.json`` (CART with one setting changed); a default
    without a comparison there is the setting every Aug-Tree figure used.

    Parameters
    ----------
    max_depth : int, default=5
        Maximum number of questions from the root to a leaf. 5 keeps the tree
        readable; deeper trees can score higher (docs/benchmarks/augtree.md).
    expansion : {"embedding", "llm", "llm+embedding", "none"} or expander, default="embedding"
        How keywords become phrase sets: the nearest n-grams of the training
        vocabulary by ``encoder`` similarity; phrases proposed by ``lm``; both
        lists interleaved; no expansion (a plain keyword tree); or any object
        with an ``expand(keywords) -> {keyword: [phrases]}`` method.
        ``"embedding"`` measured best: +3.20 over CART where all ran (2,000
        texts, depths 2-3), ``"llm"`` +0.05, ``"llm+embedding"`` the AUC of
        ``"embedding"`` plus LM calls.
    lm : str, path-like, LanguageModel or None, default=None
        The language model for ``expansion="llm"``: an alias, a local folder,
        a hub id or an instance such as
        :class:`~glasstext.backends.openai_compat.OpenAICompatibleLM`. ``None``
        is the packaged SmolLM2-135M-Instruct, the one measured.
    encoder : str, path-like, Encoder or TextEncoder, default="all-MiniLM-L6-v2"
        The encoder for ``expansion="embedding"``: a name, a folder, a
        :class:`glasstext.Encoder` (its settings nest:
        ``set_params(encoder__device="cpu")``), or an object with ``encode``.
        Its ``device`` is also where a local LM named by ``lm`` runs while
        fitting (``"auto"``: a GPU when there is one); a run-time setting,
        not saved: prediction needs neither. MiniLM: the encoder measured.
    context : str or None, default=None
        Domain given to the LM, e.g. ``"movie reviews"``; ``None`` gives none
        (the embedding expansion does not use it).
    n_expansions : int, default=20
        Phrases proposed per keyword (and the most a split adds); the measured
        setting.
    max_features : int, default=5
        Keywords expanded and compared at each node; the measured setting.
    criterion : {"gini", "entropy"}, default="gini"
        scikit-learn's default; entropy measured -4.5 to +6.5 on CART.
    min_samples_leaf : int, default=1
        Fewest training texts in a leaf; scikit-learn's default, as 5
        measured -0.7 to +1.7 on CART.
    min_impurity_decrease : float, default=0.0
        A split must decrease impurity (weighted by the fraction of training
        texts at the node) by more than this; scikit-learn's default.
    ngram_range : (int, int), default=(1, 2)
        Lengths of the candidate keywords; those of the CART measured against.
    min_df : int, default=1
        Candidate keywords occur in at least this many training texts; 3
        measured -0.8 to +1.8 on CART. Every n-gram is a candidate, stop words
        included: dropping stop-word-only n-grams measured -4.7 on CART on
        average (-12.8 on SMS spam, where "call" and "now" are stop words).
    max_vocabulary : int or None, default=None
        Keep only the most frequent candidates, to bound memory; 20,000
        measured -0.1 to +0.8 on CART.
    pool_min_df : int, default=3
        Embedding expansions come from the n-grams in at least this many
        training texts (the measured setting)...
    pool_size : int or None, default=20000
        ...the most frequent of them (every pool phrase is embedded once).
    leaf_smoothing : float, default=1.0
        Pseudo-count added to every class in a node's value (Laplace's rule),
        the measured setting: a large, nearly pure leaf then ranks above a
        pure leaf of one text. 0 gives scikit-learn's raw class fractions.
    token_pattern : str, default=SPLIT_WORD_PATTERN
        What a word is, for candidates and matching alike: by default runs of
        letters and digits ("don't" is "don" "t"), as scikit-learn splits
        words; ``glasstext.text.WORD_PATTERN``, which keeps "don't" and
        "e-mail" whole, measured -0.4 on CART on average (-2.6 at most).
    stem : bool, default=False
        Match phrases by their Snowball stems ("movies" matches "movie"); off
        in the measured setting.
    max_phrase_words : int, default=3
        Longest LM-proposed phrase kept, in words; the measured setting.
    n_estimators : int, default=1
        Above 1, a bagged ensemble: each tree is grown on a bootstrap sample
        and probabilities are averaged. Expansions are shared between trees.
        One tree is one model to read; 10 at depth 5 measured +2.8 to +14.1.
    random_state : int or None, default=None
        Seeds the bootstrap samples and the halves that choose expansions
        (``None``: fixed halves, so a single tree is still deterministic).
    progress : bool or None, default=None
        Progress bar per tree level (``None``: only on a terminal, so logs
        stay clean).

    Attributes
    ----------
    classes_ : ndarray
    trees_ : list of TreeStructure
    expansions_ : dict of str to list of str
        Every keyword expanded during fit and the phrases proposed for it.
    expansion_usage_ : dict
        Model calls the expansions cost during fit (e.g. ``n_generate_calls``,
        0 on a warm cache).
    vocabulary_size_ : int
        Number of candidate keywords.
    fit_seconds_ : float
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **_AugTreeBase._parameter_constraints,
        "criterion": [Options(("gini", "entropy"))],
    }

    def fit(self, X: Any, y: Any) -> AugTreeClassifier:
        """Grow the tree(s) on texts ``X`` and labels ``y``; returns ``self``."""
        self._check_settings()
        texts = check_documents(X)
        target = check_target(y, len(texts), "classification")
        self.classes_, encoded = np.unique(target, return_inverse=True)
        stats = np.zeros((len(texts), len(self.classes_)))
        stats[np.arange(len(texts)), encoded] = 1.0
        self._fit(texts, stats)
        return self

    def _node_value(self, stats: np.ndarray) -> np.ndarray:
        # Pseudo-counts (Laplace's rule at 1.0) rank a large, nearly pure leaf
        # above a pure leaf of one or two texts, which is what AUC rewards.
        stats = stats + float(self.leaf_smoothing)
        total = stats.sum()
        return stats / total if total > 0 else np.full(len(stats), 1.0 / len(stats))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: leaf class fractions, averaged over trees."""
        return self._mean_value(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each text."""
        proba = self.predict_proba(X)
        return (
            np.asarray(self.classes_[np.argmax(proba, axis=1)]) if len(proba) else self.classes_[:0]
        )

    def explain(self, text: str, tree_index: int = 0) -> TreeExplanation:
        """The decision path of ``text``: each question and the phrases it matched."""
        return self._explain(text, tree_index)

    def _class_list(self) -> list[Any] | None:
        return [python_scalar(c) for c in self.classes_]

    def _leaf_label(self, value: np.ndarray) -> str:
        return str(python_scalar(self.classes_[int(np.argmax(value))]))

    def _ranked_sets(self, k: int) -> list[tuple[Any, Evidence]]:
        sets, table = self._split_rises()
        return [
            (python_scalar(label), _ranked(sets, table[:, c], 1.0, k))
            for c, label in enumerate(self.classes_)
        ]

    def _state_config(self) -> dict[str, Any]:
        return {**super()._state_config(), "classes": [python_scalar(c) for c in self.classes_]}

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        super()._restore_state(config, arrays, folder)
        self.classes_ = check_class_list(config["classes"])
        if any(t.value.shape[1] != len(self.classes_) for t in self.trees_):
            raise ValueError("node values and classes differ in size")


@register_model
class AugTreeRegressor(RegressorMixin, _AugTreeBase):
    """Decision tree (or bagged trees) over expanded phrase sets, for regression.

    Same parameters as :class:`AugTreeClassifier`; splits minimise squared
    error and leaves predict the mean target (``criterion`` is ignored).
    """

    _task = "regression"

    def _criterion(self) -> str:
        return "squared_error"

    def fit(self, X: Any, y: Any) -> AugTreeRegressor:
        """Grow the tree(s) on texts ``X`` and numeric targets ``y``; returns ``self``."""
        self._check_settings()
        texts = check_documents(X)
        target = check_target(y, len(texts), "regression")
        stats = np.column_stack([np.ones(len(target)), target, target * target])
        self._fit(texts, stats)
        return self

    def _node_value(self, stats: np.ndarray) -> np.ndarray:
        n = stats[0]
        return np.array([stats[1] / n if n > 0 else 0.0])

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        super()._restore_state(config, arrays, folder)
        if self.trees_[0].value.shape[1] != 1:
            raise ValueError("a regressor's nodes hold one value each")

    def predict(self, X: Any) -> np.ndarray:
        """Mean training target of each text's leaf, averaged over trees."""
        return self._mean_value(X)[:, 0]

    def _ranked_sets(self, k: int) -> list[tuple[Any, Evidence]]:
        sets, table = self._split_rises()
        column = table[:, 0]
        return [
            ("higher", _ranked(sets, column, 1.0, k)),
            ("lower", _ranked(sets, column, -1.0, k)),
        ]

    def explain(self, text: str, tree_index: int = 0) -> TreeExplanation:
        """The decision path of ``text``: each question and the phrases it matched."""
        return self._explain(text, tree_index)


def candidate_keywords(
    texts: Sequence[str],
    ngram_range: Sequence[int] = (1, 2),
    min_df: int = 3,
    max_vocabulary: int | None = 20_000,
    stop_words: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """The n-grams a tree may split on: those in at least ``min_df`` texts.

    N-grams made only of stop words are dropped; the most frequent
    ``max_vocabulary`` are kept, ordered by document frequency (ties
    alphabetically), which makes the order deterministic.

    Parameters
    ----------
    texts : sequence of str
    ngram_range : (int, int), default=(1, 2)
    min_df : int, default=3
    max_vocabulary : int or None, default=20000
    stop_words : set of str, default=frozenset()

    Returns
    -------
    list of str
    """
    return _frequent(_document_frequencies(texts, ngram_range), min_df, max_vocabulary, stop_words)


def _document_frequencies(
    texts: Sequence[str], ngram_range: Sequence[int], pattern: str | None = None
) -> Counter[str]:
    """In how many texts each n-gram occurs."""
    bounds = check_ngram_range(ngram_range)
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(ngrams_of_tokens(tokenize(text, pattern=pattern), bounds)))
    return df


def _frequent(
    df: Counter[str], min_df: int, limit: int | None, stop_words: frozenset[str] | set[str]
) -> list[str]:
    """N-grams in ``min_df`` texts, not only stop words, the ``limit`` most frequent first."""
    kept = [
        (g, c)
        for g, c in df.items()
        if c >= min_df and not all(w in stop_words for w in g.split(" "))
    ]
    kept.sort(key=lambda gc: (-gc[1], gc[0]))
    if limit is not None:
        kept = kept[:limit]
    return [g for g, _ in kept]


# -- helpers ---------------------------------------------------------------------------------


def _walk(tree: TreeStructure, hit: np.ndarray) -> np.ndarray:
    """Leaf reached by each row, given ``hit[i, node]`` = row ``i`` matches ``node``'s phrases."""
    left, right = np.asarray(tree.left), np.asarray(tree.right)
    node = np.zeros(hit.shape[0], dtype=np.int64)
    rows = np.arange(hit.shape[0])
    for _ in range(tree.n_nodes):
        inner = left[node] >= 0
        if not inner.any():
            break
        goes_right = hit[rows, node]
        node = np.where(inner, np.where(goes_right, right[node], left[node]), node)
    return node


def _ranked(sets: list[tuple[str, ...]], column: np.ndarray, sign: float, k: int) -> Evidence:
    """The ``k`` phrase sets whose weight has ``sign``'s direction, strongest first."""
    order = np.argsort(-sign * column, kind="stable")
    return [(sets[i], float(column[i])) for i in order if sign * column[i] > 0][:k]


def _phrase_list(phrases: Sequence[str], limit: int | None = None) -> str:
    shown = phrases if limit is None else phrases[:limit]
    text = ", ".join(f'"{p}"' for p in shown)
    hidden = len(phrases) - len(shown)
    return "{" + text + (f", +{hidden} more" if hidden > 0 else "") + "}"


def _value_text(value: np.ndarray, classes: list[Any] | None) -> str:
    if classes is None:
        return f"mean {float(value[0]):.4g}"
    return ", ".join(f"{c} {v:.2f}" for c, v in zip(classes, value, strict=True))


def _usage_of(expander: Any) -> dict[str, int]:
    usage = getattr(expander, "usage", None)
    return dict(usage()) if callable(usage) else {}
