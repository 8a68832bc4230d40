"""Tests of the OpenAI-compatible HTTP backend.

A small HTTP server on the loopback interface speaks the protocol: by default
it answers like a toy language model (whitespace tokens, log-probability
``-0.1`` per character); a test can queue scripted replies (errors, delays,
broken bodies) that are served first. Retries never really sleep: every model
gets a ``sleep`` that records the waits.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from glasstext.backends import (
    LMResponseError,
    LMServerError,
    LogprobsUnsupportedError,
    OpenAICompatibleLM,
)
from glasstext.backends.lm import get_lm, release_models

KEY_ENV = "GLASSTEXT_TEST_API_KEY"


# -- a scripted server -------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer: a JSON object, or raw text/bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


def _tokens(text: str) -> list[str]:
    """The toy tokenizer: runs of non-space characters with their leading spaces."""
    return re.findall(r"\s*\S+|\s+$", text)


def _logprob(token: str) -> float:
    return -0.1 * len(token)


class FakeServer:
    """Answers like a toy LM unless a scripted reply is queued."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.replies: list[Reply] = []
        self.reject_zero_max_tokens = False
        self.zero_means_unlimited = False  # llama-cpp-python: max_tokens=0 generates
        self.bos_in_usage = False  # llama-cpp-python: a start token counted, not echoed
        self.echo_supported = True
        self.release = threading.Event()  # ends delayed handlers at teardown
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = json.loads(raw) if raw else None
        with self.lock:
            self.seen.append(Seen(path, headers, body))
            if self.replies:
                return self.replies.pop(0)
        if path == "/v1/chat/completions":
            content = "  reply to: " + body["messages"][-1]["content"] + "\n"
            return Reply(
                body={
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3},
                }
            )
        if path == "/v1/completions":
            return self._complete(body)
        return Reply(404, {"error": {"message": f"no route {path}"}})

    def _complete(self, body: dict[str, Any]) -> Reply:
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        if body.get("echo"):
            if body["max_tokens"] == 0 and self.reject_zero_max_tokens:
                return Reply(400, {"error": {"message": "max_tokens must be at least 1"}})
            n_new = body["max_tokens"] or int(self.zero_means_unlimited)
            choices = [self._echo(p, n_new) for p in prompts]
            n_prompt = sum(len(_tokens(p)) + self.bos_in_usage for p in prompts)
            usage = {"prompt_tokens": n_prompt, "completion_tokens": n_new * len(prompts)}
        else:
            choices = [{"text": f" {p.upper()} END more\n"} for p in prompts]
            usage = {"prompt_tokens": 1, "completion_tokens": 4 * len(prompts)}
        indexed = [{"index": i, **c} for i, c in enumerate(choices)]
        return Reply(body={"choices": indexed[::-1], "usage": usage})  # out of order on purpose

    def _echo(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        tokens = _tokens(prompt) if self.echo_supported else []
        values: list[float | None] = [_logprob(t) for t in tokens]
        if values:
            values[0] = None  # nothing predicts the first token
        offsets = [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
        text = prompt if self.echo_supported else ""
        if max_tokens:
            tokens, values, offsets = [*tokens, " X"], [*values, -0.5], [*offsets, len(text)]
            text += " X"
        logprobs = {"tokens": tokens, "token_logprobs": values, "text_offset": offsets}
        return {"text": text, "logprobs": logprobs}

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fake = self.server.fake
        reply = fake.answer(self.path, dict(self.headers.items()), raw)
        if reply.delay:
            fake.release.wait(reply.delay)
        body = reply.body
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def server():
    fake = FakeServer()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.fake = fake
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    fake.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _clean_environment(no_proxy, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    yield
    release_models()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_lm(server, sleeps):
    def make(**kwargs: Any) -> OpenAICompatibleLM:
        settings: dict[str, Any] = {
            "base_url": server.url,
            "api_key_env": KEY_ENV,
            "sleep": sleeps.append,
            "cache": False,
            **kwargs,
        }
        return OpenAICompatibleLM("toy-model", **settings)

    return make


# -- generation ----------------------------------------------------------------------


def test_plain_generation_posts_batches_to_completions(server, make_lm):
    lm = make_lm(batch_size=2)
    got = lm.generate(["ab", "cd", "ef"], max_new_tokens=7, chat=False, stop=["END"])
    assert got == ["AB", "CD", "EF"]  # stripped, cut at the stop string locally
    assert server.paths() == ["/v1/completions"] * 2
    first = server.seen[0].body
    assert first["prompt"] == ["ab", "cd"] and server.seen[1].body["prompt"] == "ef"
    assert first["model"] == "toy-model" and first["max_tokens"] == 7
    assert first["temperature"] == 0.0 and first["stop"] == ["END"]
    assert "seed" not in first and "echo" not in first
    assert lm.n_generate_calls == 3 and lm.n_generated_tokens == 12


def test_chat_generation_posts_messages(server, make_lm):
    lm = make_lm()
    got = lm.generate(["hello", "bye"], max_new_tokens=5, temperature=0.7, seed=3)
    assert got == ["reply to: hello", "reply to: bye"]
    assert server.paths() == ["/v1/chat/completions"] * 2
    body = server.seen[0].body
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["temperature"] == 0.7 and body["seed"] == 3 and "stop" not in body
    assert lm.n_generated_tokens == 6


def test_only_four_stop_strings_are_sent_but_all_apply(server, make_lm):
    lm = make_lm()
    got = lm.generate(["ab"], chat=False, stop=["q", "w", "x", "y", "END"])
    assert server.seen[0].body["stop"] == ["q", "w", "x", "y"]
    assert got == ["AB"]


def test_sampling_without_a_seed_is_not_cached(server, make_lm, store):
    lm = make_lm(cache=store)
    lm.generate(["ab"], temperature=1.0)
    lm.generate(["ab"], temperature=1.0)
    assert len(server.seen) == 2 and lm.n_cache_hits == 0


# -- scoring -------------------------------------------------------------------------


def test_continuation_logprobs_sum_the_continuation_tokens_only(server, make_lm):
    lm = make_lm()
    got = lm.continuation_logprobs(["Review: fun. Sentiment:", "x"], [" good", " very bad", ""])
    expected = [[-0.5, -0.5 - 0.4, 0.0], [-0.5, -0.5 - 0.4, 0.0]]
    np.testing.assert_allclose(got, expected)
    assert len(server.seen) == 4  # the empty continuation needs no request
    body = server.seen[0].body
    assert body["prompt"] == "Review: fun. Sentiment: good"
    assert body["echo"] is True and body["logprobs"] == 1 and body["max_tokens"] == 0
    assert lm.n_forward_texts == 4 and lm.n_forward_batches == 4


def test_batched_and_concurrent_scoring_agree(server, make_lm):
    prompts, labels = ["a b", "c", "d e f"], [" yes", " no way"]
    one = make_lm().continuation_logprobs(prompts, labels)
    batched = make_lm(batch_size=4, max_workers=2).continuation_logprobs(prompts, labels)
    np.testing.assert_allclose(batched, one)
    assert len(server.seen) == 6 + 2


def test_a_server_that_rejects_zero_max_tokens_is_asked_for_one(server, make_lm):
    server.reject_zero_max_tokens = True
    lm = make_lm()
    np.testing.assert_allclose(lm.continuation_logprobs(["p"], [" ab"]), [[-0.3]])
    np.testing.assert_allclose(lm.continuation_logprobs(["q"], [" ab"]), [[-0.3]])
    assert [s.body["max_tokens"] for s in server.seen] == [0, 1, 1]  # generated " X" ignored


def test_a_server_that_generates_for_zero_max_tokens_is_asked_for_one(server, make_lm):
    server.zero_means_unlimited = True
    lm = make_lm()
    np.testing.assert_allclose(lm.continuation_logprobs(["p"], [" ab"]), [[-0.3]])
    np.testing.assert_allclose(lm.continuation_logprobs(["q"], [" ab"]), [[-0.3]])
    assert [s.body["max_tokens"] for s in server.seen] == [0, 1]
    told = make_lm(scoring_max_tokens=1)
    told.continuation_logprobs(["r"], [" ab"])
    assert server.seen[-1].body["max_tokens"] == 1
    with pytest.raises(ValueError, match="scoring_max_tokens"):
        make_lm(scoring_max_tokens=5)


def test_a_start_token_counted_in_the_usage_but_not_echoed_is_accepted(server, make_lm):
    server.bos_in_usage = True
    got = make_lm(batch_size=2).continuation_logprobs(["p", "q r"], [" ab"])
    np.testing.assert_allclose(got, [[-0.3], [-0.3]])


def test_label_probs_go_through_the_base_class(server, make_lm):
    lm = make_lm()
    probs = lm.label_probs(["Sentiment:"], [" good", " terrible"])
    expected = np.exp([-0.5, -0.9]) / np.exp([-0.5, -0.9]).sum()
    np.testing.assert_allclose(probs, [expected])


def test_a_token_across_the_boundary_counts_with_a_warning(server, make_lm):
    lm = make_lm()
    with pytest.warns(UserWarning, match="spans the prompt/continuation boundary"):
        got = lm.continuation_logprobs(["Sentiment: "], ["good"])
    np.testing.assert_allclose(got, [[-0.5]])  # the token " good"


def test_score_texts_skips_the_unpredicted_first_token(server, make_lm):
    scores = make_lm().score_texts(["one two three", "", "solo"])
    np.testing.assert_allclose(scores.total, [-0.4 - 0.6, 0.0, 0.0])
    np.testing.assert_array_equal(scores.n_tokens, [2, 0, 0])
    assert len(server.seen) == 2


def test_chat_continuations_are_refused(server, make_lm):
    with pytest.raises(NotImplementedError, match="chat=True"):
        make_lm().continuation_logprobs(["p"], [" a"], chat=True)
    assert server.seen == []


def test_a_server_without_echo_raises_a_clear_error(server, make_lm):
    server.echo_supported = False
    with pytest.raises(LogprobsUnsupportedError, match="official OpenAI API") as info:
        make_lm().continuation_logprobs(["Sentiment:"], [" good"])
    assert isinstance(info.value, NotImplementedError) and server.url in str(info.value)


def test_logprobs_missing_from_the_response_raise(server, make_lm):
    server.replies.append(Reply(body={"choices": [{"index": 0, "text": "hi", "logprobs": None}]}))
    with pytest.raises(LogprobsUnsupportedError, match="echo=true"):
        make_lm().continuation_logprobs(["p"], [" a"])


def test_generated_only_logprobs_are_detected_from_usage(server, make_lm):
    # What llama-server answers: one entry, for the generated token, offset 0.
    choice = {
        "index": 0,
        "text": "p a X",
        "logprobs": {"tokens": [" X"], "token_logprobs": [-0.5], "text_offset": [0]},
    }
    usage = {"prompt_tokens": 2, "completion_tokens": 1}
    server.replies.append(Reply(body={"choices": [choice], "usage": usage}))
    with pytest.raises(LogprobsUnsupportedError, match="1 token"):
        make_lm().continuation_logprobs(["p"], [" a"])


# -- caching, identity and the key -----------------------------------------------------


def test_cached_calls_make_no_request(server, make_lm, store):
    lm = make_lm(cache=store)
    first = lm.continuation_logprobs(["Sentiment:"], [" good", " bad"])
    texts = lm.generate(["ab"], chat=False)
    n_requests = len(server.seen)
    assert lm.n_forward_texts == 2 and lm.n_generate_calls == 1 and lm.n_cache_hits == 0

    again = make_lm(cache=store)  # a new object, the same server and model
    np.testing.assert_array_equal(
        again.continuation_logprobs(["Sentiment:"], [" good", " bad"]), first
    )
    assert again.generate(["ab"], chat=False) == texts
    assert len(server.seen) == n_requests
    assert again.n_cache_hits == 3 and again.n_forward_texts == 0 and again.n_generate_calls == 0


def test_the_api_key_is_sent_but_never_shown(server, make_lm, monkeypatch, store):
    lm = make_lm(cache=store)
    lm.generate(["ab"], chat=False)
    assert "Authorization" not in server.seen[0].headers

    monkeypatch.setenv(KEY_ENV, "sk-secret-123")
    lm.generate(["cd"], chat=False)
    assert server.seen[1].headers["Authorization"] == "Bearer sk-secret-123"
    assert lm.identity == f"openai-compatible:{server.url}#toy-model"
    for shown in (repr(lm), lm.identity, str(vars(lm))):
        assert "sk-secret" not in shown
    rows = store._connection().execute("SELECT * FROM entries").fetchall()
    assert rows and "sk-secret" not in repr(rows)


def test_a_password_in_the_url_is_not_shown():
    lm = OpenAICompatibleLM("m", base_url="https://user:pw@example.org/v1", cache=False)
    assert "pw" not in repr(lm) and "pw" not in lm.identity
    assert lm.identity == "openai-compatible:https://example.org/v1#m"


def test_get_lm_builds_and_shares_a_server_model(server):
    spec = f"openai:org/model-1@{server.url}"
    lm = get_lm(spec)
    assert isinstance(lm, OpenAICompatibleLM)
    assert (lm.model, lm.base_url) == ("org/model-1", server.url)
    assert get_lm(spec) is lm and get_lm(lm) is lm
    default = get_lm("openai:m")
    assert isinstance(default, OpenAICompatibleLM)
    assert default.base_url == "http://localhost:8000/v1"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model": ""},
        {"base_url": "localhost:8000"},
        {"timeout": 0},
        {"max_retries": -1},
        {"backoff": -1.0},
        {"batch_size": 0},
        {"max_workers": 0},
    ],
)
def test_bad_parameters_are_rejected(kwargs):
    settings = {"model": "m", **kwargs}
    with pytest.raises(ValueError):
        OpenAICompatibleLM(**settings)


# -- failures and retries ------------------------------------------------------------------


def test_a_server_that_always_times_out_raises_after_the_retries(server, make_lm, sleeps):
    server.replies.extend(Reply(body={}, delay=2.0) for _ in range(3))
    lm = make_lm(timeout=0.2, max_retries=2)
    start = time.monotonic()
    with pytest.raises(LMServerError, match=r"after 3 attempts: timed out \(timeout=0.2 s\)") as e:
        lm.generate(["ab"], chat=False)
    assert time.monotonic() - start < 1.5
    assert server.url in str(e.value) and len(server.seen) == 3 and sleeps == [1.0, 2.0]


def test_one_timeout_then_success(server, make_lm, sleeps):
    server.replies.append(Reply(body={}, delay=2.0))
    lm = make_lm(timeout=0.2)
    assert lm.generate(["ab"], chat=False) == ["AB END more"]
    assert len(server.seen) == 2 and sleeps == [1.0]


def test_two_server_errors_then_success(server, make_lm, sleeps):
    server.replies.extend([Reply(500, "oops"), Reply(503, {"error": {"message": "busy"}})])
    lm = make_lm(backoff=0.5)
    assert lm.generate(["hi"]) == ["reply to: hi"]
    assert len(server.seen) == 3 and sleeps == [0.5, 1.0]


def test_server_errors_beyond_the_retries_raise_with_the_message(server, make_lm, sleeps):
    server.replies.extend(Reply(502, {"error": {"message": "bad gateway"}}) for _ in range(2))
    with pytest.raises(LMServerError, match="HTTP 502 after 2 attempts: bad gateway") as e:
        make_lm(max_retries=1).generate(["hi"])
    assert e.value.status == 502 and len(server.seen) == 2


def test_retry_after_is_honoured_and_capped(server, make_lm, sleeps):
    server.replies.append(Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}))
    server.replies.append(Reply(429, "", {"Retry-After": "3600"}))
    assert make_lm().generate(["hi"]) == ["reply to: hi"]
    assert sleeps == [7.0, 60.0] and len(server.seen) == 3


