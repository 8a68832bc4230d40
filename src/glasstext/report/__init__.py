"""Presentation of results and models: standalone HTML reports, notebook views, charts.

Importing this package registers its views with :func:`glasstext.results.register_view`,
which is how ``to_html()`` / ``save_html()`` / ``_repr_html_()`` / ``plot()`` of a
result or a fitted model reach them: results and models never import the
presentation layer, the presentation layer imports them.

Views (kind -> what it draws):

- ``"html"``: for a model, a standalone report page (``model.to_html(X_examples)``);
  for an :class:`~glasstext.explain.Attribution`, a standalone page; for every
  other result, a notebook fragment (``result.to_html()``);
- ``"fragment"``: a ``<div>`` for a notebook, its styles scoped to it;
- ``"page"``: a result as a standalone page (:func:`result_page`);
- ``"save"`` and ``"plot"``: an attribution written to a file, a matplotlib chart.

:func:`shade_text` (words shaded by score, accessible colours) is the one
shading function, shared with the explorer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from glasstext.explain.attribution import Attribution, ProxyReport
from glasstext.explain.iprompt import DatasetExplanation, PromptCandidate
from glasstext.explain.metrics import Faithfulness
from glasstext.explain.sasc import ConceptExplanation, ModuleExplanation
from glasstext.explain.summaries import ClassSummary, ModelSummary
from glasstext.markup import escape
from glasstext.models.auglinear import AugLinearClassifier, AugLinearRegressor, LinearExplanation
from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor, TreeExplanation
from glasstext.models.base import GlassModel
from glasstext.models.protolm import ProtoExplanation, ProtoLMClassifier
from glasstext.report.html import (
    attribution_fragment,
    attribution_html,
    base_value_meaning,
    faithfulness_fragment,
    faithfulness_page,
    proxy_fragment,
    proxy_page,
    save_html,
)
from glasstext.report.linear import (
    auglinear_fragment,
    auglinear_html,
    linear_explanation_html,
    linear_word_scores,
)
from glasstext.report.page import fragment, page
from glasstext.report.plots import plot_attribution
from glasstext.report.proto import proto_explanation_html, protolm_fragment, protolm_html
from glasstext.report.shading import SHADING_CSS, contrast_ratio, shade, shade_text
from glasstext.report.tree import augtree_fragment, augtree_html, tree_explanation_html, tree_svg
from glasstext.report.words import words_fragment, words_page
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
    """Any result as a standalone page (an attribution's own page for an Attribution)."""
    if isinstance(result, Attribution):
        return attribution_html(result, title=title)
    try:
        return str(view(result, "page", title=title))
    except LookupError:
        heading = title or type(result).__name__
        return page(heading, f"<h1>{escape(heading)}</h1>\n{result.to_html()}")


def _generic_model_page(
    model: Any, X_examples: Any = None, title: str | None = None, **_: Any
) -> str:
    heading = title or type(model).__name__
    return page(heading, f"<h1>{escape(heading)}</h1>\n<pre>{escape(model.export_text())}</pre>")


def _generic_model_fragment(model: Any, **_: Any) -> str:
    return fragment("report", f"<pre>{escape(model.export_text())}</pre>")


def _in_page(draw: Any, title: str) -> Any:
    """A fragment-drawing view as a standalone-page view."""

    def page_view(result: Any, title: str | None = None, **options: Any) -> str:
        heading = title or default
        return page(heading, f"<h1>{escape(heading)}</h1>\n{draw(result, **options)}")

    default = title
    return page_view


register_view(Attribution, "html", attribution_html)
register_view(Attribution, "fragment", attribution_fragment)
register_view(Attribution, "save", save_html)
register_view(Attribution, "plot", plot_attribution)

register_view(GlassModel, "html", _generic_model_page)
register_view(GlassModel, "fragment", _generic_model_fragment)
for _kind, _html, _fragment in (
    (AugLinearClassifier, auglinear_html, auglinear_fragment),
    (AugLinearRegressor, auglinear_html, auglinear_fragment),
    (AugTreeClassifier, augtree_html, augtree_fragment),
    (AugTreeRegressor, augtree_html, augtree_fragment),
    (ProtoLMClassifier, protolm_html, protolm_fragment),
):
    register_view(_kind, "html", _html)
    register_view(_kind, "fragment", _fragment)

register_view(ProxyReport, "html", proxy_fragment)
register_view(
    ProxyReport, "page", lambda r, title=None, **_: proxy_page(r, title or "Proxy report")
)
register_view(Faithfulness, "html", faithfulness_fragment)
register_view(
    Faithfulness,
    "page",
    lambda r, title=None, **_: faithfulness_page(r, title or "Faithfulness of an explanation"),
)
for _result in (
    ModuleExplanation,
    ConceptExplanation,
    DatasetExplanation,
    PromptCandidate,
    ModelSummary,
    ClassSummary,
):
    register_view(_result, "html", words_fragment)
    register_view(_result, "page", words_page)
_explanations: tuple[tuple[type, Any, str], ...] = (
    (LinearExplanation, linear_explanation_html, "Aug-Linear explanation"),
    (TreeExplanation, tree_explanation_html, "Aug-Tree decision path"),
    (ProtoExplanation, proto_explanation_html, "Proto-LM explanation"),
)
for _type, _draw, _title in _explanations:
    register_view(_type, "html", _draw)
    register_view(_type, "page", _in_page(_draw, _title))
