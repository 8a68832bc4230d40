import numpy as np
import pytest

from explain.toy_models import InteractionToy, LinearToy, words_text
from glasstext.explain import (
    CallableScorer,
    KernelShapExplainer,
    LimeExplainer,
    ProxyExplainer,
)

WEIGHTS = list(np.linspace(-1.0, 1.2, 16))


def scaled(fn, a, b):
    return lambda texts: a * fn(texts) + b


def test_an_agreeing_proxy_is_used_and_calibrated_to_the_target():
    target = CallableScorer(LinearToy(WEIGHTS))
    proxy = CallableScorer(scaled(LinearToy(WEIGHTS), 0.5, 0.2))  # same model, other scale
    p = ProxyExplainer(target, proxy, "kernelshap", n_samples=300).explain(
        words_text(16), target_class=1
    )
    assert p.proxy.decision == "proxy" and p.proxy.agreement == pytest.approx(1.0)
    assert p.proxy.calibration == pytest.approx((2.0, -0.4))
    assert np.allclose(p.scores, WEIGHTS, atol=1e-8)  # in the target's units
    assert p.n_calls == p.proxy.target_calls == target.n_calls == p.proxy.n_screened
    assert p.proxy.target_calls <= 0.1 * 300 and p.proxy.proxy_calls == p.n_texts
    assert p.scores.sum() == pytest.approx(p.value - p.base_value)


def test_a_disagreeing_proxy_falls_back_to_the_target():
    target = CallableScorer(InteractionToy(12, seed=1))
    proxy = CallableScorer(InteractionToy(12, seed=2))
    ex = ProxyExplainer(target, proxy, "lime", n_samples=200, threshold=0.99, seed=4)
    p = ex.explain(words_text(12), target_class=1)
    assert p.proxy.decision == "target" and p.proxy.agreement < 0.99
    own = LimeExplainer(InteractionToy(12, seed=1), n_samples=200, seed=4).explain(
        words_text(12), target_class=1
    )
    assert np.allclose(p.scores, own.scores)
    assert p.proxy.target_calls == own.n_calls  # screened texts are not paid twice


def test_calibrate_fallback_keeps_the_target_budget():
    target = CallableScorer(InteractionToy(12, seed=1))
    proxy = CallableScorer(InteractionToy(12, seed=2))
    p = ProxyExplainer(
        target, proxy, "kernelshap", n_samples=200, threshold=0.99, fallback="calibrate"
    ).explain(words_text(12))
    assert p.proxy.decision == "calibrated-proxy"
    assert p.proxy.target_calls == p.proxy.n_screened < 30


def test_proxy_is_deterministic_and_reports_json():
    def make():
        return ProxyExplainer(InteractionToy(9, 1), InteractionToy(9, 1), "lime", n_samples=80)

    a, b = make().explain(words_text(9)), make().explain(words_text(9))
    assert np.array_equal(a.scores, b.scores)
    assert a.to_dict()["proxy"]["decision"] == "proxy"


def test_proxy_checks():
    two = LinearToy([1.0, 2.0])

    def three(texts):
        return np.ones((len(texts), 3)) / 3

    with pytest.raises(ValueError, match="same classes"):
        ProxyExplainer(two, three).explain(words_text(2))
    with pytest.raises(ValueError, match="method"):
        ProxyExplainer(two, two, method="anchors")
    with pytest.raises(ValueError, match="fallback"):
        ProxyExplainer(two, two, fallback="guess")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        ProxyExplainer(two, two).explain("")


def test_occlusion_through_a_proxy():
    target = CallableScorer(LinearToy(WEIGHTS))
    p = ProxyExplainer(target, LinearToy(WEIGHTS), "occlusion").explain(
        words_text(16), target_class=1
    )
    assert np.allclose(p.scores, WEIGHTS)
    assert isinstance(KernelShapExplainer(target), KernelShapExplainer)
