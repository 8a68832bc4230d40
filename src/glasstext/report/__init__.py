"""Presentation of results: standalone HTML views and matplotlib charts.

Importing this package registers its views with :func:`glasstext.results.register_view`,
which is how a result's ``to_html()`` / ``save_html()`` / ``plot()`` reach them:
results never import the presentation layer, the presentation layer imports them.
"""

from __future__ import annotations

from glasstext.explain.attribution import Attribution
from glasstext.report.html import attribution_fragment, attribution_html, save_html
from glasstext.report.plots import plot_attribution
from glasstext.report.shading import SHADING_CSS, contrast_ratio, shade, shade_text
from glasstext.results import register_view

__all__ = [
    "SHADING_CSS",
    "attribution_fragment",
    "attribution_html",
    "contrast_ratio",
    "plot_attribution",
    "save_html",
    "shade",
    "shade_text",
]

register_view(Attribution, "html", attribution_html)
register_view(Attribution, "fragment", attribution_fragment)
register_view(Attribution, "save", save_html)
register_view(Attribution, "plot", plot_attribution)
