"""Aug-Linear: a linear model on summed n-gram embeddings, read as a table.

Aug-Linear (the Aug-GAM of Singh et al., "Augmenting Interpretable Models with
LLMs during Training", 2023) represents a document as the sum of the LM
embeddings of its n-grams and fits a linear model on that sum. Because the sum
is linear, the model decomposes exactly::

    f(x) = b + w · Σ_g count(g, x) · e(g) = b + Σ_g count(g, x) · (w · e(g))

so each n-gram ``g`` carries one number (one per class for multiclass), and
prediction is a table lookup: no language model is needed after fitting.

By default the table is *hybrid*: the same fit also gives every training
n-gram a value of its own from its idf-weighted count, so
``value(g) = w · e(g) + v(g)`` (embedding part plus phrase part), still one
number per n-gram and still exact. ``hybrid=False`` is the pure Aug-GAM.

Differences from the reference implementation, by design:

- each unique n-gram is embedded once (through the persistent cache), not each
  occurrence;
- intercepts are part of every output (``predict``, ``predict_proba``,
  ``decision_function`` and ``explain`` agree exactly);
- an n-gram never seen in training is never dropped silently: it is embedded
  (``unseen="embed"``) or backed off to its sub-n-grams (``unseen="backoff"``),
  and a warning says how many there were.

The result of :meth:`explain` is a :class:`LinearExplanation` (the old name
``Explanation`` still works, with a ``DeprecationWarning``).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from glasstext.backends.devices import resolve_device
from glasstext.backends.encoder import Encoder, EncoderSetting, TextEncoder, get_encoder
from glasstext.backends.registry import DEFAULT_ENCODER
from glasstext.backends.runtime import blas_threads, progress_bar, run_alongside
from glasstext.exceptions import LengthShiftWarning, ModelFileError, UnseenNgramWarning
from glasstext.io import jsonable, python_scalar
from glasstext.models.base import GlassModel, SummaryEvidence, register_model
from glasstext.models.linear_cv import logistic_regression_cv
from glasstext.models.saved_state import (
    check_array,
    check_class_list,
    check_count,
    check_number,
    check_strings,
    optional_array,
)
from glasstext.results import ResultMixin, limit
from glasstext.text import (
    NgramIndex,
    NgramVocabulary,
    Occurrences,
    check_ngram_range,
    ngrams_of_tokens,
    tokenize,
)
from glasstext.validation import (
    Constraint,
    HasMethods,
    Interval,
    Options,
    check_cv_folds,
    check_documents,
    check_target,
    check_texts,
    external_stacklevel,
)

__all__ = [
    "AugLinearClassifier",
    "AugLinearRegressor",
    "LengthShiftWarning",
    "LinearExplanation",
    "UnseenNgramWarning",
    "UnseenReport",
]

UnseenPolicy = Literal["backoff", "embed"]
DocPooling = Literal["auto", "sum", "sqrt", "mean"]

#: The back-off words are embedded alongside the fit in chunks of this many, so
#: that those left when the fit ends get both cores.
_ALONGSIDE_CHUNK = 2048
#: Training n-grams the composition map is learned from, at most (a random sample beyond).
COMPOSITION_SAMPLE = 20_000
#: The arrays a saved Aug-Linear folder may hold.
_SAVED_ARRAYS = frozenset(
    {
        "coef_table",
        "intercept",
        "coef",
        "embedding_table",
        "phrase_table",
        "composition",
        "composition_intercept",
        "left_table",
        "right_table",
        "shape_values",
        "shape_counts",
    }
)


@dataclass
class _LinearFit:
    """One cross-validated linear fit: weights, intercept, its CV score and what it chose."""

    coef: np.ndarray  # (n_outputs, n_features)
    intercept: np.ndarray  # (n_outputs,)
    score: float  # mean cross-validation score of the chosen regularisation (higher is better)
    score_se: float  # its standard error, for the one-standard-error choice of pooling
    attributes: dict[str, float]  # fitted attributes to set, e.g. {"C_": 0.1}


#: Values of C the classifier's cross-validation tries (scikit-learn's default grid).
_CS = np.logspace(-4, 4, 10)


#: Parameters (features times classes) beyond which a multiclass fit uses Newton-CG.
_NEWTON_PARAMETERS = 100_000


def _solver(n_classes: int, n_features: int) -> str:
    """The solver of the classifier's logistic fits.

    L-BFGS, except for multiclass fits with many parameters: the hybrid's are
    the phrase columns times the classes (1.7 million on Reuters R8), where
    L-BFGS spends most of its time in its own updates of them, and
    Newton-CG needs a few Hessian products instead of hundreds of steps, to
    the same C and scores. On two classes, or on the embedding features alone
    (3,072 parameters on R8), L-BFGS is the faster.
    """
    if n_classes > 2 and n_classes * n_features > _NEWTON_PARAMETERS:
        return "newton-cg"
    return "lbfgs"


#: A fit with one pooling: the fit, its phrase weight and scale, and the standardisation.
_Candidate = tuple[_LinearFit, float, np.ndarray, np.ndarray, np.ndarray]


def _one_standard_error_choice(candidates: dict[str, _Candidate]) -> str:
    """The square-root pooling unless another beats it by more than one standard error.

    The square root sits between the sum (every phrase adds its evidence, the
    paper's pooling) and the mean (suits long documents about one topic), as
    TF-IDF's unit-length rows do; a text several times longer or shorter than
    the training texts moves its score less than under either extreme. The
    cross-validation sees only the training lengths, so a clear margin is
    asked before leaving the middle.
    """
    if len(candidates) == 1:
        return next(iter(candidates))
    middle = candidates["sqrt"][0]
    best = max(candidates, key=lambda p: candidates[p][0].score)
    return best if candidates[best][0].score > middle.score + middle.score_se else "sqrt"


#: Each pooling divides a text's n-gram values by (its length / the reference) to this power.
_LENGTH_EXPONENT = {"sum": 0.0, "sqrt": 0.5, "mean": 1.0}


def _length_factor(lengths: np.ndarray, reference: float, pooling: str) -> np.ndarray:
    """Per text, the factor its n-gram values carry: ``(reference / n) ** exponent``."""
    exponent = _LENGTH_EXPONENT[pooling]
    if exponent == 0.0:
        return np.ones(len(lengths))
    return np.asarray((reference / np.maximum(lengths, 1.0)) ** exponent, dtype=np.float64)


#: A batch of at least this many texts is compared with the training lengths; fewer say
#: little about a distribution.
LENGTH_SHIFT_MIN_TEXTS = 10
#: The factor between the batch's and the training texts' median lengths beyond which
#: ``predict`` warns.
LENGTH_SHIFT_FACTOR = 2.0


def length_shift_message(lengths: np.ndarray, training_length: float | None) -> str:
    """Why ``lengths`` (n-grams per text) are far from a training median of
    ``training_length`` n-grams, or ``""`` when they are not (or cannot be told)."""
    if training_length is None or len(lengths) < LENGTH_SHIFT_MIN_TEXTS:
        return ""
    typical = float(max(np.median(lengths), 1.0))
    ratio = typical / max(training_length, 1.0)
    if 1 / LENGTH_SHIFT_FACTOR <= ratio <= LENGTH_SHIFT_FACTOR:
        return ""
    longer = "longer" if ratio > 1 else "shorter"
    times = ratio if ratio > 1 else 1 / ratio
    return (
        f"these {len(lengths)} texts are {times:.1f}x {longer} than the training texts "
        f"(median {typical:g} n-grams against {training_length:g}): accuracy measured on "
        "texts like the training ones may not carry over"
    )


def _reference_length(lengths: np.ndarray) -> float:
    """The median training text's number of n-grams (at least 1)."""
    return float(max(np.median(lengths), 1.0))


def _idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency of each column, as scikit-learn's TfidfVectorizer."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return _smoothed_idf(df, counts.shape[0])


def _smoothed_idf(df: np.ndarray | int, n_docs: int) -> np.ndarray:
    """``log((1 + n_docs) / (1 + df)) + 1`` (largest for a document frequency of 0)."""
    return np.log((1.0 + n_docs) / (1.0 + np.asarray(df))) + 1.0


#: Classes of words holding digits (phone numbers, codes, amounts, years): an unseen
#: one is valued as the mean of the table's words of its class.
WORD_SHAPES = ("digits:1-2", "digits:3-4", "digits:5+", "letters+digits")


def word_shape(word: str) -> int:
    """The index of ``word``'s class in :data:`WORD_SHAPES`, or -1 (no digit in it)."""
    if not any(c.isdigit() for c in word):
        return -1
    if word.isdigit():
        return 0 if len(word) <= 2 else 1 if len(word) <= 4 else 2
    return 3


def composition_rows(vocab: NgramVocabulary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the n-grams of two or more words whose first words and last word are
    in ``vocab``, with the rows of those two parts."""
    rows, prefix, last = [], [], []
    for row, ngram in enumerate(vocab.ngrams):
        head, space, tail = ngram.rpartition(" ")
        if space and head in vocab.index and tail in vocab.index:
            rows.append(row)
            prefix.append(vocab.index[head])
            last.append(vocab.index[tail])
    return tuple(np.asarray(a, dtype=np.int64) for a in (rows, prefix, last))  # type: ignore[return-value]


def fit_composition(
    embeddings: np.ndarray,
    vocab: NgramVocabulary,
    random_state: int | None,
    known_rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """A ridge map from ``[e(first words), e(last word)]`` to ``e(n-gram)``.

    Learned on the table's own n-grams (a sample of :data:`COMPOSITION_SAMPLE`
    at most). Returns the map's coefficients ``(dim, 2 * dim)`` and intercept
    ``(dim,)``, or ``None`` with too few n-grams to learn from. An encoder's
    phrase embedding is far closer to this map of its parts' than to their
    mean.
    ``known_rows``: :func:`composition_rows` of ``vocab`` when the caller has them.
    """
    from sklearn.linear_model import Ridge

    rows, prefix, last = composition_rows(vocab) if known_rows is None else known_rows
    dim = embeddings.shape[1]
    if len(rows) < 50:
        return None
    if len(rows) > COMPOSITION_SAMPLE:
        keep = np.sort(
            np.random.default_rng(random_state).choice(len(rows), COMPOSITION_SAMPLE, replace=False)
        )
        rows, prefix, last = rows[keep], prefix[keep], last[keep]
    parts = np.hstack([np.asarray(embeddings[prefix]), np.asarray(embeddings[last])])
    with blas_threads(1):
        ridge = Ridge(alpha=1.0).fit(parts, np.asarray(embeddings[rows], dtype=np.float64))
    return ridge.coef_.reshape(dim, 2 * dim), np.asarray(ridge.intercept_).reshape(dim)


@dataclass
class UnseenReport:
    """What happened to n-grams absent from the table, for a batch of texts.

    Attributes
    ----------
    n_ngrams : int
        N-gram occurrences in the texts.
    n_unseen : int
        Occurrences absent from the table when prediction started.
    n_embedded : int
        Unseen occurrences that were embedded and added to the table.
    n_backed_off : int
        Unseen occurrences valued by backing off to their sub-n-grams.
    n_zero : int
        Unseen occurrences with nothing to back off to: they contribute 0.
    n_composed : int
        Of the backed-off ones, those valued by the learned composition of
        their first words and last word (the rest: the mean of their parts).
    n_shaped : int
        Of the backed-off ones, unseen words holding digits valued by their
        shape (see :data:`WORD_SHAPES`).
    """

    n_ngrams: int = 0
    n_unseen: int = 0
    n_embedded: int = 0
    n_backed_off: int = 0
    n_zero: int = 0
    n_composed: int = 0
    n_shaped: int = 0

    def message(self) -> str:
        """A one-line account of the unseen n-grams."""
        how = [
            f"{n} {what}"
            for n, what in (
                (self.n_composed, "composed from their parts"),
                (self.n_shaped, "by their word shape"),
            )
            if n
        ]
        composed = f" ({', '.join(how)})" if how else ""
        return (
            f"{self.n_unseen} of {self.n_ngrams} n-gram occurrences were not in the table: "
            f"{self.n_embedded} embedded, {self.n_backed_off} backed off to sub-n-grams"
            f"{composed}, {self.n_zero} with no known part (contribute 0)"
        )


@dataclass
class LinearExplanation(ResultMixin):
    """A prediction written as a sum: intercept plus one term per n-gram.

    ``decision == intercept + sum(value for _, value in contributions)`` holds
    to float precision. For multiclass models every value is an array with one
    entry per class (in ``classes`` order).

    Attributes
    ----------
    text : str
    intercept : float or numpy.ndarray
    contributions : list of (str, float or numpy.ndarray)
        One entry per distinct n-gram of the text (its value times its count),
        largest magnitude first.
    decision : float or numpy.ndarray
        The model's decision value (log-odds, class scores, or the regression
        prediction).
    prediction : Any
        The predicted class or value.
    sources : dict of str to str
        How each n-gram was valued: ``"table"``, ``"embedded"``, ``"backoff"``
        or ``"unseen"`` (no known part, value 0).
    counts : dict of str to int
        Occurrences of each n-gram in the text.
    classes : list or None
        Class labels, for classifiers.
    phrase_parts : dict of str to (float or numpy.ndarray)
        For a hybrid model, the part of each contribution that is the
        n-gram's own learned value (the rest is its embedding's value; an
        n-gram off the training table has none). Empty for pure Aug-Linear.
    length_scale : float
        The factor this text's contributions carry against the table's values:
        ``(reference_length_ / n) ** p`` for a text of ``n`` n-grams, with
        ``p`` 1/2 for the square-root pooling and 1 for the mean; 1 when the
        embeddings are summed.
    """

    text: str
    intercept: float | np.ndarray
    contributions: list[tuple[str, float | np.ndarray]]
    decision: float | np.ndarray
    prediction: Any
    sources: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    classes: list[Any] | None = None
    phrase_parts: dict[str, float | np.ndarray] = field(default_factory=dict)
    length_scale: float = 1.0

    def embedding_part(self, ngram: str) -> float | np.ndarray:
        """The part of ``ngram``'s contribution that its embedding gives."""
        value = dict(self.contributions)[ngram]
        return value - self.phrase_parts.get(ngram, 0.0)

    def top(self, k: int = 10, class_index: int | None = None) -> list[tuple[str, float]]:
        """The ``k`` contributions of largest magnitude (for one class if multiclass)."""
        pairs = [(g, float(_pick(v, class_index))) for g, v in self.contributions]
        return sorted(pairs, key=lambda p: -abs(p[1]))[:k]

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict; ``top`` keeps the first contributions (largest first)."""
        shown = limit(self.contributions, top)
        return {
            "text": self.text,
            "prediction": jsonable(self.prediction),
            "decision": jsonable(self.decision),
            "intercept": jsonable(self.intercept),
            "contributions": [[g, jsonable(v)] for g, v in shown],
            "sources": {g: self.sources.get(g) for g, _ in shown},
            **(
                {"phrase_parts": {g: jsonable(self.phrase_parts.get(g, 0.0)) for g, _ in shown}}
                if self.phrase_parts
                else {}
            ),
            **({"length_scale": self.length_scale} if self.length_scale != 1.0 else {}),
        }

    def __str__(self) -> str:
        cls_idx = None
        if self.classes is not None and np.ndim(self.decision) == 1:
            cls_idx = int(np.argmax(self.decision))
        lines = [f"prediction: {self.prediction!r}   text: {self.text[:80]!r}"]
        lines.append(f"  {'intercept':<28} {float(_pick(self.intercept, cls_idx)):+.3f}")
        if self.phrase_parts:
            lines.append(f"  {'':<28} {'total':>6}  {'embedding':>9}  {'phrase':>6}")
        for g, v in self.top(12, cls_idx):
            tag = "" if self.sources.get(g) == "table" else f" ({self.sources.get(g)})"
            line = f"  {g + tag:<28} {v:+.3f}"
            if self.phrase_parts:
                own = _pick(self.phrase_parts.get(g, 0.0), cls_idx)
                line += f"  {v - own:+9.3f}  {own:+6.3f}"
            lines.append(line)
        if len(self.contributions) > 12:
            lines.append(f"  ... {len(self.contributions) - 12} more")
        lines.append(f"  {'= decision':<28} {float(_pick(self.decision, cls_idx)):+.3f}")
        if self.length_scale != 1.0:
            lines.append(
                f"  (values are the table's times {self.length_scale:.3g}: "
                "the pooling's factor for this text's length)"
            )
        return "\n".join(lines)


def _pick(value: float | np.ndarray, index: int | None) -> float:
    return float(value if np.ndim(value) == 0 else np.asarray(value)[index or 0])


_TABLE, _EMBEDDED, _BACKOFF, _ZERO = 0, 1, 2, 3
_PARTS, _COMPOSED, _SHAPED = 0, 1, 2  # how a backed-off occurrence was valued
_SOURCE_NAMES = {_TABLE: "table", _EMBEDDED: "embedded", _BACKOFF: "backoff", _ZERO: "unseen"}


@dataclass
class _Scored:
    """Per-occurrence values of a batch, and how each was obtained."""

    occurrences: Occurrences
    values: np.ndarray  # (n_occurrences, n_outputs)
    source: np.ndarray  # one of _TABLE, _EMBEDDED, _BACKOFF, _ZERO per occurrence
    n_embedded: int
    how: np.ndarray | None = None  # per occurrence: _PARTS, _COMPOSED or _SHAPED
    phrase: np.ndarray | None = None  # the phrase parts of ``values``, when asked for
    length_scale: np.ndarray | None = None  # per text: the values' factor (sqrt or mean)

    def report(self) -> UnseenReport:
        return UnseenReport(
            n_ngrams=len(self.source),
            n_unseen=int((self.source != _TABLE).sum()),
            n_embedded=self.n_embedded,
            n_backed_off=int((self.source == _BACKOFF).sum()),
            n_zero=int((self.source == _ZERO).sum()),
            n_composed=0 if self.how is None else int((self.how == _COMPOSED).sum()),
            n_shaped=0 if self.how is None else int((self.how == _SHAPED).sum()),
        )


class _AugLinearBase(GlassModel, BaseEstimator):
    """Shared machinery of :class:`AugLinearClassifier` and :class:`AugLinearRegressor`."""

    _task: ClassVar[str]
    _fitted_attribute = "coef_table_"
    # Whether prediction may embed at all (``unseen``) and progress bars: chosen by
    # whoever runs a model, never by its folder (where embedding runs is the encoder's).
    _runtime_params: ClassVar[frozenset[str]] = frozenset({"unseen", "progress"})
    _removed_params: ClassVar[dict[str, str]] = {
        "embedding_norm": "its 'unit' option measured no better than the default "
        "(docs/benchmarks/auglinear.md, Variants)",
        "phrase_weight": "the phrase features have weight 1; choosing it by cross-validation "
        "('cv') measured no better (docs/benchmarks/auglinear.md, Variants)",
        "n_jobs": "fit the folds in parallel with joblib.parallel_config(n_jobs=-1), "
        "as in scikit-learn",
    }
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "encoder": ["path", HasMethods(("encode",))],
        "ngram_range": [tuple, list],
        "unseen": [Options(("backoff", "embed"))],
        "hybrid": ["boolean"],
        "embedding_weight": [Options(("none", "idf"))],
        "doc_pooling": [Options(("auto", "sum", "sqrt", "mean"))],
        "vocabulary": [None, HasMethods(("__iter__",))],
        "min_count": [Interval(int, 1)],
        "encoder_words": [Interval(int, 0)],
        "compose": ["boolean"],
        "word_shapes": ["boolean"],
        "cv": [Interval(int, 2)],
        "progress": [None, "boolean"],
        "random_state": [None, Interval(int)],
    }
    cli_name = "auglinear"
    cli_help = "Aug-Linear: a table of n-gram values"
    cli_options: ClassVar[dict[str, str]] = {
        "encoder": "alias, hub id or folder",
        "ngram_range": "smallest and largest n-gram length",
        "unseen": "n-grams absent from the table: back off to sub-n-grams, or embed them",
        "hybrid": "also learn each training n-gram's own value beside its embedding's",
        "embedding_weight": "weight each n-gram embedding by its idf before summing",
        "doc_pooling": "sum a text's n-gram values, divide by the square root of its length, "
        "average them, or choose by cross-validation (the square root unless clearly beaten)",
        "encoder_words": "whole words of the encoder's vocabulary to add to the table (0: none)",
        "compose": "value unseen n-grams by a composition of their parts learned at fit time",
        "word_shapes": "value unseen words holding digits by the table's words of their shape",
    }
    cli_encoder_options = ("precision", "device", "batch_size", "n_threads", "executor")

    def __init__(
        self,
        encoder: EncoderSetting = DEFAULT_ENCODER,
        ngram_range: tuple[int, int] = (1, 2),
        *,
        unseen: UnseenPolicy = "backoff",
        hybrid: bool = True,
        embedding_weight: Literal["none", "idf"] = "none",
        doc_pooling: DocPooling = "auto",
        vocabulary: Sequence[str] | None = None,
        min_count: int = 1,
        encoder_words: int = 30_000,
        compose: bool = True,
        word_shapes: bool = True,
        cv: int = 5,
        progress: bool | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.encoder = encoder
        self.ngram_range = ngram_range
        self.unseen = unseen
        self.hybrid = hybrid
        self.embedding_weight = embedding_weight
        self.doc_pooling = doc_pooling
        self.vocabulary = vocabulary
        self.min_count = min_count
        self.encoder_words = encoder_words
        self.compose = compose
        self.word_shapes = word_shapes
        self.cv = cv
        self.progress = progress
        self.random_state = random_state

    # -- helpers --------------------------------------------------------------
    def _get_encoder(self) -> TextEncoder:
        """The loaded encoder (shared per settings); one given by name shows progress as
        the model does."""
        if isinstance(self.encoder, str | os.PathLike):
            return get_encoder(self.encoder, progress=self.progress)
        return get_encoder(self.encoder)

    def _embed(self, ngrams: list[str]) -> np.ndarray:
        """The encoder's float64 vectors of ``ngrams`` (computed where its executor says)."""
        return np.asarray(self._get_encoder().encode(ngrams), dtype=np.float64)

    def _doc_ngrams(self, texts: Sequence[str]) -> list[list[str]]:
        ngram_range = check_ngram_range(self.ngram_range)
        return [ngrams_of_tokens(tokenize(t), ngram_range) for t in texts]

    def _backoff_entries(self, vocab: NgramVocabulary) -> list[str]:
        """Words to embed beyond the training n-grams, so backoff has a floor.

        With ``ngram_range=(1, n)`` the words are already there; with a range
        that starts above 1 the words of the training n-grams are added (they
        are never counted as features, only used for unseen n-grams).
        """
        extra: list[str] = []
        if check_ngram_range(self.ngram_range)[0] > 1:
            extra.extend(dict.fromkeys(w for g in vocab.ngrams for w in g.split(" ")))
        if self.vocabulary is not None:
            extra.extend(self._normalise_vocabulary(self.vocabulary))
        extra.extend(self._encoder_words())
        return extra

    def _encoder_words(self) -> list[str]:
        """The encoder's own whole words (``encoder_words`` of them), tokenized as texts are."""
        if not self.encoder_words:
            return []
        word_list = getattr(self._get_encoder(), "word_list", None)
        if word_list is None:  # an encoder object without a tokenizer vocabulary
            return []
        return [w for w in word_list(self.encoder_words) if tokenize(w) == [w]]

    @staticmethod
    def _normalise_vocabulary(entries: Iterable[str]) -> list[str]:
        """Tokenize user-given words/n-grams the same way texts are tokenized."""
        out = []
        for entry in check_texts(list(entries), "vocabulary"):
            words = tokenize(entry)
            if words:
                out.append(" ".join(words))
        return out

    # -- fitting ----------------------------------------------------------------
    def _check_settings(self) -> None:
        """The declared constraints, then what they cannot say (1 <= min_n <= max_n)."""
        self._validate_params()
        check_ngram_range(self.ngram_range)

    def _fit_table(self, X: Any, y: Any) -> np.ndarray:
        self._check_settings()
        if isinstance(self.encoder, Encoder):  # a device this machine lacks: now
            resolve_device(self.encoder.device, "encoder__device")
        texts = check_documents(X)
        target = check_target(y, len(texts), self._task)
        if self._task == "classification":  # before the embedding: fail or warn now
            check_cv_folds(target, self.cv)
        docs = self._doc_ngrams(texts)
        vocab = NgramVocabulary.from_documents(docs, self.min_count)
        if len(vocab) == 0:
            raise ValueError("the training texts contain no words to build n-grams from")
        n_training = len(vocab)  # rows after these have no training evidence
        vocab.add(self._backoff_entries(vocab))
        counts, _ = vocab.count_matrix(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        embeddings, (weights, intercept, phrase_table), composition = self._embed_and_fit(
            vocab, counts, target, lengths
        )
        self.training_length_: float | None = _reference_length(lengths)
        self.vocabulary_ = vocab
        self.coef_ = weights  # (n_outputs, dim): weights on the summed embedding
        self.intercept_ = intercept  # (n_outputs,)
        self.embedding_table_ = embeddings @ weights.T  # (n_ngrams, n_outputs)
        self.phrase_table_ = phrase_table  # (n_ngrams, n_outputs); zeros unless hybrid
        self.coef_table_ = self.embedding_table_ + self.phrase_table_
        self.embedding_dim_ = embeddings.shape[1]
        self.n_ngrams_embedded_ = len(vocab)
        self.n_training_ngrams_ = n_training
        self._set_composition(composition, embeddings)
        self._set_word_shapes()
        return target

    def _embed_and_fit(
        self, vocab: NgramVocabulary, counts: sp.csr_matrix, target: np.ndarray, lengths: np.ndarray
    ) -> tuple[
        np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None
    ]:
        """Every row's embedding, the linear fit (:meth:`_fit_linear`) and the
        composition map (:func:`fit_composition`, ``None`` when off).

        Rows no training text contains (the back-off words) do not enter the fit
        (their columns of ``counts`` are zero): they are embedded on one core
        while the fit runs on the other, and get both cores once it is done.
        """
        later = counts.getnnz(axis=0) == 0
        weights = self._row_weights(counts)
        now = self._embed([vocab.ngrams[i] for i in np.flatnonzero(~later)])
        embeddings = np.zeros((len(vocab), now.shape[1]))
        embeddings[~later] = now * weights[~later, None]
        backoff_words = [vocab.ngrams[i] for i in np.flatnonzero(later)]
        chunks = [
            backoff_words[i : i + _ALONGSIDE_CHUNK]
            for i in range(0, len(backoff_words), _ALONGSIDE_CHUNK)
        ]
        # With n-grams from 1 word, the composition's n-grams and parts are all
        # training rows: it is learned alongside too.
        parts = composition_rows(vocab) if self.compose else None
        compose_now = parts is not None and not later[np.concatenate(parts)].any()
        composition = None
        desc = "embedding back-off words"
        with run_alongside(self._embed, chunks, desc, self.progress) as backoff:
            fit = self._fit_linear(counts, embeddings, target, lengths)
            if compose_now:
                composition = fit_composition(embeddings, vocab, self.random_state, parts)
        if chunks:
            embeddings[later] = np.vstack(backoff.result()) * weights[later, None]
        if parts is not None and not compose_now:
            composition = fit_composition(embeddings, vocab, self.random_state, parts)
        return embeddings, fit, composition

    def _row_weights(self, counts: sp.csr_matrix) -> np.ndarray:
        """Each vocabulary row's embedding weight (``embedding_weight``), and the one
        for n-grams no training text holds, kept as ``unseen_weight_``."""
        if self.embedding_weight == "idf":
            # A column no training text holds gets the largest idf, as will any n-gram
            # embedded after the fit (extend_vocabulary, unseen="embed").
            self.unseen_weight_ = float(_smoothed_idf(0, counts.shape[0]))
            return _idf(counts)
        self.unseen_weight_ = 1.0
        return np.ones(counts.shape[1])

    def _set_composition(
        self,
        composition: tuple[np.ndarray, np.ndarray] | None,
        embeddings: np.ndarray,
        chunk_size: int | None = None,
    ) -> None:
        """Fold the composition map into per-row values: an unseen n-gram whose first
        words and last word are in the table is worth
        ``left_table_[first words] + right_table_[last word] + composition_intercept_``.

        ``embeddings`` (one row per table row, possibly a memory-mapped file) is
        read ``chunk_size`` rows at a time (default: all at once).
        """
        if composition is None:
            self.composition_ = self.composition_intercept_ = None
            self.left_table_ = self.right_table_ = None
            return
        coef, intercept = composition
        dim = coef.shape[0]
        # (2, n_outputs, dim): the table's weights carried through each half of the map
        self.composition_ = np.stack([self.coef_ @ coef[:, :dim], self.coef_ @ coef[:, dim:]])
        self.composition_intercept_ = self.coef_ @ intercept
        n_rows, n_outputs = len(embeddings), self.coef_.shape[0]
        self.left_table_, self.right_table_ = np.empty((2, n_rows, n_outputs))
        step = chunk_size or max(n_rows, 1)
        for start in range(0, n_rows, step):
            block = np.asarray(embeddings[start : start + step], dtype=np.float64)
            left, right = self._composition_values(block)
            self.left_table_[start : start + step] = left
            self.right_table_[start : start + step] = right

    def _set_word_shapes(self) -> None:
        """Per class of :data:`WORD_SHAPES`: the mean embedding, left and right values of
        the table's words of that class (the values of their mean embedding: the table
        is linear), and how many words there were."""
        if not self.word_shapes:
            self.shape_values_ = self.shape_counts_ = None
            return
        n_outputs = self.coef_table_.shape[1]
        shapes = np.fromiter(
            (-1 if " " in g else word_shape(g) for g in self.vocabulary_.ngrams),
            np.int64,
            len(self.vocabulary_),
        )
        tables = (self.embedding_table_, self.left_table_, self.right_table_)
        self.shape_values_ = np.zeros((len(WORD_SHAPES), 3, n_outputs))
        self.shape_counts_ = np.bincount(shapes[shapes >= 0], minlength=len(WORD_SHAPES))
        for shape in np.flatnonzero(self.shape_counts_):
            for which, table in enumerate(tables):
                if table is not None:
                    self.shape_values_[shape, which] = table[shapes == shape].mean(axis=0)

    def _composition_values(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.composition_ is not None
        return (
            np.asarray(vectors @ self.composition_[0].T),
            np.asarray(vectors @ self.composition_[1].T),
        )

    def _fit_linear(
        self,
        counts: sp.csr_matrix,
        embeddings: np.ndarray,
        target: np.ndarray,
        lengths: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One regularised linear fit; returns the embedding weights, the intercept and
        the phrase part of the table.

        The features are the standardised document vectors (the sum of the
        text's n-gram embeddings, or their mean) and, with ``hybrid``, each
        n-gram's idf-weighted count. Both are linear in the counts (the mean up
        to the text's length), so the fit folds back into exactly one value per
        n-gram: ``w · e(g) + idf(g) · u(g)``.
        """
        summed = np.asarray(counts @ embeddings)
        idf = _idf(counts)
        poolings: tuple[str, ...] = (
            tuple(_LENGTH_EXPONENT) if self.doc_pooling == "auto" else (self.doc_pooling,)
        )
        phrase_weights = self._phrase_weights()
        # The hybrid's fits are the costly ones (minutes on long multiclass documents):
        # the pooling is screened on the embedding features alone, then the hybrid is
        # fitted once, with the pooling chosen. The bar steps per fold and refit.
        screen = len(poolings) > 1 and phrase_weights != (0.0,)
        n_fits = (
            len(poolings) + len(phrase_weights) if screen else len(poolings) * len(phrase_weights)
        )
        n_steps = n_fits * self._cv_steps(target)
        data = (summed, lengths, counts, idf, target)
        with progress_bar(n_steps, "cross-validated fits", self.progress, "fold") as bar:
            compared: dict[str, _Candidate] = {}
            if screen:
                compared = {p: self._fit_pooled(p, (0.0,), *data, bar) for p in poolings}
                poolings = (_one_standard_error_choice(compared),)
            candidates = {p: self._fit_pooled(p, phrase_weights, *data, bar) for p in poolings}
        self.doc_pooling_ = _one_standard_error_choice(candidates)
        self.pooling_scores_ = {p: c[0].score for p, c in (compared or candidates).items()}
        fit, self.phrase_weight_, phrase_scale, mean, scale = candidates[self.doc_pooling_]
        self.cv_score_ = fit.score
        # Mean pooling: table values are for a text of the median training length,
        # and a text of n n-grams scales them by reference / n.
        self.reference_length_ = _reference_length(lengths)
        dim = embeddings.shape[1]
        if self.phrase_weight_:
            phrase_table = (fit.coef[:, dim:] * phrase_scale).T
        else:
            phrase_table = np.zeros((counts.shape[1], fit.coef.shape[0]))
        for name, value in fit.attributes.items():
            setattr(self, name, value)
        weights = fit.coef[:, :dim] / scale  # on the unstandardised document vector
        return weights, fit.intercept - weights @ mean, phrase_table

    def _fit_pooled(
        self,
        pooling: str,
        weights: tuple[float, ...],
        summed: np.ndarray,
        lengths: np.ndarray,
        counts: sp.csr_matrix,
        idf: np.ndarray,
        target: np.ndarray,
        bar: Any,
    ) -> _Candidate:
        """The best fit over the phrase weights ``weights`` (0: pure Aug-Linear) with one
        document pooling (``bar`` advances by :meth:`_cv_steps` per fit)."""
        # The square root and the mean divide a text's features by its length relative
        # to the median length (to the power 1/2 or 1), so that the phrase features keep
        # the sum's scale at the median length; the sum leaves them.
        per_text = _length_factor(lengths, _reference_length(lengths), pooling)
        doc_vectors = summed * per_text[:, None]
        mean = doc_vectors.mean(axis=0)
        scale = doc_vectors.std(axis=0)
        scale[scale == 0] = 1.0
        standardised = (doc_vectors - mean) / scale
        best: _Candidate | None = None
        for weight in weights:
            phrase_scale = weight * idf
            design: Any = standardised  # pure Aug-Linear: the embedding features alone
            if weight:
                phrase = sp.diags(per_text) @ counts @ sp.diags(phrase_scale)
                design = sp.hstack([sp.csr_matrix(standardised), phrase], format="csr")
            with blas_threads(1):  # avoid fighting torch's threads over the cores
                fit = self._fit_cv(design, target, bar)
            if best is None or fit.score > best[0].score:
                best = (fit, weight, phrase_scale, mean, scale)
        assert best is not None
        return best

    def _phrase_weights(self) -> tuple[float, ...]:
        """The phrase weights to fit with (0: no phrase features, pure Aug-Linear)."""
        return (1.0,) if self.hybrid else (0.0,)

    def _fit_cv(
        self, X: Any, target: np.ndarray, bar: Any
    ) -> _LinearFit:  # pragma: no cover - abstract
        """Fit with the regularisation chosen by cross-validation; ``bar`` advances by
        :meth:`_cv_steps`."""
        raise NotImplementedError

    def _cv_steps(self, target: np.ndarray) -> int:
        """Progress steps of one :meth:`_fit_cv` (one: a single pass)."""
        return 1

    # -- the table ------------------------------------------------------------
    def _index(self) -> NgramIndex:
        """The vectorised n-gram lookup of the current table (rebuilt when it grows)."""
        vocab = self.vocabulary_
        cached = getattr(self, "_ngram_index", None)
        # A refit replaces the vocabulary object; extend_vocabulary grows it.
        if cached is None or cached[0] is not vocab or cached[1] != len(vocab):
            cached = (vocab, len(vocab), NgramIndex(vocab.ngrams))
            self._ngram_index = cached
        return cached[2]

    def _length_scaled(self) -> bool:
        # Models saved before doc_pooling existed summed.
        return getattr(self, "doc_pooling_", "sum") != "sum"

    def _score_occurrences(
        self, texts: Sequence[str], embed_unseen: bool, split: bool = False
    ) -> _Scored:
        """Value every n-gram occurrence of ``texts`` from the table.

        Occurrences absent from the table are embedded first (``unseen="embed"``)
        or valued by backoff; the result says which, occurrence by occurrence.
        With ``split`` it also holds each occurrence's phrase part. With mean
        pooling the embedding parts are scaled by the text's length factor.
        """
        check_is_fitted(self, "coef_table_")
        ngram_range = check_ngram_range(self.ngram_range)
        occ = self._index().occurrences(texts, ngram_range)
        n_embedded = 0
        if embed_unseen and (occ.row < 0).any():
            new = list(dict.fromkeys(occ.ngram(int(i)) for i in np.flatnonzero(occ.row < 0)))
            self.extend_vocabulary(new, _tokenized=True)
            n_embedded = int((occ.row < 0).sum())
            embedded_before = occ.row < 0
            occ = self._index().occurrences(texts, ngram_range)
        values = np.zeros((len(occ.row), self.coef_table_.shape[1]))
        source = np.full(len(occ.row), _TABLE, dtype=np.int8)
        known = occ.row >= 0
        values[known] = self.coef_table_[occ.row[known]]
        if n_embedded:
            source[embedded_before] = _EMBEDDED
        missing = np.flatnonzero(~known)
        how = np.zeros(len(occ.row), dtype=np.int8)
        word_rows = self._word_rows(occ) if missing.size else np.zeros(0, dtype=np.int64)
        for n in np.unique(occ.order[missing]):
            sel = missing[occ.order[missing] == n]
            backoff, found, how[sel] = self._backoff(occ, word_rows, occ.start[sel], int(n))
            values[sel] = backoff
            source[sel] = np.where(found, _BACKOFF, _ZERO)
        scored = _Scored(occ, values, source, n_embedded, how)
        if split:
            # Backed-off and unseen occurrences (row -1) have no phrase part.
            scored.phrase = np.zeros_like(values)
            scored.phrase[known] = self.phrase_table_[occ.row[known]]
        if self._length_scaled():  # every value scaled by its text's length factor
            n_per_text = np.bincount(occ.doc, minlength=occ.n_docs).astype(np.float64)
            scored.length_scale = _length_factor(
                n_per_text, self.reference_length_, self.doc_pooling_
            )
            factor = scored.length_scale[occ.doc][:, None]
            scored.values = values * factor
            if scored.phrase is not None:
                scored.phrase = scored.phrase * factor
        return scored

    def _backoff(
        self, occ: Occurrences, word_rows: np.ndarray, start: np.ndarray, order: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values of n-grams with backoff, whether any part of each was known, and
        how each was valued (``_PARTS``, ``_COMPOSED`` or ``_SHAPED``).

        An unseen word holding digits is valued by its shape (the mean of the
        table's words of its class, :data:`WORD_SHAPES`). An unseen n-gram
        whose first words and last word are known is valued by the composition
        learned at fit time (see :func:`fit_composition`); the table is linear
        in the embedding, so this is the value of the n-gram's predicted
        embedding. Otherwise it is the mean of its two (n-1)-grams' values,
        recursively, counting only the known parts. Either way it gets no
        phrase part (a phrase part belongs to its exact n-gram). No known
        part at any order: value 0. ``word_rows`` is :meth:`_word_rows` of ``occ``.
        """
        rows = self._backoff_rows(occ, word_rows, start, order)
        values = np.zeros((len(start), self.coef_table_.shape[1]))
        found = rows >= 0
        how = np.where(rows >= len(self.vocabulary_), _SHAPED, _PARTS).astype(np.int8)
        values[found] = self._backoff_values(0, rows[found])
        missing = np.flatnonzero(~found)
        if order > 1 and missing.size and getattr(self, "left_table_", None) is not None:
            head = self._backoff_rows(occ, word_rows, start[missing], order - 1)
            tail = word_rows[start[missing] + order - 1]
            ok = (head >= 0) & (tail >= 0)
            values[missing[ok]] = (
                self._backoff_values(1, head[ok]) + self._backoff_values(2, tail[ok])
            ) + self.composition_intercept_
            found[missing[ok]] = True
            how[missing[ok]] = _COMPOSED
            missing = missing[~ok]
        if order > 1 and missing.size:
            left, left_ok, _ = self._backoff(occ, word_rows, start[missing], order - 1)
            right, right_ok, _ = self._backoff(occ, word_rows, start[missing] + 1, order - 1)
            n_known = left_ok.astype(np.int64) + right_ok
            ok = n_known > 0
            total = left * left_ok[:, None] + right * right_ok[:, None]
            values[missing[ok]] = total[ok] / n_known[ok][:, None]
            found[missing[ok]] = True
        return values, found, how

    def _backoff_rows(
        self, occ: Occurrences, word_rows: np.ndarray, start: np.ndarray, order: int
    ) -> np.ndarray:
        """Table rows of n-grams (-1: absent); words as in :meth:`_word_rows`."""
        if order == 1:
            return word_rows[start]
        return self._index().lookup(occ.word_ids, start, order)

    def _word_rows(self, occ: Occurrences) -> np.ndarray:
        """The table row of every word of the batch (-1: absent), once per batch.

        An absent word with a known shape gets ``len(vocabulary_) + its shape``,
        a row of :meth:`_backoff_values`; each distinct absent word is classed once.
        """
        rows = self._index().lookup(occ.word_ids, np.arange(len(occ.words)), 1)
        counts = getattr(self, "shape_counts_", None)
        missing = np.flatnonzero(rows < 0)
        if counts is None or not missing.size:
            return rows
        words = [occ.words[int(p)] for p in missing]
        shape_of = {w: word_shape(w) for w in set(words)}
        shapes = np.fromiter((shape_of[w] for w in words), np.int64, len(words))
        known = shapes >= 0
        known[known] = counts[shapes[known]] > 0
        rows[missing[known]] = len(self.vocabulary_) + shapes[known]
        return rows

    def _backoff_values(self, which: int, rows: np.ndarray) -> np.ndarray:
        """Embedding (0), left (1) or right (2) composition values of rows, shape rows included."""
        tables = (self.embedding_table_, self.left_table_, self.right_table_)
        table = tables[which]
        assert table is not None
        n_rows = len(self.vocabulary_)
        shaped = rows >= n_rows
        out = np.empty((len(rows), self.coef_table_.shape[1]))
        out[~shaped] = table[rows[~shaped]]
        if shaped.any():  # shape rows exist only when shape values do
            assert self.shape_values_ is not None
            out[shaped] = self.shape_values_[rows[shaped] - n_rows, which]
        return out

    def _decision_matrix(self, texts: Sequence[str]) -> tuple[np.ndarray, UnseenReport, np.ndarray]:
        """Decision values ``(n_texts, n_outputs)``, the account of unseen n-grams and
        each text's number of n-grams."""
        scored = self._score_occurrences(texts, self.unseen == "embed")
        doc = scored.occurrences.doc
        scores = np.column_stack(
            [
                np.bincount(doc, weights=scored.values[:, c], minlength=len(texts))
                for c in range(scored.values.shape[1])
            ]
        )
        lengths = np.bincount(doc, minlength=len(texts))
        return scores + self.intercept_, scored.report(), lengths

    def _warn_unseen(self, report: UnseenReport) -> None:
        if report.n_unseen:
            # pointed at the user's line, past glasstext's and scikit-learn's frames
            warnings.warn(report.message(), UnseenNgramWarning, stacklevel=external_stacklevel())

    def _warn_length_shift(self, lengths: np.ndarray) -> None:
        """Warn when a batch's typical length is far from the training texts' one."""
        message = length_shift_message(lengths, getattr(self, "training_length_", None))
        if message:
            warnings.warn(message, LengthShiftWarning, stacklevel=external_stacklevel())

    def _decision(self, X: Any) -> np.ndarray:
        texts = check_documents(X)
        scores, report, lengths = self._decision_matrix(texts)
        self._warn_unseen(report)
        self._warn_length_shift(lengths)
        return scores

    def unseen_report(self, X: Any) -> UnseenReport:
        """Count the n-grams of ``X`` that the table lacks, and how they would be valued.

        Nothing is embedded, whatever ``unseen`` says: the counts describe the
        table as it is (with ``unseen="embed"`` every unseen one would be
        embedded instead).
        """
        return self._score_occurrences(check_documents(X), embed_unseen=False).report()

    def extend_vocabulary(self, ngrams: Iterable[str], *, _tokenized: bool = False) -> int:
        """Embed extra n-grams (or words) and add them to the table.

        Widening the table ahead of time (e.g. with a domain word list) lets
        table-only prediction meet fewer unseen n-grams. Needs the encoder.

        Returns
        -------
        int
            How many entries were added.
        """
        check_is_fitted(self, "coef_table_")
        entries = list(ngrams) if _tokenized else self._normalise_vocabulary(ngrams)
        new = [g for g in dict.fromkeys(entries) if g not in self.vocabulary_]
        if not new:
            return 0
        # weighted as the fit weighted the n-grams it had no training text for
        vectors = self._embed(new) * self.unseen_weight_
        if vectors.shape[1] != self.coef_.shape[1]:
            raise ValueError(
                f"encoder gives {vectors.shape[1]}-d vectors, the model was fit on "
                f"{self.coef_.shape[1]}-d ones"
            )
        self.vocabulary_.add(new)
        values = vectors @ self.coef_.T  # new n-grams have an embedding part only
        self.embedding_table_ = np.vstack([self.embedding_table_, values])
        self.phrase_table_ = np.vstack([self.phrase_table_, np.zeros_like(values)])
        self.coef_table_ = np.vstack([self.coef_table_, values])
        if self.left_table_ is not None and self.right_table_ is not None:
            left, right = self._composition_values(vectors)
            self.left_table_ = np.vstack([self.left_table_, left])
            self.right_table_ = np.vstack([self.right_table_, right])
        self.n_ngrams_embedded_ += len(new)
        return len(new)

    # -- reading the model ------------------------------------------------------
    def _explanation(self, text: str) -> LinearExplanation:
        """``text``'s decision as intercept plus n-gram terms (the subclass adds the prediction)."""
        (text,) = check_documents([text], "text")
        scored = self._score_occurrences([text], self.unseen == "embed", split=True)
        occ = scored.occurrences
        assert scored.phrase is not None
        phrase_values = scored.phrase
        totals: dict[str, np.ndarray] = {}
        phrase: dict[str, np.ndarray] = {}
        sources: dict[str, str] = {}
        counts: Counter[str] = Counter()
        for i in range(len(occ.row)):
            g = occ.ngram(i)
            totals[g] = totals.get(g, 0.0) + scored.values[i]
            phrase[g] = phrase.get(g, 0.0) + phrase_values[i]
            sources[g] = _SOURCE_NAMES[scored.source[i]]
            counts[g] += 1
        contributions = sorted(totals.items(), key=lambda p: -float(np.abs(p[1]).max()))
        decision = self.intercept_ + scored.values.sum(axis=0)
        one = decision.shape[0] == 1  # binary or regression: plain floats

        def shown(value: np.ndarray) -> float | np.ndarray:
            return float(value[0]) if one else np.array(value, dtype=np.float64)

        return LinearExplanation(
            text=text,
            intercept=shown(self.intercept_),
            contributions=[(g, shown(v)) for g, v in contributions],
            decision=shown(decision),
            prediction=None,
            sources=sources,
            counts=dict(counts),
            phrase_parts={g: shown(v) for g, v in phrase.items()} if self.hybrid else {},
            length_scale=1.0 if scored.length_scale is None else float(scored.length_scale[0]),
        )

    def _table_entry(self, row: int, column: int, split: bool) -> tuple[Any, ...]:
        """``(ngram, value)`` of a table row, with its two parts when ``split``."""
        entry: tuple[Any, ...] = (
            self.vocabulary_.ngrams[row],
            float(self.coef_table_[row, column]),
        )
        if split:
            entry += (
                float(self.embedding_table_[row, column]),
                float(self.phrase_table_[row, column]),
            )
        return entry

    def _listed_rows(self, training_only: bool) -> np.ndarray:
        """Rows :meth:`top_ngrams` ranks: n-grams of the model's range, and with
        ``training_only`` only those of the training texts."""
        lo, hi = check_ngram_range(self.ngram_range)
        lengths = np.fromiter((g.count(" ") + 1 for g in self.vocabulary_.ngrams), dtype=np.int64)
        listed = (lengths >= lo) & (lengths <= hi)
        if training_only:
            # Models saved before this attribute existed count every row as training.
            listed[getattr(self, "n_training_ngrams_", len(listed)) :] = False
        return np.flatnonzero(listed)

    # -- persistence (the folder holds all that table-only prediction needs) ------------
    def _unsaveable_param(self, name: str, value: Any) -> Any:
        if name == "encoder":
            raise TypeError(
                "only models whose encoder is a name, a folder or an Encoder can be saved"
            )
        if name == "vocabulary":
            return list(value)
        return super()._unsaveable_param(name, value)

    @classmethod
    def _params_from_saved(cls, saved: dict[str, Any]) -> dict[str, Any]:
        """As :class:`GlassModel`'s; a folder fit with ``embedding_norm="unit"`` (gone) is
        refused, as n-grams it embeds later would not be scaled as its table's were."""
        if saved.get("embedding_norm", "none") != "none":
            raise ValueError("it was fit with embedding_norm='unit', which is removed: refit it")
        return super()._params_from_saved(saved)

    def _state_config(self) -> dict[str, Any]:
        training_length = getattr(self, "training_length_", None)
        return {
            "vocabulary": self.vocabulary_.ngrams,
            "embedding_dim": int(self.embedding_dim_),
            "phrase_weight": float(self.phrase_weight_),
            "doc_pooling": self.doc_pooling_,
            "reference_length": float(self.reference_length_),
            **({} if training_length is None else {"training_length": float(training_length)}),
            "n_training_ngrams": int(self.n_training_ngrams_),
            "unseen_weight": float(self.unseen_weight_),
        }

    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "coef_table": self.coef_table_,
            "intercept": np.asarray(self.intercept_, dtype=np.float64),
            "coef": self.coef_,
        }
        if np.any(self.phrase_table_):  # both parts, so loading re-adds them bit for bit
            arrays["embedding_table"] = self.embedding_table_
            arrays["phrase_table"] = self.phrase_table_
        if getattr(self, "composition_", None) is not None:
            arrays["composition"] = self.composition_
            arrays["composition_intercept"] = self.composition_intercept_
            arrays["left_table"] = self.left_table_
            arrays["right_table"] = self.right_table_
        if getattr(self, "shape_counts_", None) is not None:
            arrays["shape_values"] = self.shape_values_
            arrays["shape_counts"] = self.shape_counts_
        return arrays

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        self._restore_table(config, arrays)
        self._restore_pooling(config)
        self._restore_backoff(arrays)
        unknown = sorted(set(arrays) - _SAVED_ARRAYS)
        if unknown:
            raise ValueError(f"arrays unknown to Aug-Linear: {', '.join(unknown[:3])}")
        self._index()  # built now: a vocabulary too large for its n-gram keys is refused here

    def _restore_table(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """The vocabulary, the table and its two parts, the intercept and the weights."""
        self.vocabulary_ = NgramVocabulary(check_strings(config["vocabulary"], "the vocabulary"))
        n_rows = len(self.vocabulary_)
        self.coef_table_ = check_array(arrays, "coef_table", (n_rows, None), np.float64)
        n_out = self.coef_table_.shape[1]
        self.intercept_ = check_array(arrays, "intercept", (n_out,), np.float64)
        self.embedding_dim_ = check_count(config["embedding_dim"], "embedding_dim", low=1)
        self.coef_ = check_array(arrays, "coef", (n_out, self.embedding_dim_), np.float64)
        embedding, phrase = (
            optional_array(arrays, name, (n_rows, n_out), np.float64)
            for name in ("embedding_table", "phrase_table")
        )
        if (embedding is None) != (phrase is None):
            raise ValueError("the folder holds one part of the table without the other")
        # Without its parts (pure Aug-Linear) the table is all embedding part.
        self.embedding_table_ = self.coef_table_ if embedding is None else embedding
        self.phrase_table_ = np.zeros_like(self.coef_table_) if phrase is None else phrase
        if not np.array_equal(self.embedding_table_ + self.phrase_table_, self.coef_table_):
            raise ValueError("the table is not the sum of its parts")
        self.n_ngrams_embedded_ = n_rows
        self.n_training_ngrams_ = check_count(
            config.get("n_training_ngrams", n_rows), "n_training_ngrams", low=1, high=n_rows
        )

    def _restore_pooling(self, config: dict[str, Any]) -> None:
        """How the table's values add up; absent settings mean a summed, unweighted table."""
        self.phrase_weight_ = check_number(
            config.get("phrase_weight", 0.0), "phrase_weight", low=0.0
        )
        self.doc_pooling_ = config.get("doc_pooling", "sum")
        if self.doc_pooling_ not in _LENGTH_EXPONENT:
            raise ValueError(
                f"doc_pooling is {self.doc_pooling_!r:.40}, not one of {sorted(_LENGTH_EXPONENT)}"
            )
        self.reference_length_ = check_number(
            config.get("reference_length", 1.0), "reference_length", low=1.0
        )
        # Absent from folders saved before it was kept: no length-shift warning then.
        self.training_length_ = (
            check_number(config["training_length"], "training_length", low=1.0)
            if "training_length" in config
            else None
        )
        self.unseen_weight_ = check_number(
            config.get("unseen_weight", 1.0), "unseen_weight", low=1.0
        )

    def _restore_backoff(self, arrays: dict[str, np.ndarray]) -> None:
        """The composition tables and the word-shape values (each set whole, or absent:
        backoff then uses the mean of parts, or no shapes)."""
        n_rows, n_out = self.coef_table_.shape
        composition = [
            optional_array(arrays, name, shape, np.float64)
            for name, shape in (
                ("composition", (2, n_out, self.embedding_dim_)),
                ("composition_intercept", (n_out,)),
                ("left_table", (n_rows, n_out)),
                ("right_table", (n_rows, n_out)),
            )
        ]
        if any(a is None for a in composition) and any(a is not None for a in composition):
            raise ValueError("the composition tables are incomplete")
        self.composition_, self.composition_intercept_ = composition[0], composition[1]
        self.left_table_, self.right_table_ = composition[2], composition[3]
        self.shape_values_ = optional_array(
            arrays, "shape_values", (len(WORD_SHAPES), 3, n_out), np.float64
        )
        self.shape_counts_ = optional_array(arrays, "shape_counts", (len(WORD_SHAPES),), np.int64)
        if (self.shape_values_ is None) != (self.shape_counts_ is None):
            raise ValueError("the word-shape values are incomplete")
        if self.shape_counts_ is not None and (self.shape_counts_ < 0).any():
            raise ValueError("the word-shape counts are negative")

    # -- reading the model, for the CLI and summaries -------------------------------------
    def top_ngrams(
        self, k: int = 10, *, split: bool = False, training_only: bool = True
    ) -> dict[Any, list[tuple[Any, ...]]]:  # pragma: no cover
        """The ``k`` strongest n-grams per class (or direction); see the subclasses."""
        raise NotImplementedError

    def export_text(self, k: int = 15, *, top: int | None = None) -> str:
        """The ``k`` (or ``top``) n-grams of largest value per class, one per line.

        For a classifier each class's heading is followed by the n-grams that
        push toward it (see :meth:`top_ngrams`); for a regressor ``positive``
        and ``negative`` list the n-grams that raise and lower the output.
        """
        check_is_fitted(self, "coef_table_")
        lines = []
        for label, rows in self.top_ngrams(k if top is None else top).items():
            lines.append(f"{label}:")
            lines.extend(f"  {value:+.4f}  {ngram}" for ngram, value in rows)
        return "\n".join(lines)

    def fit_notes(self, X_test: Any = None) -> list[str]:
        """The table size, the pooling chosen and, given test texts, what happened to
        their unseen n-grams."""
        check_is_fitted(self, "coef_table_")
        notes = [f"table: {len(self.vocabulary_)} n-grams"]
        scores = getattr(self, "pooling_scores_", {})  # not kept by save()
        if len(scores) > 1:  # "auto" compared the poolings, always on the embeddings alone
            compared = ", ".join(f"{p} {score:.4f}" for p, score in scores.items())
            notes.append(
                f"documents pooled by their {self.doc_pooling_} (cross-validated score of the "
                f"embedding features alone: {compared}; the square root is left only on a "
                "win of more than one standard error)"
            )
        if X_test is not None and len(X_test):
            notes.append(self.unseen_report(X_test).message())
        return notes


@register_model
class AugLinearClassifier(ClassifierMixin, _AugLinearBase):
    """Aug-Linear classifier: logistic regression on summed n-gram embeddings.

    Fitting embeds every distinct n-gram of the training texts once (through
    the persistent cache), sums them per document, and fits a logistic
    regression whose regularisation is chosen by cross-validation. The fitted
    model is a table with one value per n-gram (per class when there are more
    than two), and prediction is a lookup in that table.

    Parameters
    ----------
    encoder : str, path-like, Encoder or encoder object, default="all-MiniLM-L6-v2"
        The language model that embeds n-grams: an offline alias, a hub id or
        a local folder (an encoder or a causal LM), a :class:`glasstext.Encoder`
        holding where and how it runs (``precision``, ``device``,
        ``batch_size``, ``n_threads``, ``cache``, ``executor``) and how it
        pools (``pooling``, ``layer``, ``prefix``), or any object with an
        ``encode(texts) -> array`` method. Its settings nest:
        ``set_params(encoder__precision="int8")`` works on a name too.
        MiniLM: every default below was measured with it
        (docs/benchmarks/auglinear.md). Only models whose encoder is a name,
        a folder or an ``Encoder`` can be saved (the name, and the settings
        that change its vectors).
    ngram_range : (int, int), default=(1, 2)
        Smallest and largest n-gram length; (1, 3) is a variant of the
        accuracy benchmark on Rotten Tomatoes (docs/benchmarks/auglinear.md,
        Variants).
    unseen : {"backoff", "embed"}, default="backoff"
        What to do at prediction time with an n-gram absent from the table.
        ``"backoff"`` is table-only: the n-gram is valued as the mean of its
        two (n-1)-grams, recursively, and 0 when no part is known.
        ``"embed"`` embeds it with the encoder and adds it to the table.
        Either way a :class:`UnseenNgramWarning` reports the counts, and such an
        n-gram gets an embedding part only (no phrase part). The default
        needs no encoder at prediction time, and is many times faster; the
        accuracy benchmark compares the two (docs/benchmarks/auglinear.md,
        Variants). A run-time
        setting, as is ``progress``: not saved, so a loaded model predicts
        from its table alone until its user asks for
        ``set_params(unseen="embed")``.
    hybrid : bool, default=True
        Also learn each training n-gram's own value (its *phrase part*) in the
        same regularised fit, from its idf-weighted count beside the summed
        embeddings. The table stays exact, one value per n-gram:
        ``value(g) = w · e(g) + phrase_part(g)``. The embedding part is what
        the language model knows about a phrase (it carries over to n-grams
        never seen in training); the phrase part is what this data says about
        this exact phrase. ``False`` is pure Aug-Linear, the published
        Aug-GAM; both are in the accuracy benchmark
        (docs/benchmarks/auglinear.md).
    embedding_weight : {"none", "idf"}, default="none"
        ``"idf"`` multiplies every n-gram embedding by the n-gram's smoothed
        inverse document frequency in the training texts before summing (as
        SIF weights word vectors), so that common n-grams weigh less in the
        document vector; n-grams no training text holds get the largest
        weight. The table stays one value per n-gram. The few-labels and the
        accuracy benchmarks compare it with the default
        (docs/benchmarks/auglinear.md, "Few labels" and "Variants").
    doc_pooling : {"auto", "sum", "sqrt", "mean"}, default="auto"
        How a text's n-grams add up: summed (the paper's Aug-GAM: every
        phrase adds its evidence), averaged (divided by the text's length,
        which suits long documents about one topic), or in between, divided
        by the square root of the length (as TF-IDF's unit-length rows scale
        a text). ``"auto"`` takes the square root unless the sum or the mean
        beats it by more than one standard error in cross-validation: the
        cross-validation sees only the training lengths, and a model trained
        on short texts (phrases, snippets) and used on longer ones moves least
        under the middle pooling (``length_shift`` in the accuracy benchmark).
        The poolings are compared on the embedding features alone (quick
        fits), and the hybrid is then fitted once, with the pooling chosen.
        With the square root or the mean the table holds each n-gram's value
        in a text of the median training length (``reference_length_``
        n-grams); in a text of ``n`` n-grams every value is multiplied by
        ``(reference_length_ / n) ** p`` (``p`` = 1/2 or 1), and
        :meth:`explain` shows that factor, so the decomposition stays exact.
    vocabulary : sequence of str, optional
        Extra words or n-grams to embed into the table at fit time, so
        table-only prediction meets fewer unseen n-grams. None by default:
        ``encoder_words`` already widens the table.
    min_count : int, default=1
        Training n-grams seen fewer times are left out of the features; 1
        keeps every one (the regularised fit weighs the rare ones down itself).
    encoder_words : int, default=30000
        Whole words of the encoder's own vocabulary embedded into the table
        beside the training n-grams, so backoff finds more words (0: none).
    compose : bool, default=True
        Value an unseen n-gram by a composition of its parts' embeddings
        learned at fit time (:func:`fit_composition`).
    word_shapes : bool, default=True
        Value an unseen word holding digits by the table's words of its shape
        (:data:`WORD_SHAPES`). The accuracy benchmark compares this back-off
        (with ``encoder_words`` and ``compose``) with the mean of parts alone
        (docs/benchmarks/auglinear.md, Variants).
    cv : int, default=5
        Cross-validation folds (stratified) for choosing the regularisation
        strength; 5, scikit-learn's default. A class with fewer examples than
        folds is kept, with a warning naming it, as scikit-learn keeps it;
        fewer folds are used only when no class has ``cv`` examples. The
        folds are fitted one after the other unless joblib says otherwise
        (``with joblib.parallel_config(n_jobs=-1): model.fit(X, y)`` fits
        them side by side, to the same table).
    progress : bool, optional
        Progress bars while fitting (and embedding, with an encoder given by
        name); by default only on a terminal, so logs stay clean.
    random_state : int, optional
        Seed for the cross-validation splits; 0, so the same data gives the
        same table.

    Attributes
    ----------
    classes_ : numpy.ndarray
        Class labels.
    vocabulary_ : glasstext.text.NgramVocabulary
        The n-grams of the table, in row order.
    n_training_ngrams_ : int
        The first ``n_training_ngrams_`` rows are the training texts' n-grams;
        the rest were added without training evidence (the encoder's words,
        ``vocabulary``, n-grams embedded later).
    coef_table_ : numpy.ndarray of shape (n_ngrams, n_outputs)
        The value of each n-gram (``n_outputs`` is 1 for binary problems, the
        number of classes otherwise).
    intercept_ : numpy.ndarray of shape (n_outputs,)
    coef_ : numpy.ndarray of shape (n_outputs, embedding_dim)
        The linear weights on the summed embedding (used to value new n-grams).
    embedding_table_, phrase_table_ : numpy.ndarray of shape (n_ngrams, n_outputs)
        The two parts of ``coef_table_`` (their sum); ``phrase_table_`` is zero
        for pure Aug-Linear and for n-grams added after fitting.
    phrase_weight_ : float
        The phrase weight used (0 for pure Aug-Linear).
    doc_pooling_ : {"sum", "sqrt", "mean"}
        The document pooling used (chosen by cross-validation with ``"auto"``).
    pooling_scores_ : dict of str to float
        The cross-validated score of each pooling compared by ``"auto"`` (fits
        of the embedding features alone); one entry, the fit's own score, when
        the pooling was given. Set by ``fit``; not kept by ``save``.
    reference_length_ : float
        With the square-root or mean pooling, the text length (in n-grams) the
        table's values are for.
    training_length_ : float or None
        The median training text's number of n-grams (None for a model saved
        before it was kept). ``predict`` and the
        other prediction methods warn (:class:`LengthShiftWarning`) when a
        batch of at least 10 texts has a median length more than twice (or
        less than half) this one.
    unseen_weight_ : float
        The embedding weight of n-grams no training text holds, applied to any
        n-gram embedded after the fit (1 unless ``embedding_weight="idf"``).
    cv_score_ : float
        Mean cross-validated accuracy of the chosen fit.
    C_ : float
        The regularisation chosen by cross-validation.

    Notes
    -----
    The accuracy benchmark (``benchmarks/results/auglinear_accuracy/``)
    compares the default with TF-IDF + logistic regression and with a
    logistic regression on the same encoder's whole-text embeddings, on
    development and evaluation-only datasets; the few-labels benchmark
    (``benchmarks/results/auglinear_small_data/``) does so with 100 to 2,000
    training texts, where the whole-text embeddings gain most: the encoder
    reads each n-gram out of context, and context matters most when labels
    are few (docs/benchmarks/auglinear.md).

    Examples
    --------
    >>> from glasstext import AugLinearClassifier
    >>> model = AugLinearClassifier(ngram_range=(1, 2)).fit(texts, labels)  # doctest: +SKIP
    >>> print(model.explain("a gorgeous, witty film"))  # doctest: +SKIP
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> AugLinearClassifier:
        """Fit on texts ``X`` (a list or Series of strings) and labels ``y``."""
        self._fit_table(X, y)
        return self

    def _cv_steps(self, target: np.ndarray) -> int:
        return check_cv_folds(target, self.cv, warn=False) + 1  # the folds, then the refit

    def _fit_cv(self, X: Any, target: np.ndarray, bar: Any) -> _LinearFit:
        from sklearn.model_selection import StratifiedKFold

        self.classes_, encoded = np.unique(target, return_inverse=True)
        n_folds = check_cv_folds(encoded, self.cv, warn=False)  # warned in fit
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():
            # Classes rarer than the folds were named once, by check_cv_folds.
            warnings.filterwarnings("ignore", "The least populated class", UserWarning)
            splits = list(folds.split(np.zeros(len(encoded)), encoded))
        fit = logistic_regression_cv(
            X,
            encoded,
            Cs=_CS,
            folds=splits,
            solver=_solver(len(self.classes_), X.shape[1]),
            on_fold=lambda: bar.update(1),
        )
        bar.update(1)  # the refit
        accuracy = float(fit.scores.mean(axis=0).max())
        return _LinearFit(
            fit.coef,
            fit.intercept,
            accuracy,
            float(np.sqrt(accuracy * (1.0 - accuracy) / len(target))),  # binomial
            {"C_": fit.C},
        )

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the positive class (binary) or per-class scores (multiclass).

        Equal to ``intercept_`` plus the table values of the text's n-grams.
        """
        scores = self._decision(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, intercept included, columns in ``classes_`` order."""
        scores = self._decision(X)
        if scores.shape[1] == 1:
            p = expit(scores[:, 0])
            return np.column_stack([1.0 - p, p])
        return np.asarray(softmax(scores, axis=1))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each text."""
        scores = self._decision(X)
        return self.classes_[_winner(scores)]

    def explain(self, text: str) -> LinearExplanation:
        """Write the prediction for ``text`` as intercept plus n-gram contributions."""
        e = self._explanation(text)
        scores = np.atleast_1d(np.asarray(e.decision, dtype=np.float64))
        e.prediction = python_scalar(self.classes_[_winner(scores[None, :])[0]])
        e.classes = [python_scalar(c) for c in self.classes_]
        return e

    def top_ngrams(
        self, k: int = 10, *, split: bool = False, training_only: bool = True
    ) -> dict[Any, list[tuple[Any, ...]]]:
        """The ``k`` n-grams that push hardest toward each class.

        For a binary model the first class gets the most negative values and
        the second the most positive; for multiclass, each class gets its own
        column's largest values. Entries are ``(ngram, value)``, or with
        ``split=True`` ``(ngram, value, embedding_part, phrase_part)``.
        With ``training_only`` (default) only n-grams of the training texts
        are listed; ``False`` also lists the rows added without training
        evidence (the encoder's words, ``vocabulary``, n-grams embedded at
        prediction), whose values come from their embedding alone.
        """
        check_is_fitted(self, "coef_table_")
        rows = self._listed_rows(training_only)
        table = self.coef_table_[rows]
        if table.shape[1] == 1:
            order = np.argsort(table[:, 0], kind="stable")
            neg = [self._table_entry(rows[i], 0, split) for i in order[:k]]
            pos = [self._table_entry(rows[i], 0, split) for i in order[::-1][:k]]
            return {self.classes_[0]: neg, self.classes_[1]: pos}
        out = {}
        for c, label in enumerate(self.classes_):
            order = np.argsort(-table[:, c], kind="stable")[:k]
            out[label] = [self._table_entry(rows[i], c, split) for i in order]
        return out

    def summary_evidence(self, k: int) -> SummaryEvidence:
        """Per class, the top ``k`` n-grams that push toward it, with their table values.

        For a binary model the first class gets the most negative values and
        the second the most positive; an n-gram that points the other way is
        left out.
        """
        top = self.top_ngrams(k)
        binary = len(top) == 2 and self.coef_table_.shape[1] == 1
        classes = []
        for index, (label, rows) in enumerate(top.items()):
            sign = -1.0 if binary and index == 0 else 1.0
            items: list[tuple[str | tuple[str, ...], float]] = [
                (g, float(v)) for g, v in rows if sign * v > 0
            ]
            classes.append((python_scalar(label), items))
        return SummaryEvidence("ngrams", self._task, classes)

    def _state_config(self) -> dict[str, Any]:
        training_length = getattr(self, "training_length_", None)  # noqa: F841
        return {**super()._state_config(), "classes": self.classes_.tolist(), "C": self.C_}

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        super()._restore_state(config, arrays, folder)
        self.classes_ = check_class_list(config["classes"])
        self.C_ = check_number(config["C"], "C")
        if not self.C_ > 0:
            raise ValueError(f"C is {self.C_:g}, not positive")
        n_columns = 1 if len(self.classes_) == 2 else len(self.classes_)
        if self.coef_table_.shape[1] != n_columns:
            raise ModelFileError(
                f"{folder} is corrupt: {len(self.classes_)} classes need {n_columns} table "
                f"column(s), the table has {self.coef_table_.shape[1]}"
            )


@register_model
class AugLinearRegressor(RegressorMixin, _AugLinearBase):
    """Aug-Linear regressor: ridge regression on summed n-gram embeddings.

    Same parameters and table as :class:`AugLinearClassifier`; the
    regularisation is chosen by efficient leave-one-out cross-validation
    (``RidgeCV``). ``predict(x)`` equals ``intercept_`` plus the table values of
    the text's n-grams.
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> AugLinearRegressor:
        """Fit on texts ``X`` and numeric targets ``y``."""
        self._fit_table(X, y)
        return self

    def _fit_cv(self, X: Any, target: np.ndarray, bar: Any) -> _LinearFit:
        from sklearn.linear_model import RidgeCV

        reg = RidgeCV(alphas=np.logspace(-2, 5, 15), store_cv_results=True).fit(X, target)
        # leave-one-out squared errors at the chosen alpha: (n_samples,)
        chosen = int(np.argmax(np.asarray(reg.alphas) == reg.alpha_))
        errors = np.asarray(reg.cv_results_)[:, chosen]
        bar.update(1)  # leave-one-out in closed form: one pass
        return _LinearFit(
            np.asarray(reg.coef_)[None, :],
            np.atleast_1d(reg.intercept_),
            float(reg.best_score_),  # leave-one-out: negative mean squared error
            float(errors.std() / np.sqrt(len(errors))),
            {"alpha_": float(reg.alpha_)},
        )

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values."""
        return self._decision(X)[:, 0]

    def decision_function(self, X: Any) -> np.ndarray:
        """Same as :meth:`predict`: the model's additive output."""
        return self.predict(X)

    def explain(self, text: str) -> LinearExplanation:
        """Write the prediction for ``text`` as intercept plus n-gram contributions."""
        e = self._explanation(text)
        e.prediction = e.decision
        return e

    def top_ngrams(
        self, k: int = 10, *, split: bool = False, training_only: bool = True
    ) -> dict[str, list[tuple[Any, ...]]]:
        """The ``k`` n-grams that raise (``"positive"``) and lower (``"negative"``) the output.

        Entries are ``(ngram, value)``, or with ``split=True``
        ``(ngram, value, embedding_part, phrase_part)``; ``training_only`` as
        in :meth:`AugLinearClassifier.top_ngrams`.
        """
        check_is_fitted(self, "coef_table_")
        rows = self._listed_rows(training_only)
        values = self.coef_table_[rows, 0]
        order = np.argsort(values, kind="stable")
        return {
            "positive": [self._table_entry(rows[i], 0, split) for i in order[::-1][:k]],
            "negative": [self._table_entry(rows[i], 0, split) for i in order[:k]],
        }

    def summary_evidence(self, k: int) -> SummaryEvidence:
        """The top ``k`` n-grams that raise (``"higher"``) and lower (``"lower"``) the output."""
        top = self.top_ngrams(k)
        higher: list[tuple[str | tuple[str, ...], float]] = [
            (g, float(v)) for g, v in top["positive"] if v > 0
        ]
        lower: list[tuple[str | tuple[str, ...], float]] = [
            (g, float(v)) for g, v in top["negative"] if v < 0
        ]
        return SummaryEvidence("ngrams", self._task, [("higher", higher), ("lower", lower)])

    def _state_config(self) -> dict[str, Any]:
        training_length = getattr(self, "training_length_", None)  # noqa: F841
        return {**super()._state_config(), "alpha": self.alpha_}

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        super()._restore_state(config, arrays, folder)
        self.alpha_ = check_number(config["alpha"], "alpha")
        if not self.alpha_ > 0:
            raise ValueError(f"alpha is {self.alpha_:g}, not positive")
        if self.coef_table_.shape[1] != 1:
            raise ValueError(f"a regressor's table has one column, not {self.coef_table_.shape[1]}")


def _winner(scores: np.ndarray) -> np.ndarray:
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    return np.argmax(scores, axis=1)


def renamed_explanation(stacklevel: int = 3) -> type[LinearExplanation]:
    """``Explanation``, the old name of :class:`LinearExplanation`: warns, for one release.

    Every module that offered the old name returns this from its ``__getattr__``.
    """
    warnings.warn(
        "glasstext Explanation is now LinearExplanation; the old name will be removed",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return LinearExplanation


def __getattr__(name: str) -> Any:
    if name == "Explanation":
        return renamed_explanation()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
