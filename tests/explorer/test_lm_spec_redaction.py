"""``glasstext serve --lm SPEC`` shows the spec's credentials as ``***``: stdout, /api/info."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from glasstext.cli import main
from toy_lm_server import ToyLMServer

SECRETS = ("PASS-word", "KEY-value")


@pytest.fixture
def toy(toy_server: ToyLMServer, monkeypatch) -> ToyLMServer:
    monkeypatch.setenv("GLASSTEXT_CACHE", "off")
    return toy_server


def test_serve_shows_the_lm_spec_redacted(toy, monkeypatch, capsys):
    import glasstext.explorer as explorer

    served = {}

    def fake_serve(app, host, port, on_ready=None, **kwargs):
        served["app"] = app
        on_ready(f"http://{host}:{port}/")

    monkeypatch.setattr(explorer, "serve", fake_serve)
    spec = f"openai:toy@http://user:PASS-word@{toy.address}/v1?api_key=KEY-value"
    proxy = f"openai:small@http://{toy.address}/v1?api_key=KEY-value"
    assert main(["serve", "--lm", spec, "--proxy", proxy, "--port", "8123"]) == 0
    out = capsys.readouterr().out
    shown = f"openai:toy@http://***@{toy.address}/v1?api_key=***"
    assert repr(shown) in out

    client = TestClient(served["app"], base_url="http://127.0.0.1")
    info = client.get("/api/info").json()
    assert info["name"] == shown
    analysis = client.post("/api/analyze", json={"text": "a great film"})
    assert analysis.status_code == 200
    shown_anywhere = out + json.dumps(info) + analysis.text + client.get("/").text
    for secret in SECRETS:
        assert secret not in shown_anywhere
