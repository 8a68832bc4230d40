"""Proxy ensembles and proxy budgets in task-level screening, on toy target/proxy pairs."""

from dataclasses import replace

import numpy as np
import pytest

from explain.test_proxy_task import WEIGHTS, noisy, task_texts
from explain.toy_models import LinearToy
from glasstext.exceptions import InvalidParameterError
from glasstext.explain import (
    CallableScorer,
    KernelShapExplainer,
    ProxyTask,
    combine_attributions,
    comprehensiveness,
)


def task(proxy, **options) -> ProxyTask:
    return ProxyTask(
        CallableScorer(LinearToy(WEIGHTS)),
        proxy,
        "kernelshap",
        n_samples=64,
        prediction_check=False,
        **options,
    )


def test_proxy_samples_sets_only_the_proxys_budget():
    base = task(LinearToy(WEIGHTS)).explain_many(task_texts())
    more = task(LinearToy(WEIGHTS), proxy_samples=512).explain_many(task_texts())
    assert more.screening.decision == "accept"
    used = [i for i, s in enumerate(more.sources) if s == "proxy"]
    screened = [i for i, s in enumerate(more.sources) if s != "proxy"]
    assert used and screened
    # more samples (short texts are enumerated exactly: 2**n_words <= budget)
    assert sum(more.attributions[i].n_samples for i in used) > 64 * len(used)
    assert all(more.attributions[i].n_samples <= 64 for i in screened)
    # the target's calls do not depend on the proxy's budget
    assert more.costs.target_calls_total == base.costs.target_calls_total
    assert more.costs.proxy_calls > base.costs.proxy_calls


def test_an_ensemble_weighted_on_the_good_proxy_is_accepted():
    r = task([LinearToy(WEIGHTS), LinearToy([-w for w in WEIGHTS])], proxy_weights=[1, 0])
    out = r.explain_many(task_texts())
    assert out.screening.decision == "accept"
    assert out.screening.quality_ratio == pytest.approx(1.0)
    # both proxies were called: the ensemble's cost is the sum of its members'
    assert out.costs.proxy_calls > 0
    alone = task(LinearToy(WEIGHTS)).explain_many(task_texts())
    assert out.costs.proxy_calls == 2 * alone.costs.proxy_calls


def test_the_ensembles_explanation_is_the_mean_of_the_normalised_members():
    members = [noisy(0.5, 1), noisy(0.5, 2)]
    t = task(members, proxy_samples=[64, 128])
    text = task_texts()[0]
    got = t.explain_with_proxy(t.proxy_explainers(), text, 1)
    # the members again, on fresh scorers with the same noise draws
    fresh = task([noisy(0.5, 1), noisy(0.5, 2)], proxy_samples=[64, 128])
    parts = [ex.explain(text, target_class=1) for ex in fresh.proxy_explainers()]
    assert [p.n_samples for p in parts] == [64, 128]
    expected = sum(0.5 * p.scores / np.abs(p.scores).sum() for p in parts)
    assert np.allclose(got.scores, expected)
    assert got.n_samples == 64 + 128 and len(got.extras["ensemble"]) == 2


def test_averaging_two_independently_noisy_proxies_explains_better_than_either():
    target = CallableScorer(LinearToy(WEIGHTS))
    texts = task_texts(30)

    def quality(proxy_explanations):
        return sum(comprehensiveness(a, target) for a in proxy_explanations)

    singles, ensembles = [], []
    for seed in range(3):
        a_ex = KernelShapExplainer(noisy(1.5, 10 + seed), n_samples=64, seed=seed)
        b_ex = KernelShapExplainer(noisy(1.5, 20 + seed), n_samples=64, seed=seed)
        a = [a_ex.explain(t, target_class=1) for t in texts]
        b = [b_ex.explain(t, target_class=1) for t in texts]
        singles.append((quality(a) + quality(b)) / 2)
        ensembles.append(quality([combine_attributions(x) for x in zip(a, b, strict=True)]))
    assert np.mean(ensembles) > np.mean(singles)


def test_combine_attributions_ignores_each_members_scale():
    ex = KernelShapExplainer(LinearToy(WEIGHTS), n_samples=64, seed=0)
    a = ex.explain(task_texts()[0], target_class=1)
    big = replace(a, scores=np.asarray(a.scores) * 100.0)
    assert np.allclose(combine_attributions([a, big]).scores, combine_attributions([a]).scores)
    assert np.abs(combine_attributions([a]).scores).sum() == pytest.approx(1.0)
    other = ex.explain(task_texts()[1], target_class=1)
    with pytest.raises(ValueError, match="different texts"):
        combine_attributions([a, other])
    with pytest.raises(ValueError, match="classes"):
        combine_attributions([a, replace(a, explained_class=0)])
    with pytest.raises(InvalidParameterError, match="proxy_weights"):
        combine_attributions([a, a], [1.0, -1.0])
    with pytest.raises(ValueError, match="at least one"):
        combine_attributions([])


def test_ensemble_parameters_are_checked():
    two = LinearToy([1.0, 2.0])
    with pytest.raises(InvalidParameterError, match="proxy_samples"):
        ProxyTask(two, [two, two], proxy_samples=[64])
    with pytest.raises(InvalidParameterError, match="proxy_samples"):
        ProxyTask(two, two, proxy_samples=0)
    with pytest.raises(InvalidParameterError, match="proxy_weights"):
        ProxyTask(two, [two, two], proxy_weights=[1.0])
    with pytest.raises(InvalidParameterError, match="non-empty"):
        ProxyTask(two, [])


def test_screen_then_apply_to_some_texts_matches_explain_many():
    texts = task_texts()
    whole = task(LinearToy(WEIGHTS)).explain_many(texts)
    t = task(LinearToy(WEIGHTS))
    screen = t.screen(texts)
    assert screen.report.decision == whole.screening.decision == "accept"
    assert screen.target_calls_predictions == whole.costs.target_calls_predictions
    assert screen.target_calls_screening == whole.costs.target_calls_screening
    some = [0, 7, 3]
    part = t.apply(screen, some)
    assert len(part) == 3 and part.sources == [whole.sources[i] for i in some]
    for a, i in zip(part.attributions, some, strict=True):
        assert np.allclose(a.scores, whole.attributions[i].scores)
    # an accepted proxy costs the target nothing more; the whole task's costs are reported
    assert part.costs.target_calls_fallbacks == 0
    assert part.costs.target_calls_all_target == whole.costs.target_calls_all_target
    with pytest.raises(IndexError):
        t.apply(screen, [len(texts)])


def test_a_rejected_screen_falls_back_in_apply():
    t = task(LinearToy([-w for w in WEIGHTS]))
    screen = t.screen(task_texts())
    assert screen.report.decision == "reject"
    out = t.apply(screen, [i for i in range(40) if i not in screen.screened][:2])
    assert out.sources == ["fallback", "fallback"]
    assert out.costs.target_calls_fallbacks > 0
