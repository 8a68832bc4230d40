"""Word shading with readable text: colours whose contrast with the text stays >= 4.5:1.

A score is shown as a background between white (score 0) and a full colour
(the largest ``|score|`` on the page): blue for evidence toward the explained
class, orange for evidence against it (a pair told apart with every common
colour-vision deficiency). Both full colours are light enough that the page's
text colour keeps a WCAG contrast ratio of at least 4.5:1 on them, and every
shade in between is lighter still, so every shaded word stays readable.
"""

from __future__ import annotations

import math

__all__ = [
    "AGAINST",
    "TEXT_COLOR",
    "TOWARD",
    "contrast_ratio",
    "hex_color",
    "relative_luminance",
    "shade",
]

#: Text colour of shaded words (near-black slate).
TEXT_COLOR = (17, 24, 39)
#: Full shade of evidence toward the explained class (blue).
TOWARD = (120, 170, 240)
#: Full shade of evidence against it (orange).
AGAINST = (247, 160, 90)


def _channel(value: int) -> float:
    """One sRGB channel (0-255) in linear light, as WCAG 2 defines it."""
    c = value / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black, 1 white)."""
    r, g, b = (_channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hex_color(rgb: tuple[int, int, int]) -> str:
    """``(r, g, b)`` as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def shade(score: float, scale: float) -> tuple[int, int, int]:
    """The background of a word with ``score`` when the largest ``|score|`` is ``scale``.

    Parameters
    ----------
    score : float
        Positive: toward the explained class (blue); negative: against it (orange).
    scale : float
        The magnitude that gets the full colour; larger scores are clipped to it.
        A zero or invalid scale (no evidence at all) gives white.

    Returns
    -------
    tuple of int
        An sRGB colour, white blended with the full colour by ``|score| / scale``.
    """
    if not (math.isfinite(score) and math.isfinite(scale)) or scale <= 0:
        return (255, 255, 255)
    strength = min(abs(score) / scale, 1.0)
    full = TOWARD if score > 0 else AGAINST
    return (
        round(255 + (full[0] - 255) * strength),
        round(255 + (full[1] - 255) * strength),
        round(255 + (full[2] - 255) * strength),
    )
