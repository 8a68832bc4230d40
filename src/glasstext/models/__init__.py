"""Interpretable estimators: fit with a language model, predict without one."""

import os
from typing import Any

from glasstext.io import saved_kind
from glasstext.models.auglinear import (
    AugLinearClassifier,
    AugLinearRegressor,
    Explanation,
    UnseenNgramWarning,
    UnseenReport,
)
from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor, TreeExplanation
from glasstext.models.protolm import ProtoExplanation, ProtoLMClassifier

_LOADABLE: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        AugLinearClassifier,
        AugLinearRegressor,
        AugTreeClassifier,
        AugTreeRegressor,
        ProtoLMClassifier,
    )
}


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load any saved glasstext model, whatever its class."""
    kind = saved_kind(path)
    if kind not in _LOADABLE:
        from glasstext.io import ModelFileError

        raise ModelFileError(f"{path} holds a {kind}, which this glasstext cannot load")
    return _LOADABLE[kind].load(path)


__all__ = [
    "AugLinearClassifier",
    "AugLinearRegressor",
    "AugTreeClassifier",
    "AugTreeRegressor",
    "Explanation",
    "ProtoExplanation",
    "ProtoLMClassifier",
    "TreeExplanation",
    "UnseenNgramWarning",
    "UnseenReport",
    "load_model",
]
