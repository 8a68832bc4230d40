"""Every error and warning glasstext raises on purpose, in one cheap-to-import place.

Each class also derives from the built-in exception a caller would expect
(``ValueError`` for a corrupt file, ``ImportError`` for a missing carrier
package, ``RuntimeError`` for a failing language model), so existing
``except`` clauses keep working. :class:`GlasstextError` is their common base:
``except GlasstextError`` catches exactly the failures glasstext reports.

The modules that raise them re-export them under their historical names
(``glasstext.io.ModelFileError`` is this ``ModelFileError``).
"""

from __future__ import annotations

__all__ = [
    "CacheDamagedError",
    "CacheUnavailableWarning",
    "ExplanationError",
    "GlasstextError",
    "InvalidParameterError",
    "LMResponseError",
    "LMServerError",
    "LengthShiftWarning",
    "LogprobsUnsupportedError",
    "MissingCarrierError",
    "MissingExtraError",
    "ModelFileError",
    "NoWordsWarning",
    "UnknownModelError",
    "UnseenNgramWarning",
]


class GlasstextError(Exception):
    """Base of every error glasstext raises on purpose."""


class InvalidParameterError(GlasstextError, ValueError, TypeError):
    """A parameter has a value or type its constraints do not allow.

    Both a ``ValueError`` and a ``TypeError``, as in scikit-learn, so callers
    that catch either keep working.
    """


class ModelFileError(GlasstextError, ValueError):
    """A saved model is missing, corrupt, or not the kind of model expected."""


class UnknownModelError(GlasstextError, ValueError):
    """A model name that is no alias, no local folder and cannot be fetched.

    The message lists the offline aliases and says what works offline.
    """


class MissingCarrierError(GlasstextError, ImportError):
    """An offline alias whose carrier package is not installed (the message says how)."""


class MissingExtraError(GlasstextError, ImportError):
    """A feature whose optional dependencies (an extra, e.g. ``lm``) are not installed.

    The message is one line naming the extra to install; :attr:`extra` holds
    its name and :attr:`missing` the packages that were not found.
    """

    def __init__(self, message: str, *, extra: str = "", missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.extra = extra
        self.missing = missing


class LMServerError(GlasstextError, RuntimeError):
    """A request to a language-model server failed.

    Attributes
    ----------
    url : str
        The URL requested (without any user name or password).
    status : int or None
        The HTTP status, when the server answered with one.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class LMResponseError(LMServerError):
    """The server answered, but not with the JSON the protocol specifies."""


class LogprobsUnsupportedError(LMServerError, NotImplementedError):
    """The server does not return the log-probabilities of prompt tokens (``echo``)."""


class CacheDamagedError(GlasstextError, ValueError):
    """The cache file is damaged (corrupt pages, not a database).

    ``glasstext cache clear`` (:meth:`~glasstext.backends.cache.SqliteStore.clear`) deletes it.
    """


class ExplanationError(GlasstextError, RuntimeError):
    """The language model gave nothing an explanation can be made from."""


class UnseenNgramWarning(UserWarning):
    """Texts held n-grams that the fitted table does not contain."""


class LengthShiftWarning(UserWarning):
    """Texts far longer or shorter than the training texts, typically.

    An Aug-Linear model's values are learned on texts of the training lengths;
    on texts several times longer (or shorter) the accuracy measured on
    training-like texts may not carry over.
    """


class NoWordsWarning(UnseenNgramWarning):
    """Texts held no word at all (only punctuation, symbols or emoji).

    Such a text gets the model's baseline (intercept-only) prediction. A kind
    of :class:`UnseenNgramWarning`, so filters for that one cover it too.
    """


class CacheUnavailableWarning(UserWarning):
    """The cache folder cannot be used: work goes on without a persistent cache."""
