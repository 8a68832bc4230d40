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
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, TypeVar, cast

Precision = Literal["fp32", "bf16", "fp16", "int8"]
PrecisionSetting = Literal["auto", "fp32", "bf16", "fp16", "int8"]
#: ``"fp16"`` runs on a GPU only (see :func:`glasstext.backends.devices.encoder_precision`).
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16", "int8")
S = TypeVar("S", bound=Sized)
T = TypeVar("T")


def import_torch() -> Any:
    """Import torch; without the ``lm`` extra, a one-line error that names it.

    Raises
    ------
    glasstext.exceptions.MissingExtraError
        torch or transformers is not installed (the core install): see
        :func:`glasstext.backends.extras.require_extra`.
    """
    if sys.modules.get("torch") is None:  # not imported yet (or blocked)
        from glasstext.backends.extras import require_extra

        require_extra("lm")
    import torch

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


@contextlib.contextmanager
def run_alongside(
    work: Callable[[S], T],
    parts: Sequence[S],
    desc: str = "alongside",
    progress: bool | None = None,
) -> Iterator[Future[list[T]]]:
    """Run ``work(part)`` for each of ``parts`` on a background thread while the
    block runs; the yielded future gives the results in order.

    Torch and scikit-learn's solvers release the GIL, so embedding texts and a
    single-threaded fit run side by side: ``work`` gets one torch thread while
    the block runs (the block has the other core) and the default count for
    the parts left once the block is done (one thread alone runs at about
    half the speed of two). Leaving the block waits for ``work``; leaving it
    with an error skips the parts not yet started (the error then surfaces
    at once, not after the rest of the work).

    One bar (``desc``, advancing by each part's length) stands for the bars
    ``work`` would open itself, which are hidden.
    """
    block_done, block_failed = threading.Event(), threading.Event()
    bar = progress_bar(sum(len(p) for p in parts), desc, progress, "text")

    def run_all() -> list[T]:
        results = []
        with hidden_bars():
            for part in parts:
                if block_failed.is_set():
                    break
                with torch_threads(None if block_done.is_set() else 1):
                    results.append(work(part))
                bar.update(len(part))
        return results

    with bar, ThreadPoolExecutor(1, thread_name_prefix="glasstext-alongside") as pool:
        future = pool.submit(run_all)
        try:
            yield future
        except BaseException:
            block_failed.set()
            raise
        finally:
            block_done.set()


#: Up to this many tokens per input, plain matmul attention ("eager") is faster
#: than torch's fused CPU kernel ("sdpa") in float32 and bfloat16; on longer
#: inputs sdpa wins.
SHORT_INPUT_TOKENS = 16


class AttentionSwitch:
    """Run a transformer's attention as plain matmuls on short CPU inputs.

    A model loaded with ``"sdpa"`` attention (transformers' default) is
    switched to ``"eager"`` for batches of at most :data:`SHORT_INPUT_TOKENS`
    tokens and back for longer ones; both compute the same attention (equal
    to float32 rounding). On a GPU, or for a model loaded with another
    implementation, nothing is switched. n-grams are 3-10 tokens long, so
    embedding them runs on the faster path.
    """

    def __init__(self, net: Any, on_cpu: bool) -> None:
        loaded = getattr(getattr(net, "config", None), "_attn_implementation", None)
        usable = on_cpu and loaded == "sdpa" and hasattr(net, "set_attn_implementation")
        self._net = net if usable else None
        self._current = loaded

    def fit_to(self, n_tokens: int) -> None:
        """Choose the attention for a batch padded to ``n_tokens``."""
        if self._net is None:
            return
        wanted = "eager" if n_tokens <= SHORT_INPUT_TOKENS else "sdpa"
        if wanted != self._current:
            self._net.set_attn_implementation(wanted)
            self._current = wanted


