"""Compute backends: model resolution, encoders, causal LMs and caches.

Nothing here knows about a particular method; every method asks these modules
for the models it needs, so offline resolution, caching, precision and threads
are handled once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glasstext.backends.lm import LocalCausalLM, get_lm
    from glasstext.backends.lm_base import LanguageModel, register_lm_backend
    from glasstext.backends.openai_compat import (
        LMResponseError,
        LMServerError,
        LogprobsUnsupportedError,
        OpenAICompatibleLM,
    )

# Loaded on first access, so importing one backend module stays light.
_LAZY = {
    "LanguageModel": "glasstext.backends.lm_base",
    "LocalCausalLM": "glasstext.backends.lm",
    "get_lm": "glasstext.backends.lm",
    "register_lm_backend": "glasstext.backends.lm_base",
    "LMResponseError": "glasstext.backends.openai_compat",
    "LMServerError": "glasstext.backends.openai_compat",
    "LogprobsUnsupportedError": "glasstext.backends.openai_compat",
    "OpenAICompatibleLM": "glasstext.backends.openai_compat",
}

__all__ = [
    "LMResponseError",
    "LMServerError",
    "LanguageModel",
    "LocalCausalLM",
    "LogprobsUnsupportedError",
    "OpenAICompatibleLM",
    "get_lm",
    "register_lm_backend",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'glasstext.backends' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
