import json

import pytest

from glasstext.cli import main


@pytest.mark.integration
def test_explain_llm_writes_html_and_prints_json(tiny_lm_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    out = tmp_path / "e.html"
    args = ["explain-llm", "the movie was good & fun", "--lm", tiny_lm_dir]
    args += ["--template", "Review: {text} Sentiment:", "--method", "lime", "--n-samples", "24"]
    args += ["--proxy", tiny_lm_dir, "--class", "positive", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["class"] == "positive" and summary["method"] == "lime"
    assert summary["proxy_report"]["decision"] == "proxy"  # the same model agrees with itself
    assert summary["target_calls"] == summary["proxy_report"]["target_calls"] < 24
    page = out.read_text(encoding="utf-8")
    assert "good" in page and "&amp;" in page


def test_explain_llm_rejects_an_unknown_class(capsys):
    code = main(["explain-llm", "a text", "--lm", "x", "--class", "maybe"])
    assert code == 2
    assert "not one of" in capsys.readouterr().err


# -- a task through the command line, with tiny fakes for the LMs ----------------------------

WEIGHTS = [1.2, -1.0, 0.8, -0.6, 0.4, -0.3, 0.2, 0.1, -0.1, 0.05, 0.5, -0.7]


def _fake_lm_scorer(model, template, labels, **options):  # type: ignore[no-untyped-def]
    """Stands for LMScorer: a logistic of word weights; the proxy's are the target's, noisier."""
    import numpy as np
    from scipy.special import expit

    from explain.toy_models import kept
    from glasstext.explain import CallableScorer

    noise = {"target-lm": 0.0, "small-lm": 0.2}[model]
    weights = np.asarray(WEIGHTS) + noise * np.random.default_rng(1).normal(size=len(WEIGHTS))

    def probs(texts):  # type: ignore[no-untyped-def]
        p = expit(np.array([kept(t, len(weights)) @ weights for t in texts]))
        return np.column_stack([1 - p, p])

    return CallableScorer(probs, classes=labels)


@pytest.fixture
def fake_task(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A 30-text task file, LMScorer faked, and a light regressor for the learned proxy."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    import glasstext.explain
    from glasstext.explain import proxy_task

    monkeypatch.setattr(glasstext.explain, "LMScorer", _fake_lm_scorer)
    monkeypatch.setattr(
        proxy_task,
        "_default_regressor",
        lambda: make_pipeline(CountVectorizer(token_pattern=r"\w+"), Ridge(alpha=1e-3)),
    )
    rng = np.random.default_rng(0)
    rows = [
        " ".join(f"w{j}" for j in rng.permutation(12)[: rng.integers(6, 12)]) for _ in range(30)
    ]
    path = tmp_path / "texts.csv"
    path.write_text("text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    base = ["explain-llm", "--texts", str(path), "--lm", "target-lm", "--method", "kernelshap"]
    base += ["--n-samples", "32", "--max-screen-texts", "10", "--out", str(tmp_path / "t.html")]
    return base


def test_cli_ensemble_of_an_lm_proxy_and_a_learned_one(fake_task, tmp_path, capsys):  # type: ignore[no-untyped-def]
    args = [*fake_task, "--proxy", "small-lm", "--learned-proxy", "--learned-perturbations", "1"]
    args += ["--proxy-samples", "32", "64", "--proxy-weights", "0.5", "0.5", "--tau", "0.5"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["proxy"] == ["small-lm", "learned"] and summary["mode"] == "task"
    assert summary["n_texts"] == 30 and summary["screening"]["n_screened"] >= 5
    c = summary["costs"]
    assert 30 <= c["target_calls_learned_proxy"] <= 60  # each text and one deletion of it
    # the learned proxy's calls are part of the task's cost (the prediction check reuses them)
    assert c["target_calls_total"] == (
        c["target_calls_learned_proxy"]
        + c["target_calls_screening"]
        + c["target_calls_predictions"]
        + c["target_calls_fallbacks"]
    )
    assert c["target_calls_predictions"] == 0
    assert c["target_call_fraction"] == pytest.approx(
        c["target_calls_total"] / c["target_calls_all_target"], abs=1e-5
    )
    assert summary["extras"]["learned_proxy"]["n_train"] >= 30
    assert "learning the proxy" in (tmp_path / "t.html").read_text(encoding="utf-8")


def test_cli_learned_proxy_alone_and_without_the_prediction_check(fake_task, capsys):  # type: ignore[no-untyped-def]
    args = [*fake_task, "--learned-proxy", "--no-prediction-check", "--proxy-samples", "64"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["proxy"] == "learned" and summary["costs"]["target_calls_learned_proxy"] > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--proxy", "small-lm", "--screening", "explanation"], "is removed"),
        (["--proxy", "small-lm", "--screening", "instance"], "must be task"),
        (["--proxy", "small-lm", "--proxy-samples", "8", "8"], "one per proxy (1)"),
        (["--proxy", "small-lm", "--learned-proxy", "--proxy-weights", "1"], "one weight per"),
        (["--proxy", "small-lm", "--learned-proxy", "--proxy-weights", "-1", "2"], ">= 0"),
        (["--proxy-samples", "8"], "needs a proxy"),
        (["--proxy", "small-lm", "--proxy-samples", "0"], ">= 1"),
        (["--proxy", "small-lm", "--min-screen-texts", "20"], "max_screen_texts (10)"),
        (["--learned-proxy", "--learned-perturbations", "-1"], ">= 0"),
    ],
)
def test_cli_proxy_flags_are_checked_before_any_work(fake_task, extra, message, capsys):  # type: ignore[no-untyped-def]
    assert main([*fake_task, *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_task_flags_need_a_task(capsys):  # type: ignore[no-untyped-def]
    for extra in (["--learned-proxy"], ["--proxy-weights", "1"], ["--no-prediction-check"]):
        assert main(["explain-llm", "a text", "--lm", "x", *extra]) == 2
        assert "needs --texts" in capsys.readouterr().err


def test_cli_task_without_a_proxy_is_explained_by_the_target(fake_task, capsys):  # type: ignore[no-untyped-def]
    assert main(fake_task) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["proxy"] is None and summary["mode"] == "target"
    assert summary["sources"] == {"target": 30} and summary["screening"] is None
    c = summary["costs"]
    assert c["target_calls_screening"] == 0 and c["target_calls_total"] > 0


def test_cli_old_screening_flags_still_run_with_a_note(fake_task, capsys):  # type: ignore[no-untyped-def]
    args = [a if a != "--max-screen-texts" else "--max-screen" for a in fake_task]
    args += ["--proxy", "small-lm", "--screening", "task", "--min-screen-texts", "3"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "--max-screen is deprecated" in captured.err and "use --max-screen-texts" in captured.err
    assert "--screening is deprecated" in captured.err
    summary = json.loads(captured.out)
    assert summary["mode"] == "task" and summary["screening"]["looks"] == [3, 6, 10]
