"""Word tokenization and n-gram extraction, shared by every method.

One tokenizer serves the whole library so that a word means the same thing to
Aug-Linear's table, to Aug-Tree's phrase matching and to the explainers' word
masks. Tokens are lower-cased runs of letters and digits, with inner
apostrophes kept (``don't`` stays one word) so n-grams read naturally.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

# Letters/digits (any script) with inner apostrophes or hyphens kept in-word.
_WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
WORD_PATTERN = _WORD_RE.pattern
# Runs of letters/digits only: "don't" is "don" "t", "e-mail" is "e" "mail", as
# scikit-learn's CountVectorizer splits words (it also drops one-letter words).
SPLIT_WORD_PATTERN = r"[^\W_]+"


def _word_re(pattern: str | None) -> re.Pattern[str]:
    """The compiled word pattern; ``None`` is the library's one tokenizer."""
    return _WORD_RE if pattern is None else re.compile(pattern)


@functools.lru_cache(maxsize=64)
def _word_finder(pattern: str | None) -> Callable[[str], list[str]]:
    """A function from a text to its words: the pattern's whole matches.

    N-grams are words joined by spaces, so a word holds no whitespace: the
    matches of a pattern that may hold some (or that has groups, which make
    ``findall`` return the groups) are split at whitespace instead, empty
    ones dropped. The library's own patterns take the fast path.
    """
    if pattern in (None, WORD_PATTERN, SPLIT_WORD_PATTERN):
        return _word_re(pattern).findall
    finditer = _word_re(pattern).finditer

    def words(text: str) -> list[str]:
        return [w for m in finditer(text) for w in m.group().split()]

    return words


NgramRange = tuple[int, int]


@dataclass(frozen=True)
class Token:
    """A word and its character span ``text[start:end]`` in the original text."""

    text: str
    start: int
    end: int


def tokenize(text: str, lowercase: bool = True, pattern: str | None = None) -> list[str]:
    """Split ``text`` into words.

    Parameters
    ----------
    text : str
        The text to split.
    lowercase : bool, default=True
        Lower-case the words (the case of the spans is never changed).
    pattern : str or None, default=None
        A regular expression a word matches (e.g. ``SPLIT_WORD_PATTERN``);
        ``None`` is the library's tokenizer, which every method shares unless
        it asks otherwise.

    Returns
    -------
    list of str
    """
    words = _word_finder(pattern)(text)
    return [w.lower() for w in words] if lowercase else words


def tokenize_with_spans(text: str, lowercase: bool = True) -> list[Token]:
    """Like :func:`tokenize`, keeping each word's character span."""
    return [
        Token(m.group().lower() if lowercase else m.group(), m.start(), m.end())
        for m in _WORD_RE.finditer(text)
    ]


def check_ngram_range(ngram_range: Sequence[int]) -> NgramRange:
    """Validate an ``(min_n, max_n)`` pair of ints and return it as a tuple of ints."""
    try:
        pair = list(ngram_range)
    except TypeError:
        pair = []
    if len(pair) != 2 or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(
            f"ngram_range must be a pair (min_n, max_n) of ints, got {ngram_range!r:.80}"
        )
    lo, hi = int(pair[0]), int(pair[1])
    if lo < 1 or hi < lo:
        raise ValueError(f"ngram_range must satisfy 1 <= min_n <= max_n, got {(lo, hi)}")
    return lo, hi


def ngrams_of_tokens(tokens: Sequence[str], ngram_range: NgramRange = (1, 1)) -> list[str]:
    """All n-grams of ``tokens`` with ``min_n <= n <= max_n``, in text order.

    N-grams are the words joined by single spaces; repeated n-grams appear as
    many times as they occur.
    """
    lo, hi = ngram_range
    out: list[str] = []
    n_tok = len(tokens)
    for n in range(lo, min(hi, n_tok) + 1):
        if n == 1:
            out.extend(tokens)
        else:
            out.extend(" ".join(tokens[i : i + n]) for i in range(n_tok - n + 1))
    return out


