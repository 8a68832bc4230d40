"""Secrets in model names and server URLs, hidden wherever one is shown.

A model spec such as ``"openai:m@http://user:PASS@host/v1?api_key=KEY"`` holds
credentials: the user name and password of the URL (its *userinfo*) and the
values of its query, which may be an API key. Everything that shows a spec or a
URL (reprs, cache identities, error messages, command output, the explorer)
passes it through :func:`redact_spec` or :func:`redact_url` first, so the
secrets are used but never printed:

>>> redact_url("http://user:PASS@host:8000/v1?api_key=KEY&v=2")
'http://***@host:8000/v1?api_key=***&v=***'

Query values are all hidden, since a setting cannot be told apart from a
credential by its name. :func:`hide_secrets` removes the secrets of a URL from
free text, such as a server's error message that quotes the request.
"""

from __future__ import annotations

import os
import re
import urllib.parse

__all__ = ["REDACTED", "hide_secrets", "redact_spec", "redact_url", "url_secrets"]

#: What a hidden secret is shown as.
REDACTED = "***"

# A URL inside free text: a scheme, "://", then anything up to white space or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
# Secrets shorter than this stay in free text: hiding them would blot out
# ordinary words and numbers, and so short a value protects nothing.
_MIN_HIDDEN = 3


def redact_url(url: str) -> str:
    """``url`` with its user name, password, query values and fragment shown as ``***``.

    Parameters
    ----------
    url : str
        Any URL; one that cannot be parsed keeps only its scheme.

    Returns
    -------
    str
    """
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises for a netloc that is not host[:port]
    except ValueError:
        scheme, sep, _rest = url.partition("://")
        return f"{scheme}://{REDACTED}" if sep else REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    return urllib.parse.urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            _redact_query(parts.query),
            REDACTED if parts.fragment else "",
        )
    )


def _redact_query(query: str) -> str:
    """``name=***`` for every parameter; a parameter without a name is all secret."""
    if not query:
        return ""
    shown = []
    for item in query.split("&"):
        name, sep, _value = item.partition("=")
        shown.append(f"{name}={REDACTED}" if sep else REDACTED)
    return "&".join(shown)


def redact_spec(spec: str | os.PathLike[str]) -> str:
    """A model spec (or any text) with every URL in it redacted by :func:`redact_url`.

    Parameters
    ----------
    spec : str or path-like
        E.g. ``"openai:MODEL@http://user:pw@host/v1"``; an alias or a folder
        holds no URL and is returned as is.

    Returns
    -------
    str
    """
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group()), os.fspath(spec))


def url_secrets(url: str) -> list[str]:
    """The secret parts of ``url``, longest first: userinfo, query values, fragment.

    Each is given both as written and percent-decoded.

    Parameters
    ----------
    url : str

    Returns
    -------
    list of str
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return [url]
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        found += [userinfo, *userinfo.split(":", 1)]
    if parts.query:
        found.append(parts.query)
        for item in parts.query.split("&"):
            name, sep, value = item.partition("=")
            found.append(value if sep else name)
    if parts.fragment:
        found.append(parts.fragment)
    variants = {v for s in found for v in (s, urllib.parse.unquote_plus(s))}
    return sorted((v for v in variants if len(v) >= _MIN_HIDDEN), key=len, reverse=True)


def hide_secrets(text: str, url: str) -> str:
    """``text`` with every URL redacted and every secret of ``url`` shown as ``***``.

    Parameters
    ----------
    text : str
        Free text, e.g. a server's error message.
    url : str
        The URL whose secrets must not appear.

    Returns
    -------
    str
    """
    text = redact_spec(text)
    for secret in url_secrets(url):
        text = text.replace(secret, REDACTED)
    return text
