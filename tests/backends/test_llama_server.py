"""The OpenAI-compatible client against a real server: llama-cpp-python serving a packaged GGUF.

Skipped when llama-cpp-python is not installed, except in CI (``CI=true``),
where it must run: ``make test`` installs the ``server`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from glasstext.backends.llama_server import LlamaServer, free_port, llama_cpp_available

pytestmark = pytest.mark.integration

# Gemma: its tokenizer adds a start token, which llama-cpp-python needs to align
# echoed log-probabilities (see LlamaServer).
MODEL = "gemma-3-270m"
TEMPLATE = 'Movie review: "{text}"\nThe sentiment of this review is'
LABELS = (" negative", " positive")
TEXTS = ["a gorgeous, witty movie.", "a dull, lifeless sequel.", "boilerplate cliches."]
# Generous: the machine running the tests may be loaded (LlamaServer's numpy
# log-probabilities make a request take well under a second on an idle core).
TIMEOUT = 900.0

if not llama_cpp_available():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            "llama-cpp-python must be installed in CI (make test installs the server extra)",
            pytrace=False,
        )
    pytest.skip("llama-cpp-python is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with LlamaServer(MODEL, port=free_port(), n_threads=1) as running:
        yield running
    assert running._process is None  # stopped


@pytest.fixture(scope="module")
def local():  # type: ignore[no-untyped-def]
    from glasstext.backends.lm import get_lm

    return get_lm(MODEL)


def test_label_probabilities_agree_with_the_local_backend(server: LlamaServer, local) -> None:  # type: ignore[no-untyped-def]
    remote = server.lm(cache=False, timeout=TIMEOUT)
    prompts = [TEMPLATE.replace("{text}", t) for t in TEXTS]
    got = remote.label_probs(prompts, LABELS)
    expected = local.label_probs(prompts, LABELS)
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
    # The server computes with the Q4 GGUF, the local backend with its fp32
    # dequantization, and tokenizes prompt + continuation jointly.
    assert np.abs(got - expected).max() < 0.1
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert remote.usage()["n_forward_texts"] == 6
    assert remote._scoring_max_tokens == 1  # never max_tokens=0: the server reads it as no limit


def test_text_log_probabilities_agree_with_the_local_backend(server: LlamaServer, local) -> None:  # type: ignore[no-untyped-def]
    remote = server.lm(cache=False, timeout=TIMEOUT)
    got = remote.score_texts(TEXTS)
    expected = local.score_texts(TEXTS)
    assert np.all(np.isfinite(got.total))
    # llama-cpp-python gives the first token no log-probability (as the OpenAI API
    # did) although Gemma predicts it from its start token; the local backend
    # scores it. So the server's totals miss one (negative) term each.
    assert np.all(np.abs(got.n_tokens - expected.n_tokens) <= 1)
    assert np.all(got.total > expected.total - 1.0)
    assert np.all(got.total <= 0.0)


def test_explain_and_compress_through_the_server(server: LlamaServer, local) -> None:  # type: ignore[no-untyped-def]
    from glasstext.explain import LMScorer, OcclusionExplainer
    from glasstext.explain.actions import compress_prompt

    target = LMScorer(server.lm(cache=False, timeout=TIMEOUT), TEMPLATE, LABELS)
    attribution = OcclusionExplainer(target).explain(TEXTS[0])
    assert attribution.n_calls == len(attribution.words) + 2
    reference = OcclusionExplainer(LMScorer(local, TEMPLATE, LABELS)).explain(
        TEXTS[0], target_class=attribution.explained_class
    )
    assert np.corrcoef(attribution.scores, reference.scores)[0, 1] > 0.8
    result = compress_prompt(TEXTS[0], target, rate=0.3, verify=False)
    assert result.compression_rate == pytest.approx(1 / 4)
    assert isinstance(result.answer_kept, bool)  # texts already scored: no new call needed


def test_generation_through_the_server(server: LlamaServer) -> None:
    # (Not the CLI's --lm openai:NAME@URL here: that client asks for max_tokens=0
    # first, which this server reads as "until the context is full".)
    # The raw prompt (/completions): a 270M model's first chat tokens may be blank,
    # and how blank depends on the CPU kernels llama.cpp was built with.
    text = server.lm(cache=False, timeout=TIMEOUT).generate(
        ["The capital of France is"], max_new_tokens=4, chat=False
    )[0]
    assert isinstance(text, str) and text


def test_numpy_log_probabilities_give_the_untouched_servers_answer(server: LlamaServer) -> None:
    # The same echo request to the server as llama-cpp-python ships it (which sorts
    # the whole vocabulary in Python per token: a short prompt keeps it to seconds).
    import json
    import urllib.request

    payload = {"prompt": "Great fun. Sentiment: positive", "echo": True, "logprobs": 3}
    payload.update({"max_tokens": 2, "temperature": 0.0})

    def ask(running: LlamaServer) -> dict:  # type: ignore[type-arg]
        body = json.dumps({**payload, "model": running.name}).encode()
        request = urllib.request.Request(
            running.base_url + "/completions", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    with LlamaServer(MODEL, port=free_port(), n_threads=1, fast_logprobs=False) as plain:
        expected = ask(plain)
    got = ask(server)
    assert got["choices"] == expected["choices"] and got["usage"] == expected["usage"]
    assert len(got["choices"][0]["logprobs"]["top_logprobs"][1]) >= 3


def test_audit_through_the_server(server: LlamaServer, tiny_bert_dir) -> None:  # type: ignore[no-untyped-def]
    from glasstext import audit_lm
    from glasstext.explain.scorers import CONTENT_FREE_INPUTS

    # Forty distinct one-line reviews: short prompts keep each request quick.
    texts = [
        f"a {adjective} {noun}."
        for adjectives in (
            ("gorgeous", "witty", "moving", "delightful", "charming"),
            ("dull", "lifeless", "tedious", "clumsy", "boring"),
        )
        for adjective in adjectives
        for noun in ("movie", "film", "sequel", "comedy")
    ]
    budget = 60
    audit = audit_lm(
        server.lm(cache=False, timeout=TIMEOUT),
        texts,
        labels=list(LABELS),
        prompt=TEMPLATE,
        budget=budget,
        probes=[],
        n_shap=0,
        encoder=str(tiny_bert_dir),
        progress=False,
    )
    assert audit.complete, audit.stages
    # every text once, plus the content-free calibration prompts
    assert audit.target_calls == len(texts) + len(CONTENT_FREE_INPUTS) <= budget
    assert audit.classes == ("negative", "positive")
    # plain praise and plain pans: the LM answers both classes
    assert sum(audit.class_counts.values()) == len(texts) and min(audit.class_counts.values()) > 0
    assert {"agreement", "spearman"} <= set(audit.fidelity)
    assert 0.0 <= audit.fidelity["agreement"] <= 1.0
    html = audit.to_html()
    assert "Does the surrogate follow the LM?" in html and "What drives the LM" in html
