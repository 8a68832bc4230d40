"""Small inline SVG charts, drawn by hand: crisp at any zoom, no plotting library, no assets.

Every chart is an ``<svg role="img">`` with a ``<title>`` naming what it
shows, and every mark has a ``<title>`` tooltip with its exact value, so a
screen reader and a mouse both get the numbers. All text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glasstext.markup import escape
from glasstext.report.shading import NEGATIVE, POSITIVE

__all__ = [
    "CLASS_COLOURS",
    "class_colour",
    "class_mix",
    "diverging_bars",
    "histogram",
    "line_chart",
]

#: Okabe-Ito colours, distinguishable with colour-blindness, for classes in order
CLASS_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_POS = "#{:02x}{:02x}{:02x}".format(*POSITIVE)
_NEG = "#{:02x}{:02x}{:02x}".format(*NEGATIVE)
_CHAR = 6.6  # average width of a 12px system-ui character, for laying out labels
_FONT = 'font-size="12"'


def class_colour(index: int) -> str:
    """The colour of the class at ``index``."""
    return CLASS_COLOURS[index % len(CLASS_COLOURS)]


def _svg(width: float, height: float, title: str, body: str, css: str = "chart") -> str:
    return (
        f'<svg class="{css}" role="img" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _clip(label: str, n: int) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _fmt(value: float) -> str:
    return f"{value:+.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:+.2e}"


def diverging_bars(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 640,
    bar_height: int = 20,
    max_label: int = 30,
    tooltips: Sequence[str] | None = None,
) -> str:
    """Horizontal bars from a zero line: positive values blue (right), negative red (left).

    Parameters
    ----------
    rows : sequence of (label, value)
        In the order drawn, top first.
    title : str
        What the chart shows (the SVG's accessible name).
    tooltips : sequence of str, optional
        A tooltip per bar (default: label and value).
    """
    values = np.array([float(v) for _, v in rows], dtype=np.float64)
    label_w = min(max((len(_clip(str(r[0]), max_label)) for r in rows), default=4), max_label)
    left = 12 + label_w * _CHAR + 46  # labels, then room for a negative bar's value
    right_pad = 56
    plot_w = max(width - left - right_pad, 120)
    has_neg = bool((values < 0).any())
    has_pos = bool((values > 0).any())
    span = float(np.abs(values).max()) if values.size and np.abs(values).max() > 0 else 1.0
    if has_neg and has_pos:
        zero, unit = left + plot_w / 2, (plot_w / 2) / span
    elif has_neg:
        zero, unit = left + plot_w, plot_w / span
    else:
        zero, unit = left, plot_w / span
    top = 8
    height = top + len(rows) * bar_height + 10
    parts = []
    for i, (label, value) in enumerate(rows):
        y = top + i * bar_height
        v = float(value)
        x0, x1 = sorted((zero, zero + v * unit))
        colour = _POS if v > 0 else _NEG
        tip = tooltips[i] if tooltips is not None else f"{label}: {v:+.4f}"
        parts.append(
            f'<text x="{left - 54:.1f}" y="{y + bar_height * 0.68:.1f}" text-anchor="end" '
            f'{_FONT} fill="#1a1a1a">{escape(_clip(str(label), max_label))}</text>'
            f'<rect x="{x0:.1f}" y="{y + 3:.1f}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{bar_height - 6}" fill="{colour}"><title>{escape(tip)}</title></rect>'
        )
        tx, anchor = (x1 + 4, "start") if v >= 0 else (x0 - 4, "end")
        if v < 0 and has_pos:  # the value sits inside the label-free half
            tx, anchor = x0 - 4, "end"
        parts.append(
            f'<text x="{tx:.1f}" y="{y + bar_height * 0.68:.1f}" text-anchor="{anchor}" '
            f'font-size="11" fill="#333">{escape(_fmt(v))}</text>'
        )
    parts.append(
        f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{height - 6}" '
        'stroke="#555" stroke-width="1"/>'
    )
    return _svg(width, height, title, "".join(parts))


def histogram(
    values: Sequence[float] | np.ndarray,
    *,
    title: str,
    xlabel: str,
    bins: int = 40,
    width: int = 640,
    height: int = 220,
    log_counts: bool = False,
) -> str:
    """Counts of ``values`` in equal-width bins; negative bins red, positive blue."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return _svg(width, 40, title, f'<text x="8" y="24" {_FONT}>no values</text>')
    counts, edges = np.histogram(v, bins=bins)
    shown = np.log10(counts + 1.0) if log_counts else counts.astype(np.float64)
    left, right, top, bottom = 48, 12, 10, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = float(shown.max()) or 1.0
    lo, hi = float(edges[0]), float(edges[-1])
    extent = hi - lo or 1.0

    def x_of(value: float) -> float:
        return left + (value - lo) / extent * plot_w

    parts = []
    for c, s, a, b in zip(counts, shown, edges[:-1], edges[1:], strict=True):
        h = s / peak * plot_h
        mid = (a + b) / 2
        colour = _NEG if mid < 0 else _POS
        parts.append(
            f'<rect x="{x_of(a) + 0.5:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(x_of(b) - x_of(a) - 1, 0.5):.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{int(c)} values in [{a:+.3g}, {b:+.3g})</title></rect>"
        )
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#555"/>')
    ticks = [lo, hi] + ([0.0] if lo < 0 < hi else [])
    for t in ticks:
        parts.append(
            f'<line x1="{x_of(t):.1f}" y1="{base}" x2="{x_of(t):.1f}" y2="{base + 4}" '
            f'stroke="#555"/><text x="{x_of(t):.1f}" y="{base + 16}" text-anchor="middle" '
            f'font-size="11" fill="#333">{escape(f"{t:+.3g}")}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" {_FONT} '
        f'fill="#1a1a1a">{escape(xlabel)}</text>'
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11" fill="#333">'
        f"{int(counts.max())}</text>"
        f'<text x="{left - 6}" y="{base}" text-anchor="end" font-size="11" fill="#333">0</text>'
        f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="11" '
        f'fill="#333" transform="rotate(-90 12 {top + plot_h / 2:.1f})">'
        f"{'count (log scale)' if log_counts else 'count'}</text>"
    )
    return _svg(width, height, title, "".join(parts))


def line_chart(
    series: Sequence[tuple[str, Sequence[float], Sequence[float], str]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    ylim: tuple[float, float] = (0.0, 1.0),
    width: int = 520,
    height: int = 260,
) -> str:
    """Lines with points, one per ``(name, xs, ys, colour)``, xs in [0, 1], with a legend."""
    left, right, top, bottom = 52, 16, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    height += 16 * len(series) + 8  # room for the legend
    y0, y1 = ylim
    extent = (y1 - y0) or 1.0

    def pt(x: float, y: float) -> tuple[float, float]:
        return left + x * plot_w, top + plot_h - (min(max(y, y0), y1) - y0) / extent * plot_h

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>'
    ]
    for frac in (0.0, 0.5, 1.0):
        x, _ = pt(frac, y0)
        yv = y0 + frac * extent
        _, y = pt(0, yv)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
            f'fill="#333">{frac:.0%}</text>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{yv:.2g}</text>'
        )
    for k, (name, xs, ys, colour) in enumerate(series):
        points = [pt(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        dash = ' stroke-dasharray="6 3"' if k % 2 else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.2"{dash}>'
            f"<title>{escape(name)}</title></polyline>"
        )
        for (px, py), x, y in zip(points, xs, ys, strict=True):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.6" fill="{colour}">'
                f"<title>{escape(name)}: {float(x):.0%} of words, {float(y):.3f}</title></circle>"
            )
        ly = top + plot_h + 54 + 16 * k  # the legend sits below the axis title
        parts.append(
            f'<line x1="{left}" y1="{ly - 4}" x2="{left + 24}" y2="{ly - 4}" stroke="{colour}" '
            f'stroke-width="2.2"{dash}/><text x="{left + 30}" y="{ly}" font-size="11" '
            f'fill="#1a1a1a">{escape(name)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 36}" text-anchor="middle" {_FONT} '
        f'fill="#1a1a1a">{escape(xlabel)}</text>'
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" {_FONT} fill="#1a1a1a" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{escape(ylabel)}</text>'
    )
    return _svg(width, height, title, "".join(parts))


def class_mix(
    fractions: Sequence[float],
    labels: Sequence[Any],
    *,
    x: float,
    y: float,
    width: float,
    height: float = 10,
) -> str:
    """An SVG group: one bar split by class share (no ``<svg>`` wrapper, for diagrams)."""
    parts = []
    pos = x
    total = float(sum(fractions)) or 1.0
    for i, (f, label) in enumerate(zip(fractions, labels, strict=True)):
        w = float(f) / total * width
        if w <= 0:
            continue
        parts.append(
            f'<rect x="{pos:.1f}" y="{y:.1f}" width="{w:.1f}" height="{height}" '
            f'fill="{class_colour(i)}"><title>{escape(str(label))}: {float(f):.0%}</title></rect>'
        )
        pos += w
    return f'<g class="mix">{"".join(parts)}</g>'
