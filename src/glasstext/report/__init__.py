"""Presentation of results: standalone HTML views and matplotlib charts."""

from __future__ import annotations

from glasstext.report.html import attribution_fragment, attribution_html, save_html
from glasstext.report.plots import plot_attribution

__all__ = ["attribution_fragment", "attribution_html", "plot_attribution", "save_html"]
