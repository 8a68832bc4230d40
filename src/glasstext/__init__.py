"""glasstext: readable text models fit with language models.

Importing glasstext is light: the estimators (and scikit-learn) load on first
use, and torch and transformers only when a model actually needs a language
model, so ``glasstext --help`` starts fast and table-only prediction runs
without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str

    from glasstext.backends.encoder import Encoder
    from glasstext.backends.finetune import finetune_encoder
    from glasstext.explain.audit import LMAudit, audit_lm
    from glasstext.explain.iprompt import explain_dataset
    from glasstext.explain.sasc import explain_module
    from glasstext.explain.summaries import summarize_model
    from glasstext.models.auglinear import (
        AugLinearClassifier,
        AugLinearRegressor,
        LengthShiftWarning,
        LinearExplanation,
        UnseenNgramWarning,
    )
    from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor
    from glasstext.models.protolm import ProtoLMClassifier

_LAZY = {
    "AugLinearClassifier": "glasstext.models.auglinear",
    "AugLinearRegressor": "glasstext.models.auglinear",
    "LinearExplanation": "glasstext.models.auglinear",
    "UnseenNgramWarning": "glasstext.models.auglinear",
    "LengthShiftWarning": "glasstext.models.auglinear",
    "AugTreeClassifier": "glasstext.models.augtree",
    "AugTreeRegressor": "glasstext.models.augtree",
    "ProtoLMClassifier": "glasstext.models.protolm",
    "Encoder": "glasstext.backends.encoder",
    "finetune_encoder": "glasstext.backends.finetune",
    "LMAudit": "glasstext.explain.audit",
    "audit_lm": "glasstext.explain.audit",
    "explain_dataset": "glasstext.explain.iprompt",
    "explain_module": "glasstext.explain.sasc",
    "summarize_model": "glasstext.explain.summaries",
}

__all__ = [
    "AugLinearClassifier",
    "AugLinearRegressor",
    "AugTreeClassifier",
    "AugTreeRegressor",
    "Encoder",
    "LMAudit",
    "LengthShiftWarning",
    "LinearExplanation",
    "ProtoLMClassifier",
    "UnseenNgramWarning",
    "__version__",
    "audit_lm",
    "explain_dataset",
    "explain_module",
    "finetune_encoder",
    "summarize_model",
]


def _installed_version() -> str:
    """The version in the installed package's metadata (pyproject.toml's, the one source).

    Read on first access of ``glasstext.__version__``, so ``import glasstext``
    does not pay for :mod:`importlib.metadata`. A source tree on ``sys.path``
    that was never installed has no metadata: ``"0+unknown"``.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("glasstext")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = globals()["__version__"] = _installed_version()
        return value
    if name == "Explanation":  # the old name of LinearExplanation; warns on every access
        return importlib.import_module("glasstext.models.auglinear").renamed_explanation()
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'glasstext' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
