"""Interpretable estimators: fit with a language model, predict without one."""

from glasstext.models.auglinear import (
    AugLinearClassifier,
    AugLinearRegressor,
    Explanation,
    UnseenNgramWarning,
    UnseenReport,
)

__all__ = [
    "AugLinearClassifier",
    "AugLinearRegressor",
    "Explanation",
    "UnseenNgramWarning",
    "UnseenReport",
]
