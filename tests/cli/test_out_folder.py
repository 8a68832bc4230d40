"""Commands that write a folder at ``--out`` never remove one that is not theirs, and
refuse before any work; a malformed model.json is one line of error (issue 31)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasstext.cli import build_parser, main
from glasstext.models.base import load_model


def _user_folder(path: Path) -> Path:
    (path / "chapters").mkdir(parents=True)
    (path / "thesis.txt").write_text("years of work")
    (path / "chapters" / "one.txt").write_text("chapter one")
    return path


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("glasstext: error: "), captured.err
    assert "Traceback" not in captured.out
    return lines[0]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_fit_refuses_a_folder_that_is_no_model_before_reading_data(
    toy_model, tmp_path, capsys, overwrite
):
    folder = _user_folder(tmp_path / "mine")
    missing = tmp_path / "missing.csv"  # read only after the check: the check speaks first
    command = ["fit", "toy", "--train", str(missing), "--out", str(folder), *overwrite]
    assert main(command) == 2
    assert "holds no glasstext model" in _error_line(capsys)
    assert (folder / "thesis.txt").read_text() == "years of work"
    assert (folder / "chapters" / "one.txt").is_file()


def test_fit_replaces_a_saved_model_only_with_overwrite(toy_model, train_csv, tmp_path, capsys):
    out = tmp_path / "toy"
    command = ["fit", "toy", "--train", str(train_csv), "--out", str(out)]
    assert main([*command, "--alpha", "1"]) == 0
    capsys.readouterr()
    assert main([*command, "--alpha", "2", "--train", str(tmp_path / "missing.csv")]) == 2
    assert "--overwrite" in _error_line(capsys)
    assert load_model(out).alpha == 1
    assert main([*command, "--alpha", "2", "--overwrite"]) == 0
    assert load_model(out).alpha == 2


def test_fit_writes_into_an_empty_folder(toy_model, train_csv, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    command = ["fit", "toy", "--train", str(train_csv), "--out", str(tmp_path / "empty")]
    assert main(command) == 0
    load_model(tmp_path / "empty")


def test_fit_help_offers_overwrite(toy_model, capsys):
    with pytest.raises(SystemExit):
        build_parser("fit").parse_args(["fit", "toy", "--help"])
    assert "--overwrite" in capsys.readouterr().out


def test_finetune_refuses_a_folder_that_is_no_encoder_before_training(tmp_path, capsys):
    folder = _user_folder(tmp_path / "mine")
    missing = tmp_path / "missing.csv"
    assert main(["finetune", "--train", str(missing), "--out", str(folder)]) == 2
    assert "holds no fine-tuned encoder" in _error_line(capsys)
    assert (folder / "thesis.txt").read_text() == "years of work"


def test_demo_refuses_a_folder_that_is_no_model_before_the_tour(tmp_path, monkeypatch, capsys):
    import glasstext.demo

    def tour(**kwargs):
        raise AssertionError("the tour started")

    monkeypatch.setattr(glasstext.demo, "run_demo", tour)
    folder = _user_folder(tmp_path / "mine")
    assert main(["demo", "--out", str(folder)]) == 2
    assert "holds no glasstext model" in _error_line(capsys)


@pytest.mark.parametrize("command", ["show", "predict", "explain", "report"])
def test_a_model_json_nested_3000_deep_is_one_line_of_error(toy_model, tmp_path, capsys, command):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.json").write_text("[" * 3000 + "]" * 3000)
    (folder / "arrays.safetensors").write_bytes(b"")
    extra = {"show": [], "report": ["--out", str(tmp_path / "r.html")]}.get(command, ["a text"])
    assert main([command, str(folder), *extra]) == 2
    assert "nested too deeply" in _error_line(capsys)
