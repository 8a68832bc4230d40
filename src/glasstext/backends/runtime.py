"""Run-time settings shared by the torch backends: threads, precision, progress.

Two cores are easy to oversubscribe: torch's intra-op threads and OpenBLAS's
threads (used by scikit-learn) fight over them and a one-second fit becomes a
thirty-second one. Backends set torch's threads only around their own work,
and estimators limit BLAS threads around scikit-learn calls.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import Any, Literal

Precision = Literal["fp32", "bf16"]
PrecisionSetting = Literal["auto", "fp32", "bf16"]


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


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes in bfloat16 natively (AVX-512 BF16 or AMX).

    Read from ``/proc/cpuinfo``; elsewhere (or on error) the answer is no, so
    bfloat16 is never chosen where it would be emulated and slow.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str) -> Precision:
    """Turn a precision setting into the one to run with.

    ``"auto"`` is bfloat16 on CPUs with native bf16 instructions and float32
    elsewhere. On this project's reference machine (Zen 4, AVX-512 BF16),
    bf16 embeds n-grams 1.4x faster with the same Aug-Linear accuracy (see
    benchmarks/results/auglinear.json); without native support it would be
    emulated, so float32 is kept.
    """
    if precision == "auto":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    return "bf16" if precision == "bf16" else "fp32"


def show_progress(progress: bool | None) -> bool:
    """Resolve a progress setting: ``None`` means "only on an interactive terminal"."""
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)


def progress_bar(total: int, desc: str, progress: bool | None, unit: str = "it") -> Any:
    """A tqdm bar, shown only when ``progress`` resolves to True (a terminal by default).

    A hidden bar is still a bar (its updates do nothing), so callers never test for one.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not show_progress(progress))
