"""``glasstext report``: a saved model as a page, with examples from a file."""

import pytest

from glasstext.cli import main
from report import subjects as S


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from glasstext import AugTreeClassifier

    X, y = S.texts()
    folder = tmp_path_factory.mktemp("m") / "tree"
    AugTreeClassifier(max_depth=2, expansion="none").fit(X, y).save(folder)
    return folder


def test_report_writes_a_page_with_examples(saved, tmp_path, capsys):
    examples = tmp_path / "ex.csv"
    examples.write_text("text\n" + "\n".join(S.EXAMPLES) + "\n")
    out = tmp_path / "deep" / "report.html"
    assert main(["report", str(saved), "--out", str(out), "--examples", str(examples)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "The path of an example" in page
    assert S.EXAMPLES[0] in page
    assert "wrote" in capsys.readouterr().out


def test_report_without_examples_and_with_a_title(saved, tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(saved), "--out", str(out), "--title", "My <tree>"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "My &lt;tree&gt;" in page and "The path of an example" not in page


def test_report_errors_are_clear(saved, tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "x.html")]) == 2
    assert "error" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", str(saved)])  # --out is required
    bad = ["report", str(saved), "--out", str(tmp_path / "y.html"), "--n-examples", "0"]
    assert main(bad) == 2
