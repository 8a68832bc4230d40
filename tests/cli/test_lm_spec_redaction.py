"""Commands that print an LM spec show its credentials as ``***``."""

from __future__ import annotations

import json

import pytest

from glasstext.cli import main
from toy_lm_server import ToyLMServer

SECRETS = ("PASS-word", "KEY-value")


@pytest.fixture
def toy(toy_server: ToyLMServer, monkeypatch) -> ToyLMServer:
    monkeypatch.setenv("GLASSTEXT_CACHE", "off")
    return toy_server


def test_explain_llm_prints_the_spec_redacted(toy, tmp_path, capsys):
    spec = f"openai:toy@http://user:PASS-word@{toy.address}/v1?api_key=KEY-value"
    proxy = f"openai:small@http://{toy.address}/v1?api_key=KEY-value"
    argv = ["explain-llm", "a great film", "--lm", spec, "--proxy", proxy]
    assert main([*argv, "--out", str(tmp_path / "e.html")]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["model"] == f"openai:toy@http://***@{toy.address}/v1?api_key=***"
    assert summary["proxy"] == f"openai:small@http://{toy.address}/v1?api_key=***"
    for secret in SECRETS:
        assert secret not in out + err
    assert all("api_key=KEY-value" in path for path, _ in toy.seen)  # still sent


def test_a_failing_server_is_reported_without_its_credentials(toy, tmp_path, capsys):
    toy.replies.append((404, {"error": {"message": "no such model"}}))
    spec = f"openai:toy@http://user:PASS-word@{toy.address}/v1?api_key=KEY-value"
    argv = ["explain-llm", "a great film", "--lm", spec, "--out", str(tmp_path / "e.html")]
    assert main(argv) != 0
    out, err = capsys.readouterr()
    assert "HTTP 404" in err and f"{toy.address}/v1/completions?api_key=***" in err
    for secret in SECRETS:
        assert secret not in out + err


def test_a_mistyped_spec_is_reported_without_its_credentials(capsys):
    spec = "opena:toy@http://user:PASS-word@host/v1?api_key=KEY-value"
    assert main(["explain-llm", "a great film", "--lm", spec]) != 0
    out, err = capsys.readouterr()
    assert "http://***@host/v1?api_key=***" in err
    for secret in SECRETS:
        assert secret not in out + err
