"""llama-cpp-python's server with prompt log-probabilities computed in numpy.

Run as ``python -m glasstext.backends._llama_launch ARGS`` (the arguments of
``python -m llama_cpp.server``); :class:`~glasstext.backends.llama_server.LlamaServer`
does so by default.

Why: with ``logprobs`` set, llama-cpp-python 0.3.36 builds, for every token it
reports (every prompt token with ``echo=true``), the list of all
``(log-probability, token id)`` pairs of the vocabulary, sorted in Python
(``list(sorted(zip(logprobs, range(len(logprobs))), reverse=True))``), and
keeps its first ``logprobs`` entries. For Gemma's 262,144-token vocabulary
that is about 0.4 s per token on an idle core: a 29-token prompt took 12-13 s
to score, where the model itself needs milliseconds.

Here three built-in names, ``zip``, ``sorted`` and ``list``, are shadowed *in
the ``llama_cpp.llama`` module only* (a module's globals come before the
built-ins): a ``zip`` of a long vector with ``range(len(vector))`` is
recognised, ``sorted(..., reverse=True)`` of it returns a
:class:`SortedPairs` that computes only the entries asked for (a prefix slice
``[:k]`` is one ``argpartition``), and ``list`` passes it through. The entries
are those of the Python sort: the same pairs, in the same order (ties by
descending token id, as Python orders the tuples). Every other call goes to
the built-ins unchanged, and ``isinstance(x, list)`` still means a list.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, overload

import numpy as np

__all__ = [
    "SortedPairs",
    "VectorIndexPairs",
    "install",
    "main",
    "pairs_list",
    "pairs_sorted",
    "pairs_zip",
]

# Shorter vectors take the built-in path (not worth a numpy round trip).
MIN_LENGTH = 1024


class VectorIndexPairs:
    """``zip(values, range(len(values)))`` that remembers its vector.

    Iterates exactly as the ``zip`` it stands for (once, like any iterator).
    """

    def __init__(self, values: Any) -> None:
        self.values = values
        self._iterator: Iterator[tuple[Any, int]] | None = None

    def __iter__(self) -> Iterator[tuple[Any, int]]:
        return self

    def __next__(self) -> tuple[Any, int]:
        if self._iterator is None:
            self._iterator = builtins.zip(self.values, range(len(self.values)), strict=True)
        return next(self._iterator)


class SortedPairs(Sequence[tuple[Any, int]]):
    """``sorted(zip(values, range(n)), reverse=True)``, each entry computed when asked for.

    A prefix ``[:k]`` costs one ``argpartition`` and a sort of ``k`` entries;
    anything else sorts the whole vector once (still in numpy).
    """

    def __init__(self, values: Any) -> None:
        self._values = values
        self._array = np.asarray(values)
        self._full: list[tuple[Any, int]] | None = None

    def __len__(self) -> int:
        return len(self._array)

    def _entries(self, ids: np.ndarray) -> list[tuple[Any, int]]:
        if isinstance(self._values, np.ndarray):
            values: Any = self._values[ids]  # numpy scalars, as zip over the array gives
        else:
            values = self._array[ids].tolist()  # floats from a list of floats
        return list(builtins.zip(values, ids.tolist(), strict=True))

    def top(self, k: int) -> list[tuple[Any, int]]:
        """The first ``k`` entries of the sorted list."""
        a, n = self._array, len(self._array)
        k = max(0, min(k, n))
        if k == 0:
            return []
        if k == n:
            return self.full()
        kth = np.partition(a, n - k)[n - k]  # the k-th largest value
        above = np.flatnonzero(a > kth)
        ties = np.flatnonzero(a == kth)[::-1][: k - len(above)]  # highest ids first
        chosen = np.concatenate([above, ties])
        # by value, then id, both descending (reversed ascending lexicographic order)
        ids = chosen[np.lexsort((chosen, a[chosen]))[::-1]]
        return self._entries(ids)

    def full(self) -> list[tuple[Any, int]]:
        """The whole sorted list."""
        if self._full is None:
            # A stable ascending sort keeps equal values in ascending id order;
            # reversed, values descend and ties come by descending id.
            self._full = self._entries(np.argsort(self._array, kind="stable")[::-1])
        return self._full

    @overload
    def __getitem__(self, index: int) -> tuple[Any, int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, int]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice) and index.start in (None, 0) and index.step in (None, 1):
            stop = len(self) if index.stop is None else index.stop
            if stop >= 0:
                return self.top(stop)
        return self.full()[index]

    def __iter__(self) -> Iterator[tuple[Any, int]]:
        return iter(self.full())

    def __eq__(self, other: object) -> bool:
        return self.full() == (other.full() if isinstance(other, SortedPairs) else other)

    __hash__ = None  # type: ignore[assignment]


def pairs_zip(*iterables: Any, **options: Any) -> Any:
    """``zip``, except ``zip(vector, range(len(vector)))`` of a long 1-D vector."""
    if len(iterables) == 2 and not options:
        values, ids = iterables
        if (
            isinstance(ids, range)
            and isinstance(values, (builtins.list, np.ndarray))
            and np.ndim(values) == 1
            and len(values) >= MIN_LENGTH
            and ids == range(len(values))
        ):
            return VectorIndexPairs(values)
    return builtins.zip(*iterables, **options)  # noqa: B905 (the caller's options)


def pairs_sorted(iterable: Any, /, *, key: Any = None, reverse: bool = False) -> Any:
    """``sorted``, lazily for an untouched :class:`VectorIndexPairs` sorted descending."""
    if (
        isinstance(iterable, VectorIndexPairs)
        and iterable._iterator is None
        and key is None
        and reverse
        and not np.isnan(np.asarray(iterable.values, dtype=np.float64)).any()
    ):
        return SortedPairs(iterable.values)
    return builtins.sorted(iterable, key=key, reverse=reverse)


class _ListMeta(type):
    """``list`` as a type everywhere (``isinstance``), but a call passes SortedPairs on."""

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, builtins.list)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, builtins.list)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and isinstance(args[0], SortedPairs):
            return args[0]
        return builtins.list(*args, **kwargs)


class pairs_list(metaclass=_ListMeta):
    """The built-in ``list``, except that ``list(SortedPairs)`` stays lazy."""


def install(module: ModuleType) -> None:
    """Shadow ``zip``, ``sorted`` and ``list`` in ``module`` (globals come before built-ins)."""
    module.zip = pairs_zip  # type: ignore[attr-defined]
    module.sorted = pairs_sorted  # type: ignore[attr-defined]
    module.list = pairs_list  # type: ignore[attr-defined]


def main() -> None:
    """Start llama-cpp-python's server with the numpy sort installed."""
    import llama_cpp.llama
    from llama_cpp.server.__main__ import main as serve

    install(llama_cpp.llama)
    serve()


if __name__ == "__main__":
    main()
