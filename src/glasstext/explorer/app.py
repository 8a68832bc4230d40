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
a text is only ever tokenized and scored. The host header must name the
loopback address when the server is bound to it, which stops another web
site from reaching the explorer through DNS rebinding.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the request
# models from the endpoints' annotations, which must be real classes.
import base64
import hashlib
import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from glasstext.exceptions import ExplanationError, GlasstextError, LMServerError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from glasstext.explorer.targets import Target

__all__ = [
    "ExplorerLimits",
    "RequestTooLarge",
    "create_app",
    "is_loopback",
    "page_html",
    "require_serve",
    "serve",
]

_log = logging.getLogger("glasstext.explorer")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


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


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        right for a server bound to 127.0.0.1. ``["*"]`` accepts any.

    Returns
    -------
    fastapi.FastAPI
    """
    require_serve()
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field
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
        if not text.strip():
            raise ValueError("the text is empty: type or paste a text to explain")
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

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(exc.errors())}, status_code=422)

    @app.exception_handler(RequestTooLarge)
    async def too_large(request: Request, exc: RequestTooLarge) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=413)

    @app.exception_handler(LMServerError)
    @app.exception_handler(ExplanationError)
    async def model_failed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"the model failed: {exc}"}, status_code=502)

    @app.exception_handler(ValueError)
    @app.exception_handler(TypeError)
    async def unusable(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("explorer request failed")
        return JSONResponse(
            {"error": f"internal error ({type(exc).__name__}); see the server's log"},
            status_code=500,
        )

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


def _validation_message(errors: Any) -> str:
    """One readable sentence from pydantic's list of problems."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return "the request body is not valid JSON"
    parts = []
    for e in list(errors)[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
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
        from starlette.responses import JSONResponse

        await JSONResponse({"error": message}, status_code=status)(scope, receive, send)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(64)
    return sock


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
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Run ``app`` with uvicorn until interrupted.

    Parameters
    ----------
    app : fastapi.FastAPI
    host, port : str, int
        Where to listen; port 0 picks a free port.
    on_ready : callable, optional
        Called with the page's URL once the socket listens.
    log_level : str, default="warning"
    """
    import uvicorn

    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=64,
    )
    if on_ready is not None:
        on_ready(url_of(sock))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
