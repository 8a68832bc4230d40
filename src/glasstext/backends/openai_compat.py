"""A language model served over HTTP by an OpenAI-compatible server.

:class:`OpenAICompatibleLM` implements :class:`~glasstext.backends.lm_base.LanguageModel`
with the standard library only (:mod:`urllib.request`, :mod:`json`), so it
needs neither torch nor an ``openai`` package: point it at a vLLM,
llama.cpp, Ollama, TGI or OpenAI endpoint and every method that asks an LM
something can use it. Caching, usage counters and input checks come from the
base class, exactly as for a local model.

Generation
----------
``chat=True`` posts one ``/chat/completions`` request per prompt (the prompt is
a single user message); ``chat=False`` posts ``/completions`` requests of up to
``batch_size`` prompts each. ``max_tokens``, ``temperature``, ``seed`` (when
given) and the first four stop strings (the OpenAI API accepts no more) are
sent; stop strings are applied again locally, so every one of them is honoured
even when a server ignores them. A seeded sampling call is cached like a greedy
one, which assumes the server honours ``seed`` (vLLM does; OpenAI only tries).

Continuation log-probabilities
------------------------------
The prompt and the continuation are sent *joined* to ``/completions`` with
``echo=true``, ``logprobs=1`` and ``max_tokens=0`` (a server that rejects 0 with
HTTP 400 or 422 is asked again with 1, and is then always asked with 1; one
that reads 0 as "no limit" and generates anyway, as llama-cpp-python's server
does, is asked with 1 from its second request on, and
``scoring_max_tokens=1`` avoids even the first long generation). The
response's ``choices[i].logprobs`` holds the prompt's tokens (``tokens``), their
log-probabilities (``token_logprobs``, ``null`` for the first token) and the
character offset of each in the text (``text_offset``); the continuation's
log-probability is the sum over the tokens that overlap it, i.e. every token
that starts at or after ``len(prompt)`` and before ``len(prompt + continuation)``,
plus a token that straddles the boundary (a warning says so: put the separating
space at the start of the continuation, ``" positive"``). Tokens generated after
the text are ignored.

Unlike :class:`~glasstext.backends.lm.LocalCausalLM`, which tokenizes prompt and
continuation separately, the server tokenizes the joined text canonically.

This is what vLLM (and other servers implementing the legacy ``echo`` option,
such as llama-cpp-python, whose server must keep every position's logits,
``logits_all``, and takes one prompt per request: keep ``batch_size=1``)
return. **The official OpenAI API no longer supports
``echo`` with ``logprobs``**, and llama.cpp's own ``llama-server`` returns
log-probabilities of generated tokens only; such responses raise
:class:`LogprobsUnsupportedError` rather than give silently wrong scores. The
response is checked: the echoed text must start with the scored text, the
offsets must start at 0, every continuation token needs a log-probability, and
(when the server reports usage) there must be at least as many entries as
prompt tokens. Continuations of chat-wrapped prompts (``chat=True``) cannot be
scored: the chat template is applied by the server and the chat endpoint gives
log-probabilities of generated tokens only.

Errors and retries
------------------
HTTP 429, 500, 502, 503 and 504, timeouts and dropped connections are retried up
to ``max_retries`` times, waiting ``backoff * 2**attempt`` seconds (or the
server's ``Retry-After``), at most 60 s. A body that is not JSON is retried
once (a proxy may have cut it short), within the same budget. Every other
failure raises at once: :class:`LMServerError` for an HTTP error (with the
status and the server's own message), a refused connection or an unknown host;
:class:`LMResponseError` for a body that is not JSON or lacks the expected
fields (with the URL and an excerpt of the body).

Redirects are never followed: a server that answers 3xx (``Location: ...``)
raises :class:`LMServerError` naming the redirect's target, without a retry,
so the request and its credentials never reach a host other than
``base_url``'s, and nothing from another host is cached.

Credentials
-----------
The API key is read from the environment variable ``api_key_env`` at each
request and sent as ``Authorization: Bearer ...``; it is never stored on the
object, shown in its repr or error messages, or part of a cache key. Without
the variable (a local server) no ``Authorization`` header is sent. A user name
and password in ``base_url`` (``http://user:pw@host/v1``) are sent as HTTP
basic authentication instead of the key. Query parameters of ``base_url``
(``?api_key=...``) are sent with every request. Wherever ``base_url`` is shown
(repr, errors, :attr:`~OpenAICompatibleLM.identity`) its user name, password
and query values read ``***`` (:mod:`glasstext.backends.redaction`).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import itertools
import json
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from glasstext.backends.cache import SqliteStore
from glasstext.backends.lm_base import GenerationRequest, LanguageModel, truncate_at_stop
from glasstext.backends.redaction import hide_secrets, redact_spec, redact_url
from glasstext.exceptions import LMResponseError, LMServerError, LogprobsUnsupportedError

__all__ = [
    "DEFAULT_BASE_URL",
    "LMResponseError",
    "LMServerError",
    "LogprobsUnsupportedError",
    "OpenAICompatibleLM",
]

DEFAULT_BASE_URL = "http://localhost:8000/v1"

# HTTP statuses worth asking again: rate limiting and transient server trouble.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses with which a server may reject ``max_tokens=0`` (FastAPI validation: 422).
_BAD_REQUEST = frozenset({400, 422})
_MAX_DELAY = 60.0  # seconds: no single wait between attempts is longer
_MAX_STOP = 4  # the OpenAI API rejects more stop strings than this
_EXCERPT = 200  # characters of a bad body shown in an error message
# Any scheme is split off here, so that a wrong one is refused as a base_url (shown redacted).
_SPEC = re.compile(r"openai:(?P<model>.+?)(?:@(?P<url>[A-Za-z][A-Za-z0-9+.-]*://.+))?")

_T = TypeVar("_T")
_R = TypeVar("_R")


# -- errors --------------------------------------------------------------------


# The errors live in glasstext.exceptions (imported above) and are re-exported here.


# -- small helpers ----------------------------------------------------------------


def _excerpt(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def _server_message(body: bytes) -> str:
    """The error message of an error body (``{"error": {"message": ...}}``), or an excerpt."""
    try:
        data = json.loads(body)
    except ValueError:
        return _excerpt(body) or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for value in (error, data.get("message"), data.get("detail")):
            if isinstance(value, str) and value:
                return value
    return _excerpt(body)


def _retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


_TRANSIENT = (
    TimeoutError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.IncompleteRead,
    http.client.RemoteDisconnected,
)


def _describe(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(reason, BaseException):
        return str(reason) or type(reason).__name__
    return str(reason)


def _field(data: Any, key: str | int, url: str, what: str) -> Any:
    """``data[key]``, or an :class:`LMResponseError` naming what is missing."""
    try:
        return data[key]
    except (KeyError, IndexError, TypeError):
        raise LMResponseError(
            f"{url} returned an unexpected response (no {what}): {_excerpt(json.dumps(data))}",
            url=url,
        ) from None


def _choices(data: dict[str, Any], n: int, url: str) -> list[dict[str, Any]]:
    """The ``n`` choices of a response, ordered by their ``index``."""
    choices = _field(data, "choices", url, "'choices'")
    if not isinstance(choices, list) or len(choices) != n:
        raise LMResponseError(
            f"{url} returned {len(choices) if isinstance(choices, list) else 'no'} choices "
            f"for {n} prompt(s): {_excerpt(json.dumps(data))}",
            url=url,
        )
    ordered: list[dict[str, Any] | None] = [None] * n
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise LMResponseError(f"{url} returned a choice that is not an object", url=url)
        index = choice.get("index", position)
        if not isinstance(index, int) or not 0 <= index < n or ordered[index] is not None:
            raise LMResponseError(f"{url} returned choices with bad indices", url=url)
        ordered[index] = choice
    return [c for c in ordered if c is not None]


def _usage_count(data: dict[str, Any], key: str) -> int | None:
    usage = data.get("usage")
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse_spec(spec: str) -> tuple[str, str]:
    """``(model, base_url)`` of ``"openai:MODEL"`` or ``"openai:MODEL@BASE_URL"``."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(
            f"expected 'openai:MODEL' or 'openai:MODEL@http(s)://...', got {redact_spec(spec)!r}"
        )
    return match["model"], match["url"] or DEFAULT_BASE_URL


