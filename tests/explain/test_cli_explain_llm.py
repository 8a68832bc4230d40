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
