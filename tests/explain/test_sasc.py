import json

import numpy as np
import pytest

from explain.nl_fakes import FOOD, ThemeLM, food_corpus, food_module, unreachable_server_lm
from glasstext import explain_module
from glasstext.backends.openai_compat import LMServerError
from glasstext.explain.nl import ExplanationError
from glasstext.explain.sasc import (
    ModuleResponse,
    corpus_ngrams,
    score_explanations,
    summary_prompt,
    top_responses,
)


def run(lm=None, **kwargs):
    kwargs.setdefault("progress", False)
    return explain_module(food_module, food_corpus(), lm=lm or ThemeLM(), **kwargs)


def test_keyword_detector_top_explanation_beats_an_unrelated_concept():
    lm = ThemeLM()
    result = run(lm)
    assert result.best.text == "food"
    control = score_explanations(food_module, ["sports"], lm=lm, scale=result.scale)[0]
    assert result.best.score > 1.0 > control.score
    assert [e.score for e in result.explanations] == sorted(
        (e.score for e in result.explanations), reverse=True
    )


def test_evidence_and_top_ngrams_come_from_the_module_responses():
    result = run()
    assert all(any(f in g for f in FOOD) for g, _ in result.top_ngrams[:5])
    best = result.best
    assert best.n_proposals >= 1 and best.evidence
    assert all(v > 0 for _, v in best.evidence[:3])
    assert all(any(f in t for f in FOOD) for t in best.texts_with)


def test_calls_are_counted_and_the_cache_makes_a_rerun_free(store):
    first = run(ThemeLM(cache=store))
    assert first.lm_usage["n_generate_calls"] > 0
    synthetic = sum(len(e.texts_with) + len(e.texts_without) for e in first.explanations)
    assert first.module_calls == first.n_ngrams + synthetic
    second = run(ThemeLM(cache=store))
    assert second.lm_usage["n_generate_calls"] == 0
    assert second.lm_usage["n_cache_hits"] > 0
    assert [e.to_dict() for e in second.explanations] == [e.to_dict() for e in first.explanations]


def test_the_same_seed_gives_the_same_result_and_another_seed_other_subsets():
    a, b = ThemeLM(), ThemeLM()
    first, second = run(a, random_state=3), run(b, random_state=3)
    assert json.dumps([e.to_dict() for e in first.explanations]) == json.dumps(
        [e.to_dict() for e in second.explanations]
    )
    assert a.prompts == b.prompts
    c = ThemeLM()
    run(c, random_state=4)
    assert c.prompts != a.prompts


def test_to_dict_is_json_and_str_is_readable():
    result = run()
    assert json.loads(json.dumps(result.to_dict()))["explanations"][0]["text"] == "food"
    text = str(result)
    assert "1. food" in text and "module calls" in text


def test_corpus_ngrams_keep_every_word_first_and_frequent_phrases():
    ngrams = corpus_ngrams(["a rare word", "a common phrase", "a common phrase"], (1, 2), 100)
    assert ngrams[:5] == ["a", "rare", "word", "common", "phrase"]
    assert "a common" in ngrams and "rare word" not in ngrams  # seen once
    assert corpus_ngrams(["one two three"], (1, 1), 2) == ["one", "two"]


@pytest.mark.parametrize("answer", ["  ...", " clothing", " Tools.", " pizza, bread, soup"])
def test_an_lm_without_usable_answers_is_a_clear_error(answer):
    # empty; a copy of a worked example's answer; the listed phrases read back
    with pytest.raises(ExplanationError, match="no usable explanation"):
        run(ThemeLM(answer=answer))


def test_summary_prompts_rotate_their_worked_examples():
    first, second = summary_prompt(["a", "b"], 0), summary_prompt(["a", "b"], 1)
    assert first.index("clothing") < first.index("tools")
    assert second.index("tools") < second.index("clothing")
    assert first.endswith("Phrases: a, b\nCommon theme:")
    assert summary_prompt(["a", "b"], chat=True).startswith("Here is a list of phrases:\na\nb")


def test_a_failing_lm_backend_surfaces_its_error():
    with pytest.raises(LMServerError, match="connection refused"):
        run(unreachable_server_lm())


