"""Interpretable estimators: fit with a language model, predict without one.

Every model derives from :class:`~glasstext.models.base.GlassModel` and is
registered with :func:`~glasstext.models.base.register_model`; :func:`load_model`
loads any saved folder through that registry. Adding a model is one new module
with a ``@register_model`` class and one line in :data:`BUILTIN_MODEL_MODULES`
(see ``docs/architecture.md``, "How to add a model").
"""

import importlib
from typing import Any

from glasstext.models.auglinear import (
    AugLinearClassifier,
    AugLinearRegressor,
    LinearExplanation,
    UnseenNgramWarning,
    UnseenReport,
    renamed_explanation,
)
from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor, TreeExplanation
from glasstext.models.base import (
    GlassModel,
    SummaryEvidence,
    load_model,
    model_types,
    register_model,
)
from glasstext.models.protolm import ProtoExplanation, ProtoLMClassifier, PrototypeMatch

#: The modules whose ``@register_model`` classes make up the built-in models.
BUILTIN_MODEL_MODULES: tuple[str, ...] = (
    "glasstext.models.auglinear",
    "glasstext.models.augtree",
    "glasstext.models.protolm",
)

for _module in BUILTIN_MODEL_MODULES:
    importlib.import_module(_module)


def __getattr__(name: str) -> Any:
    if name == "Explanation":
        return renamed_explanation()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN_MODEL_MODULES",
    "AugLinearClassifier",
    "AugLinearRegressor",
    "AugTreeClassifier",
    "AugTreeRegressor",
    "GlassModel",
    "LinearExplanation",
    "ProtoExplanation",
    "ProtoLMClassifier",
    "PrototypeMatch",
    "SummaryEvidence",
    "TreeExplanation",
    "UnseenNgramWarning",
    "UnseenReport",
    "load_model",
    "model_types",
    "register_model",
]