def _check_base_url(base_url: Any) -> urllib.parse.SplitResult:
    """The parts of a usable ``base_url``; errors show it redacted."""
    if not isinstance(base_url, str):
        raise ValueError(f"base_url must be a string, got {type(base_url).__name__}")
    shown = redact_url(base_url)
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {shown!r}")
    # urllib quotes such characters back in its own errors, secrets and all.
    if any(c.isspace() or not c.isprintable() for c in base_url):
        raise ValueError(f"base_url must not contain spaces or control characters: {shown!r}")
    try:
        parts = urllib.parse.urlsplit(base_url)
        _ = parts.port  # raises for a netloc that is not host[:port]
    except ValueError:
        raise ValueError(f"base_url is not a valid URL: {shown!r}") from None
    if not parts.hostname:
        raise ValueError(f"base_url names no host: {shown!r}")
    return parts


def _host(parts: urllib.parse.SplitResult) -> str:
    """``host[:port]`` of a URL, without its user name and password."""
    return parts.netloc.rpartition("@")[2]


def _endpoint(base: urllib.parse.SplitResult, path: str) -> str:
    """The URL of ``path`` under ``base``: joined onto its path, its query kept, no userinfo."""
    joined = base.path.rstrip("/") + path
    return urllib.parse.urlunsplit((base.scheme, _host(base), joined, base.query, ""))


