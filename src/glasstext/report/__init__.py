"""Presentation of results and models: standalone HTML reports, notebook views, charts.

Importing this package registers its views with :func:`glasstext.results.register_view`,
which is how ``to_html()`` / ``save_html()`` / ``_repr_html_()`` / ``plot()`` of a
result or a fitted model reach them: results and models never import the
presentation layer, the presentation layer imports them.

Views (kind -> what it draws):

- ``"page"``: a standalone page: a model's report (``model.to_html(X_examples)``),
  an :class:`~glasstext.explain.Attribution` (``attribution.to_html()``), any
  other result (:func:`result_page`);
- ``"fragment"``: the same as one ``<div>`` for a notebook, its styles scoped to
  it (``_repr_html_()``; for a result other than an attribution, ``to_html()``);
- ``"save"`` and ``"plot"``: an attribution written to a file, a matplotlib chart.

Each report module draws a subject once (a heading and a body) and one
:class:`~glasstext.report.page.Views` makes both its page and its fragment.
``"html"`` is the deprecated name of ``"page"`` for models and attributions and
of ``"fragment"`` for the other results.

:func:`shade_text` (words shaded by score, accessible colours) is the one
shading function, shared with the explorer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from glasstext.explain.attribution import Attribution, ProxyReport
from glasstext.explain.audit import LMAudit
from glasstext.explain.iprompt import DatasetExplanation, PromptCandidate
from glasstext.explain.metrics import Faithfulness
from glasstext.explain.sasc import ConceptExplanation, ModuleExplanation
from glasstext.explain.summaries import ClassSummary, ModelSummary
from glasstext.markup import escape
from glasstext.models.auglinear import AugLinearClassifier, AugLinearRegressor, LinearExplanation
from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor, TreeExplanation
from glasstext.models.base import GlassModel
from glasstext.models.protolm import ProtoExplanation, ProtoLMClassifier
from glasstext.report.audit import AUDIT_VIEWS
from glasstext.report.html import (
    ATTRIBUTION_VIEWS,
    FAITHFULNESS_VIEWS,
    PROXY_REPORT_VIEWS,
    attribution_fragment,
    attribution_html,
    base_value_meaning,
    save_html,
)
from glasstext.report.linear import (
    AUGLINEAR_VIEWS,
    LINEAR_EXPLANATION_VIEWS,
    auglinear_html,
    linear_word_scores,
)
from glasstext.report.page import Views, page
from glasstext.report.plots import plot_attribution
from glasstext.report.proto import PROTO_EXPLANATION_VIEWS, PROTOLM_VIEWS, protolm_html
from glasstext.report.shading import SHADING_CSS, contrast_ratio, shade, shade_text
from glasstext.report.tree import AUGTREE_VIEWS, TREE_EXPLANATION_VIEWS, augtree_html, tree_svg
from glasstext.report.words import WORDS_VIEWS
from glasstext.results import register_view, view

__all__ = [
    "SHADING_CSS",
    "attribution_fragment",
    "attribution_html",
    "auglinear_html",
    "augtree_html",
    "base_value_meaning",
    "contrast_ratio",
    "linear_word_scores",
    "model_report",
    "plot_attribution",
    "protolm_html",
    "result_page",
    "save_html",
    "save_report",
    "shade",
    "shade_text",
    "tree_svg",
]


def model_report(model: Any, X_examples: Any = None, **options: Any) -> str:
    """The standalone report page of a fitted glasstext model (``model.to_html``)."""
    return str(model.to_html(X_examples, **options))


def save_report(
    model: Any, path: str | os.PathLike[str], X_examples: Any = None, **options: Any
) -> Path:
    """Write :func:`model_report` to ``path``; returns the path."""
    return Path(model.save_html(path, X_examples, **options))


def result_page(result: Any, title: str | None = None) -> str:
    """Any result as a standalone page (its ``"page"`` view, else its ``to_html()`` in a page)."""
    try:
        return str(view(result, "page", title=title))
    except LookupError:
        heading = title or type(result).__name__
        return page(heading, f"<h1>{escape(heading)}</h1>\n{result.to_html()}")


def _draw_generic_model(
    model: Any, X_examples: Any = None, *, title: str | None = None, **_: Any
) -> tuple[str, str]:
    """Any other model: its whole text (``export_text``)."""
    return title or type(model).__name__, f"<pre>{escape(model.export_text())}</pre>"


def _register(subject_type: type, views: Views) -> None:
    register_view(subject_type, "page", views.page)
    register_view(subject_type, "fragment", views.fragment)


def _old_html_view(subject: Any, **options: Any) -> Any:
    """The deprecated kind "html": a page for a model or an attribution, else a fragment."""
    kind = "page" if isinstance(subject, GlassModel | Attribution) else "fragment"
    return view(subject, kind, **options)


_register(GlassModel, Views(_draw_generic_model, "report"))
for _model, _views in (
    (AugLinearClassifier, AUGLINEAR_VIEWS),
    (AugLinearRegressor, AUGLINEAR_VIEWS),
    (AugTreeClassifier, AUGTREE_VIEWS),
    (AugTreeRegressor, AUGTREE_VIEWS),
    (ProtoLMClassifier, PROTOLM_VIEWS),
):
    _register(_model, _views)

_register(Attribution, ATTRIBUTION_VIEWS)
register_view(Attribution, "save", save_html)
register_view(Attribution, "plot", plot_attribution)
_register(ProxyReport, PROXY_REPORT_VIEWS)
_register(Faithfulness, FAITHFULNESS_VIEWS)
_register(LinearExplanation, LINEAR_EXPLANATION_VIEWS)
_register(TreeExplanation, TREE_EXPLANATION_VIEWS)
_register(ProtoExplanation, PROTO_EXPLANATION_VIEWS)
_register(LMAudit, AUDIT_VIEWS)
for _result in (
    ModuleExplanation,
    ConceptExplanation,
    DatasetExplanation,
    PromptCandidate,
    ModelSummary,
    ClassSummary,
):
    _register(_result, WORDS_VIEWS)
register_view(object, "html", _old_html_view)
