"""A standalone HTML view of an attribution: the text, its words shaded by score.

The page has no external assets (inline CSS, no scripts, no fonts or images
to fetch) and every piece of text is HTML-escaped, so it opens anywhere and a
text cannot inject markup. Blue words push toward the explained class, red
words away from it; the stronger the shade, the larger ``|score|`` relative to
the largest. Hovering a word shows its score.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from glasstext.report.shading import SHADING_CSS, shade, shade_text

if TYPE_CHECKING:
    from glasstext.explain.attribution import Attribution

__all__ = ["attribution_fragment", "attribution_html", "save_html"]


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 52em; color: #222; line-height: 1.5; padding: 0 1em; }
h1 { font-size: 1.3em; }
.text { font-size: 1.15em; line-height: 2.1; border: 1px solid #ddd; border-radius: 6px;
        padding: 1em; white-space: pre-wrap; word-wrap: break-word; }
.meta { color: #555; font-size: 0.92em; }
.meta td { padding: 0.1em 1em 0.1em 0; }
.legend span { padding: 0.1em 0.5em; border-radius: 3px; margin-right: 0.6em; }
table.top { border-collapse: collapse; margin-top: 0.5em; }
table.top td, table.top th { padding: 0.15em 0.8em; border-bottom: 1px solid #eee;
                             text-align: left; }
table.top td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""

# The same rules for a fragment in a notebook, scoped to its div (which takes
# the page's body rules, without the page margins).
_FRAGMENT_STYLE = """
.glasstext-attribution { font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
                         max-width: 52em; color: #222; line-height: 1.5; }
.glasstext-attribution h1 { font-size: 1.3em; }
.glasstext-attribution .text { font-size: 1.15em; line-height: 2.1; border: 1px solid #ddd;
        border-radius: 6px; padding: 1em; white-space: pre-wrap; word-wrap: break-word; }
.glasstext-attribution .glasstext-attribution .meta { color: #555; font-size: 0.92em; }
.glasstext-attribution .meta td { padding: 0.1em 1em 0.1em 0; }
.glasstext-attribution .legend span { padding: 0.1em 0.5em; border-radius: 3px;
                                      margin-right: 0.6em; }
.glasstext-attribution table.top { border-collapse: collapse; margin-top: 0.5em; }
.glasstext-attribution table.top td,
.glasstext-attribution table.top th { padding: 0.15em 0.8em; border-bottom: 1px solid #eee;
                                      text-align: left; }
.glasstext-attribution table.top td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _text_html(attribution: Attribution) -> str:
    return shade_text(attribution.text, attribution.spans, attribution.scores)


def _meta_rows(attribution: Attribution) -> list[tuple[str, str]]:
    a = attribution
    name = a.class_name if a.class_name is not None else str(a.explained_class)
    rows = [
        ("method", a.method + (" (word segments)" if a.grouped else "")),
        ("explained class", name),
        ("probability", f"{a.value:.4f}"),
        ("base value", f"{a.base_value:.4f}"),
        ("masking", "deletion" if a.mask_token is None else f"replaced by {a.mask_token!r}"),
        ("model calls", f"{a.n_calls} ({a.n_texts} distinct texts, {a.n_samples} samples)"),
    ]
    if a.proxy is not None:
        p = a.proxy
        rows.append(
            (
                "proxy decision",
                f"{p.decision}: agreement {p.agreement:.3f} vs threshold {p.threshold} "
                f"on {p.n_screened} screened texts; target calls {p.target_calls}, "
                f"proxy calls {p.proxy_calls}",
            )
        )
    return rows


def attribution_html(attribution: Attribution, title: str | None = None, top: int = 10) -> str:
    """A complete, standalone HTML page showing ``attribution``.

    Parameters
    ----------
    attribution : Attribution
    title : str, optional
        Page heading (default: the method and class).
    top : int, default=10
        Rows of the table of largest scores.

    Returns
    -------
    str
    """
    a = attribution
    heading = title if title is not None else _default_heading(a)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(heading)}</title>\n<style>{_STYLE}{SHADING_CSS}</style>\n</head>\n<body>\n"
        f"{_body_html(a, heading, top)}"
        "</body>\n</html>\n"
    )


def attribution_fragment(attribution: Attribution, title: str | None = None, top: int = 10) -> str:
    """The content of :func:`attribution_html` as one ``<div>``, for a notebook cell.

    Its styles apply inside the ``div`` only, so the notebook around it keeps its own.
    """
    heading = title if title is not None else _default_heading(attribution)
    return (
        f'<div class="glasstext-attribution">\n<style>{_FRAGMENT_STYLE}{SHADING_CSS}</style>\n'
        f"{_body_html(attribution, heading, top)}</div>\n"
    )


def _default_heading(a: Attribution) -> str:
    name = a.class_name if a.class_name is not None else str(a.explained_class)
    return f"Why the model says {name!r}"


def _body_html(a: Attribution, heading: str, top: int) -> str:
    """Heading, legend, shaded text, details and the table of largest scores."""
    name = a.class_name if a.class_name is not None else str(a.explained_class)
    meta = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in _meta_rows(a))
    rows = "".join(
        f'<tr><td>{escape(w)}</td><td class="num">{s:+.4f}</td></tr>' for w, s in a.top(top)
    )
    legend = (
        f'<p class="legend"><span style="background:{shade(1.0, 1.0)}">toward {escape(name)}'
        f'</span><span style="background:{shade(-1.0, 1.0)}">away from {escape(name)}</span></p>'
    )
    return (
        f"<h1>{escape(heading)}</h1>\n{legend}\n"
        f'<div class="text">{_text_html(a)}</div>\n'
        f'<table class="meta">{meta}</table>\n'
        f'<h2 style="font-size:1.05em">Largest scores</h2>\n'
        f'<table class="top"><tr><th>word</th><th>score</th></tr>{rows}</table>\n'
    )


def save_html(
    attribution: Attribution, path: str | os.PathLike[str], title: str | None = None
) -> Path:
    """Write :func:`attribution_html` to ``path`` as UTF-8 and return the path."""
    out = Path(path)
    out.write_text(attribution_html(attribution, title=title), encoding="utf-8")
    return out
