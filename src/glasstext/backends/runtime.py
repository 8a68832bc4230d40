"""Run-time settings shared by the torch backends: threads, precision, progress.

Two cores are easy to oversubscribe: torch's intra-op threads and OpenBLAS's
threads (used by scikit-learn) fight over them and a one-second fit becomes a
thirty-second one. Backends set torch's threads only around their own work,
and estimators limit BLAS threads around scikit-learn calls.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, Literal

Precision = Literal["fp32", "bf16"]


def import_torch() -> Any:
    """Import torch, with an error that says what to install when it is missing."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised in a torch-less process
        raise ImportError(
            "This needs PyTorch (pip install torch). Table-only prediction of a "
            "fitted glasstext model does not."
        ) from exc
    return torch


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Use ``n_threads`` torch intra-op threads inside the block, then restore."""
    if n_threads is None:
        yield
        return
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    torch = import_torch()
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def blas_threads(n_threads: int = 1) -> Iterator[None]:
    """Limit BLAS/OpenMP threads inside the block (scikit-learn's linear algebra)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads):
        yield


def torch_dtype(precision: Precision) -> Any:
    """The torch dtype for a precision name."""
    torch = import_torch()
    table = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if precision not in table:
        raise ValueError(f"precision must be one of {sorted(table)}, got {precision!r}")
    return table[precision]


def show_progress(progress: bool | None) -> bool:
    """Resolve a progress setting: ``None`` means "only on an interactive terminal"."""
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)
