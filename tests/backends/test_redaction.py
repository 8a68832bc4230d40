"""Credentials in LM specs and server URLs are used but never shown.

A spec such as ``openai:m@http://user:PASS@host/v1?api_key=KEY`` must reach the
server with its credentials (basic authentication, the query) while its repr,
cache identity, stored cache namespaces and error messages hold neither the
password nor the key.
"""

from __future__ import annotations

import base64
import socket

import pytest

from glasstext.backends import LMServerError, OpenAICompatibleLM
from glasstext.backends.lm import LocalCausalLM, get_lm
from glasstext.backends.redaction import hide_secrets, redact_spec, redact_url
from glasstext.backends.registry import resolve_model
from glasstext.exceptions import UnknownModelError
from toy_lm_server import ToyLMServer

KEY_ENV = "GLASSTEXT_TEST_REDACTION_KEY"
SECRETS = ("PASS-word", "KEY-value", "ENV-key")


@pytest.fixture
def toy(toy_server: ToyLMServer, monkeypatch) -> ToyLMServer:
    monkeypatch.delenv(KEY_ENV, raising=False)
    return toy_server


def _lm(url: str, **kwargs) -> OpenAICompatibleLM:
    settings = {"api_key_env": KEY_ENV, "cache": False, "sleep": lambda _: None, **kwargs}
    return OpenAICompatibleLM("toy", base_url=url, **settings)


def _assert_hidden(text: str, secrets: tuple[str, ...] = SECRETS) -> None:
    for secret in secrets:
        assert secret not in text, text


# -- the redaction functions --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://host:8000/v1", "http://host:8000/v1"),
        ("http://user:PASS@host/v1", "http://***@host/v1"),
        ("http://user@host/v1", "http://***@host/v1"),
        ("https://host/v1?api_key=KEY&v=2", "https://host/v1?api_key=***&v=***"),
        ("https://host/v1?KEY", "https://host/v1?***"),
        ("https://host/v1#KEY", "https://host/v1#***"),
        ("http://u:p@[::1]:8000/v1?k=s", "http://***@[::1]:8000/v1?k=***"),
        ("http://u:PASS/word@host/v1", "http://***"),  # not host[:port]: nothing kept
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_spec_redacts_every_url_and_keeps_other_names():
    spec = "openai:org/m@http://user:PASS@host:8000/v1?api_key=KEY"
    assert redact_spec(spec) == "openai:org/m@http://***@host:8000/v1?api_key=***"
    for name in ("gemma-3-270m", "openai:m", "/models/my-lm", "org/model@v2"):
        assert redact_spec(name) == name


def test_hide_secrets_removes_a_urls_secrets_from_free_text():
    url = "http://user:PASS-word@host/v1?api_key=KEY%2Dvalue&v=1"
    text = "bad key KEY-value for user:PASS-word at http://host/v1?api_key=KEY%2Dvalue, v=1"
    hidden = hide_secrets(text, url)
    _assert_hidden(hidden)
    assert "v=1" in hidden  # values too short to be secrets are left in prose


# -- requests ---------------------------------------------------------------------------


def test_the_endpoint_is_joined_onto_the_path_and_the_query_is_kept(toy):
    lm = get_lm(f"openai:toy@http://{toy.address}/v1/?api_key=KEY-value&v=2")
    lm.cache = False
    assert lm.generate(["hi"], chat=False) == ["reply to hi"]
    assert lm.continuation_logprobs(["a b"], [" c"]).shape == (1, 1)
    assert [path for path, _ in toy.seen] == ["/v1/completions?api_key=KEY-value&v=2"] * 2


def test_userinfo_is_sent_as_basic_auth_instead_of_the_key(toy, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "ENV-key")
    _lm(f"http://us%40er:PASS-word@{toy.address}/v1").generate(["hi"], chat=False)
    _lm(f"http://{toy.address}/v1").generate(["hi"], chat=False)
    (path, with_userinfo), (_, without) = toy.seen
    basic = base64.b64encode(b"us@er:PASS-word").decode()
    assert path == "/v1/completions" and with_userinfo["Authorization"] == f"Basic {basic}"
    assert without["Authorization"] == "Bearer ENV-key"


# -- what is shown ------------------------------------------------------------------------


def test_repr_identity_and_cache_hold_no_secret(toy, store, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "ENV-key")
    lm = get_lm(f"openai:toy@http://user:PASS-word@{toy.address}/v1?api_key=KEY-value")
    lm.cache = store
    lm.generate(["hi"], chat=False)
    lm.continuation_logprobs(["a b"], [" c"])
    assert repr(lm) == (
        f"OpenAICompatibleLM('toy', base_url='http://***@{toy.address}/v1?api_key=***')"
    )
    _assert_hidden(lm.identity)
    rows = store._connection().execute("SELECT ns FROM entries").fetchall()
    assert len(rows) == 2
    _assert_hidden(repr(rows))


def test_the_identity_keeps_queries_apart_and_leaves_credentials_out():
    base = "http://host:8000/v1"
    plain = _lm(base).identity
    assert plain == "openai-compatible:http://host:8000/v1#toy"
    assert _lm("http://user:PASS-word@host:8000/v1/").identity == plain
    one, two = _lm(f"{base}?api_key=KEY-value").identity, _lm(f"{base}?api_key=other").identity
    assert len({plain, one, two}) == 3
    _assert_hidden(one)
    assert one.startswith("openai-compatible:http://host:8000/v1?") and one.endswith("#toy")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "bad credentials KEY-value for user PASS-word"),
        (404, "no model here"),
        (500, "upstream http://x/v1?api_key=KEY-value failed"),
    ],
)
@pytest.mark.parametrize("userinfo", ["", "user:PASS-word@"])
def test_error_messages_hold_no_secret(toy, status, message, userinfo):
    toy.replies.append((status, {"error": {"message": message}}))
    url = f"http://{userinfo}{toy.address}/v1?api_key=KEY-value"
    with pytest.raises(LMServerError) as caught:
        _lm(url, max_retries=0).generate(["hi"], chat=False)
    text = str(caught.value)
    assert f"HTTP {status}" in text and f"{toy.address}/v1/completions?api_key=***" in text
    _assert_hidden(text + caught.value.url, tuple(s for s in SECRETS if s in url))


def test_a_refused_connection_names_the_url_redacted():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lm = _lm(f"http://user:PASS-word@127.0.0.1:{port}/v1?api_key=KEY-value", max_retries=0)
    with pytest.raises(LMServerError, match="connection refused") as caught:
        lm.generate(["hi"])
    _assert_hidden(str(caught.value))


@pytest.mark.parametrize(
    "spec",
    [
        "openai:m@ftp://user:PASS-word@host/v1?api_key=KEY-value",
        "openai:m@http://user:PASS-word@host:port/v1?api_key=KEY-value",
        "openai:m@http://user:PASS-word@host/v1 ?api_key=KEY-value",
    ],
)
def test_a_bad_base_url_is_refused_and_named_redacted(spec):
    with pytest.raises(ValueError, match="base_url") as caught:
        get_lm(spec)
    _assert_hidden(str(caught.value))


def test_a_mistyped_spec_is_named_redacted_by_the_local_backend():
    spec = "opena:m@http://user:PASS-word@host/v1?api_key=KEY-value"
    with pytest.raises(UnknownModelError) as caught:
        resolve_model(spec)
    assert "http://***@host/v1?api_key=***" in str(caught.value)
    _assert_hidden(str(caught.value))
    _assert_hidden(repr(LocalCausalLM(spec, device="cpu")))
