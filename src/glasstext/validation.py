"""Input checks shared by every estimator and backend.

Bad input must fail loudly with a message that names the problem: an empty
list, a ``None`` among the texts, labels of another length, a NaN label or a
single class never turn into a silently wrong model.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from glasstext.exceptions import InvalidParameterError, NoWordsWarning

# Frames of these packages are skipped when a warning is attributed to a line:
# the user's call, not glasstext's or scikit-learn's internals (``model.score``).
_INTERNAL_PACKAGES = ("glasstext", "sklearn")
# A lone surrogate is a code point but no character: UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_texts(texts: Any, what: str = "texts", allow_empty_list: bool = True) -> list[str]:
    """Validate a sequence of strings and return it as a list.

    Parameters
    ----------
    texts : sequence of str (list, tuple, numpy array or pandas Series)
    what : str
        Name used in error messages.
    allow_empty_list : bool, default=True
        Whether zero texts is acceptable.

    Raises
    ------
    TypeError
        ``texts`` is a single string or not a sequence, or an item is not a str.
    ValueError
        The list is empty when it must not be.
    InvalidParameterError
        An item holds a lone surrogate (see :func:`surrogate_position`).
    """
    if isinstance(texts, str | bytes):
        raise TypeError(f"{what} must be a sequence of strings, not a single string")
    if hasattr(texts, "columns") and hasattr(texts, "iloc"):  # a pandas DataFrame
        # Iterating a DataFrame yields its column names: refuse rather than
        # silently predict on the headers.
        columns = ", ".join(repr(c) for c in list(texts.columns)[:5])
        raise TypeError(
            f"{what} is a table (DataFrame with columns {columns}): pass the column of "
            f"texts, e.g. df[{next(iter(texts.columns), 'text')!r}]"
        )
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise TypeError(f"{what} must be one-dimensional, got an array of shape {texts.shape}")
    if hasattr(texts, "to_list"):  # pandas Series / Index
        texts = texts.to_list()
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(
            f"{what} must be a sequence of strings, got {type(texts).__name__}"
        ) from None
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] is {type(t).__name__}, expected str: {t!r:.60}")
        at = surrogate_position(t)
        if at is not None:
            raise InvalidParameterError(
                f"{what}[{i}] holds a lone surrogate (U+{ord(t[at]):04X}) at character {at}: "
                "not valid Unicode text (decode the source with errors='replace')"
            )
    if not items and not allow_empty_list:
        raise ValueError(f"{what} is empty: at least one text is needed")
    return items


def surrogate_position(text: str) -> int | None:
    """Where ``text`` holds a lone surrogate (U+D800 to U+DFFF), or None if it holds none.

    Such a code point (``"\\ud800"`` in JSON or Python) is no Unicode
    character: a text holding one can be tokenized but never encoded, so it
    could not be cached, saved or sent back.
    """
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    return None if found is None else found.start()


def check_documents(texts: Any, what: str = "X") -> list[str]:
    """Texts to fit or predict on: a non-empty list of non-blank strings.

    Texts without a single word (only punctuation, symbols or emoji) are
    accepted with a :class:`~glasstext.exceptions.NoWordsWarning`: a model that
    reads words has nothing to read in them and gives its baseline answer.
    """
    items = check_texts(texts, what, allow_empty_list=False)
    blank = [i for i, t in enumerate(items) if not t.strip()]
    if blank:
        shown = _first_positions(blank)
        raise ValueError(f"{what} has {len(blank)} empty or blank text(s), at index {shown}")
    warn_wordless(items, what)
    return items


def _first_positions(indices: list[int]) -> str:
    """The first ten indices for a message, with "..." when there are more."""
    return ", ".join(map(str, indices[:10])) + (" ..." if len(indices) > 10 else "")


def wordless_positions(texts: list[str]) -> list[int]:
    """Indices of the texts in which the tokenizer finds no word."""
    from glasstext.text import _WORD_RE  # the one definition of a word

    return [i for i, t in enumerate(texts) if _WORD_RE.search(t) is None]


def warn_wordless(texts: list[str], what: str = "X") -> None:
    """Warn (:class:`~glasstext.exceptions.NoWordsWarning`) about texts with no word."""
    empty = wordless_positions(texts)
    if empty:
        shown = _first_positions(empty)
        warnings.warn(
            f"{what} has {len(empty)} text(s) with no words (only punctuation, symbols or "
            f"emoji), at index {shown}: the model has nothing to read in them and gives "
            f"its baseline answer, e.g. for {texts[empty[0]]!r:.40}",
            NoWordsWarning,
            stacklevel=external_stacklevel(),
        )


def external_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside glasstext.

    Call it as an argument of ``warnings.warn`` in the function that warns:
    frames of glasstext and scikit-learn (``model.score`` calls ``predict``)
    are skipped, so the warning names the user's line.
    """
    frame = sys._getframe(1)  # the function calling warnings.warn
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_INTERNAL_PACKAGES):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level if frame is not None else 1


