"""glasstext: readable text models fit with language models.

Importing glasstext is light: torch and transformers load only when a model
actually needs the language model, so table-only prediction runs without them.
"""

from glasstext.models.auglinear import (
    AugLinearClassifier,
    AugLinearRegressor,
    Explanation,
    UnseenNgramWarning,
)

__version__ = "0.1.0"

__all__ = [
    "AugLinearClassifier",
    "AugLinearRegressor",
    "Explanation",
    "UnseenNgramWarning",
    "__version__",
]
