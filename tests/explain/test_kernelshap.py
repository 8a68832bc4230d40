import math

import numpy as np
import pytest

from explain.toy_models import InteractionToy, LinearToy, brute_force_shapley, words_text
from glasstext.explain import CallableScorer, KernelShapExplainer
from glasstext.explain.kernelshap import shapley_kernel_design


def test_exact_shapley_values_match_brute_force_on_a_model_with_interactions():
    toy = InteractionToy(6, seed=3)
    a = KernelShapExplainer(toy, n_samples=64).explain(words_text(6), target_class=1)
    assert a.extras["exact"] is True and a.n_calls == 64
    assert np.allclose(a.scores, brute_force_shapley(toy.value, 6), atol=1e-12)
    assert a.base_value == pytest.approx(toy.value(np.zeros(6)))


def test_exact_can_be_forced_beyond_the_budget():
    toy = InteractionToy(7, seed=1)
    a = KernelShapExplainer(toy, n_samples=10, exact=True).explain(words_text(7), target_class=1)
    assert np.allclose(a.scores, brute_force_shapley(toy.value, 7), atol=1e-12)
    with pytest.raises(ValueError, match="at most"):
        KernelShapExplainer(toy, exact=True).explain(words_text(17))


@pytest.mark.parametrize("n_words", [3, 12, 40])
def test_scores_sum_to_value_minus_base(n_words):
    toy = InteractionToy(n_words, seed=n_words)
    a = KernelShapExplainer(toy, n_samples=200).explain(words_text(n_words))
    assert a.scores.sum() == pytest.approx(a.value - a.base_value, abs=1e-12)
    assert a.n_calls <= 200


def test_sampled_kernelshap_recovers_a_linear_model_exactly():
    weights = list(np.linspace(-1, 1.5, 20))
    a = KernelShapExplainer(LinearToy(weights), n_samples=120).explain(
        words_text(20), target_class=1
    )
    assert a.extras["exact"] is False
    assert np.allclose(a.scores, weights, atol=1e-9)


def test_sampled_kernelshap_approaches_the_exact_values():
    toy = InteractionToy(10, seed=5)
    exact = KernelShapExplainer(toy, exact=True).explain(words_text(10), target_class=1).scores
    a = KernelShapExplainer(toy, n_samples=600).explain(words_text(10), target_class=1)
    assert a.extras["exact"] is False
    assert np.abs(a.scores - exact).max() < 0.05


def test_same_seed_same_attribution_other_seed_other_sample():
    toy = InteractionToy(15, seed=2)
    text = words_text(15)
    a = KernelShapExplainer(toy, n_samples=100, seed=7).explain(text)
    b = KernelShapExplainer(toy, n_samples=100, seed=7).explain(text)
    c = KernelShapExplainer(toy, n_samples=100, seed=8).explain(text)
    assert np.array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)


def test_design_never_repeats_a_coalition_and_pairs_complements():
    masks, weights, n_full = shapley_kernel_design(12, 300, np.random.default_rng(0))
    assert len(masks) <= 300
    assert len({m.tobytes() for m in masks}) == len(masks)
    n_fixed = 2 + sum(2 * math.comb(12, size) for size in range(1, n_full + 1))
    sampled = masks[n_fixed:]
    assert len(sampled) > 0
    keys = {m.tobytes() for m in masks}
    paired = [m for m in sampled if m.sum() != 6]  # the middle size is its own complement size
    assert paired and all((~m).tobytes() in keys for m in paired)
    assert np.all(weights[2:] > 0) and weights[0] == weights[1] == 0


def test_calls_are_counted_on_the_scorer():
    scorer = CallableScorer(InteractionToy(8))
    a = KernelShapExplainer(scorer, n_samples=100).explain(words_text(8))
    assert a.n_calls == scorer.n_calls == a.n_texts
    again = KernelShapExplainer(scorer, n_samples=100).explain(words_text(8))
    assert again.n_calls == 0  # every text is in the scorer's cache
    assert np.array_equal(a.scores, again.scores)
