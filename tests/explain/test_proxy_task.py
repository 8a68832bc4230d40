"""Task-level proxy screening: toy target/proxy pairs whose right decision is known."""

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from explain.toy_models import LinearToy
from glasstext.exceptions import InvalidParameterError
from glasstext.explain import (
    CallableScorer,
    ProxyExplainer,
    ProxyTask,
    ProxyTaskResult,
    TaskCosts,
    learn_proxy,
)
from glasstext.explain.proxy_task import screening_looks, sequential_screen

WEIGHTS = list(np.linspace(-1.0, 1.2, 12))


def task_texts(n: int = 40, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(f"w{j}" for j in rng.permutation(12)[: rng.integers(6, 12)]) for _ in range(n)]


def noisy(sd: float, seed: int):
    """The target plus independent noise on each text's score (a poor local proxy)."""
    rng = np.random.default_rng(seed)
    base = LinearToy(WEIGHTS)

    def fn(texts):
        z = base(texts)[:, 1] + rng.normal(0.0, sd, len(texts))
        return np.column_stack([-z, z])

    return fn


def run(proxy, **options) -> ProxyTaskResult:
    task = ProxyTask(
        CallableScorer(LinearToy(WEIGHTS)),
        proxy,
        "kernelshap",
        n_samples=64,
        prediction_check=False,
        **options,
    )
    return task.explain_many(task_texts())


def test_a_proxy_equal_to_the_target_is_accepted_and_used():
    r = run(LinearToy(WEIGHTS))
    assert r.screening.decision == "accept"
    assert r.screening.quality_ratio == pytest.approx(1.0)
    assert r.counts() == {"proxy": 40 - r.screening.n_screened, "screened": r.screening.n_screened}
    c = r.costs
    assert c.target_calls_fallbacks == 0
    assert c.target_calls_total == (
        c.target_calls_screening + c.target_calls_predictions + c.target_calls_fallbacks
    )
    assert c.cost_reduction == pytest.approx(c.target_calls_all_target / c.target_calls_total)
    assert c.target_call_fraction < 0.3


def test_an_anti_correlated_proxy_is_rejected_and_the_target_explains_everything():
    r = run(LinearToy([-w for w in WEIGHTS]))
    assert r.screening.decision == "reject" and r.screening.quality_ratio < 0
    assert "proxy" not in r.counts()
    own = ProxyTask(
        CallableScorer(LinearToy(WEIGHTS)), LinearToy(WEIGHTS), "kernelshap", n_samples=64
    ).explainer(CallableScorer(LinearToy(WEIGHTS)))
    text = task_texts()[r.sources.index("fallback")]
    expected = own.explain(text, target_class=1).scores
    assert np.allclose(r.attributions[r.sources.index("fallback")].scores, expected)


def test_a_noisy_proxy_is_rejected_with_the_stated_confidence():
    decisions = [run(noisy(3.0, seed), seed=seed).screening.decision for seed in range(10)]
    # below tau, it must be accepted with probability <= delta = 0.01: never in 10 runs here
    assert "accept" not in decisions
    assert decisions.count("reject") >= 7


def test_sequential_screen_error_rate_below_delta_when_the_proxy_is_just_below_tau():
    rng = np.random.default_rng(0)
    accepts = 0
    for _ in range(400):
        qt = rng.uniform(0.5, 1.5, 50)
        qp = 0.88 * qt + rng.normal(0, 0.1, 50)  # keeps 88% < tau = 90%
        accepts += sequential_screen(qp, qt, tau=0.9, delta=0.05)[0] == "accept"
    assert accepts / 400 <= 0.05


def test_screening_looks_double_up_to_the_maximum():
    assert screening_looks(5, 50) == [5, 10, 20, 40, 50]
    assert screening_looks(5, 5) == [5]


def test_prediction_check_falls_back_where_predictions_differ():
    # the proxy flips its prediction on texts containing w0, and otherwise equals the target
    def flipping(texts):
        out = LinearToy(WEIGHTS)(texts)
        flip = np.array(["w0" in t.split() for t in texts])
        out[flip] = out[flip][:, ::-1]
        return out

    task = ProxyTask(CallableScorer(LinearToy(WEIGHTS)), flipping, "lime", n_samples=64)
    texts = task_texts()
    r = task.explain_many(texts)
    differ = [i for i, t in enumerate(texts) if "w0" in t.split()]
    assert r.target_predictions != r.proxy_predictions
    assert all(r.sources[i] == "fallback" for i in differ)
    assert r.costs.target_calls_predictions == len(set(texts))


