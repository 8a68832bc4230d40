"""Where torch work runs: the one home of device logic.

Every backend that runs a model (the encoder, the local causal LM, fine-tuning,
Proto-LM) takes ``device="auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` and asks
this module what it means:

- :func:`check_device` checks the spelling (no torch import: a CLI flag or an
  estimator parameter is checked before any work);
- :func:`resolve_device` turns a setting into the device to use, with a clear
  :class:`~glasstext.exceptions.InvalidParameterError` when it is not there
  (``"cuda"`` on a machine without a GPU, ``"cuda:1"`` with one GPU);
- :func:`encoder_precision` and :func:`lm_precision` choose the dtype for a
  device (half precision on a GPU where it is safe; on a CPU exactly the
  choice made before devices existed, so CPU figures do not change);
- :func:`to_device` and :func:`to_numpy` move tensors there and back.

The device is a run-time setting, never part of what a model *is*: saved
models hold no device, and cache keys hold the precision (which changes the
numbers) but not the device (which does not), so a vector computed on a GPU
is a cache hit on a CPU and vice versa.
"""

from __future__ import annotations

import re
from typing import Any, cast

from glasstext.backends.runtime import Precision, import_torch, resolve_precision
from glasstext.exceptions import InvalidParameterError

__all__ = [
    "DEVICE_HELP",
    "DeviceName",
    "check_device",
    "cuda_bf16_supported",
    "encoder_precision",
    "fork_devices",
    "is_cpu",
    "lm_precision",
    "resolve_device",
    "to_device",
    "to_numpy",
]

_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
#: What a device setting may be, in words (error messages and ``--device`` help).
DEVICE_HELP = "'auto' (a GPU when there is one), 'cpu', 'cuda', 'cuda:N' or 'mps'"


class DeviceName:
    """Parameter constraint: a device setting spelled as :func:`check_device` accepts.

    Used in estimators' ``_parameter_constraints`` (it has the ``accepts``
    and ``str`` of :mod:`glasstext.validation`'s constraints).
    """

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and _PATTERN.fullmatch(value) is not None

    def __str__(self) -> str:
        return DEVICE_HELP

    def __repr__(self) -> str:
        return "DeviceName()"


def check_device(device: Any, name: str = "device") -> str:
    """Check a device setting's spelling (without importing torch); return it.

    Raises
    ------
    glasstext.exceptions.InvalidParameterError
        ``device`` is not ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    """
    if not DeviceName().accepts(device):
        raise InvalidParameterError(f"{name} must be {DEVICE_HELP}, got {device!r:.60}")
    return cast(str, device)


def _torch_or_none() -> Any:
    try:
        return import_torch()
    except ImportError:  # no torch: nothing but the CPU could run anyway
        return None


def _mps_available(torch: Any) -> bool:
    backend = getattr(getattr(torch, "backends", None), "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(device: Any = "auto", name: str = "device") -> str:
    """The device a setting means on this machine: ``"cpu"``, ``"cuda:N"`` or ``"mps"``.

    ``"auto"`` is the first CUDA GPU when torch sees one, else Apple's MPS when
    available, else the CPU. ``"cuda"`` is ``"cuda:0"``.

    Raises
    ------
    glasstext.exceptions.InvalidParameterError
        A misspelt setting, or a device this machine does not have (named,
        with what it does have), instead of a torch error deep inside a fit.
    """
    device = check_device(device, name)
    if device == "cpu":
        return "cpu"
    torch = _torch_or_none()
    if device == "auto":
        if torch is not None and torch.cuda.is_available():
            return "cuda:0"
        if torch is not None and _mps_available(torch):
            return "mps"
        return "cpu"
    if device == "mps":
        if torch is None or not _mps_available(torch):
            raise InvalidParameterError(
                f"{name}='mps' but Apple's MPS backend is not available on this machine "
                "(torch.backends.mps.is_available() is False); use 'cpu' or 'auto'"
            )
        return "mps"
    index = int(device.partition(":")[2] or 0)
    if torch is None or not torch.cuda.is_available():
        raise InvalidParameterError(
            f"{name}={device!r} but no CUDA GPU is available (torch.cuda.is_available() "
            "is False: no GPU, no driver, or a CPU-only torch); use 'cpu' or 'auto'"
        )
    count = int(torch.cuda.device_count())
    if index >= count:
        visible = ", ".join(f"cuda:{i}" for i in range(count))
        raise InvalidParameterError(
            f"{name}={device!r} but only {count} CUDA device(s) are visible ({visible})"
        )
    return f"cuda:{index}"


def is_cpu(device: str) -> bool:
    """Whether a resolved device is the CPU."""
    return device == "cpu"


def cuda_bf16_supported() -> bool:
    """Whether the CUDA GPU computes in bfloat16 (Ampere and later)."""
    torch = import_torch()
    return bool(torch.cuda.is_bf16_supported())


def encoder_precision(precision: str, device: str) -> Precision:
    """The precision an encoder runs with on a resolved ``device``.

    On the CPU this is exactly :func:`~glasstext.backends.runtime.resolve_precision`
    (bfloat16 only with native bf16 instructions). On a CUDA GPU ``"auto"`` is
    bfloat16 where the GPU supports it and float16 elsewhere: pooled
    embeddings are returned as float32 and agree with float32 ones to about
    three decimals (``benchmarks/device_check.py`` measures it). On MPS
    ``"auto"`` keeps float32. int8 (CPU kernels) needs the CPU; float16 a GPU.

    Raises
    ------
    glasstext.exceptions.InvalidParameterError
        A precision the device cannot run.
    """
    if is_cpu(device):
        if precision == "fp16":
            raise InvalidParameterError(
                "precision='fp16' runs on a GPU only; on the CPU use 'bf16', 'fp32' or 'int8'"
            )
        return resolve_precision(precision)
    if precision == "int8":
        raise InvalidParameterError(
            f"precision='int8' uses CPU kernels only; on {device} use 'auto', 'fp16', "
            "'bf16' or 'fp32'"
        )
    if precision != "auto":
        return resolve_precision(precision)
    if device.startswith("cuda"):
        return "bf16" if cuda_bf16_supported() else "fp16"
    return "fp32"


def lm_precision(precision: str, device: str) -> Precision:
    """The precision a causal LM runs with on a resolved ``device``.

    ``"auto"`` is float32 on the CPU (as before devices existed) and on MPS,
    and bfloat16 on CUDA GPUs that support it (float32 elsewhere: float16
    overflows in some LMs' activations, Gemma's among them). Log-softmax is
    always taken in float32.
    """
    if precision == "auto":
        if device.startswith("cuda") and cuda_bf16_supported():
            return "bf16"
        return "fp32"
    if precision not in ("fp32", "bf16"):
        raise InvalidParameterError(
            f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r:.40}"
        )
    return cast(Precision, precision)


def to_device(batch: Any, device: str) -> Any:
    """A tensor, or a dict of tensors, on ``device`` (the same objects on the CPU)."""
    if is_cpu(device):
        return batch  # tensors are built on the CPU: nothing to copy
    if isinstance(batch, dict):
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    return batch.to(device)


def to_numpy(tensor: Any) -> Any:
    """A tensor's values as a numpy array, wherever the tensor lives."""
    return tensor.detach().cpu().numpy()


def fork_devices(device: str) -> list[int]:
    """The CUDA devices whose random state a seeded block must fork (none off CUDA)."""
    if device.startswith("cuda"):
        return [int(device.partition(":")[2] or 0)]
    return []
