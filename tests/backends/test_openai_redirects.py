"""Redirects are never followed by the OpenAI-compatible backend.

Two HTTP servers run on the loopback interface: the first answers every request
with a redirect to the second, which answers like a working LM server. A client
that followed the redirect would send the request (and its ``Authorization``
header) to the second host and cache that host's answer as the first one's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from glasstext.backends import LMServerError, OpenAICompatibleLM

KEY_ENV = "GLASSTEXT_TEST_REDIRECT_KEY"
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Host:
    """One loopback server: what it answers and what reached it."""

    status: int = 200
    location: str | None = None
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        host = self.server.host
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        host.seen.append({"path": self.path, **dict(self.headers.items())})
        body = json.dumps({"choices": [{"index": 0, "text": "from the other host"}]}).encode()
        self.send_response(host.status)
        if host.location is not None:
            self.send_header("Location", host.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = _answer
    do_GET = _answer  # a client following 301/302/303 switches to GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    host: Host


def _start(host: Host) -> _Server:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.host = host
    host.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    return httpd


@pytest.fixture
def hosts(no_proxy, monkeypatch) -> Iterator[tuple[Host, Host]]:
    monkeypatch.setenv(KEY_ENV, "sk-redirect-secret")
    first, second = Host(), Host()
    servers = [_start(first), _start(second)]
    yield first, second
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _lm(url: str, cache: Any = False) -> OpenAICompatibleLM:
    return OpenAICompatibleLM(
        "toy", base_url=url, api_key_env=KEY_ENV, cache=cache, sleep=lambda _: None
    )


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirect_to_another_host_is_an_error_and_not_followed(hosts, store, status):
    first, second = hosts
    first.status = status
    first.location = f"{second.url}/v1/completions"
    lm = _lm(f"{first.url}/v1", cache=store)
    with pytest.raises(LMServerError) as caught:
        lm.generate(["hi"], chat=False)
    message = str(caught.value)
    assert f"redirects to {second.url}/v1/completions" in message
    assert "\n" not in message and caught.value.status == status
    assert second.seen == []  # neither the request nor the key reached it
    assert len(first.seen) == 1  # not retried
    assert first.seen[0]["Authorization"] == "Bearer sk-redirect-secret"
    assert store.stats().entries == 0


@pytest.mark.parametrize("status", REDIRECTS)
def test_the_location_is_named_redacted(hosts, status):
    first, second = hosts
    first.status = status
    first.location = f"{second.url}/v1/completions?sig=SIGNED-SECRET"
    with pytest.raises(LMServerError, match=r"redirects to .*\?sig=\*\*\*") as caught:
        _lm(f"{first.url}/v1?api_key=KEY-IN-URL").generate(["hi"], chat=False)
    assert "SIGNED-SECRET" not in str(caught.value) and "KEY-IN-URL" not in str(caught.value)
    assert second.seen == []


def test_a_relative_location_is_named_as_an_absolute_url(hosts):
    first, _ = hosts
    first.status, first.location = 307, "/elsewhere/completions"
    with pytest.raises(LMServerError, match=f"redirects to {first.url}/elsewhere/completions"):
        _lm(f"{first.url}/v1").generate(["hi"], chat=False)
    assert [s["path"] for s in first.seen] == ["/v1/completions"]