def check_target(y: Any, n_samples: int, task: str) -> np.ndarray:
    """Validate labels (``task="classification"``) or targets (``"regression"``).

    Raises ``ValueError`` for a length that differs from the texts', missing or
    NaN values, fewer than two classes, or non-numeric regression targets.
    """
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {arr.shape}")
    if len(arr) != n_samples:
        raise ValueError(f"X has {n_samples} texts but y has {len(arr)} labels")
    missing = _missing_positions(arr)
    if missing.size:
        shown = ", ".join(map(str, missing[:10]))
        raise ValueError(f"y has {missing.size} missing or NaN label(s), at index {shown}")
    if task == "regression":
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"regression targets must be numbers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("regression targets must be finite")
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.mod(arr, 1) == 0):
        odd = arr[np.mod(arr, 1) != 0][:3]
        raise ValueError(
            f"y holds continuous numbers (e.g. {', '.join(f'{v:g}' for v in odd)}), and a "
            "classifier needs class labels: use the regressor for numeric targets "
            "(--task regression on the command line), or turn the numbers into classes"
        )
    if np.unique(arr).size < 2:
        raise ValueError(
            f"y has a single class ({arr[0]!r}): a classifier needs at least two classes"
        )
    return arr


def check_cv_folds(target: np.ndarray, cv: int, *, warn: bool = True) -> int:
    """The number of stratified cross-validation folds a classifier can use.

    ``cv`` folds, or fewer when no class has that many examples (each fold
    needs at least one example of the largest class). A class with fewer
    examples than folds is kept, as scikit-learn keeps it, with a warning
    naming it (``warn``): some training folds lack it and the scores that
    choose the regularisation are noisier for it. Called before any long
    work, so that a split that cannot be cross-validated fails at once.

    Raises
    ------
    ValueError
        Every class has a single example.
    """
    labels, counts = np.unique(target, return_counts=True)
    n_folds = min(cv, int(counts.max()))
    if n_folds < 2:
        raise ValueError(
            "every class has a single example: cross-validation (which chooses the "
            "regularisation) needs a class with at least two"
        )
    rare = np.flatnonzero(counts < n_folds)
    if warn and rare.size:
        rare = rare[np.argsort(counts[rare], kind="stable")]  # the rarest first
        names = labels.tolist()  # plain Python values: 'rare', not np.str_('rare')
        shown = ", ".join(f"{names[i]!r} ({counts[i]})" for i in rare[:5])
        more = f" and {rare.size - 5} more" if rare.size > 5 else ""
        warnings.warn(
            f"{rare.size} class(es) have fewer examples than the {n_folds} "
            f"cross-validation folds: {shown}{more}. They are kept; some training "
            "folds lack them, so the choice of regularisation is noisier for them",
            UserWarning,
            stacklevel=external_stacklevel(),
        )
    return n_folds


def _missing_positions(arr: np.ndarray) -> np.ndarray:
    if np.issubdtype(arr.dtype, np.floating):
        return np.flatnonzero(np.isnan(arr))
    if arr.dtype == object:
        return np.flatnonzero([v is None or (isinstance(v, float) and np.isnan(v)) for v in arr])
    return np.zeros(0, dtype=np.int64)