def _basic_auth(base: urllib.parse.SplitResult) -> str | None:
    """The ``Authorization`` value of a user name and password in ``base``, if it has them."""
    if "@" not in base.netloc:
        return None
    user = urllib.parse.unquote(base.username or "")
    password = urllib.parse.unquote(base.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: the 3xx answer reaches the caller as an ``HTTPError``.

    Following one would send the request, credentials included, to whatever
    host the ``Location`` names, and cache its answer as this server's.
    """

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _open(request: urllib.request.Request, timeout: float) -> bytes:
    """The body of the response to ``request``; a redirect raises ``HTTPError``."""
    # Built per request, as urlopen's own opener: proxy settings come from the
    # environment at the time of the call.
    opener = urllib.request.build_opener(_RefuseRedirects)
    with opener.open(request, timeout=timeout) as response:
        body: bytes = response.read()
    return body


# -- the backend -------------------------------------------------------------------


class OpenAICompatibleLM(LanguageModel):
    """A language model behind an OpenAI-compatible HTTP API.

    See the module notes for the protocol, how continuation log-probabilities
    are obtained (servers such as vLLM; not the official OpenAI API) and which
    errors are retried.

    Parameters
    ----------
    model : str
        The model name the server knows (the request's ``"model"`` field).
    base_url : str, default="http://localhost:8000/v1"
        The API root; ``/completions`` and ``/chat/completions`` are joined
        onto its path, and its query (``?api_key=...``) is sent with each
        request. A user name and password in it (``http://user:pw@host/v1``)
        are sent as basic authentication. Shown redacted everywhere.
    api_key_env : str, default="OPENAI_API_KEY"
        Environment variable holding the API key, read at each request. When
        it is unset or empty, or ``base_url`` holds a user name and password,
        no ``Bearer`` header is sent.
    timeout : float, default=60.0
        Seconds to wait for the connection and for each read of the response.
    max_retries : int, default=4
        Further attempts after a retryable failure (0: never retry).
    backoff : float, default=1.0
        Seconds before the first retry; doubled for each further one, at most
        60. A ``Retry-After`` header overrides it (also capped at 60).
    batch_size : int, default=1
        Prompts per ``/completions`` request (servers accept a list of
        prompts). Chat requests always carry one prompt.
    max_workers : int, default=1
        Requests in flight at once (threads). Servers that batch continuously,
        such as vLLM, are much faster with several.
    sleep : callable or None, default=None
        Called with the seconds to wait before a retry; ``None`` uses
        :func:`time.sleep`. Tests pass a function that records instead.
    cache : bool or SqliteStore, default=True
        Where results are cached (see :class:`~glasstext.backends.lm_base.LanguageModel`).
        The cache key is the :attr:`identity` (base URL and model name, no
        credentials) and the call's settings: if the weights behind a name
        change, clear the cache.
    scoring_max_tokens : {0, 1}, default=0
        Tokens asked for with each scoring request. 0 generates nothing where
        the server honours it (vLLM); llama-cpp-python's server reads 0 as
        "until the context is full", so give it 1 (detected and switched
        after its first answer otherwise).

    Examples
    --------
    >>> lm = OpenAICompatibleLM("Qwen/Qwen2.5-0.5B-Instruct")  # doctest: +SKIP
    >>> lm.label_probs(["Review: great fun. Sentiment:"], [" positive", " negative"])
    ... # doctest: +SKIP
    """

    def __init__(
        self,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        batch_size: int = 1,
        max_workers: int = 1,
        sleep: Callable[[float], None] | None = None,
        cache: bool | SqliteStore = True,
        scoring_max_tokens: int = 0,
    ) -> None:
        super().__init__(cache=cache)
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        self._base = _check_base_url(base_url)
        if not isinstance(api_key_env, str) or not api_key_env:
            raise ValueError("api_key_env must name an environment variable")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if not backoff >= 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {backoff}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        if scoring_max_tokens not in (0, 1) or isinstance(scoring_max_tokens, bool):
            raise ValueError(f"scoring_max_tokens must be 0 or 1, got {scoring_max_tokens!r}")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.sleep = sleep
        # Tokens asked for when scoring; becomes 1 if the server rejects 0 or
        # reads it as "no limit".
        self._scoring_max_tokens = scoring_max_tokens

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> OpenAICompatibleLM:
        """A model from ``"openai:MODEL"`` or ``"openai:MODEL@BASE_URL"``.

        Parameters
        ----------
        spec : str
            E.g. ``"openai:Qwen/Qwen2.5-0.5B-Instruct@http://gpu-box:8000/v1"``.
        **kwargs
            Further constructor parameters.

        Returns
        -------
        OpenAICompatibleLM
        """
        model, base_url = _parse_spec(spec)
        return cls(model, base_url=base_url, **kwargs)

    def __repr__(self) -> str:
        return f"OpenAICompatibleLM({self.model!r}, base_url={redact_url(self.base_url)!r})"

    @property
    def identity(self) -> str:
        """``openai-compatible:URL#MODEL``: where the outputs come from, with no secret in it.

        The user name and password of ``base_url`` only authenticate, as the
        API key does, and are left out. Query parameters may change what the
        server computes (an API version, a deployment) or be credentials: a
        hash of them keeps their entries apart without holding their values.
        """
        base = self._base
        location = urllib.parse.urlunsplit(
            (base.scheme, _host(base), base.path.rstrip("/"), "", "")
        )
        if base.query:
            digest = hashlib.blake2b(base.query.encode("utf-8"), digest_size=8).hexdigest()
            location += f"?query-hash={digest}"
        return f"openai-compatible:{location}#{self.model}"

    def _output_settings(self) -> dict[str, Any]:
        return {}

    # -- HTTP --------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return _endpoint(self._base, path)

    def _shown_url(self, path: str) -> str:
        return redact_url(self._url(path))

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "").strip()
        authorization = _basic_auth(self._base) or (f"Bearer {key}" if key else None)
        if authorization:
            headers["Authorization"] = authorization
        return headers

    def _hide(self, text: str) -> str:
        """Server-given ``text`` without the secrets of ``base_url`` (a server may quote them)."""
        return hide_secrets(text, self.base_url)

    def _wait(self, attempt: int, retry_after: float | None = None) -> None:
        delay = self.backoff * 2.0**attempt if retry_after is None else retry_after
        (self.sleep or time.sleep)(min(delay, _MAX_DELAY))

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON and return the decoded JSON object, retrying as documented."""
        url = self._url(path)
        shown = redact_url(url)
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        attempt = 0
        malformed = 0
        while True:
            request = urllib.request.Request(url, data=data, headers=self._headers(), method="POST")
            try:
                body = _open(request, self.timeout)
            except urllib.error.HTTPError as exc:
                error_body = _read_quietly(exc)
                if 300 <= exc.code < 400:
                    raise self._redirect_error(shown, exc) from None
                if exc.code in _RETRY_STATUSES and attempt < self.max_retries:
                    self._wait(attempt, _retry_after(exc.headers.get("Retry-After")))
                    attempt += 1
                    continue
                raise self._http_error(shown, exc.code, error_body, attempt + 1) from None
            except (OSError, http.client.HTTPException) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                transient = isinstance(reason, _TRANSIENT)
                if transient and attempt < self.max_retries:
                    self._wait(attempt)
                    attempt += 1
                    continue
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise LMServerError(
                    f"request to {shown} failed{tries}: {self._hide(_describe(reason))}"
                    + (f" (timeout={self.timeout} s)" if isinstance(reason, TimeoutError) else ""),
                    url=shown,
                ) from exc
            try:
                decoded = json.loads(body)
            except ValueError:
                if malformed < 1 and attempt < self.max_retries:
                    malformed += 1
                    self._wait(attempt)
                    attempt += 1
                    continue
                raise LMResponseError(
                    f"{shown} returned a body that is not JSON: {self._hide(_excerpt(body))!r}",
                    url=shown,
                ) from None
            if not isinstance(decoded, dict):
                raise LMResponseError(
                    f"{shown} returned JSON that is not an object: {self._hide(_excerpt(body))!r}",
                    url=shown,
                )
            if "error" in decoded and "choices" not in decoded:
                raise LMServerError(
                    f"{shown} returned an error: {self._hide(_server_message(body))}", url=shown
                )
            return decoded

    def _http_error(self, url: str, status: int, body: bytes, attempts: int) -> LMServerError:
        message = self._hide(_server_message(body))
        hint = ""
        if status in (401, 403):
            if _basic_auth(self._base):
                hint = " (the user name and password in base_url were rejected)"
            elif os.environ.get(self.api_key_env, "").strip():
                hint = f" (the key in ${self.api_key_env} was rejected)"
            elif self._base.query:
                hint = f" (${self.api_key_env} is not set; only the query of base_url was sent)"
            else:
                hint = f" (no API key sent: ${self.api_key_env} is not set)"
        elif status == 404:
            hint = f" (check base_url={redact_url(self.base_url)!r} and model={self.model!r})"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return LMServerError(
            f"{url} answered HTTP {status}{tries}: {message}{hint}", url=url, status=status
        )

    def _redirect_error(self, url: str, exc: urllib.error.HTTPError) -> LMServerError:
        """The error of a 3xx answer, naming where it points (redacted), which is not followed."""
        location = exc.headers.get("Location") if exc.headers is not None else None
        if location:
            target = self._hide(redact_url(urllib.parse.urljoin(url, location.strip())))
            where = f"redirects to {target}"
        else:
            where = "redirects without a Location"
        return LMServerError(
            f"{url} answered HTTP {exc.code}: it {where}, and redirects are not followed "
            "(give the final address as base_url)",
            url=url,
            status=exc.code,
        )

    def _map(self, function: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        """``function`` over ``items``, ``max_workers`` at a time, in order."""
        if self.max_workers == 1 or len(items) <= 1:
            return [function(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(items)))
        try:
            return list(pool.map(function, items))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _chunks(self, items: Sequence[_T], size: int) -> list[list[_T]]:
        return [list(items[i : i + size]) for i in range(0, len(items), size)]

    # -- generation ------------------------------------------------------------------
    def _generate_uncached(self, prompts: list[str], request: GenerationRequest) -> list[str]:
        settings: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            settings["seed"] = request.seed
        if request.stop:
            settings["stop"] = list(request.stop[:_MAX_STOP])

        def chat(prompt: str) -> tuple[list[str], int]:
            payload = {**settings, "messages": [{"role": "user", "content": prompt}]}
            data = self._post("/chat/completions", payload)
            url = self._shown_url("/chat/completions")
            message = _field(_choices(data, 1, url)[0], "message", url, "'message'")
            content = _field(message, "content", url, "'message.content'")
            return [self._as_text(content, url)], _usage_count(data, "completion_tokens") or 0

        def complete(batch: list[str]) -> tuple[list[str], int]:
            payload = {**settings, "prompt": batch[0] if len(batch) == 1 else batch}
            data = self._post("/completions", payload)
            url = self._shown_url("/completions")
            texts = [
                self._as_text(_field(c, "text", url, "'text'"), url)
                for c in _choices(data, len(batch), url)
            ]
            return texts, _usage_count(data, "completion_tokens") or 0

        if request.chat:
            results = self._map(chat, prompts)
        else:
            results = self._map(complete, self._chunks(prompts, self.batch_size))
        texts = [text for batch_texts, _ in results for text in batch_texts]
        self._usage.n_generated_tokens += sum(n for _, n in results)
        return [truncate_at_stop(t, request.stop).strip() for t in texts]

    @staticmethod
    def _as_text(value: Any, url: str) -> str:
        if value is None:  # e.g. a chat message with no content
            return ""
        if not isinstance(value, str):
            raise LMResponseError(f"{url} returned a text that is not a string: {value!r}", url=url)
        return value

    # -- scoring ------------------------------------------------------------------------
    def _continuation_logprobs_uncached(
        self, pairs: list[tuple[str, str]], chat: bool
    ) -> list[float]:
        if chat:
            raise NotImplementedError(
                "OpenAICompatibleLM cannot score continuations with chat=True: the server "
                "applies the chat template, and the chat endpoint returns log-probabilities "
                "of generated tokens only. Use chat=False (write any template into the prompt)."
            )
        spans = [(p + c, len(p)) for p, c in pairs if c]
        scored = iter(self._score_spans(spans, first_token_scored=True))
        return [next(scored)[0] if c else 0.0 for _, c in pairs]

    def _score_texts_uncached(self, texts: list[str]) -> list[tuple[float, int]]:
        """Total log-probability and number of scored tokens of each text.

        The server predicts the first token from its beginning-of-sequence
        token when its tokenizer adds one; otherwise the first token has no
        log-probability and is left out of both the total and the count.
        """
        spans = [(t, 0) for t in texts if t]
        scored = iter(self._score_spans(spans, first_token_scored=False))
        return [next(scored) if t else (0.0, 0) for t in texts]

    def _score_spans(
        self, spans: list[tuple[str, int]], first_token_scored: bool
    ) -> list[tuple[float, int]]:
        """``(sum, count)`` of the log-probabilities of ``text[start:]``, per ``(text, start)``."""
        if not spans:
            return []
        path = "/completions"
        url = self._shown_url(path)

        def score(batch: list[tuple[str, int]]) -> list[tuple[float, int, int]]:
            texts = [text for text, _ in batch]
            data = self._echo(path, texts)
            choices = _choices(data, len(batch), url)
            prompt_tokens = _usage_count(data, "prompt_tokens")
            completion_tokens = _usage_count(data, "completion_tokens")
            if prompt_tokens is not None and completion_tokens is not None:
                entries = sum(_entries(choice) for choice in choices)
                # A start token (BOS) counts in the usage but is not echoed
                # (llama-cpp-python): one missing entry per text is allowed.
                if entries - completion_tokens < prompt_tokens - len(batch):
                    raise LogprobsUnsupportedError(
                        f"{_unsupported(url)} (it returned log-probabilities for {entries} "
                        f"token(s), but the prompt has {prompt_tokens})",
                        url=url,
                    )
            return [
                _sum_span(choice, text, start, url, first_token_scored)
                for choice, (text, start) in zip(choices, batch, strict=True)
            ]

        results = self._map(score, self._chunks(spans, self.batch_size))
        self._usage.n_forward_texts += len(spans)
        self._usage.n_forward_batches += len(results)
        flat = [item for batch in results for item in batch]
        n_straddling = sum(straddling for _, _, straddling in flat)
        if n_straddling:
            warnings.warn(
                f"in {n_straddling} text(s) a token spans the prompt/continuation boundary and "
                "was counted in the continuation: put the separating space at the start of "
                "the continuation, not at the end of the prompt",
                stacklevel=2,
            )
        return [(total, n) for total, n, _ in flat]

    def _echo(self, path: str, texts: list[str]) -> dict[str, Any]:
        """The ``echo`` response for ``texts``, asking for 1 token if the server rejects 0."""
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": texts[0] if len(texts) == 1 else texts,
            "echo": True,
            "logprobs": 1,
            "temperature": 0.0,
        }
        max_tokens = self._scoring_max_tokens
        try:
            data = self._post(path, {**payload, "max_tokens": max_tokens})
        except LMServerError as exc:
            if max_tokens != 0 or exc.status not in _BAD_REQUEST:
                raise _explain_echo(exc) from None
        else:
            if max_tokens == 0 and (_usage_count(data, "completion_tokens") or 0) > 0:
                # The server generated although asked for nothing (llama-cpp-python
                # reads 0 as "until the context is full"): ask for 1 from now on.
                self._scoring_max_tokens = 1
            return data
        try:
            data = self._post(path, {**payload, "max_tokens": 1})
        except LMServerError as exc:
            raise _explain_echo(exc) from None
        self._scoring_max_tokens = 1
        return data


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except (OSError, http.client.HTTPException):
        return b""


def _explain_echo(exc: LMServerError) -> LMServerError:
    """``exc``, with a hint about ``echo`` when the server rejected the request.

    A rejected request may have other causes (a prompt longer than the
    context, say), so this stays an :class:`LMServerError` with the server's
    message first.
    """
    if exc.status not in _BAD_REQUEST or type(exc) is not LMServerError:
        return exc
    return LMServerError(
        f"{exc}. Note: scoring posts to /completions with echo=true and logprobs=1, "
        "which the official OpenAI API no longer supports; servers such as vLLM do",
        url=exc.url,
        status=exc.status,
    )


def _unsupported(url: str) -> str:
    return (
        f"{url} did not return the log-probabilities of the prompt's tokens (echo=true, "
        "logprobs=1): the official OpenAI API and llama.cpp's llama-server do not; "
        "servers such as vLLM do"
    )


def _entries(choice: dict[str, Any]) -> int:
    logprobs = choice.get("logprobs")
    tokens = logprobs.get("tokens") if isinstance(logprobs, dict) else None
    return len(tokens) if isinstance(tokens, list) else 0


def _sum_span(
    choice: dict[str, Any], text: str, start: int, url: str, first_token_scored: bool
) -> tuple[float, int, int]:
    """``(sum, count, straddling)`` of the log-probabilities of tokens overlapping ``text[start:]``.

    ``straddling`` is 1 when a token begins before ``start`` and ends after it.
    With ``first_token_scored``, a text token without a log-probability is an
    error; otherwise the first token may lack one and is skipped.
    """
    unsupported = _unsupported(url)
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        raise LogprobsUnsupportedError(unsupported, url=url)
    tokens = logprobs.get("tokens")
    values = logprobs.get("token_logprobs")
    offsets = logprobs.get("text_offset")
    if not (isinstance(tokens, list) and isinstance(values, list) and isinstance(offsets, list)):
        raise LogprobsUnsupportedError(unsupported, url=url)
    if not (len(tokens) == len(values) == len(offsets)):
        raise LMResponseError(
            f"{url} returned logprobs lists of different lengths "
            f"({len(tokens)} tokens, {len(values)} values, {len(offsets)} offsets)",
            url=url,
        )
    echoed = choice.get("text")
    if isinstance(echoed, str) and not echoed.startswith(text):
        raise LogprobsUnsupportedError(
            f"{unsupported}; the returned text does not start with the prompt: "
            f"{_excerpt(echoed)!r}",
            url=url,
        )
    if not offsets or offsets[0] != 0:
        raise LogprobsUnsupportedError(unsupported, url=url)
    if any(not isinstance(o, int) or isinstance(o, bool) for o in offsets) or any(
        b < a for a, b in itertools.pairwise(offsets)
    ):
        raise LMResponseError(f"{url} returned bad text offsets: {_excerpt(str(offsets))}", url=url)
    stop = len(text)
    total, count, straddling = 0.0, 0, 0
    for i, (token, value, begin) in enumerate(zip(tokens, values, offsets, strict=True)):
        if begin >= stop:
            break  # generated after the text
        end = offsets[i + 1] if i + 1 < len(offsets) else begin + len(str(token))
        if begin < start and end <= start:
            continue  # a prompt token
        if value is None:
            if i == 0 and (end <= begin or not first_token_scored):
                continue  # a start token, or the first token, which nothing predicts
            raise LMResponseError(
                f"{url} returned no log-probability for the token {token!r} at offset {begin}"
                + (
                    " (the first token of a text has none: give a non-empty prompt)"
                    if i == 0
                    else ""
                ),
                url=url,
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LMResponseError(f"{url} returned a log-probability {value!r}", url=url)
        if begin < start:
            straddling = 1
        total += float(value)
        count += 1
    if count == 0 and first_token_scored:
        raise LogprobsUnsupportedError(
            f"{unsupported}; no returned token covers the continuation", url=url
        )
    return total, count, int(straddling)
