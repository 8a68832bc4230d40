"""The result protocol: what every explanation, report and summary offers a reader.

Every result glasstext returns (an Aug-Linear :class:`LinearExplanation`, an
Aug-Tree decision path, a Proto-LM explanation, an :class:`Attribution`, a
proxy report, the explanations in words) implements :class:`Result`:

- ``to_dict(top=None)``: a JSON-ready dict (numbers as Python floats,
  non-finite values as ``None``); ``top`` keeps at most that many entries of
  the result's ranked list (contributions, words, prototypes, ...), and is
  ignored by results without one;
- ``str(result)``: a readable text for a terminal;
- ``to_html()``: a fragment of HTML for a notebook or a report page (an
  :class:`~glasstext.explain.Attribution`'s is a standalone page).

:class:`ResultMixin` gives a dataclass the shared parts (``to_json``, a plain
``to_html`` built from ``__str__`` that richer results override, and
``_repr_html_`` so notebooks show the HTML); a result then writes only its
``to_dict`` and ``__str__``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from glasstext._deprecation import warn_renamed
from glasstext.markup import escape

__all__ = ["Result", "ResultMixin", "register_view", "view"]

# (result type, kind of view) -> the function that draws it. The presentation
# layer (glasstext.report) registers its views here, so results never import it.
_VIEWS: dict[tuple[type, str], Callable[..., Any]] = {}


def register_view(result_type: type, kind: str, draw: Callable[..., Any]) -> None:
    """Let ``view(result, kind)`` draw results of ``result_type`` (and subclasses) with ``draw``.

    Kinds in use: ``"page"`` (a standalone page), ``"fragment"`` (an HTML block
    for a notebook, its styles scoped to it), ``"save"`` (a page written to a
    file), ``"plot"`` (a chart).
    """
    _VIEWS[(result_type, kind)] = draw


def view(result: Any, kind: str, **options: Any) -> Any:
    """Draw ``result`` as ``kind`` with the registered view of its type.

    ``kind="html"`` is the deprecated name of ``"page"`` for models and
    attributions and of ``"fragment"`` for every other result.

    Raises
    ------
    LookupError
        No view of that kind is registered for the result's type.
    """
    if kind == "html":
        warn_renamed('the view kind "html"', '"page" (a standalone page) or "fragment"')
    importlib.import_module("glasstext.report")  # presentation registers its views on import
    for klass in type(result).__mro__:
        if (klass, kind) in _VIEWS:
            return _VIEWS[(klass, kind)](result, **options)
    raise LookupError(f"no {kind!r} view is registered for {type(result).__name__}")


@runtime_checkable
class Result(Protocol):
    """What every glasstext result offers (see the module notes)."""

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict; ``top`` bounds the result's ranked list."""
        ...

    def to_html(self) -> str:
        """An HTML fragment showing the result."""
        ...


class ResultMixin:
    """Shared pieces of the result protocol; subclasses write ``to_dict`` and ``__str__``."""

    def to_dict(self, top: int | None = None) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_json(self, top: int | None = None, **kwargs: Any) -> str:
        """``to_dict(top)`` as a JSON string (``kwargs`` go to :func:`json.dumps`)."""
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(top), **kwargs)

    def to_html(self) -> str:
        """The registered fragment view of this result, or its terminal text in a ``<pre>``."""
        try:
            return str(view(self, "fragment"))
        except LookupError:
            return f'<pre class="glasstext-result">{escape(str(self))}</pre>'

    def _repr_html_(self) -> str:
        return self.to_html()


def limit(items: list[Any], top: int | None) -> list[Any]:
    """The first ``top`` items (all of them for ``None``)."""
    return items if top is None else items[: max(int(top), 0)]
