"""The frame every report shares: one stylesheet, a standalone page and a notebook fragment.

Every report module draws a subject once, as a heading and a body
(:data:`Drawing`); :class:`Views` turns that one drawing into both views a
subject has: ``page`` (a standalone HTML document) and ``fragment`` (one
``<div>`` for a notebook). A page has no external assets (inline CSS and SVG, no scripts, fonts or
images to fetch) and every piece of text is HTML-escaped by the views, so it
opens anywhere offline and a text cannot inject markup. The stylesheet is
scoped to ``.gt``, so a fragment in a notebook leaves the notebook's own
styles alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glasstext.markup import escape
from glasstext.report.shading import SHADING_CSS

__all__ = [
    "STYLE",
    "Drawing",
    "Views",
    "as_text",
    "fragment",
    "kv_table",
    "page",
    "section",
    "write_page",
]

STYLE = """
.gt { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a;
      line-height: 1.5; max-width: 60em; }
.gt h1 { font-size: 1.35em; margin: 0.2em 0 0.3em; }
.gt h2 { font-size: 1.1em; margin: 1.4em 0 0.4em; border-bottom: 1px solid #e3e3e3;
         padding-bottom: 0.2em; }
.gt h3 { font-size: 1em; margin: 1em 0 0.3em; }
.gt p.lead, .gt p.note { color: #444; margin: 0.3em 0 0.6em; }
.gt p.note { font-size: 0.9em; }
.gt .text { font-size: 1.08em; line-height: 2.1; border: 1px solid #d6d6d6; border-radius: 6px;
            padding: 0.6em 0.9em; white-space: pre-wrap; overflow-wrap: anywhere;
            margin: 0.3em 0; }
.gt .legend span { padding: 0.1em 0.5em; border-radius: 3px; margin-right: 0.6em; }
.gt .key { color: #000; }
.gt .key.light { color: #fff; }
.gt details.as-text pre { white-space: pre-wrap; font-size: 0.88em; background: #f7f7f7;
                          padding: 0.6em; border-radius: 4px; }
.gt table { border-collapse: collapse; margin: 0.4em 0; }
.gt td, .gt th { padding: 0.2em 0.8em 0.2em 0; border-bottom: 1px solid #eee;
                 text-align: left; vertical-align: top; }
.gt th { font-weight: 600; color: #333; }
.gt td.num, .gt th.num { text-align: right; font-variant-numeric: tabular-nums; }
.gt table.meta td:first-child { color: #555; white-space: nowrap; }
.gt .cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.gt .card { border: 1px solid #d6d6d6; border-radius: 6px; padding: 0.6em 0.8em;
            flex: 1 1 24em; min-width: 16em; }
.gt .tag { display: inline-block; border-radius: 3px; padding: 0 0.45em; font-size: 0.88em;
           background: #eef1f5; color: #1a1a1a; margin-right: 0.3em; }
.gt .tag.pos { background: #dbe8f5; }
.gt .tag.neg { background: #f5dadd; }
.gt figure { margin: 0.4em 0 0.8em; }
.gt figcaption { color: #444; font-size: 0.9em; }
.gt svg { max-width: 100%; height: auto; }
.gt svg text { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
.gt ul.plain { padding-left: 1.1em; margin: 0.2em 0; }
.gt .quote { font-style: italic; }
.gt .good { color: #1b5e20; }
.gt .bad { color: #8e1b1b; }
""" + SHADING_CSS.replace("\n.w", "\n.gt .w")

_PAGE_BODY = "body { margin: 2em auto; max-width: 62em; padding: 0 1em; background: #fff; }"


def page(title: str, body: str) -> str:
    """A complete standalone HTML page titled ``title`` around the (already escaped) ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_PAGE_BODY}{STYLE}</style>\n</head>\n<body>\n"
        f'<main class="gt">\n{body}</main>\n</body>\n</html>\n'
    )


def fragment(kind: str, body: str) -> str:
    """``body`` as one ``<div class="glasstext-KIND">`` for a notebook, its styles inside it."""
    return (
        f'<div class="glasstext-{kind}">\n<style>{STYLE}</style>\n'
        f'<div class="gt">\n{body}</div></div>\n'
    )


#: ``draw(subject, title=None, **options) -> (heading, body)``: a subject drawn once,
#: its heading (``title`` when given) and its escaped HTML body without the heading.
Drawing = Callable[..., tuple[str, str]]


@dataclass(frozen=True)
class Views:
    """The page view and the fragment view of one kind of subject, both from one drawing.

    Parameters
    ----------
    draw : Drawing
        Draws the subject: ``(heading, body)``.
    kind : str
        The fragment's class, ``glasstext-KIND`` (``"report"`` for a model,
        ``"result"`` for a result).
    copyable : bool, default=False
        The fragment ends with the subject's terminal text (``str``), folded
        away, for copying into a message.
    """

    draw: Drawing
    kind: str
    copyable: bool = False

    def page(self, subject: Any, *args: Any, **options: Any) -> str:
        """The subject as a standalone page, its heading as the ``<h1>`` (arguments: ``draw``'s)."""
        heading, body = self.draw(subject, *args, **options)
        return page(heading, f"<h1>{escape(heading)}</h1>\n{body}")

    def fragment(self, subject: Any, *args: Any, **options: Any) -> str:
        """The subject as one ``<div>`` for a notebook, its styles scoped to it."""
        heading, body = self.draw(subject, *args, **options)
        copy = as_text(subject) if self.copyable else ""
        return fragment(self.kind, f"<h1>{escape(heading)}</h1>\n{body}{copy}")


def as_text(result: object) -> str:
    """The result's terminal text (``str``), folded away, for copying into a message."""
    return (
        '<details class="as-text"><summary>as text</summary>'
        f"<pre>{escape(str(result))}</pre></details>\n"
    )


def write_page(html: str, path: str | os.PathLike[str]) -> Path:
    """Write ``html`` to ``path`` as UTF-8 (missing parent folders created); returns the path."""
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def section(title: str, *parts: str, note: str | None = None) -> str:
    """An ``<h2>`` section: its heading, an optional explanatory note, then ``parts``."""
    lead = f'<p class="note">{escape(note)}</p>\n' if note else ""
    return f"<section>\n<h2>{escape(title)}</h2>\n{lead}{''.join(parts)}</section>\n"


def kv_table(rows: Sequence[tuple[str, str]], css: str = "meta") -> str:
    """A two-column table of (name, value) rows, both escaped."""
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{css}">{cells}</table>\n'
