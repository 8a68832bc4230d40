"""Input checks shared by every estimator and backend.

Bad input must fail loudly with a message that names the problem: an empty
list, a ``None`` among the texts, labels of another length, a NaN label or a
single class never turn into a silently wrong model.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
    """
    if isinstance(texts, str | bytes):
        raise TypeError(f"{what} must be a sequence of strings, not a single string")
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
    if not items and not allow_empty_list:
        raise ValueError(f"{what} is empty: at least one text is needed")
    return items


def check_documents(texts: Any, what: str = "X") -> list[str]:
    """Texts to fit or predict on: a non-empty list of non-blank strings."""
    items = check_texts(texts, what, allow_empty_list=False)
    blank = [i for i, t in enumerate(items) if not t.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
        raise ValueError(f"{what} has {len(blank)} empty or blank text(s), at index {shown}")
    return items


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
    if np.unique(arr).size < 2:
        raise ValueError(
            f"y has a single class ({arr[0]!r}): a classifier needs at least two classes"
        )
    return arr


def _missing_positions(arr: np.ndarray) -> np.ndarray:
    if np.issubdtype(arr.dtype, np.floating):
        return np.flatnonzero(np.isnan(arr))
    if arr.dtype == object:
        return np.flatnonzero([v is None or (isinstance(v, float) and np.isnan(v)) for v in arr])
    return np.zeros(0, dtype=np.int64)
