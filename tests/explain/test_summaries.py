import json
import re
import socket
import zlib

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from glasstext import (
    AugLinearClassifier,
    AugLinearRegressor,
    AugTreeClassifier,
    AugTreeRegressor,
    summarize_model,
)
from glasstext.backends.lm import LanguageModel
from glasstext.backends.openai_compat import LMServerError, OpenAICompatibleLM
from glasstext.explain.summaries import (
    NO_EVIDENCE,
    NO_SUMMARY,
    ModelSummary,
    summary_prompt,
)
from glasstext.models.augtree import TreeStructure

POS = ["good", "great", "fine", "awesome", "lovely"]
NEG = ["bad", "awful", "terrible", "boring", "dull"]
ODD = ["quirky", "strange", "weird"]
FILLER = ["movie", "film", "plot", "acting", "story", "scene", "cast", "music"]
POOLS = {"good": POS[1:], "bad": NEG[1:], "quirky": ODD[1:]}


class ThemeLM(LanguageModel):
    """A fake LM: names the planted pool found in a summary prompt's phrase list."""

    def __init__(self, cache=False, answers=None, error=None):
        super().__init__(cache=cache)
        self.answers = answers or {
            "pos": " The common theme is praise words.",
            "neg": ' "complaint words"',
            "odd": " oddness\nPhrases: more",
            "none": " ",
        }
        self.error = error
        self.batches: list[list[str]] = []
        self.requests = []

    @property
    def identity(self) -> str:
        return "theme-lm"

    def _output_settings(self):
        return {}

    def _generate_uncached(self, prompts, request):
        if self.error is not None:
            raise self.error
        self.batches.append(list(prompts))
        self.requests.append(request)
        out = []
        for p in prompts:
            listed = set(re.findall(r"(?m)^Phrases: (.*)$", p)[-1].split(", "))
            kind = (
                "pos"
                if listed & set(POS)
                else "neg"
                if listed & set(NEG)
                else "odd"
                if listed & set(ODD)
                else "none"
            )
            out.append(self.answers[kind])
        return out

    def _continuation_logprobs_uncached(self, pairs, chat):
        raise AssertionError("summaries never score")


class WordEncoder:
    """Word vectors where the planted words of each pool share a direction."""

    dim = 10

    def encode(self, texts):
        rows = []
        for t in texts:
            vecs = []
            for w in t.split():
                v = np.random.default_rng(zlib.crc32(w.encode())).normal(size=self.dim) * 0.1
                v[0] += 2.0 if w in POS else -2.0 if w in NEG else 0.0
                v[1] += 2.0 if w in ODD else 0.0
                vecs.append(v)
            rows.append(np.mean(vecs, axis=0))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)


class PoolExpander:
    """Expands a pool's first word into the rest of the pool."""

    def expand(self, keywords):
        return {k: POOLS.get(k, []) for k in keywords}


