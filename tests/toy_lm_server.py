"""A recording OpenAI-compatible server on the loopback interface, for credential tests.

It answers ``/completions`` like a toy language model (whitespace tokens,
log-probability ``-0.1`` per character, ``echo`` supported) unless a scripted
``(status, body)`` reply is queued, and records the path (with its query) and
headers of every request.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ToyLMServer:
    """What the server saw, and what it answers next."""

    port: int = 0
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    replies: list[tuple[int, Any]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def answer(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        self.seen.append((path, headers))
        if self.replies:
            return self.replies.pop(0)
        if urllib.parse.urlsplit(path).path.endswith("/completions"):
            return 200, _completion(body)
        return 404, {"error": {"message": f"no route {path}"}}


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
    choices = []
    for index, prompt in enumerate(prompts):
        if body.get("echo"):
            tokens = re.findall(r"\s*\S+|\s+$", prompt)
            offsets = [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
            values = [None] + [-0.1 * len(t) for t in tokens[1:]]
            logprobs = {"tokens": tokens, "token_logprobs": values, "text_offset": offsets}
            choices.append({"index": index, "text": prompt, "logprobs": logprobs})
        else:
            choices.append({"index": index, "text": f" reply to {prompt}"})
    return {"choices": choices}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, reply = self.server.toy.answer(
            self.path, dict(self.headers.items()), json.loads(raw or b"{}")
        )
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    toy: ToyLMServer


@contextmanager
def toy_lm_server() -> Iterator[ToyLMServer]:
    """A running :class:`ToyLMServer`, shut down on exit."""
    toy = ToyLMServer()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.toy = toy
    toy.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield toy
    finally:
        httpd.shutdown()
        httpd.server_close()