def extract_ngrams(text: str, ngram_range: NgramRange = (1, 1)) -> list[str]:
    """Tokenize ``text`` and return its n-grams (see :func:`ngrams_of_tokens`)."""
    return ngrams_of_tokens(tokenize(text), ngram_range)


class NgramVocabulary:
    """A fixed, ordered set of n-grams with fast document-term counting.

    Parameters
    ----------
    ngrams : iterable of str
        The n-grams, in the order that defines column indices. Duplicates are
        an error: the order must be unambiguous.
    """

    def __init__(self, ngrams: Iterable[str]) -> None:
        self.ngrams: list[str] = list(ngrams)
        self.index: dict[str, int] = {g: i for i, g in enumerate(self.ngrams)}
        if len(self.index) != len(self.ngrams):
            raise ValueError("an n-gram vocabulary must not contain duplicates")

    def __len__(self) -> int:
        return len(self.ngrams)

    def __contains__(self, ngram: object) -> bool:
        return ngram in self.index

    def add(self, ngrams: Iterable[str]) -> list[str]:
        """Append the n-grams not yet present; return those that were new."""
        added = []
        for g in ngrams:
            if g not in self.index:
                self.index[g] = len(self.ngrams)
                self.ngrams.append(g)
                added.append(g)
        return added

    @classmethod
    def from_documents(cls, docs: Sequence[Sequence[str]], min_count: int = 1) -> NgramVocabulary:
        """Build a vocabulary from per-document n-gram lists.

        N-grams are ordered by first occurrence, which makes the result
        deterministic for a given corpus order. ``min_count`` drops n-grams
        seen fewer times in the whole corpus.
        """
        counts: dict[str, int] = {}
        for doc in docs:
            for g in doc:
                counts[g] = counts.get(g, 0) + 1
        return cls(g for g, c in counts.items() if c >= min_count)

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], ngram_range: NgramRange = (1, 1), min_count: int = 1
    ) -> NgramVocabulary:
        """Build a vocabulary from texts streamed once, keeping only the counts.

        The same vocabulary as ``from_documents`` over the texts' n-gram lists
        (same order, same ``min_count`` cut), without holding those lists: the
        memory is one counter entry per distinct n-gram, whatever the corpus size.
        """
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(ngrams_of_tokens(tokenize(text), ngram_range))
        return cls(g for g, c in counts.items() if c >= min_count)

    def count_matrix(
        self, docs: Sequence[Sequence[str]], dtype: type = np.float64
    ) -> tuple[sp.csr_matrix, list[list[str]]]:
        """Document-by-n-gram count matrix, and each document's unknown n-grams.

        Returns
        -------
        counts : scipy.sparse.csr_matrix of shape (n_docs, len(self))
            ``counts[i, j]`` is how often n-gram ``j`` occurs in document ``i``.
        unknown : list of list of str
            Per document, the n-grams (with repeats) that are not in the
            vocabulary, so callers can account for them rather than drop them.
        """
        index = self.index
        indptr = [0]
        indices: list[int] = []
        unknown: list[list[str]] = []
        for doc in docs:
            missing = []
            for g in doc:
                j = index.get(g)
                if j is None:
                    missing.append(g)
                else:
                    indices.append(j)
            indptr.append(len(indices))
            unknown.append(missing)
        data: np.ndarray = np.ones(len(indices), dtype=dtype)
        mat = sp.csr_matrix(
            (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(len(docs), len(self.ngrams)),
        )
        mat.sum_duplicates()  # repeated n-grams become counts
        return mat, unknown


@dataclass(frozen=True)
class Occurrences:
    """Every n-gram occurrence in a batch of texts, located in a vocabulary.

    Attributes
    ----------
    doc : numpy.ndarray of int
        Which text each occurrence is in.
    start : numpy.ndarray of int
        Position of its first word in ``words`` (the batch's words, flattened).
    order : numpy.ndarray of int
        Its length in words.
    row : numpy.ndarray of int
        Its index in the vocabulary, or -1 when the vocabulary lacks it.
    words : list of str
        All words of the batch, text after text.
    word_ids : numpy.ndarray of int
        Each word's id in the index (-1 for a word no vocabulary n-gram uses).
    n_docs : int
    """

    doc: np.ndarray
    start: np.ndarray
    order: np.ndarray
    row: np.ndarray
    words: list[str]
    word_ids: np.ndarray
    n_docs: int

    def ngram(self, i: int) -> str:
        """The text of occurrence ``i``."""
        s = int(self.start[i])
        return " ".join(self.words[s : s + int(self.order[i])])


class NgramIndex:
    """Vectorised lookup of n-grams: a batch of texts in, table rows out.

    Words get integer ids and an n-gram becomes the integer
    ``id_1 * W**(n-1) + ... + id_n`` (``W`` the number of words), so finding
    every occurrence of every n-gram in a batch is a few numpy operations
    instead of a dictionary lookup per n-gram in Python. Used for table-only
    prediction, where it is the whole cost.

    Parameters
    ----------
    ngrams : sequence of str
        The vocabulary, in row order (as produced by :func:`ngrams_of_tokens`).
    """

    def __init__(self, ngrams: Sequence[str], pattern: str | None = None) -> None:
        self._findall = _word_finder(pattern)
        split = [g.split(" ") for g in ngrams]
        self.word_index: dict[str, int] = {}
        for words in split:
            for w in words:
                self.word_index.setdefault(w, len(self.word_index))
        self.base = max(len(self.word_index), 1)
        self.max_order = max((len(w) for w in split), default=1)
        if self.base**self.max_order >= 2**62:
            raise ValueError("vocabulary too large for integer n-gram keys")
        self._keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_order: dict[int, tuple[list[int], list[int]]] = {}
        for row, words in enumerate(split):
            key = 0
            for w in words:
                key = key * self.base + self.word_index[w]
            keys, rows = by_order.setdefault(len(words), ([], []))
            keys.append(key)
            rows.append(row)
        for order, (keys, rows) in by_order.items():
            k = np.asarray(keys, dtype=np.int64)
            sort = np.argsort(k, kind="stable")
            self._keys[order] = (k[sort], np.asarray(rows, dtype=np.int64)[sort])

    def words_of(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Tokenize a batch: the flat word list, word ids and words per text."""
        findall = self._findall
        per_doc = [findall(t) for t in texts]
        lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
        flat = list(chain.from_iterable(per_doc))
        # One lower() over the space-joined words equals lowering each word
        # (words hold no spaces), at a fraction of the per-word cost.
        words = " ".join(flat).lower().split(" ") if flat else []
        ids = np.fromiter(
            map(self.word_index.get, words, repeat(-1)), dtype=np.int64, count=len(words)
        )
        return words, ids, lengths

    def lookup(self, ids: np.ndarray, start: np.ndarray, order: int) -> np.ndarray:
        """Rows of the n-grams of length ``order`` starting at ``start`` (-1: absent)."""
        rows = np.full(len(start), -1, dtype=np.int64)
        if order not in self._keys or len(start) == 0:
            return rows
        key = np.zeros(len(start), dtype=np.int64)
        valid = np.ones(len(start), dtype=bool)
        for j in range(order):
            part = ids[start + j]
            valid &= part >= 0
            key = key * self.base + np.maximum(part, 0)
        keys, key_rows = self._keys[order]
        pos = np.searchsorted(keys, key)
        pos = np.minimum(pos, len(keys) - 1)
        hit = valid & (keys[pos] == key)
        rows[hit] = key_rows[pos[hit]]
        return rows

    def occurrences(self, texts: Sequence[str], ngram_range: NgramRange) -> Occurrences:
        """Every n-gram occurrence of the texts with ``min_n <= n <= max_n``."""
        words, ids, lengths = self.words_of(texts)
        doc_of_word = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        lo, hi = ngram_range
        for n in range(lo, hi + 1):
            if len(words) < n:
                break
            start = np.arange(len(words) - n + 1, dtype=np.int64)
            start = start[doc_of_word[start] == doc_of_word[start + n - 1]]
            parts.append(
                (start, np.full(len(start), n, dtype=np.int64), self.lookup(ids, start, n))
            )
        if parts:
            start = np.concatenate([p[0] for p in parts])
            order = np.concatenate([p[1] for p in parts])
            row = np.concatenate([p[2] for p in parts])
        else:
            start = order = row = np.zeros(0, dtype=np.int64)
        return Occurrences(doc_of_word[start], start, order, row, words, ids, len(texts))


# -- phrase matching -------------------------------------------------------------------


def stem_words(words: Sequence[str]) -> list[str]:
    """English Snowball stems of lower-cased words (``"movies"`` → ``"movi"``)."""
    return list(_english_stemmer().stemWords(list(words)))


@functools.cache
def _english_stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def normalize_phrase(phrase: str, stem: bool = False, pattern: str | None = None) -> str:
    """The matching key of a phrase: its words, lower-cased (and stemmed), space-joined."""
    words = tokenize(phrase, pattern=pattern)
    return " ".join(stem_words(words) if stem else words)


class PhraseMatcher:
    """Which texts contain which phrases, matched on whole words.

    A phrase matches a text when its words occur in the text consecutively,
    compared case-insensitively with the project's one tokenizer (so
    ``"good"`` matches ``"Good!"`` but not ``"goodness"``). With ``stem=True``
    words are compared by their English Snowball stems (``"movies"`` matches
    ``"movie"``). Matching is vectorised with :class:`NgramIndex`, which is
    what makes tree inference plain string matching at table speed.

    Parameters
    ----------
    phrases : sequence of str
        The phrases, in column order. Phrases with no words never match.
    stem : bool, default=False
        Compare stems instead of words.
    pattern : str or None, default=None
        What a word is, for texts and phrases alike (see :func:`tokenize`).
    """

    def __init__(
        self, phrases: Sequence[str], stem: bool = False, pattern: str | None = None
    ) -> None:
        self.phrases = list(phrases)
        self.stem = stem
        self.pattern = pattern
        self.keys = [normalize_phrase(p, stem, pattern) for p in self.phrases]
        distinct = sorted({k for k in self.keys if k})
        self._column_of_key = {k: i for i, k in enumerate(distinct)}
        self._index = NgramIndex(distinct, pattern) if distinct else None
        self._max_order = max((k.count(" ") + 1 for k in distinct), default=1)
        # key column -> every phrase column with that key (synonyms after normalising)
        self._columns = np.array([self._column_of_key.get(k, -1) for k in self.keys])

    def _prepare(self, texts: Sequence[str]) -> Sequence[str]:
        if not self.stem:
            return texts
        return [" ".join(stem_words(tokenize(t, pattern=self.pattern))) for t in texts]

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Binary matrix of shape ``(n_texts, n_phrases)``: 1 where the phrase occurs."""
        n_docs, n_phrases = len(texts), len(self.phrases)
        if self._index is None or n_docs == 0:
            return sp.csr_matrix((n_docs, n_phrases), dtype=np.int8)
        occ = self._index.occurrences(self._prepare(texts), (1, self._max_order))
        hit = occ.row >= 0
        by_key = sp.csr_matrix(
            (np.ones(int(hit.sum()), dtype=np.int8), (occ.doc[hit], occ.row[hit])),
            shape=(n_docs, len(self._column_of_key)),
        )
        by_key.sum_duplicates()
        by_key.data[:] = 1
        # Spread key columns back to phrase columns (usually the identity).
        valid = self._columns >= 0
        spread = sp.csr_matrix(
            (
                np.ones(int(valid.sum()), dtype=np.int8),
                (self._columns[valid], np.flatnonzero(valid)),
            ),
            shape=(len(self._column_of_key), n_phrases),
        )
        out = (by_key @ spread).tocsr()
        out.data[:] = 1
        return out.astype(np.int8)