def test_explain_many_of_proxy_explainer_is_a_task():
    ex = ProxyExplainer(LinearToy(WEIGHTS), LinearToy(WEIGHTS), "kernelshap", n_samples=64)
    t = ex.explain_many(task_texts(8), min_screen_texts=3, max_screen_texts=6)
    assert t.mode == "task" and t.screening is not None
    assert t.screening.looks == [3, 6]
    d = t.to_dict(top=2)
    assert len(d["explanations"]) == 8 and len(d["explanations"][0]["words"]) == 2
    assert "cost reduction" in str(t) and t.to_html().startswith("<")


def test_learned_proxy_tracks_a_linear_target():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    target = CallableScorer(lambda ts: _sigmoid_toy(ts))
    proxy = learn_proxy(
        target,
        task_texts(),
        n_perturbations=3,
        regressor=lambda: make_pipeline(CountVectorizer(token_pattern=r"\w+"), Ridge(alpha=1e-3)),
    )
    assert proxy.target_calls == target.n_calls <= 40 * 4
    probe = task_texts(10, seed=5)
    assert np.allclose(proxy(probe), target(probe), atol=1e-2)
    r = ProxyTask(target, proxy, "kernelshap", n_samples=64).explain_many(task_texts())
    assert r.screening.decision == "accept"


def _sigmoid_toy(texts):
    z = LinearToy(WEIGHTS)(texts)[:, 1]
    p = 1 / (1 + np.exp(-z))
    return np.column_stack([1 - p, p])


def test_parameters_are_checked():
    two = LinearToy([1.0, 2.0])
    with pytest.raises(InvalidParameterError, match="tau"):
        ProxyTask(two, two, tau=0)
    with pytest.raises(InvalidParameterError, match="delta"):
        ProxyTask(two, two, delta=1.5)
    with pytest.raises(InvalidParameterError, match="max_screen_texts"):
        ProxyTask(two, two, min_screen_texts=10, max_screen_texts=5)
    with pytest.raises(InvalidParameterError, match="screening"):
        ProxyTask(two, two, screening="instance")
    with pytest.raises(ValueError, match="method"):
        ProxyTask(two, two, method="anchors")
    with pytest.raises(ValueError, match="empty"):
        ProxyTask(two, two).explain_many([])
    with pytest.raises(ValueError, match="blank"):
        ProxyTask(two, two).explain_many(["w0", " "])


def test_the_target_alone_explains_every_text_and_costs_what_the_task_compares_with():
    target = CallableScorer(LinearToy(WEIGHTS))
    task = ProxyTask(target, LinearToy(WEIGHTS), "kernelshap", n_samples=64)
    texts = task_texts(6)
    r = task.explain_with_target(texts)
    assert r.mode == "target" and r.screening is None and r.counts() == {"target": 6}
    c = r.costs
    assert c.target_calls_screening == 0 and c.target_calls_total == target.n_calls
    # each design holds its text, scored once by the prediction check, and the cache
    # serves what designs share (the fully masked text)
    assert 0 < c.target_calls_total <= c.target_calls_all_target
    own = task.explainer(target).explain(texts[2], target_class=r.target_predictions[2])
    assert np.allclose(r.attributions[2].scores, own.scores)
    assert "the target alone" in str(r)


