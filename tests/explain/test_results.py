"""The explainers' results follow the result protocol of glasstext.results."""

import json

import pytest

from explain.nl_fakes import AdditionLM, ThemeLM, addition_data, food_corpus, food_module
from explain.toy_models import LinearToy, words_text
from glasstext import explain_dataset, explain_module
from glasstext.explain import OcclusionExplainer, ProxyExplainer, faithfulness
from glasstext.results import Result

WEIGHTS = [0.4, -0.2, 0.9, 0.1, -0.6]


@pytest.fixture
def attribution():
    return OcclusionExplainer(LinearToy(WEIGHTS, bias=0.0)).explain(words_text(5), target_class=1)


def check_protocol(result, html_tag="<pre"):
    assert isinstance(result, Result)
    assert json.loads(result.to_json()) == json.loads(json.dumps(result.to_dict()))
    assert result.to_dict(top=None) == result.to_dict()
    assert str(result).strip()
    assert html_tag in result.to_html() and result._repr_html_()


def test_attribution_top_keeps_the_largest_scores_in_rank_order(attribution):
    check_protocol(attribution, html_tag="<!DOCTYPE html>")
    d = attribution.to_dict(top=2)
    assert d["words"] == [w for w, _ in attribution.top(2)]
    assert d["scores"] == [s for _, s in attribution.top(2)]
    assert [attribution.text[a:b] for a, b in d["spans"]] == d["words"]
    assert attribution.to_dict(top=0)["words"] == []
    fragment = attribution._repr_html_()
    assert fragment.startswith('<div class="glasstext-attribution">') and "<body" not in fragment


def test_proxy_report_and_faithfulness_have_no_ranked_list():
    toy = LinearToy(WEIGHTS, bias=0.0)
    a = ProxyExplainer(toy, toy, method="occlusion").explain(words_text(5), target_class=1)
    check_protocol(a.proxy)
    assert a.proxy.to_dict(top=1) == a.proxy.to_dict()
    assert str(a.proxy) in str(a)
    f = faithfulness(a, toy)
    check_protocol(f)
    assert f.to_dict(top=1) == f.to_dict() and "comprehensiveness" in str(f)


def test_module_and_concept_explanations():
    result = explain_module(food_module, food_corpus(), lm=ThemeLM(), progress=False)
    check_protocol(result)
    check_protocol(result.best)
    assert result.to_dict(top=1)["explanations"] == [result.best.to_dict()]
    assert len(result.best.to_dict(top=1)["evidence"]) == 1
    assert result.best.text in str(result.best)


def test_dataset_explanation_and_prompt_candidates():
    X, y = addition_data()
    result = explain_dataset(X, y, lm=AdditionLM(), progress=False)
    check_protocol(result)
    check_protocol(result.best)
    assert result.to_dict(top=2)["prompts"] == [p.to_dict() for p in result.prompts[:2]]
    assert str(result.best) in str(result)
