"""The words of an explanation, masks over them, and the texts the masks make.

An explanation scores *units* of a text: its words (from the project's one
tokenizer, :func:`glasstext.text.tokenize_with_spans`), or, for a text with
more words than ``max_units``, contiguous segments of words, so a 5,000-word
document is explained at a resolution the sample budget can estimate.

A mask is a boolean vector over the units (``True`` keeps a unit). Masked
units are deleted (the default) or replaced by a mask string. Identical masks,
and distinct masks that happen to make the same text, are scored once:
:func:`dedup_texts` maps masks to distinct texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from glasstext.text import tokenize_with_spans

__all__ = [
    "Units",
    "check_text",
    "dedup_rows",
    "dedup_texts",
    "make_units",
    "render",
    "render_many",
]

_WHITESPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Units:
    """The units (words or word segments) of a text and what lies between them.

    Attributes
    ----------
    text : str
        The original text.
    spans : tuple of (int, int)
        Character span ``text[start:end]`` of each unit, in text order.
    grouped : bool
        True when units are segments of several words (a long text).
    """

    text: str
    spans: tuple[tuple[int, int], ...]
    grouped: bool = False

    def __len__(self) -> int:
        return len(self.spans)

    @property
    def words(self) -> tuple[str, ...]:
        """Each unit's text as written (original case)."""
        return tuple(self.text[s:e] for s, e in self.spans)

    @property
    def gaps(self) -> tuple[str, ...]:
        """The ``len(self) + 1`` strings before, between and after the units."""
        bounds = [0, *(p for span in self.spans for p in span), len(self.text)]
        return tuple(self.text[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2))


def check_text(text: object) -> str:
    """``text`` if it is a non-empty str with at least one word, else a clear error."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: there is nothing to explain")
    return text


def make_units(text: str, max_units: int | None = None) -> Units:
    """Split ``text`` into the units of an explanation.

    Parameters
    ----------
    text : str
        A non-empty text with at least one word.
    max_units : int or None, default=None
        With more words than this, consecutive words are grouped into
        ``max_units`` segments of (almost) equal word counts. ``None`` keeps
        every word a unit however long the text.

    Returns
    -------
    Units

    Raises
    ------
    TypeError
        ``text`` is not a str.
    ValueError
        ``text`` is empty or has no word (only punctuation or symbols).
    """
    check_text(text)
    if max_units is not None and max_units < 1:
        raise ValueError(f"max_units must be >= 1 or None, got {max_units}")
    spans = tuple((t.start, t.end) for t in tokenize_with_spans(text, lowercase=False))
    if not spans:
        raise ValueError(f"text has no words to explain: {text[:60]!r}")
    if max_units is None or len(spans) <= max_units:
        return Units(text, spans)
    groups = np.array_split(np.arange(len(spans)), max_units)
    segments = tuple((spans[int(g[0])][0], spans[int(g[-1])][1]) for g in groups)
    return Units(text, segments, grouped=True)


def _clean_gap(gap: str, at_start: bool, at_end: bool) -> str:
    """A gap left by deleted units: whitespace runs collapsed, ends trimmed."""
    gap = _WHITESPACE_RE.sub(lambda m: "\n" if "\n" in m.group() else " ", gap)
    if at_start:
        gap = gap.lstrip()
    if at_end:
        gap = gap.rstrip()
    return gap


def render(units: Units, keep: np.ndarray, mask_token: str | None = None) -> str:
    """The text with the units where ``keep`` is False deleted or masked.

    Deletion removes a unit and joins the text around it, collapsing the
    whitespace the removal leaves (``"a gorgeous, witty film"`` without
    ``gorgeous`` is ``"a , witty film"``); text that touches no removed unit is
    unchanged. With ``mask_token``, each removed unit is replaced by it.
    Keeping every unit returns the original text exactly.
    """
    if bool(np.all(keep)):
        return units.text
    gaps = units.gaps
    words = units.words
    if mask_token is not None:
        parts = [gaps[0]]
        for i, word in enumerate(words):
            parts.append(word if keep[i] else mask_token)
            parts.append(gaps[i + 1])
        return "".join(parts)
    parts = []
    pending = gaps[0]
    dropped = False
    kept_any = False
    for i, word in enumerate(words):
        if keep[i]:
            parts.append(_clean_gap(pending, not kept_any, False) if dropped else pending)
            parts.append(word)
            kept_any, dropped, pending = True, False, gaps[i + 1]
        else:
            dropped = True
            pending += gaps[i + 1]
    parts.append(_clean_gap(pending, not kept_any, True) if dropped else pending)
    return "".join(parts)


def render_many(units: Units, masks: np.ndarray, mask_token: str | None = None) -> list[str]:
    """:func:`render` for every row of a boolean ``(n_masks, n_units)`` matrix."""
    return [render(units, row, mask_token) for row in np.asarray(masks, dtype=bool)]


def dedup_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of a boolean matrix, in order of first appearance.

    Returns
    -------
    unique : ndarray of shape (n_unique, n_units)
    counts : ndarray of shape (n_unique,)
        How many rows equal each distinct row.
    inverse : ndarray of shape (n_rows,)
        The distinct row of every input row.
    """
    masks = np.asarray(masks, dtype=bool)
    packed = np.packbits(masks, axis=1)
    first: dict[bytes, int] = {}
    starts: list[int] = []
    inverse = np.empty(len(masks), dtype=np.int64)
    for i, row in enumerate(packed):
        key = row.tobytes()
        u = first.get(key)
        if u is None:
            u = first[key] = len(starts)
            starts.append(i)
        inverse[i] = u
    counts = np.bincount(inverse, minlength=len(starts)).astype(np.int64)
    return masks[np.asarray(starts, dtype=np.int64)], counts, inverse


def dedup_texts(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in order of first appearance, and each text's index among them."""
    index: dict[str, int] = {}
    inverse = np.fromiter(
        (index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts)
    )
    return list(index), inverse
