"""Renamed public names: the old name keeps working for one release, with a warning.

Every rename goes through :func:`warn_renamed`, so every old name says the
same thing: what replaces it, and that it goes in the next release.
:func:`renamed_parameters` renames keyword arguments,
:func:`renamed_attribute` attributes and :func:`renamed_module_attributes`
module-level names; all of them call it.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "renamed_attribute",
    "renamed_module_attributes",
    "renamed_parameters",
    "warn_renamed",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (a :class:`DeprecationWarning`).

    ``stacklevel=3`` points at the caller of the function that calls this one.
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_parameters(**renames: str) -> Callable[[_F], _F]:
    """Decorator: accept each old keyword (``old="new"``) as its new name, with a warning.

    Giving both the old and the new name is a :class:`TypeError`, as a
    repeated keyword argument is.
    """

    def decorate(func: _F) -> _F:
        owner = func.__qualname__.removesuffix(".__init__")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{owner}() got both {old}= and its new name {new}=")
                warn_renamed(f"{owner}({old}=...)", f"{new}=")
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_attribute(old: str, new: str) -> property:
    """A property ``old`` that reads (and sets) the attribute ``new``, with a warning."""

    def get(self: Any) -> Any:
        warn_renamed(f"{type(self).__name__}.{old}", f".{new}")
        return getattr(self, new)

    def set_(self: Any, value: Any) -> None:
        warn_renamed(f"{type(self).__name__}.{old}", f".{new}")
        setattr(self, new, value)

    return property(get, set_, doc=f"Deprecated name of ``{new}``.")


def renamed_module_attributes(module: str, **renames: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving each old name (``old="new"``) as the new one, warning.

    Use as ``__getattr__ = renamed_module_attributes(__name__, old="new")``.
    """

    def __getattr__(name: str) -> Any:
        if name not in renames:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warn_renamed(f"{module}.{name}", f"{module}.{renames[name]}")
        return getattr(sys.modules[module], renames[name])

    return __getattr__