def torch_dtype(precision: Precision) -> Any:
    """The torch dtype to load weights in for a precision name.

    ``"int8"`` loads float32 weights: :func:`quantize_int8` converts them after loading.
    """
    torch = import_torch()
    table = {
        "fp32": torch.float32,
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
        "int8": torch.float32,
    }
    if precision not in table:
        raise ValueError(f"precision must be one of {sorted(table)}, got {precision!r}")
    return table[precision]


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty elsewhere or on error)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes in bfloat16 natively (AVX-512 BF16 or AMX).

    Read from ``/proc/cpuinfo``; elsewhere (or on error) the answer is no, so
    bfloat16 is never chosen where it would be emulated and slow.
    """
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cpu_has_vnni() -> bool:
    """Whether the CPU has AVX-512 VNNI (int8 dot products without saturation)."""
    return "avx512_vnni" in _cpu_flags()


def int8_activation_bits() -> int:
    """Bits of the int8 kernels' activations on this CPU: 8 with VNNI, else 7.

    Without VNNI, the int8 kernels (fbgemm) add products in saturating 16-bit
    lanes, so torch keeps activations to 7 bits ("reduce_range"), which moves
    the vectors further from fp32's (docs/benchmarks/auglinear.md shows int8's
    cosine to fp32). VNNI adds in 32 bits and can use all 8.
    """
    return 8 if cpu_has_vnni() else 7


def quantize_int8(net: Any, activation_bits: int | None = None) -> Any:
    """Convert a float32 model's ``nn.Linear`` layers to dynamic int8, in place.

    Weights are quantized per output channel (symmetric int8) once; each
    forward pass quantizes its activations per tensor to
    :func:`int8_activation_bits` bits and multiplies in int8 (VNNI where there
    is one). Embeddings, layer norms and attention stay float32: the linear
    layers carry almost all of an encoder's arithmetic.

    Parameters
    ----------
    net : torch.nn.Module
        A float32 model.
    activation_bits : {7, 8} or None, default=None
        ``None`` takes :func:`int8_activation_bits` (8 only with VNNI: 8 bits
        without it can overflow the kernels' 16-bit sums).

    Returns
    -------
    The quantized model (``net`` itself, its linear layers replaced).
    """
    torch = import_torch()
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch.ao's notice that torchao succeeds it
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        net = quantize_dynamic(
            net, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
        )
    bits = int8_activation_bits() if activation_bits is None else activation_bits
    if bits not in (7, 8):
        raise ValueError(f"activation_bits must be 7 or 8, got {activation_bits!r}")
    if bits == 8:
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

        for module in net.modules():
            if isinstance(module, DynamicLinear):
                module.forward = _full_range_forward(module)  # type: ignore[method-assign]
    return net


def _full_range_forward(module: Any) -> Any:
    """``module``'s forward with 8-bit activations (torch's own keeps 7 on x86)."""
    torch = import_torch()

    def forward(x: Any) -> Any:
        packed = module._packed_params._packed_params
        return torch.ops.quantized.linear_dynamic(x, packed, False).to(x.dtype)

    return forward


def resolve_precision(precision: str) -> Precision:
    """Turn a precision setting into the one to run with.

    ``"auto"`` is bfloat16 on CPUs with native bf16 instructions and float32
    elsewhere: with native support bf16 embeds n-grams faster at Aug-Linear's
    fp32 accuracy within noise (docs/benchmarks/auglinear.md, "Embedding
    speed"); without it bf16 would be emulated, so float32 is kept.
    ``"int8"`` (dynamic int8 linear layers, see :func:`quantize_int8`) and
    ``"fp16"`` (GPU only) are only used when asked for;
    :func:`glasstext.backends.devices.encoder_precision` decides for a GPU.
    """
    if precision == "auto":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if precision in ("fp32", "bf16", "fp16", "int8"):
        return cast(Precision, precision)
    raise ValueError(
        f"precision must be 'auto', 'fp32', 'bf16', 'fp16' or 'int8', got {precision!r}"
    )


def show_progress(progress: bool | None) -> bool:
    """Resolve a progress setting: ``None`` means "only on an interactive terminal"."""
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)


_this_thread = threading.local()


@contextlib.contextmanager
def hidden_bars() -> Iterator[None]:
    """Hide the progress bars this thread opens inside the block (its caller
    shows one of its own for the whole of that work)."""
    before = getattr(_this_thread, "bars_hidden", False)
    _this_thread.bars_hidden = True
    try:
        yield
    finally:
        _this_thread.bars_hidden = before


def progress_bar(total: int, desc: str, progress: bool | None, unit: str = "it") -> Any:
    """A tqdm bar, shown only when ``progress`` resolves to True (a terminal by default).

    A hidden bar is still a bar (its updates do nothing), so callers never test for one.
    """
    if not show_progress(progress) or getattr(_this_thread, "bars_hidden", False):
        # plain tqdm: tqdm.auto warns in a notebook without ipywidgets, even for a hidden bar
        from tqdm import tqdm as hidden

        return hidden(total=total, desc=desc, unit=unit, disable=True)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
