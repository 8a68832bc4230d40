import json

import pytest

from glasstext.cli import main

POS = ["good movie", "great fun film", "a lovely story", "awesome acting", "fine and fun"]
NEG = ["bad movie", "awful boring film", "a dull story", "terrible acting", "bad and dull"]


@pytest.fixture
def train_csv(tmp_path):
    path = tmp_path / "train.csv"
    rows = ["text,label"] + [f"{t},pos" for t in POS * 4] + [f"{t},neg" for t in NEG * 4]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def fitted_dir(tmp_path, train_csv, tiny_bert_dir, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    out = tmp_path / "model"
    code = main(
        [
            "fit",
            "auglinear",
            "--train",
            str(train_csv),
            "--encoder",
            str(tiny_bert_dir),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "saved to" in printed and "test accuracy" in printed
    return out


def test_fit_predict_explain_round_trip(fitted_dir, capsys):
    assert main(["predict", str(fitted_dir), "good fun movie", "dull bad film", "--proba"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["good fun movie", "dull bad film"]
    assert all(r["prediction"] in ("pos", "neg") for r in rows)
    assert all(abs(sum(r["proba"].values()) - 1) < 1e-6 for r in rows)

    assert main(["explain", str(fitted_dir), "good fun movie", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    total = e["intercept"] + sum(v for _, v in e["contributions"])
    assert total == pytest.approx(e["decision"])


def test_predict_reads_a_file_and_writes_json_lines(fitted_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"review": "good movie"}\n{"review": "bad film"}\n')
    dest = tmp_path / "out.jsonl"
    code = main(
        [
            "predict",
            str(fitted_dir),
            "--input",
            str(src),
            "--text-column",
            "review",
            "--output",
            str(dest),
        ]
    )
    assert code == 0
    assert [json.loads(x)["text"] for x in dest.read_text().splitlines()] == [
        "good movie",
        "bad film",
    ]


def test_user_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing-model"), "text"]) == 2
    assert "no saved model" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngood,1\n,0\n")
    code = main(["fit", "auglinear", "--train", str(bad), "--out", str(tmp_path / "m")])
    assert code == 2
    assert "empty or missing" in capsys.readouterr().err


def test_listing_commands(capsys):
    assert main(["datasets"]) == 0
    assert "rotten_tomatoes" in capsys.readouterr().out
    assert main(["models"]) == 0
    assert "all-MiniLM-L6-v2" in capsys.readouterr().out


def test_cache_info(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path))
    assert main(["cache", "info"]) == 0
    assert "0 entries" in capsys.readouterr().out
    assert main(["cache", "prune"]) == 2


@pytest.mark.integration
def test_demo_runs_on_a_small_slice(tmp_path, capsys):
    from glasstext.demo import run_demo

    figures = run_demo(n_train=200, n_test=100, out=tmp_path / "demo-model")
    printed = capsys.readouterr().out
    assert "TF-IDF" in printed and "Top n-grams for 'positive'" in printed
    assert printed.count("= decision") == 3
    assert 0.5 < figures["accuracy"] <= 1.0
    assert (tmp_path / "demo-model" / "model.json").is_file()
    assert "Aug-Tree" in printed and "contains any of {" in printed
    assert "decision path" in printed and 0.0 < figures["tree_accuracy"] <= 1.0
    assert "most similar training sentences" in printed
    assert 0.0 < figures["protolm_accuracy"] <= 1.0


def test_fit_augtree_then_show_predict_explain(tmp_path, train_csv, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    out = tmp_path / "tree"
    args = ["fit", "augtree", "--train", str(train_csv), "--expansion", "none", "--out", str(out)]
    code = main([*args, "--max-depth", "2", "--min-samples-leaf", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "contains any of {" in printed and "test accuracy" in printed and "saved to" in printed
    assert main(["show", str(out)]) == 0
    assert "contains any of {" in capsys.readouterr().out
    assert main(["predict", str(out), "a bad film", "--proba"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert set(row["proba"]) == {"neg", "pos"}
    assert main(["explain", str(out), "a bad film", "--json"]) == 0
    path = json.loads(capsys.readouterr().out)["path"]
    assert path and {"phrases", "matched", "answer"} <= set(path[0])
    assert main(["explain", str(out), "a bad film"]) == 0
    assert "contains any of" in capsys.readouterr().out


def test_show_auglinear_lists_top_ngrams(fitted_dir, capsys):
    assert main(["show", str(fitted_dir), "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "neg:" in printed and "pos:" in printed
