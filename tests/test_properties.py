"""Property-based tests (hypothesis) over the public text inputs (issue 14).

Arbitrary Unicode goes through the tokenizer, the n-gram machinery, the input
checks and save/load; random texts through Aug-Linear (a decision is exactly
the intercept plus its n-grams' table values, pure and hybrid); random toy
models through KernelSHAP (attributions sum to f(x) - f(baseline)). Each test
states an invariant that must hold for every input, not only for the examples
someone thought of.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from explain.toy_models import InteractionToy, LinearToy, words_text  # noqa: E402
from glasstext import UnseenNgramWarning, io  # noqa: E402
from glasstext.exceptions import ModelFileError, NoWordsWarning  # noqa: E402
from glasstext.text import (  # noqa: E402
    NgramVocabulary,
    extract_ngrams,
    ngrams_of_tokens,
    tokenize,
    tokenize_with_spans,
)
from glasstext.validation import check_documents, check_texts, wordless_positions  # noqa: E402
from models.test_auglinear import FILLER, FakeEncoder  # noqa: E402
from synthetic import NEG, POS, planted_texts  # noqa: E402

# Any Unicode text, surrogates excluded (they cannot be encoded, so never reach us).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
WORDY = st.lists(st.sampled_from(["good", "bad", "Film", "naïve", "東京", "ok-ish", "it's"]))
RANGE = st.tuples(st.integers(1, 3), st.integers(0, 2)).map(lambda p: (p[0], p[0] + p[1]))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Each example writes a model folder (tmp_path is reused: every save replaces the last).
IO = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(TEXT)
def test_tokens_are_words_of_the_text_in_order(text):
    spans = tokenize_with_spans(text, lowercase=False)
    assert [t.text for t in spans] == tokenize(text, lowercase=False)
    end = 0
    for token in spans:
        assert token.text and token.text == text[token.start : token.end]
        assert not any(c.isspace() for c in token.text)
        assert token.start >= end  # in order, never overlapping
        end = token.end


@FAST
@given(TEXT)
def test_tokenizing_is_idempotent_and_lowercasing_commutes(text):
    words = tokenize(text, lowercase=False)
    assert tokenize(" ".join(words), lowercase=False) == words
    assert tokenize(text) == [w.lower() for w in words]


@FAST
@given(TEXT, RANGE)
def test_ngram_counts_and_lengths(text, ngram_range):
    lo, hi = ngram_range
    tokens = tokenize(text)
    grams = extract_ngrams(text, ngram_range)
    expected = sum(max(0, len(tokens) - n + 1) for n in range(lo, hi + 1))
    assert len(grams) == expected
    assert all(lo <= len(g.split(" ")) <= hi for g in grams)
    if lo == 1:
        assert grams[: len(tokens)] == tokens  # unigrams first, in text order


@FAST
@given(st.lists(WORDY, min_size=1, max_size=6), RANGE)
def test_count_matrix_counts_every_ngram_once(docs, ngram_range):
    grams = [ngrams_of_tokens([w.lower() for w in d], ngram_range) for d in docs]
    vocab = NgramVocabulary.from_documents(grams[: len(grams) // 2 + 1])
    counts, unknown = vocab.count_matrix(grams)
    for i, doc in enumerate(grams):
        assert counts[i].sum() + len(unknown[i]) == len(doc)
        assert all(g not in vocab for g in unknown[i])


@FAST
@given(st.lists(TEXT, max_size=8))
def test_check_texts_keeps_any_unicode_unchanged(texts):
    assert check_texts(texts) == texts
    assert check_texts(tuple(texts)) == texts
    assert wordless_positions(texts) == [i for i, t in enumerate(texts) if not tokenize(t)]


@FAST
@given(st.lists(TEXT, min_size=1, max_size=8))
def test_check_documents_refuses_blanks_and_warns_on_wordless(texts):
    blank = any(not t.strip() for t in texts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if blank:
            with pytest.raises(ValueError, match="blank"):
                check_documents(texts)
            return
        assert check_documents(texts) == texts
    wordless = any(not tokenize(t) for t in texts)
    assert any(issubclass(w.category, NoWordsWarning) for w in caught) == wordless


# JSON-ready configurations: text keys, finite numbers, strings, nested lists and dicts.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
ARRAYS = st.dictionaries(
    st.text("abcdefgh_", min_size=1, max_size=8),
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.int64]),
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
    ),
    max_size=3,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(TEXT, JSON, max_size=5), ARRAYS)
def test_save_load_round_trip(tmp_path, config, arrays):
    folder = io.save_model(tmp_path / "m", "Kind", config, arrays, overwrite=True)
    loaded_config, loaded_arrays = io.load_model(folder, "Kind")
    assert loaded_config == config
    assert set(loaded_arrays) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded_arrays[name], value)
        assert loaded_arrays[name].dtype == value.dtype


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(TEXT, JSON, min_size=1, max_size=5), st.data())
def test_any_change_to_the_configuration_is_caught(tmp_path, config, data):
    import json

    folder = io.save_model(tmp_path / "m", "Kind", config, {"w": np.zeros(2)}, overwrite=True)
    key = data.draw(st.sampled_from(sorted(config)))
    new_value = data.draw(JSON.filter(lambda v: v != config[key]))
    document = json.loads((folder / "model.json").read_text("utf-8"))
    document["config"][key] = new_value
    (folder / "model.json").write_text(json.dumps(document), "utf-8")
    with pytest.raises(ModelFileError, match=r"model\.json"):
        io.load_model(folder, "Kind")


# -- Aug-Linear: a prediction is exactly the intercept plus its n-grams' table values --------

# Words the fake encoder knows: class words and filler, so any text drawn from them has every
# unigram and bigram in the table (the extra ``vocabulary`` holds every pair).
_POOL = sorted(set(POS + NEG + FILLER))
_UNSEEN_WORDS = ["zebra", "quasar", "mañana", "kumquat"]


def _auglinear(hybrid: bool, pooling: str = "auto", cv: int = 3) -> Any:
    from glasstext import AugLinearClassifier

    X, y = planted_texts(120, [NEG, POS], [0, 1], FILLER, 4, 0)
    pairs = [f"{a} {b}" for a in _POOL for b in _POOL]
    model = AugLinearClassifier(
        encoder=FakeEncoder(),
        ngram_range=(1, 2),
        hybrid=hybrid,
        vocabulary=pairs,
        cv=cv,
        doc_pooling=pooling,
    )
    return model.fit(X, y)


POOLINGS = ("sum", "sqrt", "mean")


@pytest.fixture(scope="module")
def auglinear_models() -> dict[tuple[bool, str], Any]:
    """One fitted model per mode (pure, or the hybrid default) and document pooling."""
    return {(h, p): _auglinear(h, p) for h in (False, True) for p in POOLINGS}


def _length_factor(model: Any, n_grams: int) -> float:
    """What every value of a text of ``n_grams`` n-grams is multiplied by."""
    power = {"sum": 0.0, "sqrt": 0.5, "mean": 1.0}[model.doc_pooling_]
    return float((model.reference_length_ / n_grams) ** power)


POOL_TEXT = st.lists(st.sampled_from(_POOL), min_size=1, max_size=12).map(" ".join)
DECOMPOSE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@DECOMPOSE
@given(st.lists(POOL_TEXT, min_size=1, max_size=5), st.booleans(), st.sampled_from(POOLINGS))
def test_auglinear_decision_is_intercept_plus_table_values(
    auglinear_models, texts, hybrid, pooling
):
    model = auglinear_models[hybrid, pooling]
    assert model.hybrid is hybrid and (np.any(model.phrase_table_) == hybrid)
    assert model.doc_pooling_ == pooling
    expected = []
    for text in texts:
        rows = [model.vocabulary_.index[g] for g in extract_ngrams(text, model.ngram_range)]
        scale = _length_factor(model, len(rows))
        expected.append(model.intercept_[0] + scale * model.coef_table_[rows, 0].sum())
    np.testing.assert_allclose(model.decision_function(texts), expected, rtol=1e-9, atol=1e-9)


@DECOMPOSE
@given(
    st.lists(st.sampled_from(_POOL + _UNSEEN_WORDS), min_size=1, max_size=12).map(" ".join),
    st.booleans(),
    st.sampled_from(POOLINGS),
)
def test_auglinear_explanation_sums_to_the_decision(auglinear_models, text, hybrid, pooling):
    model = auglinear_models[hybrid, pooling]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        decision = float(model.decision_function([text])[0])
        explanation = model.explain(text)
    total = explanation.intercept + sum(v for _, v in explanation.contributions)
    assert explanation.decision == pytest.approx(decision, abs=1e-9)
    assert total == pytest.approx(decision, abs=1e-9)
    grams = extract_ngrams(text, model.ngram_range)
    assert sum(explanation.counts.values()) == len(grams)  # every occurrence counted once
    for gram, value in explanation.contributions:
        if gram in model.vocabulary_:  # a known n-gram contributes its table value per occurrence
            row = model.vocabulary_.index[gram]
            expected = explanation.counts[gram] * model.coef_table_[row, 0]
            expected *= _length_factor(model, len(grams))
            assert value == pytest.approx(expected, abs=1e-9)
    assert explanation.length_scale == pytest.approx(_length_factor(model, len(grams)))


# -- KernelSHAP: attributions sum to f(x) - f(baseline) on random toy models ---------------


def _random_toy(kind: str, n_words: int, seed: int) -> Any:
    if kind == "linear":
        weights = np.random.default_rng(seed).normal(size=n_words)
        return LinearToy(list(weights), bias=float(seed % 7) / 10)
    return InteractionToy(n_words, seed=seed)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["linear", "interaction"]),
    st.integers(1, 10),
    st.integers(0, 10_000),
    st.integers(2, 200),
    st.sampled_from(["auto", False]),
    st.sampled_from([None, 0, 1]),
    st.sampled_from([None, "[MASK]"]),
)
def test_kernelshap_is_efficient_on_random_toy_models(
    kind, n_words, seed, n_samples, exact, target_class, mask_token
):
    from glasstext.explain import KernelShapExplainer

    toy = _random_toy(kind, n_words, seed)
    text = words_text(n_words)
    explainer = KernelShapExplainer(
        toy, n_samples=n_samples, exact=exact, seed=seed, mask_token=mask_token
    )
    a = explainer.explain(text, target_class=target_class)
    cls = a.explained_class
    # f(x) and f(baseline) straight from the model, not from the explainer's bookkeeping
    masked = " ".join([mask_token] * n_words) if mask_token else ""
    f_x, f_base = toy([text])[0, cls], toy([masked])[0, cls]
    assert a.value == pytest.approx(f_x, abs=1e-12)
    assert a.base_value == pytest.approx(f_base, abs=1e-12)
    assert float(np.sum(a.scores)) == pytest.approx(f_x - f_base, abs=1e-9)
    assert a.scores.shape == (n_words,) and np.all(np.isfinite(a.scores))
