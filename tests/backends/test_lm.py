"""Tests of the causal-LM backend.

Unit tests use a tiny random Llama model (hidden size 32, 2 layers) with a
byte-level BPE tokenizer trained in-process, saved to a temporary folder, so
they need no download and run in seconds. Integration tests use the offline
SmolLM2 and Gemma carriers.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from conftest import TINY_CORPUS
from glasstext.backends import lm as lm_module
from glasstext.backends.cache import SqliteStore
from glasstext.backends.lm import LanguageModel, LocalCausalLM, get_lm, release_models

PROMPTS = [
    "Review: the movie was good. Sentiment:",
    "the plot",
    "Review: an awful script, a dull and terrible ending with a boring cast. Sentiment:",
    "a",
]
CONTINUATIONS = [" positive", " negative", " the movie was great", ""]


@pytest.fixture(autouse=True)
def _forget_loaded_models():
    yield
    release_models()


@functools.cache
def _reference_model(folder: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(
        folder
    ).eval()


def _manual_logprob(folder: str, prompt: str, continuation: str) -> float:
    """Log-probability of a continuation, from one unpadded forward pass."""
    import torch

    tokenizer, model = _reference_model(folder)
    prompt_ids = tokenizer(prompt)["input_ids"]
    cont_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + cont_ids])
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(ids).logits[0].double(), dim=-1)
    return sum(float(logprobs[len(prompt_ids) - 1 + j, token]) for j, token in enumerate(cont_ids))


# -- scoring --------------------------------------------------------------------------


def test_logprobs_equal_a_manual_computation_from_logits(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store, batch_size=16)
    got = lm.continuation_logprobs(PROMPTS, CONTINUATIONS)
    assert got.shape == (len(PROMPTS), len(CONTINUATIONS)) and got.dtype == np.float64
    for i, prompt in enumerate(PROMPTS):
        for j, cont in enumerate(CONTINUATIONS):
            assert got[i, j] == pytest.approx(_manual_logprob(tiny_lm_dir, prompt, cont), abs=1e-4)
    assert np.all(got[:, 3] == 0.0)  # an empty continuation has probability one
    assert np.all(got[:, :3] < 0)


def test_batched_logprobs_equal_one_at_a_time(tiny_lm_dir):
    batched = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=16)
    got = batched.continuation_logprobs(PROMPTS, CONTINUATIONS)
    single = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=1)
    for i, prompt in enumerate(PROMPTS):
        for j, cont in enumerate(CONTINUATIONS):
            alone = single.continuation_logprobs([prompt], [cont])[0, 0]
            assert got[i, j] == pytest.approx(alone, abs=1e-4)
    assert batched.n_forward_batches < single.n_forward_batches


def test_pair_logprobs_match_the_grid(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    grid = lm.continuation_logprobs(PROMPTS[:2], CONTINUATIONS[:2])
    pairs = lm.pair_logprobs(
        [PROMPTS[0], PROMPTS[1], PROMPTS[1]], [CONTINUATIONS[1], CONTINUATIONS[0], CONTINUATIONS[1]]
    )
    np.testing.assert_array_equal(pairs, [grid[0, 1], grid[1, 0], grid[1, 1]])


def test_single_token_labels_share_one_forward_pass_per_prompt(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    tokenizer = lm.tokenizer
    labels = [" the", " a", " was"]
    assert all(len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1 for w in labels)
    lm.continuation_logprobs(PROMPTS, labels)
    assert lm.n_forward_texts == len(PROMPTS)


def test_small_logit_budget_gives_the_same_scores(tiny_lm_dir, monkeypatch):
    reference = LocalCausalLM(tiny_lm_dir, cache=False).continuation_logprobs(
        PROMPTS, CONTINUATIONS
    )
    monkeypatch.setattr(lm_module, "_LOGIT_BUDGET", 1)  # one sequence per forward pass
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    np.testing.assert_allclose(
        lm.continuation_logprobs(PROMPTS, CONTINUATIONS), reference, atol=1e-5
    )
    assert lm.n_forward_batches == lm.n_forward_texts


def test_second_call_runs_no_forward_pass_and_returns_identical_values(tiny_lm_dir, tmp_path):
    path = tmp_path / "lm.sqlite"
    first = LocalCausalLM(tiny_lm_dir, cache=SqliteStore(path))
    v1 = first.continuation_logprobs(PROMPTS, CONTINUATIONS)
    s1 = first.score_texts(TINY_CORPUS[:3])
    g1 = first.generate(PROMPTS[:2], max_new_tokens=5)
    release_models()
    again = LocalCausalLM(tiny_lm_dir, cache=SqliteStore(path))
    v2 = again.continuation_logprobs(PROMPTS, CONTINUATIONS)
    s2 = again.score_texts(TINY_CORPUS[:3])
    g2 = again.generate(PROMPTS[:2], max_new_tokens=5)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(s1.total, s2.total)
    assert g1 == g2
    assert again.n_forward_texts == 0 and again.n_generate_calls == 0
    assert again.n_cache_hits == len(PROMPTS) * len(CONTINUATIONS) + 3 + 2
    assert again._loaded is None  # the model was never even loaded


def test_duplicates_are_computed_once(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    out = lm.continuation_logprobs([PROMPTS[0], PROMPTS[0]], [" positive", " positive"])
    assert np.all(out == out[0, 0])
    assert lm.n_forward_texts == 1 and lm.n_cache_hits == 0


def test_settings_that_change_outputs_change_the_cache_key(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    plain = lm.continuation_logprobs(PROMPTS[:2], [" positive"])
    chat = lm.continuation_logprobs(PROMPTS[:2], [" positive"], chat=True)
    assert lm.n_cache_hits == 0 and not np.allclose(plain, chat)
    bf16 = LocalCausalLM(tiny_lm_dir, cache=store, precision="bf16")
    low = bf16.continuation_logprobs(PROMPTS[:2], [" positive"])
    assert bf16.n_cache_hits == 0 and bf16.n_forward_texts == 2
    np.testing.assert_allclose(low, plain, atol=0.15)


def test_score_texts_equals_a_manual_computation(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    texts = ["the movie was good", "", "x"]
    scores = lm.score_texts(texts)
    tokenizer = lm.tokenizer
    for i, text in enumerate(texts):
        n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert scores.n_tokens[i] == n
        # The tiny tokenizer adds no BOS: the first token is predicted after the BOS token.
        expected = _manual_logprob(tiny_lm_dir, tokenizer.bos_token, text) if n else 0.0
        assert scores.total[i] == pytest.approx(expected, abs=1e-4)
    assert np.isnan(scores.mean[1]) and scores.mean[0] == pytest.approx(
        scores.total[0] / scores.n_tokens[0]
    )


def test_label_probs_rows_sum_to_one(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    probs = lm.label_probs(PROMPTS, [" positive", " negative", " neutral"])
    assert probs.shape == (len(PROMPTS), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    logp = lm.continuation_logprobs(PROMPTS, [" positive", " negative", " neutral"])
    np.testing.assert_allclose(np.log(probs[:, 0] / probs[:, 1]), logp[:, 0] - logp[:, 1])


def test_long_prompts_lose_their_beginning_with_a_warning(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False, max_length=8)
    long_prompt = " ".join(TINY_CORPUS)
    with pytest.warns(UserWarning, match="lost their beginning"):
        out = lm.continuation_logprobs([long_prompt], [" positive"])
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="does not fit"):
        lm.continuation_logprobs(["a"], [" " + long_prompt])


def test_a_prompt_ending_in_a_space_warns(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    with pytest.warns(UserWarning, match="start of the continuation"):
        lm.continuation_logprobs(["Sentiment: "], ["positive"])


# -- generation -----------------------------------------------------------------------


def test_greedy_generation_is_deterministic_and_batch_invariant(tiny_lm_dir):
    prompts = [*PROMPTS, "the film"]
    batched = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=3)
    out = batched.generate(prompts, max_new_tokens=8)
    assert len(out) == len(prompts) and all(isinstance(t, str) for t in out)
    assert any(out)
    assert batched.generate(prompts, max_new_tokens=8) == out
    single = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=1)
    assert [single.generate([p], max_new_tokens=8)[0] for p in prompts] == out
    assert batched.n_generate_calls == 2 * len(prompts)
    assert 0 < batched.n_generated_tokens <= 2 * 8 * len(prompts)


def test_generation_is_cached(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    first = lm.generate(PROMPTS, max_new_tokens=6)
    assert lm.generate(PROMPTS, max_new_tokens=6) == first
    assert lm.n_generate_calls == len(PROMPTS) and lm.n_cache_hits == len(PROMPTS)
    lm.generate(PROMPTS, max_new_tokens=7)  # another setting, another namespace
    assert lm.n_generate_calls == 2 * len(PROMPTS)


def test_seeded_sampling_is_reproducible_and_batch_invariant(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store, batch_size=4)
    out = lm.generate(PROMPTS, max_new_tokens=10, temperature=1.0, seed=7)
    single = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=1)
    alone = [single.generate([p], max_new_tokens=10, temperature=1.0, seed=7)[0] for p in PROMPTS]
    assert alone == out
    assert lm.generate(PROMPTS, max_new_tokens=10, temperature=1.0, seed=7) == out
    assert lm.n_cache_hits == len(PROMPTS)
    greedy = lm.generate(PROMPTS, max_new_tokens=10)
    other = lm.generate(PROMPTS, max_new_tokens=10, temperature=1.0, seed=8)
    assert other != out and out != greedy


def test_unseeded_sampling_is_not_cached(tiny_lm_dir, store):
    lm = LocalCausalLM(tiny_lm_dir, cache=store)
    lm.generate(PROMPTS[:2], max_new_tokens=4, temperature=1.0)
    lm.generate(PROMPTS[:2], max_new_tokens=4, temperature=1.0)
    assert lm.n_generate_calls == 4 and lm.n_cache_hits == 0


def test_stop_strings_cut_the_text(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    prompt = PROMPTS[0]
    full = lm.generate([prompt], max_new_tokens=16)[0]
    stop = next(ch for ch in full[3:] if not ch.isspace())
    cut = lm.generate([prompt], max_new_tokens=16, stop=[stop])[0]
    assert cut == full[: full.index(stop)].strip()
    assert lm.generate([prompt], max_new_tokens=16, stop=stop)[0] == cut  # a bare string works


def test_chat_template_is_used_when_present_and_skipped_otherwise(tiny_lm_dir, tiny_plain_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    assert lm.generate(PROMPTS, max_new_tokens=6) != lm.generate(
        PROMPTS, max_new_tokens=6, chat=False
    )
    plain = LocalCausalLM(tiny_plain_lm_dir, cache=False)
    assert plain.generate(PROMPTS, max_new_tokens=6) == plain.generate(
        PROMPTS, max_new_tokens=6, chat=False
    )


def test_zero_new_tokens_and_empty_inputs(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    assert lm.generate([]) == []
    assert lm.generate(["a", "b"], max_new_tokens=0) == ["", ""]
    assert lm.continuation_logprobs([], [" a", " b"]).shape == (0, 2)
    assert lm.continuation_logprobs(["a", "b"], []).shape == (2, 0)
    assert lm.pair_logprobs([], []).shape == (0,)
    assert lm.score_texts([]).total.shape == (0,)
    assert lm._loaded is None  # nothing needed the model


# -- errors, laziness and sharing -----------------------------------------------------


def test_errors_name_the_problem(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    with pytest.raises(TypeError, match="not a single string"):
        lm.generate("one prompt")
    with pytest.raises(TypeError, match=r"prompts\[1\] is int, expected str"):
        lm.generate(["fine", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"continuations\[0\]"):
        lm.continuation_logprobs(["a"], [None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"texts\[2\]"):
        lm.score_texts(["a", "b", b"c"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        lm.pair_logprobs(["a", "b"], [" c"])
    with pytest.raises(ValueError, match="temperature"):
        lm.generate(["a"], temperature=-1.0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        lm.generate(["a"], max_new_tokens=-1)
    with pytest.raises(TypeError, match="seed"):
        lm.generate(["a"], temperature=1.0, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stop strings"):
        lm.generate(["a"], stop=[""])
    with pytest.raises(ValueError, match="at least one label"):
        lm.label_probs(["a"], [])
    with pytest.raises(ValueError, match="precision"):
        LocalCausalLM(tiny_lm_dir, precision="fp16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        LocalCausalLM(tiny_lm_dir, batch_size=0)
    with pytest.raises(TypeError, match="cache"):
        LocalCausalLM(tiny_lm_dir, cache="yes")  # type: ignore[arg-type]
    assert lm._loaded is None  # every check ran before loading anything


def test_numpy_integers_are_accepted(tiny_lm_dir):
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    a = lm.generate(["a"], max_new_tokens=np.int64(3), temperature=1.0, seed=np.int32(4))
    assert a == lm.generate(["a"], max_new_tokens=3, temperature=1.0, seed=4)


def test_loading_is_lazy_and_weights_are_shared(tiny_lm_dir):
    first = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=2)
    second = LocalCausalLM(tiny_lm_dir, cache=False, batch_size=8)
    assert first._loaded is None and "not loaded" in repr(first)
    first.continuation_logprobs(["a"], [" b"])
    assert first._loaded is not None
    assert second.model is first.model  # one load for both


def test_get_lm_returns_one_shared_instance(tiny_lm_dir):
    lm = get_lm(tiny_lm_dir)
    assert isinstance(lm, LocalCausalLM)
    assert get_lm(tiny_lm_dir) is lm
    assert get_lm(tiny_lm_dir, precision="bf16") is not lm
    custom = LocalCausalLM(tiny_lm_dir, cache=False)
    assert get_lm(custom) is custom


def test_the_interface_can_be_implemented_without_torch(store):
    class Echo(LanguageModel):
        """A fake backend: it proves caching and checks live in the base class."""

        def __init__(self):
            super().__init__(cache=store)
            self.seen: list[str] = []

        @property
        def identity(self) -> str:
            return "echo"

        def _output_settings(self):
            return {}

        def _generate_uncached(self, prompts, request):
            self.seen.extend(prompts)
            return [p.upper()[: request.max_new_tokens] for p in prompts]

        def _continuation_logprobs_uncached(self, pairs, chat):
            return [-float(len(c)) for _, c in pairs]

    echo = Echo()
    assert echo.generate(["ab", "cd", "ab"], max_new_tokens=1) == ["A", "C", "A"]
    assert echo.generate(["ab"], max_new_tokens=1) == ["A"]
    assert echo.seen == ["ab", "cd"] and echo.n_cache_hits == 1
    np.testing.assert_array_equal(echo.continuation_logprobs(["p"], ["x", "yy"]), [[-1.0, -2.0]])
    with pytest.raises(NotImplementedError):
        echo.score_texts(["x"])


def test_a_registered_backend_is_built_by_get_lm_and_shared(monkeypatch):
    from glasstext.backends import lm_base

    class Named(LanguageModel):
        def __init__(self, name: str) -> None:
            super().__init__(cache=False)
            self.name = name

        @property
        def identity(self) -> str:
            return self.name

        def _output_settings(self):
            return {}

        def _generate_uncached(self, prompts, request):
            return ["" for _ in prompts]

        def _continuation_logprobs_uncached(self, pairs, chat):
            return [0.0 for _ in pairs]

    monkeypatch.setitem(lm_base.LM_BACKENDS, "fake", Named)  # undone after the test
    lm = get_lm("fake:some-model")
    assert isinstance(lm, Named) and lm.name == "fake:some-model"
    assert get_lm("fake:some-model") is lm
    # An unregistered prefix is a local model name, resolved only when used.
    assert isinstance(get_lm("nobackend:model"), LocalCausalLM)
    with pytest.raises(ValueError, match="prefix"):
        lm_base.register_lm_backend("a:b", Named)
    with pytest.raises(TypeError, match="factory"):
        lm_base.register_lm_backend("fake2", "not-a-target")


def test_the_openai_prefix_is_a_lazily_imported_table_entry():
    from glasstext.backends.lm_base import LM_BACKENDS, lm_backend_for
    from glasstext.backends.openai_compat import OpenAICompatibleLM

    assert LM_BACKENDS["openai"] == (
        "glasstext.backends.openai_compat:OpenAICompatibleLM.from_spec"
    )
    assert lm_backend_for("openai:m") == OpenAICompatibleLM.from_spec
    assert lm_backend_for("SmolLM2-135M-Instruct") is None


def test_truncate_at_stop_cuts_at_the_earliest_stop_string():
    from glasstext.backends.lm_base import truncate_at_stop

    assert truncate_at_stop("a. b\nc", [".", "\n"]) == "a"
    assert truncate_at_stop("abc", ["x"]) == "abc"
    assert truncate_at_stop("abc", []) == "abc"


def test_the_interface_module_imports_neither_backend_nor_torch():
    import subprocess
    import sys

    code = (
        "import sys, glasstext.backends.lm_base; "
        "print([m for m in ('torch', 'transformers', 'glasstext.backends.lm', "
        "'glasstext.backends.openai_compat') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- integration with the offline models ------------------------------------------------


def _offline_lm(alias: str, store: SqliteStore, **kwargs) -> LocalCausalLM:
    from glasstext.backends.registry import MissingCarrierError

    lm = LocalCausalLM(alias, cache=store, progress=False, **kwargs)
    try:
        lm.load()
    except MissingCarrierError as exc:
        pytest.skip(f"{alias} carrier is not installed: {exc}")
    return lm


# SmolLM2-135M is small: with chat wrapping its label prior swamps the review,
# and some phrasings favour one label whatever the text. This one separates them.
SENTIMENT_PROMPT = 'Movie review: "{review}"\nThe sentiment of this review is'
POSITIVE_REVIEW = "This movie was wonderful, a joy from start to finish."
NEGATIVE_REVIEW = "A terrible, boring film. The acting is awful and I hated every minute of it."


@pytest.mark.integration
def test_smollm2_generates_text_for_an_instruction(store):
    lm = _offline_lm("SmolLM2-135M-Instruct", store)
    (answer,) = lm.generate(["What is the capital of France? Answer in one word."], 16)
    assert answer.strip()
    assert "paris" in answer.lower()


@pytest.mark.integration
def test_smollm2_zero_shot_sentiment(store):
    lm = _offline_lm("SmolLM2-135M-Instruct", store)
    prompts = [SENTIMENT_PROMPT.format(review=r) for r in (POSITIVE_REVIEW, NEGATIVE_REVIEW)]
    logp = lm.continuation_logprobs(prompts, [" positive", " negative"])
    assert logp[0, 0] > logp[0, 1]  # the positive review
    assert logp[1, 1] > logp[1, 0]  # the negative review


@pytest.mark.integration
def test_smollm2_batched_scores_equal_one_at_a_time(store):
    lm = _offline_lm("SmolLM2-135M-Instruct", store)
    prompts = ["Hi", SENTIMENT_PROMPT.format(review=POSITIVE_REVIEW), "The weather today is"]
    conts = [" positive", " very nice indeed"]
    together = lm.continuation_logprobs(prompts, conts)
    alone = LocalCausalLM("SmolLM2-135M-Instruct", cache=False, batch_size=1, progress=False)
    for i, p in enumerate(prompts):
        for j, c in enumerate(conts):
            assert together[i, j] == pytest.approx(
                alone.continuation_logprobs([p], [c])[0, 0], abs=1e-3
            )


@pytest.mark.integration
def test_gemma_loads_and_scores(store):
    lm = _offline_lm("gemma-3-270m", store)
    assert not lm._has_chat_template()  # the base GGUF ships none: prompts stay raw
    logp = lm.continuation_logprobs(["The capital of France is"], [" Paris", " banana"])
    assert np.isfinite(logp).all() and logp[0, 0] > logp[0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # chat=True falls back silently to the raw prompt
        (text,) = lm.generate(["The capital of France is"], max_new_tokens=4)
    assert text
