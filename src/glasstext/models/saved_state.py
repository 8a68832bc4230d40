"""Checks of the learned state a saved folder holds, for the models' ``_restore_state``.

A folder's checksums catch accidents, not a forger who recomputes them, so
every value a model reads from a folder is checked here for its type, shape
and consistency before the model uses it: a bad folder is refused on load,
in one line, rather than failing later inside prediction or a report. Each
check raises ``ValueError`` naming the value;
:meth:`glasstext.models.base.GlassModel.load` turns it into a
:class:`~glasstext.exceptions.ModelFileError` naming the folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_class_list",
    "check_count",
    "check_keys",
    "check_number",
    "check_records",
    "check_strings",
    "optional_array",
]

#: JSON scalars a class label may be (all labels of a model are of one kind).
_LABEL_KINDS = (str, bool, int, float)
#: The largest count a folder may hold: every int up to it is exact as a float too.
LARGEST_COUNT = 2**53


def _kind(value: Any) -> str:
    return type(value).__name__


def check_strings(value: Any, what: str) -> list[str]:
    """``value`` if it is a list of strings."""
    if not isinstance(value, list):
        raise ValueError(f"{what} is a {_kind(value)}, not a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"{what}[{i}] is a {_kind(item)}, not a string")
    return value


def check_number(
    value: Any, what: str, *, low: float | None = None, high: float | None = None
) -> float:
    """``value`` as a float, if it is a finite real number (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is a {_kind(value)}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what} is not finite: {number}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{what} is out of range: {number:g}")
    return number


def check_count(value: Any, what: str, *, low: int = 0, high: int = LARGEST_COUNT) -> int:
    """``value`` if it is an int (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} is a {_kind(value)}, not an integer")
    if not low <= value <= high:
        raise ValueError(f"{what} is out of range: {value}")
    return value


def check_class_list(value: Any, what: str = "the class list") -> np.ndarray:
    """The class labels as an array: a list of two or more distinct labels of one kind
    (strings, booleans or numbers)."""
    if not isinstance(value, list) or len(value) < 2:
        raise ValueError(f"{what} is not a list of two or more classes")
    kinds = set()
    for i, label in enumerate(value):
        if not isinstance(label, _LABEL_KINDS):
            raise ValueError(f"{what}[{i}] is a {_kind(label)}, not a class label")
        if isinstance(label, float) and not math.isfinite(label):
            raise ValueError(f"{what}[{i}] is not finite")
        kinds.add(str if isinstance(label, str) else bool if isinstance(label, bool) else float)
    if len(kinds) > 1:
        raise ValueError(f"{what} mixes labels of different kinds")
    if len(set(value)) != len(value):
        raise ValueError(f"{what} repeats a class")
    return np.asarray(value)


def check_keys(value: Any, what: str, required: Mapping[str, type | tuple[type, ...]]) -> dict:
    """``value`` if it is a dict holding the ``required`` keys with values of their types
    (``int`` and ``float`` never accept a bool)."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} is a {_kind(value)}, not a mapping")
    for key, kinds in required.items():
        if key not in value:
            raise ValueError(f"{what} has no {key!r}")
        item = value[key]
        if not isinstance(item, kinds) or (isinstance(item, bool) and bool not in _as_tuple(kinds)):
            raise ValueError(f"{what}[{key!r}] is a {_kind(item)}")
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def check_records(
    value: Any, what: str, required: Mapping[str, type | tuple[type, ...]]
) -> list[dict]:
    """``value`` if it is a list of dicts, each as :func:`check_keys` asks."""
    if not isinstance(value, list):
        raise ValueError(f"{what} is a {_kind(value)}, not a list")
    for i, record in enumerate(value):
        check_keys(record, f"{what}[{i}]", required)
    return value


def check_array(
    arrays: Mapping[str, np.ndarray],
    name: str,
    shape: tuple[int | None, ...],
    dtype: type | np.dtype,
) -> np.ndarray:
    """The array ``name``, if it has ``dtype`` and ``shape`` (``None``: any length there)."""
    if name not in arrays:
        raise ValueError(f"array {name} is missing")
    return _checked(arrays[name], name, shape, dtype)


def optional_array(
    arrays: Mapping[str, np.ndarray],
    name: str,
    shape: tuple[int | None, ...],
    dtype: type | np.dtype,
) -> np.ndarray | None:
    """As :func:`check_array`, or ``None`` when the folder does not hold ``name``."""
    return None if name not in arrays else _checked(arrays[name], name, shape, dtype)


def _checked(
    array: np.ndarray, name: str, shape: tuple[int | None, ...], dtype: type | np.dtype
) -> np.ndarray:
    if array.dtype != np.dtype(dtype):
        raise ValueError(f"array {name} holds {array.dtype}, not {np.dtype(dtype)}")
    fits = array.ndim == len(shape) and all(
        want is None or have == want for have, want in zip(array.shape, shape, strict=True)
    )
    if not fits:
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"array {name} has shape {array.shape}, not {wanted}")
    # No learned array holds NaN or infinity: one would turn predictions into NaN.
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"array {name} holds values that are not finite")
    return array
