"""``glasstext audit``: bad input is one line and exit 2 before any LM call; budgets; resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explain.test_audit import PlantedLM, planted_corpus
from glasstext.cli import main

CALLS: dict[str, PlantedLM] = {}


def _fake_lm_scorer(model, template, labels, **options):  # type: ignore[no-untyped-def]
    """Stands for LMScorer: "planted-lm" is the planted-bias fake; any other name fails."""
    from glasstext.explain import CallableScorer

    if model not in CALLS:
        raise AssertionError(f"an LM was loaded: {model}")
    return CallableScorer(CALLS[model], classes=[lab.strip() for lab in labels])


@pytest.fixture
def audit_cli(tmp_path, monkeypatch, tiny_bert_dir):  # type: ignore[no-untyped-def]
    """The LM faked, a labelled corpus file."""
    from glasstext.explain import audit

    monkeypatch.setattr(audit, "LMScorer", _fake_lm_scorer)
    CALLS.clear()
    CALLS["planted-lm"] = PlantedLM("plot", 3.0)
    texts, labels = planted_corpus(120)
    path = tmp_path / "reviews.csv"
    rows = [f"{t},{'positive' if y else 'negative'}" for t, y in zip(texts, labels, strict=True)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    base = ["audit", "--lm", "planted-lm", "--texts", str(path), "--encoder", str(tiny_bert_dir)]
    base += ["--labels", " negative", " positive", "--n-shap", "1", "--shap-samples", "8"]
    return base, path, tmp_path / "out"


def test_audit_finds_the_trigger_writes_the_report_and_a_rerun_is_free(audit_cli, capsys):  # type: ignore[no-untyped-def]
    base, _, out = audit_cli
    args = [*base, "--label-column", "label", "--probe", "plot:", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["fidelity"]["trusted"]
    assert "plot" in [g for g, _ in summary["drivers"][:5]]
    assert summary["probes"][0]["measured_shift"] == pytest.approx(-3.0)
    spent = summary["target_calls"]
    assert spent == CALLS["planted-lm"].n_seen > 0
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "What drives the LM" in page and "Counterfactual probes" in page
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["target_calls"] == 0 and CALLS["planted-lm"].n_seen == spent


def test_a_budget_that_runs_out_saves_and_resumes(audit_cli, capsys):  # type: ignore[no-untyped-def]
    base, _, out = audit_cli
    args = [*base, "--no-probes", "--out", str(out)]
    assert main([*args, "--budget", "50"]) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["target_calls"] == 50
    assert "budget ran out" in captured.err and "rerun" in captured.err
    assert (out / "audit.html").is_file()
    assert main([*args, "--budget", "500"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["target_calls"] == 70
    assert CALLS["planted-lm"].n_seen == 120


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--label-column", "nope"], "nope"),
        (["--probe", "he-she"], "TERM:OTHER"),
        (["--budget", "0"], "--budget"),
        (["--prompt", "no placeholder"], "{text}"),
        (["--labels", "yes"], "two non-blank"),
        (["--labels", " positive", "positive"], "distinct"),
        (["--target-fraction", "0"], "--target-fraction"),
        (["--probe", "a:b", "--no-probes"], "contradict"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_lm_call(  # type: ignore[no-untyped-def]
    audit_cli, capsys, extra, message
):
    base, _, out = audit_cli
    CALLS.clear()  # any LM load would now fail the test
    assert main([*base, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("glasstext: error:") and "\n" not in err and message in err


def test_labels_that_are_not_classes_and_a_missing_file(audit_cli, tmp_path, capsys):  # type: ignore[no-untyped-def]
    base, path, out = audit_cli
    CALLS.clear()
    bad = Path(tmp_path / "bad.csv")
    bad.write_text("text,label\na good film,maybe\n", encoding="utf-8")
    i = base.index(str(path))
    assert main([*base[:i], str(bad), *base[i + 1 :], "--label-column", "label"]) == 2
    assert "maybe" in capsys.readouterr().err
    assert main([*base[:i], str(tmp_path / "none.csv"), *base[i + 1 :]]) == 2
    assert "none.csv" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.integration
def test_a_real_tiny_lm_resumes_with_its_calibration_cached(  # type: ignore[no-untyped-def]
    tiny_lm_dir, tiny_bert_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    texts, _ = planted_corpus(40)
    path = tmp_path / "t.csv"
    path.write_text("text\n" + "\n".join(texts) + "\n", encoding="utf-8")
    args = ["audit", "--lm", tiny_lm_dir, "--texts", str(path), "--encoder", str(tiny_bert_dir)]
    args += ["--prompt", "Review: {text} Sentiment:", "--no-probes", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["target_calls"] == 40 + 3  # the texts and the content-free prompts
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["target_calls"] == 0


def _python_target_file(folder: Path) -> Path:
    path = folder / "planted.py"
    path.write_text(
        "from explain.test_audit import PlantedLM\n\n"
        "score = PlantedLM('plot', 3.0)\n"
        "not_a_target = 42\n",
        encoding="utf-8",
    )
    return path


def test_a_python_function_is_audited_through_py_spec(audit_cli, tmp_path, capsys):  # type: ignore[no-untyped-def]
    base, _, out = audit_cli
    CALLS.clear()  # no LM may load: the target is the file's function
    spec = f"py:{_python_target_file(tmp_path)}:score"
    args = [*base, "--label-column", "label", "--probe", "plot:", "--out", str(out)]
    args[args.index("planted-lm")] = spec
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["target_calls"] > 0
    assert "plot" in [g for g, _ in summary["drivers"][:5]]
    assert summary["probes"][0]["measured_shift"] == pytest.approx(-3.0)
    assert main(args) == 0  # the rerun is served by the score cache
    assert json.loads(capsys.readouterr().out)["target_calls"] == 0


@pytest.mark.parametrize(
    "spec, extra, message",
    [
        ("py:{file}:missing", [], "defines no missing"),
        ("py:{file}:not_a_target", [], "not a function"),
        ("py:{folder}/none.py:score", [], "no file"),
        ("py:score", [], "py:FILE.py:NAME"),
        ("py:no_such_module_here:score", [], "cannot import"),
        ("py:{file}:score", ["--prompt", "Review: {text}"], "--prompt applies"),
    ],
)
def test_a_bad_python_target_is_one_line_and_exit_2(  # type: ignore[no-untyped-def]
    audit_cli, tmp_path, capsys, spec, extra, message
):
    base, _, out = audit_cli
    CALLS.clear()
    file = _python_target_file(tmp_path)
    args = [*base, "--out", str(out), *extra]
    args[args.index("planted-lm")] = spec.format(file=file, folder=tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("glasstext: error:") and "\n" not in err and message in err
