"""The explorer's web app: one page and two JSON endpoints, bounded and local.

``GET /`` is a standalone page (inline CSS and vanilla JS, nothing fetched
from elsewhere; a Content-Security-Policy with the hashes of its own script
and style forbids anything else). ``POST /api/analyze`` predicts and explains
a text; ``POST /api/whatif`` predicts it again without some of its words.
``GET /api/info`` describes the model.

What a request can do is bounded: its body size and the text length are
checked before any work (an oversized request gets HTTP 413 and a message
naming the limit and the flag that sets it), the JSON is read into declared
fields only (unknown fields are refused), and nothing in a request is run:
a text is only ever tokenized and scored. Every error is answered in one
shape, ``{"error": "one line"}``. The Host header must name this machine
(:func:`allowed_hosts_for`), which stops another web site from reaching the
explorer through DNS rebinding.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the request
# models from the endpoints' annotations, which must be real classes.
import base64
import contextlib
import errno
import hashlib
import ipaddress
import json
import logging
import re
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from glasstext.exceptions import (
    ExplanationError,
    GlasstextError,
    InvalidParameterError,
    LMServerError,
)
from glasstext.validation import surrogate_position

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse

    from glasstext.explorer.targets import Target

__all__ = [
    "ExplorerLimits",
    "ListenError",
    "RequestTooLarge",
    "allowed_hosts_for",
    "create_app",
    "error_response",
    "is_loopback",
    "page_html",
    "require_serve",
    "serve",
]

_log = logging.getLogger("glasstext.explorer")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: longest error message sent (a field name in it can be long)
MAX_MESSAGE = 300
# What an --allowed-host entry may be besides an address: a name, or *.domain.
_HOST_NAME = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?", re.IGNORECASE)


@dataclass(frozen=True)
class ExplorerLimits:
    """What one request may ask for.

    Attributes
    ----------
    max_chars : int, default=5000
        Characters of a text (``glasstext serve --max-chars``).
    max_body_bytes : int, default=65536
        Bytes of a request body (``--max-body``); must hold ``max_chars``
        characters as JSON (non-ASCII text takes 2-6 bytes a character).
    max_removed : int, default=500
        Words removed in one what-if question.
    """

    max_chars: int = 5000
    max_body_bytes: int = 65536
    max_removed: int = 500

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")


class RequestTooLarge(GlasstextError, ValueError):
    """A request over one of :class:`ExplorerLimits` (HTTP 413)."""


class ListenError(GlasstextError, OSError):
    """The server cannot listen where asked: a busy port, a host that does not resolve."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(host: str, extra: Sequence[str] = ()) -> list[str]:
    """The Host header values a server listening on ``host`` accepts.

    The loopback names, ``host`` itself (so the URL the server prints works)
    and ``extra``; when ``host`` is not a loopback address (``0.0.0.0``, a
    LAN address), also this machine's own names and the addresses they
    resolve to. Any other name is refused: a web page whose domain is
    pointed at this machine (DNS rebinding) still sends its own domain.

    Parameters
    ----------
    host : str
        The address or name the server listens on.
    extra : sequence of str, default=()
        More names or addresses to accept (``glasstext serve --allowed-host``);
        ``"*.example.com"`` accepts every subdomain, ``"*"`` any name.

    Returns
    -------
    list of str
        For :func:`create_app`'s ``allowed_hosts``, lower case, IPv6 in brackets.

    Raises
    ------
    InvalidParameterError
        An entry of ``extra`` is no host name, address or pattern (a port or a scheme).
    """
    names = [*LOOPBACK_HOSTS, host, *(_checked_host(e) for e in extra)]
    if not is_loopback(host):
        names += _machine_names()
    hosts: list[str] = []
    for name in names:
        form = _host_form(name)
        # A "*" anywhere but in front is no pattern the Host check understands.
        if form and "*" not in form[1:] and form not in hosts:
            hosts.append(form)
    return hosts


def _checked_host(entry: str) -> str:
    """``entry`` if it is a host name, an IP address, ``*.domain`` or ``*``."""
    name = entry.strip()
    if name == "*" or _HOST_NAME.fullmatch(name) or _ip(name.strip("[]")) is not None:
        return name
    raise InvalidParameterError(
        f"allowed host {entry!r} is no host name, IP address, '*.domain' or '*' "
        "(give it without a scheme or port)"
    )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _host_form(name: str) -> str:
    """``name`` as a Host header carries it: lower case, an IPv6 address in brackets."""
    bare = name.strip().strip("[]").lower()
    address = _ip(bare)
    if address is not None and address.version == 6:
        return f"[{address}]"
    return bare