@pytest.mark.parametrize(
    "module, error, message",
    [
        (lambda texts: np.ones(len(texts)), ValueError, "same response"),
        (lambda texts: np.ones(len(texts) + 1), ValueError, "one number per text"),
        (lambda texts: np.full(len(texts), np.nan), ValueError, "NaN"),
        (lambda texts: ["x"] * len(texts), TypeError, "must return numbers"),
        (lambda texts: np.ones((len(texts), 3)), ValueError, "choose one with output="),
        ("not a module", TypeError, "a module is a function"),
    ],
)
def test_bad_modules_are_named(module, error, message):
    with pytest.raises(error, match=message):
        explain_module(module, food_corpus(), lm=ThemeLM(), progress=False)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="corpus is empty"):
        explain_module(food_module, [], lm=ThemeLM())
    with pytest.raises(TypeError, match="corpus"):
        explain_module(food_module, "one text", lm=ThemeLM())
    with pytest.raises(ValueError, match="n_summaries"):
        run(n_summaries=0)
    with pytest.raises(TypeError, match="random_state"):
        run(random_state=None)
    with pytest.raises(ValueError, match="explanation is empty"):
        score_explanations(food_module, ["food", " "], lm=ThemeLM())


def test_module_outputs_are_chosen_by_index_or_class_label():
    two = ModuleResponse(lambda t: np.array([[0.2, 0.8]] * len(t)))
    assert two(["a", "b"]).tolist() == [0.8, 0.8]  # the second of two columns
    first = ModuleResponse(lambda t: np.array([[0.2, 0.8, 0.0]] * len(t)), output=0)
    assert first(["a"]).tolist() == [0.2]
    with pytest.raises(ValueError, match="out of range"):
        ModuleResponse(lambda t: np.zeros((len(t), 2)), output=5)(["a"])

    class Model:
        classes_ = np.array(["ham", "spam"])

        def predict_proba(self, texts):
            return np.array([[0.9, 0.1] if "hi" in t else [0.3, 0.7] for t in texts])

    assert ModuleResponse(Model(), output="ham")(["hi", "win"]).tolist() == [0.9, 0.3]
    with pytest.raises(ValueError, match="not a class"):
        ModuleResponse(Model(), output="eggs")(["hi"])


def test_module_responses_are_batched():
    sizes = []

    def module(texts):
        sizes.append(len(texts))
        return np.zeros(len(texts))

    respond = ModuleResponse(module, batch_size=4)
    assert respond(["a"] * 10).shape == (10,)
    assert sizes == [4, 4, 2] and respond.n_calls == 10


@pytest.mark.integration
def test_packaged_lm_explains_a_food_detector():
    from glasstext.datasets import load

    corpus = load("rotten_tomatoes").X_train[:300] + food_corpus(60)
    result = explain_module(food_module, corpus, n_summaries=3, n_synthetic=4, progress=False)
    control = score_explanations(food_module, ["sports"], scale=result.scale, n_synthetic=4)[0]
    assert result.best.score > control.score


def test_top_responses_skip_the_floor_and_prefer_short_ngrams():
    ngrams = ["the goal", "a", "goal", "is", "team", "big team win", "of", "to", "it"]
    responses = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0])
    top = top_responses(ngrams, responses, 10)
    assert [g for g, _ in top] == ["big team win", "goal", "team", "the goal"]
    flat = top_responses(["a", "b"], np.zeros(2), 5)  # nothing above the median: keep all
    assert [g for g, _ in flat] == ["a", "b"]


def test_a_regressor_is_explained_through_its_prediction():
    class Regressor:
        _estimator_type = "regressor"

        def predict(self, texts):
            return np.array([5.0 * ("pizza" in t) - 2.0 for t in texts])

        def decision_function(self, texts):
            raise AssertionError("a regressor's prediction is used as it is")

    assert ModuleResponse(Regressor())(["pizza", "car"]).tolist() == [3.0, -2.0]


def test_the_same_items_in_another_order_are_one_candidate():
    class TwoOrders(ThemeLM):
        n_answered = 0

        def _answer(self, prompt, seed):
            if prompt.endswith("Common theme:"):
                self.n_answered += 1
                return " food, meals" if self.n_answered % 2 else " meals, food"
            return super()._answer(prompt, seed)

    lm = TwoOrders()
    result = run(lm)
    assert lm.n_answered == 5
    assert len(result.explanations) == 1
    assert result.best.n_proposals == 5 and result.best.text == "food, meals"