def test_task_costs_keep_the_json_of_the_costs_dict():
    c = TaskCosts(
        target_calls_screening=10,
        target_calls_predictions=5,
        target_calls_fallbacks=25,
        target_calls_all_target=200,
        proxy_calls=300,
        seconds=1.5,
    )
    d = c.to_dict()
    assert list(d) == [
        "target_calls_screening",
        "target_calls_predictions",
        "target_calls_fallbacks",
        "target_calls_total",
        "target_calls_all_target",
        "target_call_fraction",
        "cost_reduction",
        "proxy_calls",
        "seconds",
    ]
    assert d["target_calls_total"] == 40 and d["target_call_fraction"] == 0.2
    assert d["cost_reduction"] == 5.0
    learned = replace(c, target_calls_learned_proxy=10)
    assert learned.target_calls_total == 50 and learned.cost_reduction == 4.0
    assert list(learned.to_dict())[-1] == "target_calls_learned_proxy"
    free = replace(
        c, target_calls_screening=0, target_calls_predictions=0, target_calls_fallbacks=0
    )
    assert free.to_dict()["cost_reduction"] is None  # infinite, as strict JSON has no inf
    with pytest.raises(FrozenInstanceError):
        c.seconds = 2.0  # type: ignore[misc]


def test_the_costs_still_read_as_a_dict_for_one_release():
    c = TaskCosts(1, 2, 3, 60, 4, 0.5)
    with pytest.warns(DeprecationWarning, match=r"costs\.target_calls_total"):
        assert c["target_calls_total"] == 6
    with pytest.warns(DeprecationWarning, match="to_dict"):
        assert dict(c.items())["cost_reduction"] == 10.0
    with pytest.warns(DeprecationWarning):
        assert dict(c) == {**c.to_dict()}
    with pytest.warns(DeprecationWarning):
        assert c.get("target_calls_learned_proxy") is None


def test_old_parameter_names_still_work_with_a_warning():
    two = LinearToy([1.0, 2.0])
    with pytest.warns(DeprecationWarning, match="min_screen_texts"):
        task = ProxyTask(two, two, min_screen=3, max_screen_texts=6)
    assert task.min_screen_texts == 3
    with pytest.warns(DeprecationWarning, match="max_screen_texts"):
        assert task.max_screen == 6
    with pytest.raises(TypeError, match="both"):
        ProxyTask(two, two, min_screen=3, min_screen_texts=3)
    with pytest.warns(DeprecationWarning, match="min_screen_texts"):
        assert screening_looks(min_screen=5, max_screen_texts=20) == [5, 10, 20]
    with pytest.warns(DeprecationWarning, match="max_screen_texts"):
        assert sequential_screen([1.0] * 5, [1.0] * 5, max_screen=5)[0] == "accept"
    explainer = ProxyExplainer(two, two, "occlusion", min_screen_perturbations=4)
    with pytest.warns(DeprecationWarning, match="min_screen_perturbations"):
        assert explainer.min_screen == 4
    with pytest.warns(DeprecationWarning, match="min_screen_perturbations"):
        assert ProxyExplainer(two, two, min_screen=3).min_screen_perturbations == 3


def test_per_explanation_screening_is_gone_from_the_task():
    two = LinearToy([1.0, 2.0])
    with pytest.raises(InvalidParameterError, match=r"ProxyExplainer\(target, proxy\)\.explain"):
        ProxyTask(two, two, screening="explanation")
    with pytest.warns(DeprecationWarning, match="only mode"):
        ProxyTask(two, two, screening="task")
    with pytest.warns(DeprecationWarning, match="threshold"):
        task = ProxyTask(two, two, threshold=0.5)
    assert "threshold" not in task.method_options


@pytest.mark.integration
def test_cli_explains_a_file_of_texts_as_one_task(tiny_lm_dir, tmp_path, monkeypatch, capsys):
    import json

    from glasstext.cli import main

    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    data = tmp_path / "texts.csv"
    data.write_text("text\nthe movie was good\na dull plot\nfun and warm\n", encoding="utf-8")
    args = ["explain-llm", "--texts", str(data), "--lm", tiny_lm_dir, "--proxy", tiny_lm_dir]
    args += ["--template", "Review: {text} Sentiment:", "--method", "kernelshap"]
    args += ["--n-samples", "16", "--max-screen-texts", "3", "--out", str(tmp_path / "t.html")]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_texts"] == 3 and summary["mode"] == "task"
    assert summary["screening"]["n_screened"] >= 1
    assert (tmp_path / "t.html").exists()


def test_cli_needs_a_text_or_a_file(capsys):
    from glasstext.cli import main

    assert main(["explain-llm", "--lm", "x"]) == 2
    assert "either" in capsys.readouterr().err