def _machine_names() -> list[str]:
    """This machine's names and the addresses they resolve to (what the stdlib finds)."""
    names = {socket.gethostname(), socket.getfqdn()}
    for name in list(names):
        with contextlib.suppress(OSError, UnicodeError):
            canonical, aliases, addresses = socket.gethostbyname_ex(name)
            names.update([canonical, *aliases, *addresses])
    for name in list(names):
        with contextlib.suppress(OSError, UnicodeError):
            names.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
    return sorted(n for n in names if n)


def require_serve() -> None:
    """Raise a clear ImportError when the ``serve`` extra (FastAPI, uvicorn) is missing."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(
            f"the explorer needs {' and '.join(missing)}: pip install 'glasstext[serve]'"
        )


def page_html() -> str:
    """The explorer page (``page.html`` beside this module)."""
    return resources.files("glasstext.explorer").joinpath("page.html").read_text("utf-8")


def _csp(page: str) -> str:
    """A Content-Security-Policy allowing exactly the page's own inline script and style."""

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)
        return " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
            for b in blocks
        )

    return (
        f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def create_app(
    target: "Target",
    *,
    limits: ExplorerLimits | None = None,
    allowed_hosts: list[str] | None = None,
) -> "FastAPI":
    """The explorer app for ``target``.

    Parameters
    ----------
    target : Target
        What is explained (see :func:`glasstext.explorer.target_for_model`).
    limits : ExplorerLimits, optional
        Request bounds (defaults: :class:`ExplorerLimits`).
    allowed_hosts : list of str, optional
        Host header values accepted; default: the loopback names, which is
        right for a server bound to 127.0.0.1 (:func:`allowed_hosts_for`
        gives the list for any address). ``["*"]`` accepts any.

    Returns
    -------
    fastapi.FastAPI
    """
    require_serve()
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field
    from starlette.exceptions import HTTPException
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    limits = limits or ExplorerLimits()
    page = page_html()
    headers = {"Content-Security-Policy": _csp(page), "Cache-Control": "no-store"}
    # One request at a time reaches the model: models and scorers keep caches
    # and counters that are not meant to be shared between threads.
    lock = threading.Lock()

    class AnalyzeRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str
        class_index: int | None = Field(default=None, ge=0)

    class WhatIfRequest(AnalyzeRequest):
        remove: list[int] = Field(default_factory=list)

    def check_text(text: str) -> str:
        if len(text) > limits.max_chars:
            raise RequestTooLarge(
                f"the text has {len(text):,} characters; this explorer accepts at most "
                f"{limits.max_chars:,} (glasstext serve --max-chars)"
            )
        # Refused before any work: the analysis could never be sent back as UTF-8.
        at = surrogate_position(text)
        if at is not None:
            raise InvalidParameterError(
                f"the text holds a lone surrogate (U+{ord(text[at]):04X}) at character {at}: "
                "it is not valid Unicode text"
            )
        if not text.strip():
            raise InvalidParameterError("the text is empty: type or paste a text to explain")
        return text

    app = FastAPI(title="glasstext explorer", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {**target.info(), "limits": asdict(limits)}

    @app.post("/api/analyze")
    def analyze(request: AnalyzeRequest) -> dict[str, Any]:
        text = check_text(request.text)
        with lock:
            return target.analyze(text, request.class_index)

    @app.post("/api/whatif")
    def what_if(request: WhatIfRequest) -> dict[str, Any]:
        text = check_text(request.text)
        if len(request.remove) > limits.max_removed:
            raise RequestTooLarge(
                f"remove lists {len(request.remove)} words; at most {limits.max_removed} "
                "can be removed at once"
            )
        with lock:
            return target.what_if(text, request.remove, request.class_index)

    # Every error leaves in the app's one shape, {"error": "one line"}, FastAPI's own too.
    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if not _is_json_type(request.headers.get("content-type")):
            # FastAPI hands a body not declared as JSON to validation as raw bytes.
            return error_response(415, "send the body as JSON (Content-Type: application/json)")
        return error_response(422, _validation_message(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, _http_message(request, exc), exc.headers)

    @app.exception_handler(RequestTooLarge)
    async def too_large(request: Request, exc: RequestTooLarge) -> JSONResponse:
        return error_response(413, str(exc))

    @app.exception_handler(LMServerError)
    @app.exception_handler(ExplanationError)
    async def model_failed(request: Request, exc: Exception) -> JSONResponse:
        return error_response(502, f"the model failed: {exc}")

    @app.exception_handler(ValueError)
    @app.exception_handler(TypeError)
    async def unusable(request: Request, exc: Exception) -> JSONResponse:
        return error_response(422, str(exc) or type(exc).__name__)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("explorer request failed")
        return error_response(500, f"internal error ({type(exc).__name__}); see the server's log")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Any:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    hosts = list(LOOPBACK_HOSTS) if allowed_hosts is None else list(allowed_hosts)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(_BodyLimit, max_bytes=limits.max_body_bytes)  # outermost: runs first
    return app


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> "JSONResponse":
    """The app's one error shape: ``{"error": message}``, the message made one short line."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": _one_line(message)}, status_code=status, headers=headers)


def _one_line(message: str) -> str:
    """``message`` on one line, lone surrogates escaped, at most :data:`MAX_MESSAGE` long."""
    line = " ".join(message.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 3].rstrip() + "..."
    return line or "error"


def _is_json_type(content_type: str | None) -> bool:
    """Whether a Content-Type is one FastAPI parses as JSON (``application/json``, ``+json``)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _http_message(request: "Request", exc: "HTTPException") -> str:
    """A sentence for an HTTP error FastAPI or Starlette raised (unreadable body, no route)."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return "the request body is not UTF-8 text"
    if isinstance(cause, RecursionError):
        return "the request body's JSON is nested too deeply"
    return f"{exc.detail} ({request.method} {request.url.path})"


def _field_name(part: Any) -> str:
    """One step of a field's location, quoted when it is no plain name (keys are user data)."""
    if isinstance(part, int) or (isinstance(part, str) and part.isidentifier()):
        return str(part)
    return json.dumps(str(part))[:40]


# What pydantic's complaints about the body as a whole mean for a client.
_OBJECT_WANTED = 'the request body must be a JSON object such as {"text": "..."}'
_BODY_PROBLEMS = {
    "missing": 'the request body is empty: send a JSON object such as {"text": "..."}',
    "model_type": _OBJECT_WANTED,
    "model_attributes_type": _OBJECT_WANTED,
    "dict_type": _OBJECT_WANTED,
    "string_unicode": "a field name holds a lone surrogate: it is not valid Unicode text",
}


def _validation_message(errors: Any) -> str:
    """One readable sentence from pydantic's list of problems."""
    for e in errors:
        if e.get("type") == "json_invalid":
            where = e.get("loc", ("body", "?"))[-1]
            reason = (e.get("ctx") or {}).get("error", "invalid")
            return f"the request body is not valid JSON: {reason} at character {where}"
        if tuple(e.get("loc", ())) == ("body",) and e.get("type") in _BODY_PROBLEMS:
            return _BODY_PROBLEMS[e["type"]]
    parts = []
    for e in list(errors)[:5]:
        where = ".".join(_field_name(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "bad request: " + "; ".join(parts)


class _BodyLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` before it is parsed.

    A declared ``Content-Length`` over the limit is refused at once; a body
    sent in chunks is counted as it arrives, so a client cannot stream
    around the limit.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await self._refuse(scope, receive, send, 400, "invalid Content-Length header")
                return
            if size > self.max_bytes:
                await self._refuse_size(scope, receive, send, size)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse_size(scope, receive, send, size)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse_size(self, scope: Any, receive: Any, send: Any, size: int) -> None:
        message = (
            f"the request body has {size:,} bytes or more; this explorer accepts at most "
            f"{self.max_bytes:,} (glasstext serve --max-body)"
        )
        await self._refuse(scope, receive, send, 413, message)

    @staticmethod
    async def _refuse(scope: Any, receive: Any, send: Any, status: int, message: str) -> None:
        await error_response(status, message)(scope, receive, send)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port).

    Raises
    ------
    ListenError
        ``host`` does not resolve, or the port is in use or not allowed.
    """
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ListenError(
            f"cannot listen on {host}: the host name does not resolve ({reason}); "
            "give an address such as 127.0.0.1"
        ) from exc
    family, kind, proto, _, address = infos[0]
    try:
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ListenError(_bind_failure(host, port, exc)) from exc
    if sys.platform != "win32":  # there it would let a second server take the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise ListenError(_bind_failure(host, port, exc)) from exc
    return sock


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    """Why ``host:port`` cannot be listened on, and what to do instead, in one line."""
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    where = f"cannot listen on {shown}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is in use by another program "
            "(choose another with --port, or --port 0 for any free port)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: the address is not one of this machine's"
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need privileges)"
    return f"{where}: {exc.strerror or exc}"


def url_of(sock: socket.socket) -> str:
    """The address a browser opens for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    app: "FastAPI",
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    sock: socket.socket | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Run ``app`` with uvicorn until interrupted.

    Parameters
    ----------
    app : fastapi.FastAPI
    host, port : str, int
        Where to listen; port 0 picks a free port.
    sock : socket.socket, optional
        A listening socket (:func:`bind`) to serve on instead of binding
        ``host:port``; the caller keeps it and closes it.
    on_ready : callable, optional
        Called with the page's URL once the socket listens.
    log_level : str, default="warning"

    Raises
    ------
    ListenError
        ``host:port`` cannot be listened on (see :func:`bind`).
    """
    import uvicorn

    listening = bind(host, port) if sock is None else sock
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=64,
    )
    if on_ready is not None:
        on_ready(url_of(listening))
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        if sock is None:
            listening.close()
