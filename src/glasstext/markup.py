"""HTML escaping of user strings, with their bidirectional controls kept inside them.

A text or class label may hold Unicode bidi controls (U+202E RIGHT-TO-LEFT
OVERRIDE and its kin). Escaped with :func:`html.escape` alone, an unclosed
override reverses the rest of the sentence it is shown in. :func:`escape`
wraps such a string in FSI ... PDI, the plain-text form of HTML's ``<bdi>``,
and closes the isolates it leaves open, so its direction stays inside it. This
works in element text, attribute values and SVG alike; strings without bidi
controls come out exactly as :func:`html.escape` gives them.
"""

from __future__ import annotations

import html

__all__ = ["escape", "isolate_bidi"]

_EMBEDDINGS = frozenset("\u202a\u202b\u202c\u202d\u202e")  # LRE RLE PDF LRO RLO
_ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")  # LRI RLI FSI
_PDI = "\u2069"
_FSI = "\u2068"
_BIDI_CONTROLS = _EMBEDDINGS | _ISOLATE_OPENERS | {_PDI}


def _open_isolates(text: str) -> int:
    """How many isolates ``text`` opens without closing them."""
    depth = 0
    for ch in text:
        if ch in _ISOLATE_OPENERS:
            depth += 1
        elif ch == _PDI and depth:
            depth -= 1
    return depth


def isolate_bidi(text: str) -> str:
    """``text`` with any bidi control it holds kept from affecting what surrounds it.

    A closing PDI ends every embedding and override opened after its isolate
    began, so one PDI per isolate left open, plus the wrapper's own, suffices.
    """
    if not _BIDI_CONTROLS.intersection(text):
        return text
    return _FSI + text + _PDI * (_open_isolates(text) + 1)


def escape(text: str, quote: bool = True) -> str:
    """:func:`html.escape` of ``text``, its bidi controls isolated (see the module)."""
    return html.escape(isolate_bidi(text), quote)
