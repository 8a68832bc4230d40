import numpy as np
import pytest

from explain.toy_models import LinearToy, words_text
from glasstext.explain import CallableScorer, LimeExplainer, OcclusionExplainer
from glasstext.explain.lime import lime_masks


def test_lime_without_penalty_recovers_a_linear_model():
    weights = [0.5, -1.0, 2.0, 0.0, 1.2, -0.3, 0.8, 0.1]
    a = LimeExplainer(LinearToy(weights), n_samples=200, alpha=0.0).explain(
        words_text(8), target_class=1
    )
    assert np.allclose(a.scores, weights, atol=1e-8)
    assert a.base_value == pytest.approx(0.1)
    assert a.extras["r2"] == pytest.approx(1.0)


def test_lime_default_ranks_the_words_of_a_linear_model():
    weights = [0.5, -1.0, 2.0, 0.0, 1.2, -0.3, 0.8, 0.1, -2.0, 0.3, 1.0, -0.5]
    a = LimeExplainer(LinearToy(weights), n_samples=300).explain(words_text(12), target_class=1)
    assert list(np.argsort(a.scores)) == list(np.argsort(weights))


def test_lime_samples_like_lime_and_scores_repeats_once():
    masks = lime_masks(5, 400, np.random.default_rng(0))
    assert masks[0].all() and masks.shape == (400, 5)
    removed = (~masks[1:]).sum(axis=1)
    assert removed.min() == 1 and removed.max() == 4
    toy = LinearToy([1, 2, 3, 4, 5])
    a = LimeExplainer(toy, n_samples=400).explain(words_text(5))
    assert a.n_samples == 400
    assert a.n_calls == a.n_texts == toy.n_texts_seen <= 2**5 - 1


def test_lime_is_deterministic_for_a_seed():
    toy = LinearToy(list(np.sin(np.arange(25))))
    text = words_text(25)
    a = LimeExplainer(toy, n_samples=150, seed=3).explain(text)
    b = LimeExplainer(toy, n_samples=150, seed=3).explain(text)
    assert np.array_equal(a.scores, b.scores)
    c = LimeExplainer(toy, n_samples=150, seed=4).explain(text)
    assert not np.array_equal(a.scores, c.scores)


def test_occlusion_scores_are_leave_one_out_drops():
    weights = [0.5, -1.0, 2.0]
    a = OcclusionExplainer(LinearToy(weights)).explain(words_text(3), target_class=1)
    assert np.allclose(a.scores, weights)
    assert a.base_value == pytest.approx(0.1)
    assert a.n_calls == 5


@pytest.mark.parametrize("explainer", [LimeExplainer, OcclusionExplainer])
def test_explainers_accept_a_class_name(explainer):
    scorer = CallableScorer(LinearToy([1.0, -2.0]), classes=["neg", "pos"])
    a = explainer(scorer).explain(words_text(2), target_class="neg")
    assert a.explained_class == 0 and a.class_name == "neg"
    with pytest.raises(ValueError, match="unknown class"):
        explainer(scorer).explain(words_text(2), target_class="maybe")
    with pytest.raises(ValueError, match="out of range"):
        explainer(scorer).explain(words_text(2), target_class=5)
