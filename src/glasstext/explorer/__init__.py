"""The interactive explorer behind ``glasstext serve``: type a text, see why.

A local web app (FastAPI, served by uvicorn on 127.0.0.1 by default) with one
page: a person types or pastes a text and sees the prediction and its
explanation (each word shaded by its contribution) update as they edit, and
clicks words to remove them and see how the prediction changes (what-if).
Aug-Linear and Aug-Tree models are read from their tables (no encoder or
language model is loaded); Proto-LM uses its own explanation; any other model,
a zero-shot language model included, is explained by perturbation with the
calls it spends shown.

This is the presentation layer: it imports models and explainers, and nothing
in glasstext imports it. FastAPI and uvicorn come with the core install.

Examples
--------
>>> from glasstext.models import load_model
>>> from glasstext.explorer import create_app, serve, target_for_model
>>> app = create_app(target_for_model(load_model("model/")))  # doctest: +SKIP
>>> serve(app, port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

from glasstext.explorer.app import (
    ExplorerLimits,
    RequestTooLarge,
    create_app,
    is_loopback,
    page_html,
    require_serve,
    serve,
)
from glasstext.explorer.targets import (
    AugLinearTarget,
    AugTreeTarget,
    Evidence,
    ProtoLMTarget,
    ScorerTarget,
    Target,
    paint,
    target_for_model,
)

__all__ = [
    "AugLinearTarget",
    "AugTreeTarget",
    "Evidence",
    "ExplorerLimits",
    "ProtoLMTarget",
    "RequestTooLarge",
    "ScorerTarget",
    "Target",
    "create_app",
    "is_loopback",
    "page_html",
    "paint",
    "require_serve",
    "serve",
    "target_for_model",
]