# -- declared parameter constraints -------------------------------------------------
#
# In the spirit of scikit-learn's ``_parameter_constraints``: an estimator
# declares, per parameter, the kinds of value it accepts, and one function
# checks them all before any long work starts, with a message that names the
# parameter and what it accepts. Functions check their arguments with the same
# pieces (``check_param``, ``check_int``, ``check_seed``).


@dataclass(frozen=True)
class Interval:
    """Numbers of a type within bounds (``None``: unbounded on that side).

    ``kind=int`` accepts Python and numpy integers (never ``bool``);
    ``kind=float`` accepts any real number, integers included.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int:
            if not isinstance(value, int | np.integer):
                return False
        elif not isinstance(value, int | float | np.integer | np.floating) or np.isnan(value):
            return False
        left_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        right_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return bool(left_ok and right_ok)

    def __str__(self) -> str:
        name = "an int" if self.kind is int else "a number"
        lo = "" if self.low is None else ("[" if self.closed in ("both", "left") else "(")
        hi = "" if self.high is None else ("]" if self.closed in ("both", "right") else ")")
        if self.low is not None and self.high is not None:
            return f"{name} in {lo}{self.low}, {self.high}{hi}"
        if self.low is not None:
            return f"{name} {'>=' if lo == '[' else '>'} {self.low}"
        if self.high is not None:
            return f"{name} {'<=' if hi == ']' else '<'} {self.high}"
        return name


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (usually strings)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Hashable) and not isinstance(value, bool) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class HasMethods:
    """An object with all of these methods (duck typing, e.g. ``encode``)."""

    methods: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return all(callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self) -> str:
        return "an object with " + ", ".join(f"{m}()" for m in self.methods)


@dataclass(frozen=True)
class RegexPattern:
    """A string that compiles as a regular expression (checked before any work)."""

    def accepts(self, value: Any) -> bool:
        import re

        if not isinstance(value, str):
            return False
        try:
            re.compile(value)
        except (re.error, RecursionError, OverflowError):
            return False
        return True

    def __str__(self) -> str:
        return "a valid regular expression"


# A constraint: None (the value None), "boolean", "path" (str or os.PathLike),
# a type (isinstance), or one of the classes above.
Constraint = Any


def _accepts(constraint: Constraint, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint == "path":
        return isinstance(value, str | os.PathLike)
    if isinstance(constraint, type):
        return isinstance(value, constraint) and not (
            constraint in (int, float) and isinstance(value, bool)
        )
    return bool(constraint.accepts(value))


def _describe(constraint: Constraint) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "a bool"
    if constraint == "path":
        return "a str or path"
    if isinstance(constraint, type):
        return f"a {constraint.__name__}"
    return str(constraint)


def check_param(value: Any, constraints: list[Constraint], name: str) -> Any:
    """Return ``value`` if one of ``constraints`` accepts it, else raise.

    Raises
    ------
    glasstext.exceptions.InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) naming the parameter, what it
        accepts, and what it got.
    """
    if any(_accepts(c, value) for c in constraints):
        return value
    allowed = " or ".join(_describe(c) for c in constraints)
    got = f"{type(value).__name__} {value!r:.60}" if isinstance(value, bool) else f"{value!r:.80}"
    raise InvalidParameterError(f"{name} must be {allowed}, got {got}")


def validate_params(params: Mapping[str, Any], constraints: Mapping[str, list[Constraint]]) -> None:
    """Check every declared parameter of ``params`` (e.g. ``estimator.get_params()``)."""
    for name, allowed in constraints.items():
        if name in params:
            check_param(params[name], allowed, name)


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as a Python int of at least ``minimum`` (numpy integers too, never bool)."""
    check_param(value, [Interval(int)], name)
    if value < minimum:
        raise InvalidParameterError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@overload
def check_seed(value: Any, name: str = ..., *, allow_none: Literal[False] = ...) -> int: ...
@overload
def check_seed(value: Any, name: str = ..., *, allow_none: bool) -> int | None: ...
def check_seed(value: Any, name: str = "random_state", *, allow_none: bool = False) -> int | None:
    """An int seed; ``None`` only where ``allow_none`` (then fresh randomness is asked for)."""
    allowed: list[Constraint] = [Interval(int)]
    if allow_none:
        allowed.append(None)
    check_param(value, allowed, name)
    return None if value is None else int(value)