def test_malformed_json_is_retried_once_then_raises(server, make_lm, sleeps):
    server.replies.extend([Reply(body="<html>Bad Gateway</html>")] * 2)
    with pytest.raises(LMResponseError, match="not JSON") as e:
        make_lm().generate(["hi"])
    assert server.url in str(e.value) and "<html>Bad Gateway</html>" in str(e.value)
    assert len(server.seen) == 2 and sleeps == [1.0]


def test_malformed_json_once_then_success(server, make_lm):
    server.replies.append(Reply(body='{"choices": [tru'))
    assert make_lm().generate(["hi"]) == ["reply to: hi"]


def test_json_without_the_expected_fields_raises_at_once(server, make_lm):
    server.replies.append(Reply(body={"object": "list", "data": []}))
    with pytest.raises(LMResponseError, match="'choices'") as e:
        make_lm().generate(["hi"])
    assert server.url in str(e.value) and '"object": "list"' in str(e.value)
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "is not set"), (404, "check base_url"), (400, "")]
)
def test_client_errors_raise_at_once_with_the_servers_message(
    server, make_lm, sleeps, status, hint
):
    server.replies.append(Reply(status, {"error": {"message": "the server says no"}}))
    with pytest.raises(LMServerError, match=f"HTTP {status}: the server says no") as e:
        make_lm().generate(["hi"])
    assert hint in str(e.value) and e.value.status == status
    assert len(server.seen) == 1 and sleeps == []


def test_a_rejected_key_is_named_without_its_value(server, make_lm, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-secret-123")
    server.replies.append(Reply(401, {"error": {"message": "Incorrect API key"}}))
    with pytest.raises(LMServerError, match=f"key in \\${KEY_ENV} was rejected") as e:
        make_lm().generate(["hi"])
    assert "sk-secret" not in str(e.value)


def test_a_refused_connection_names_the_url(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    lm = OpenAICompatibleLM("m", base_url=url, sleep=sleeps.append, cache=False)
    with pytest.raises(LMServerError, match="connection refused") as e:
        lm.generate(["hi"])
    assert f"{url}/chat/completions" in str(e.value) and sleeps == []
