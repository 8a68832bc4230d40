"""The optional parts of glasstext (pip extras), checked in one place.

The core install loads, predicts with, explains, reports and serves fitted
table models (Aug-Linear, Aug-Tree): table lookups and string matching, no
deep-learning stack. Encoders and local language models need the ``lm``
extra (torch and transformers): fitting Aug-Linear, Aug-Tree's phrase
expansions, Proto-LM, fine-tuning, the explainers' local LMs. Each of those
paths calls :func:`require_extra` before it resolves or loads anything, so a
core install stops with one line naming the extra to install
(:class:`~glasstext.exceptions.MissingExtraError`; the CLI exits 2) instead of
a ``ModuleNotFoundError`` deep inside a fit, or a request to install a model
carrier it could not use anyway.

The check never imports the packages: it only looks them up.
"""

from __future__ import annotations

import importlib.util
import sys

from glasstext.exceptions import MissingExtraError

__all__ = ["EXTRAS", "missing_modules", "require_extra"]

#: extra -> the import names it must provide (pyproject.toml lists its packages)
EXTRAS: dict[str, tuple[str, ...]] = {"lm": ("torch", "transformers")}

#: extra -> what it is for, as the error message says it
_FOR = {"lm": "an encoder or a local language model"}


def _installed(module: str) -> bool:
    if module in sys.modules:  # imported already, or blocked (None) on purpose
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def missing_modules(extra: str) -> tuple[str, ...]:
    """The import names of ``extra`` that are not installed (empty when all are)."""
    return tuple(m for m in EXTRAS[extra] if not _installed(m))


def require_extra(extra: str, what: str | None = None) -> None:
    """Raise :class:`~glasstext.exceptions.MissingExtraError` unless ``extra`` is installed.

    Parameters
    ----------
    extra : str
        A key of :data:`EXTRAS` (``"lm"``).
    what : str, optional
        What needs it, singular, as the message starts (default: what the
        extra is for).

    Raises
    ------
    glasstext.exceptions.MissingExtraError
        One line: what needs the extra, the packages missing, the pip command.
    """
    missing = missing_modules(extra)
    if not missing:
        return
    names = " and ".join(missing)
    raise MissingExtraError(
        f"{what or _FOR[extra]} needs {names}, which the core install "
        f"leaves out: pip install 'glasstext[{extra}]' (saved Aug-Linear and Aug-Tree "
        "models predict, report and serve without it)",
        extra=extra,
        missing=missing,
    )
