from dataclasses import replace

import numpy as np
import pytest

from explain.toy_models import LinearToy, words_text
from glasstext.explain import (
    Attribution,
    CallableScorer,
    KernelShapExplainer,
    OcclusionExplainer,
    comprehensiveness,
    deletion_auc,
    faithfulness,
    insertion_auc,
    rank_agreement,
    sufficiency,
    top_k_agreement,
)

WEIGHTS = [0.4, -0.2, 0.9, 0.1, -0.6, 0.3, 0.0, 0.7, -0.1, 0.2]


@pytest.fixture
def toy():
    return LinearToy(WEIGHTS, bias=0.0)


@pytest.fixture
def good(toy):
    return OcclusionExplainer(toy).explain(words_text(10), target_class=1)


def reversed_scores(a: Attribution) -> Attribution:
    return replace(a, scores=-a.scores)


def test_comprehensiveness_by_hand(good, toy):
    # the linear toy: removing the top k words lowers class 1 by their weights
    order = np.argsort(-np.asarray(WEIGHTS), kind="stable")
    expected = np.mean([sum(np.asarray(WEIGHTS)[order[:k]]) for k in range(1, 11)])
    assert comprehensiveness(good, toy) == pytest.approx(expected)


def test_faithful_beats_reversed(good, toy):
    bad = reversed_scores(good)
    assert comprehensiveness(good, toy) > comprehensiveness(bad, toy)
    assert sufficiency(good, toy) < sufficiency(bad, toy)
    assert deletion_auc(good, toy) < deletion_auc(bad, toy)
    assert insertion_auc(good, toy) > insertion_auc(bad, toy)


def test_faithfulness_matches_the_single_metrics_in_one_call(good, toy):
    scorer = CallableScorer(toy)
    report = faithfulness(good, scorer)
    assert report.comprehensiveness == pytest.approx(comprehensiveness(good, toy))
    assert report.sufficiency == pytest.approx(sufficiency(good, toy))
    assert report.deletion_auc == pytest.approx(deletion_auc(good, toy))
    assert report.insertion_auc == pytest.approx(insertion_auc(good, toy))
    assert report.n_calls == scorer.n_calls <= 1 + 10 + 10 + 11 + 11
    assert report.value == pytest.approx(good.value)


def test_curves_with_fewer_steps_and_checks(good, toy):
    assert deletion_auc(good, toy, max_steps=5) == pytest.approx(deletion_auc(good, toy), abs=0.2)
    with pytest.raises(ValueError, match="fractions"):
        comprehensiveness(good, toy, fractions=[0.0])
    with pytest.raises(TypeError):
        comprehensiveness("not an attribution", toy)


def test_agreement_measures():
    toy = LinearToy(WEIGHTS)
    a = KernelShapExplainer(toy, n_samples=300).explain(words_text(10), target_class=1)
    b = OcclusionExplainer(toy).explain(words_text(10), target_class=1)
    assert top_k_agreement(a, b, k=3) == 1.0
    assert rank_agreement(a, b) == pytest.approx(1.0)
    assert rank_agreement(a, reversed_scores(b)) == pytest.approx(-1.0)
    flipped = replace(b, scores=np.where(np.arange(10) < 5, b.scores, -b.scores))
    assert 0 < top_k_agreement(a, flipped, k=4, by="signed") < 1
    assert np.isnan(rank_agreement(a, replace(b, scores=np.zeros(10))))
    other = OcclusionExplainer(toy).explain(words_text(9), target_class=1)
    with pytest.raises(ValueError, match="same text"):
        top_k_agreement(a, other)
