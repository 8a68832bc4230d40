"""Words shaded by a score: the one colour scale of every glasstext view.

:func:`shade_text` turns a text, the character spans of its words and one
score per word into escaped HTML where every word is a ``<span class="w">``
whose background says the sign (blue: toward, red: away) and size of its
score. The reports, the notebook views and the explorer all use it, so a
colour means the same everywhere. Include :data:`SHADING_CSS` in the page.

Readability: a shade's text colour is black or white, whichever contrasts
more with it (WCAG 2 contrast ratio, :func:`contrast_ratio`); with these two
hues the worse of the two choices is never taken and the better never falls
below 4.6:1, above the 4.5:1 guideline (a test checks every shade).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from glasstext.markup import escape

__all__ = [
    "MAX_ALPHA",
    "NEGATIVE",
    "POSITIVE",
    "SHADING_CSS",
    "blend",
    "contrast_ratio",
    "ink",
    "shade",
    "shade_rgb",
    "shade_text",
]

RGB = tuple[float, float, float]

#: toward the explained class (blue) and away from it (red)
POSITIVE: tuple[int, int, int] = (33, 102, 172)
NEGATIVE: tuple[int, int, int] = (178, 24, 43)
#: opacity of the strongest shade, over a white page
MAX_ALPHA = 0.8
_WHITE: RGB = (255.0, 255.0, 255.0)
_BLACK: RGB = (0.0, 0.0, 0.0)

#: rules the shaded spans need (plain selectors: they work in a page and a fragment)
SHADING_CSS = """
.w { border-radius: 3px; padding: 0.1em 0.05em; color: #000; }
.w[data-ink="light"] { color: #fff; }
"""


def _alpha(score: float, scale: float) -> float:
    if scale <= 0 or score == 0 or not np.isfinite(score):
        return 0.0
    return MAX_ALPHA * min(abs(score) / scale, 1.0)


def shade(score: float, scale: float) -> str:
    """CSS background of a word with ``score`` (``scale``: the largest ``|score|`` shown)."""
    alpha = _alpha(score, scale)
    if alpha == 0.0:
        return "transparent"
    r, g, b = POSITIVE if score > 0 else NEGATIVE
    return f"rgba({r}, {g}, {b}, {alpha:.3f})"


def blend(rgb: Sequence[float], alpha: float, under: Sequence[float] = _WHITE) -> RGB:
    """The colour ``rgb`` at opacity ``alpha`` painted over ``under`` (0-255 channels)."""
    r, g, b = (alpha * float(c) + (1.0 - alpha) * float(u) for c, u in zip(rgb, under, strict=True))
    return (r, g, b)


def shade_rgb(score: float, scale: float) -> RGB:
    """The opaque colour a reader sees for :func:`shade` on a white page."""
    hue = POSITIVE if score > 0 else NEGATIVE
    return blend(hue, _alpha(score, scale))


def _luminance(rgb: Sequence[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour with 0-255 channels."""
    channels = []
    for c in rgb:
        s = float(c) / 255.0
        channels.append(s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4)
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast_ratio(foreground: Sequence[float], background: Sequence[float]) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 to 21; 4.5 is the text guideline)."""
    a, b = _luminance(foreground), _luminance(background)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def ink(score: float, scale: float) -> str:
    """``"dark"`` or ``"light"``: the text colour that reads best on the word's shade."""
    background = shade_rgb(score, scale)
    dark = contrast_ratio(_BLACK, background)
    light = contrast_ratio(_WHITE, background)
    return "light" if light > dark else "dark"


def shade_text(
    text: str,
    spans: Sequence[tuple[int, int]],
    scores: Sequence[float] | np.ndarray,
    *,
    scale: float | None = None,
    titles: Sequence[str] | None = None,
) -> str:
    """``text`` as escaped HTML with every span shaded by its score.

    Parameters
    ----------
    text : str
    spans : sequence of (int, int)
        ``text[start:end]`` of each word, in order, not overlapping.
    scores : sequence of float
        One score per span: positive is blue (toward), negative red (away).
    scale : float, optional
        The ``|score|`` shown at full strength (default: the largest ``|score|``),
        so several texts can share one scale.
    titles : sequence of str, optional
        The tooltip of each word (default: its score, ``+0.1234``).

    Returns
    -------
    str
        HTML: the gaps between words escaped as they are, each word a
        ``<span class="w" data-i="INDEX" style="background:..." title="...">``
        (``data-ink="light"`` where white text reads better). Include
        :data:`SHADING_CSS` in the page.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(values) != len(spans):
        raise ValueError(f"{len(spans)} spans but {len(values)} scores")
    if titles is not None and len(titles) != len(spans):
        raise ValueError(f"{len(spans)} spans but {len(titles)} titles")
    finite = values[np.isfinite(values)]
    if scale is None:
        scale = float(np.abs(finite).max()) if finite.size else 0.0
    parts: list[str] = []
    pos = 0
    for i, ((start, end), score) in enumerate(zip(spans, values, strict=True)):
        if start < pos or end < start:
            raise ValueError(f"span {i} ({start}, {end}) overlaps or precedes the one before")
        parts.append(escape(text[pos:start]))
        title = titles[i] if titles is not None else f"{float(score):+.4f}"
        light = ' data-ink="light"' if ink(float(score), scale) == "light" else ""
        parts.append(
            f'<span class="w" data-i="{i}"{light} style="background:{shade(float(score), scale)}" '
            f'title="{escape(title)}">{escape(text[start:end])}</span>'
        )
        pos = end
    parts.append(escape(text[pos:]))
    return "".join(parts)