def make_texts(n, pools, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        label = i % len(pools)
        words = list(rng.choice(FILLER, size=4))
        words.insert(int(rng.integers(0, 4)), str(rng.choice(pools[label])))
        X.append(" ".join(words))
        y.append(label)
    return X, np.array(y)


def tree_kwargs(**extra):
    base = dict(
        expansion=PoolExpander(),
        ngram_range=(1, 1),
        min_df=2,
        min_samples_leaf=1,
        max_features=30,
    )
    return {**base, **extra}


def phrases_of(items):
    return [p for item, _ in items for p in ([item] if isinstance(item, str) else item)]


@pytest.fixture
def binary():
    return make_texts(120, [NEG, POS])


@pytest.fixture
def linear(binary):
    X, y = binary
    return AugLinearClassifier(encoder=WordEncoder(), ngram_range=(1, 1)).fit(X, y)


def test_linear_classifier_evidence_and_one_batched_call(linear):
    lm = ThemeLM()
    s = summarize_model(linear, lm, k=5)
    assert isinstance(s, ModelSummary) and s.model_kind == "AugLinearClassifier"
    assert s.task == "classification" and s.evidence_kind == "ngrams"
    assert [c.label for c in s.classes] == [0, 1]
    neg, pos = s.classes
    assert {g for g, _ in pos.evidence} == set(POS) and all(v > 0 for _, v in pos.evidence)
    assert {g for g, _ in neg.evidence} == set(NEG) and all(v < 0 for _, v in neg.evidence)
    values = [v for _, v in pos.evidence]
    assert values == sorted(values, reverse=True)
    # One batched generate call: one prompt per class, greedy completion stopped at "\n".
    assert len(lm.batches) == 1 and len(lm.batches[0]) == 2
    request = lm.requests[0]
    assert request.greedy and not request.chat and request.stop == ("\n",)
    assert request.max_new_tokens == 32
    assert pos.summary == "praise words" and neg.summary == "complaint words"
    assert pos.answer == "The common theme is praise words."
    assert s.lm_usage["n_generate_calls"] == 2 and s.lm_usage["n_cache_hits"] == 0
    assert s.seconds >= 0 and s.lm == "theme-lm"
    assert s[1] is pos and s["0"] is neg


def test_prompt_is_few_shot_completion_with_context(linear):
    lm = ThemeLM()
    summarize_model(linear, lm, k=3, context="  movie reviews ", max_new_tokens=12)
    prompt = lm.batches[0][1]
    assert prompt.endswith("\nCommon theme:")
    assert "The next phrases come from movie reviews.\nPhrases: " in prompt
    assert prompt.count("Common theme:") == 4  # three demonstrations and the question
    assert lm.requests[0].max_new_tokens == 12
    assert summary_prompt(["a", "b"]).endswith("\n\nPhrases: a, b\nCommon theme:")


def test_second_call_is_served_from_the_cache(linear, store):
    first = summarize_model(linear, ThemeLM(cache=store), k=4)
    lm = ThemeLM(cache=store)  # a new process would see the same persistent store
    second = summarize_model(linear, lm, k=4)
    assert first.lm_usage["n_generate_calls"] == 2
    assert second.lm_usage["n_generate_calls"] == 0 and second.lm_usage["n_cache_hits"] == 2
    assert lm.batches == []
    assert [c.summary for c in second.classes] == [c.summary for c in first.classes]


def test_unusable_answers_give_a_placeholder_not_a_crash(linear):
    answers = {"pos": "   ", "neg": " bad, awful, terrible, boring", "odd": "", "none": ""}
    s = summarize_model(linear, ThemeLM(answers=answers), k=5)
    assert [c.summary for c in s.classes] == [NO_SUMMARY, NO_SUMMARY]
    assert not any(c.usable for c in s.classes)
    text = str(s)
    assert NO_SUMMARY in text and "great" in text and "awful" in text


def test_backend_failures_propagate(linear):
    error = LMServerError("server unavailable", url="http://x/v1/completions", status=503)
    with pytest.raises(LMServerError, match="server unavailable"):
        summarize_model(linear, ThemeLM(error=error))


def test_a_refused_server_connection_raises(linear):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lm = OpenAICompatibleLM("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, cache=False)
    with pytest.raises(LMServerError, match="connection refused"):
        summarize_model(linear, lm)


def test_linear_regressor_summarizes_higher_and_lower():
    X, labels = make_texts(120, [NEG, POS])
    y = np.where(labels == 1, 2.0, -2.0) + np.random.default_rng(1).normal(0, 0.1, len(X))
    model = AugLinearRegressor(encoder=WordEncoder(), ngram_range=(1, 1)).fit(X, y)
    lm = ThemeLM()
    s = summarize_model(model, lm, k=5)
    assert s.task == "regression" and [c.label for c in s.classes] == ["higher", "lower"]
    assert {g for g, _ in s["higher"].evidence} == set(POS)
    assert {g for g, _ in s["lower"].evidence} == set(NEG)
    assert all(v < 0 for _, v in s["lower"].evidence)
    assert s["higher"].summary == "praise words" and len(lm.batches) == 1
    text = str(s)
    assert "higher predictions: praise words" in text and "lower predictions:" in text


def hand_built_tree():
    """Root asks {"great", "superb"} (yes raises class 1); its "no" child asks {"awful"}."""
    model = AugTreeClassifier(expansion="none")
    model.classes_ = np.array(["neg", "pos"])
    tree = TreeStructure(
        left=[2, -1, 3, -1, -1],
        right=[1, -1, 4, -1, -1],
        keyword=["great", "", "awful", "", ""],
        phrases=[["great", "superb"], [], ["awful"], [], []],
        n_samples=[100, 40, 60, 30, 30],
        gain=[0.1, 0.0, 0.1, 0.0, 0.0],
        values=[
            np.array([0.5, 0.5]),
            np.array([0.1, 0.9]),
            np.array([23 / 30, 7 / 30]),
            np.array([16 / 30, 14 / 30]),
            np.array([1.0, 0.0]),
        ],
    )
    model.trees_ = [tree]
    return model


def test_tree_evidence_is_the_yes_branch_rise_times_share_of_samples():
    s = summarize_model(hand_built_tree(), ThemeLM())
    assert s.evidence_kind == "phrase sets"
    [(pos_set, pos_w)] = s["pos"].evidence
    assert pos_set == ("great", "superb") and pos_w == pytest.approx(0.9 - 7 / 30)
    [(neg_set, neg_w)] = s["neg"].evidence
    assert neg_set == ("awful",) and neg_w == pytest.approx((1.0 - 16 / 30) * 60 / 100)
    assert s["pos"].summary == "praise words"
    text = str(s)
    assert "class 'pos': praise words" in text and '{"great", "superb"}' in text


def test_fitted_multiclass_tree_puts_planted_phrases_under_their_class():
    X, y = make_texts(150, [NEG, POS, ODD])
    labels = np.array(["neg", "pos", "odd"])[y]
    model = AugTreeClassifier(max_depth=3, **tree_kwargs()).fit(X, labels)
    lm = ThemeLM()
    s = summarize_model(model, lm, k=3)
    pools = {"neg": NEG, "pos": POS, "odd": ODD}
    asked = [entry for entry in s.classes if entry.evidence]
    assert len(asked) >= 2
    for entry in asked:
        top_set, weight = entry.evidence[0]
        assert set(top_set) <= set(pools[entry.label]) and weight > 0
        assert len(entry.evidence) <= 3
    assert all(c.summary == NO_EVIDENCE for c in s.classes if not c.evidence)
    assert len(lm.batches) == 1 and len(lm.batches[0]) == len(asked)


def test_a_class_without_evidence_is_not_sent_to_the_lm():
    X, y = make_texts(100, [NEG, POS])
    model = AugTreeClassifier(max_depth=1, **tree_kwargs()).fit(X, y)
    lm = ThemeLM()
    s = summarize_model(model, lm)
    with_evidence = [c for c in s.classes if c.evidence]
    without = [c for c in s.classes if not c.evidence]
    assert len(with_evidence) == 1 and len(without) == 1
    assert without[0].summary == NO_EVIDENCE and without[0].answer is None
    assert len(lm.batches) == 1 and len(lm.batches[0]) == 1
    assert s.lm_usage["n_generate_calls"] == 1


def test_tree_regressor_and_bagged_ensemble():
    X, labels = make_texts(120, [NEG, POS, FILLER])
    y = np.select([labels == 1, labels == 0], [3.0, -3.0], 0.0)
    model = AugTreeRegressor(max_depth=2, n_estimators=3, random_state=0, **tree_kwargs())
    model.fit(X, y)
    s = summarize_model(model, ThemeLM())
    assert s.model_kind == "AugTreeRegressor"
    higher, weight = s["higher"].evidence[0]
    assert set(higher) <= set(POS) and weight > 0
    lower, weight = s["lower"].evidence[0]
    assert set(lower) <= set(NEG) and weight < 0
    assert s["lower"].summary == "complaint words"


def test_to_dict_is_json_serialisable_and_str_lists_the_evidence(linear):
    s = summarize_model(linear, ThemeLM(), k=3)
    data = json.loads(json.dumps(s.to_dict()))
    assert data == json.loads(s.to_json())
    assert data["model_kind"] == "AugLinearClassifier" and data["lm_usage"]["n_generate_calls"] == 2
    assert [c["label"] for c in data["classes"]] == [0, 1]
    assert {"ngram", "weight"} == set(data["classes"][1]["evidence"][0])
    assert data["classes"][1]["summary"] == "praise words"
    text = str(s)
    for g, v in s.classes[1].evidence:
        assert f"{v:+.4f}  {g}" in text
    assert text.index("class 0:") < text.index("class 1:")

    tree = json.loads(json.dumps(summarize_model(hand_built_tree(), ThemeLM()).to_dict()))
    assert tree["classes"][1]["evidence"][0]["phrases"] == ["great", "superb"]
    assert tree["classes"][1]["label"] == "pos"


def test_unsupported_and_unfitted_models_and_bad_arguments(linear):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match=r"supports AugLinearClassifier.*got LogisticRegression"):
        summarize_model(LogisticRegression(), ThemeLM())
    with pytest.raises(TypeError, match="got str"):
        summarize_model("model", ThemeLM())
    with pytest.raises(NotFittedError):
        summarize_model(AugLinearClassifier(encoder=WordEncoder()), ThemeLM())
    with pytest.raises(NotFittedError):
        summarize_model(AugTreeRegressor(), ThemeLM())
    with pytest.raises(ValueError, match="k must be >= 1"):
        summarize_model(linear, ThemeLM(), k=0)
    with pytest.raises(TypeError, match="k must be an int"):
        summarize_model(linear, ThemeLM(), k=2.5)
    with pytest.raises(TypeError, match="lm must be"):
        summarize_model(linear, lm=3)
    with pytest.raises(TypeError, match="context"):
        summarize_model(linear, ThemeLM(), context=["movies"])


def test_loaded_model_summarizes_like_the_fitted_one(tmp_path):
    X, y = make_texts(150, [NEG, POS, ODD])
    model = AugTreeClassifier(max_depth=3, **tree_kwargs()).fit(X, y)
    loaded = AugTreeClassifier.load(model.save(tmp_path / "m"))
    a = summarize_model(model, ThemeLM(), k=4).to_dict()
    b = summarize_model(loaded, ThemeLM(), k=4).to_dict()
    assert [c["evidence"] for c in a["classes"]] == [c["evidence"] for c in b["classes"]]


@pytest.mark.integration
def test_packaged_smollm2_summarizes_a_tiny_model(binary):
    from glasstext.backends.lm import get_lm

    X, y = binary
    model = AugTreeClassifier(max_depth=2, **tree_kwargs()).fit(X, y)
    s = summarize_model(model, get_lm(None), k=2, max_new_tokens=12)
    assert s.lm_usage["n_generate_calls"] + s.lm_usage["n_cache_hits"] >= 1
    asked = [c for c in s.classes if c.answer is not None]
    assert asked and all(isinstance(c.summary, str) and c.summary for c in asked)
    assert "Common theme" not in str(s)
    json.dumps(s.to_dict())
