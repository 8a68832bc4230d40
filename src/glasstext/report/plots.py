"""A matplotlib bar chart of an attribution (matplotlib is imported only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from glasstext.explain.attribution import Attribution

__all__ = ["plot_attribution"]

_POSITIVE = "#2166ac"
_NEGATIVE = "#b2182b"


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plotting needs matplotlib: pip install glasstext[plot] (or pip install matplotlib)"
        ) from exc
    return plt


def plot_attribution(attribution: Attribution, top: int | None = 20, ax: Any = None) -> Any:
    """Horizontal bars of the scores, largest ``|score|`` at the top.

    Parameters
    ----------
    attribution : Attribution
    top : int or None, default=20
        Show the ``top`` units of largest ``|score|`` (``None``: all, in text order).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install glasstext[plot]``).
    """
    plt = _pyplot()
    if top is None:
        order = np.arange(len(attribution))[::-1]
    else:
        order = np.argsort(-np.abs(attribution.scores), kind="stable")[: max(top, 1)][::-1]
    labels = [f"{attribution.words[i]} ({i})" for i in order]
    values = attribution.scores[order]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.35 * len(order) + 1.2))
    colors = [_POSITIVE if v > 0 else _NEGATIVE for v in values]
    ax.barh(np.arange(len(order)), values, color=colors)
    ax.set_yticks(np.arange(len(order)))
    ax.set_yticklabels(labels)
    ax.axvline(0.0, color="#444", linewidth=0.8)
    name = (
        attribution.class_name
        if attribution.class_name is not None
        else str(attribution.explained_class)
    )
    ax.set_xlabel(f"score toward {name!r}")
    ax.set_title(
        f"{attribution.method}: p={attribution.value:.3f}, base={attribution.base_value:.3f}"
    )
    return ax
