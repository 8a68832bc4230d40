"""CLI: glasstext finetune and glasstext fit protolm (tiny BERT)."""

import json

import pytest

from glasstext.cli import main

QUICK = ["--epochs", "1", "--batch-size", "8", "--threads", "1"]


def test_finetune_then_use_the_folder_as_an_encoder(tmp_path, train_csv, tiny_bert_dir, capsys):
    out = tmp_path / "tuned"
    args = ["finetune", "--train", str(train_csv), "--encoder", str(tiny_bert_dir)]
    assert main([*args, *QUICK, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fine-tuned" in printed and "epoch 1" in printed and "test accuracy" in printed
    assert (out / "model.safetensors").is_file() and (out / "glasstext_finetune.json").is_file()
    model = tmp_path / "aug"
    fit = ["fit", "auglinear", "--train", str(train_csv), "--encoder", str(out)]
    assert main([*fit, "--out", str(model)]) == 0
    assert "saved to" in capsys.readouterr().out


def test_fit_protolm_then_show_predict_explain(tmp_path, train_csv, tiny_bert_dir, capsys):
    out = tmp_path / "proto"
    args = ["fit", "protolm", "--train", str(train_csv), "--encoder", str(tiny_bert_dir)]
    code = main([*args, *QUICK, "--n-prototypes-per-class", "2", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Proto-LM: 4 prototypes" in printed and "test accuracy" in printed
    assert main(["show", str(out)]) == 0
    assert "class 'pos':" in capsys.readouterr().out
    assert main(["predict", str(out), "a bad film", "--proba"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert set(row["proba"]) == {"neg", "pos"}
    assert main(["explain", str(out), "a bad film", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert len(e["prototypes"]) == 4 and e["prediction"] in ("neg", "pos")
    total = [sum(p["contributions"][c] for p in e["prototypes"]) for c in range(2)]
    assert total == pytest.approx(e["logits"])  # k=5 > 4 prototypes: all of them listed
    assert main(["explain", str(out), "a bad film"]) == 0
    assert "most similar training sentences" in capsys.readouterr().out


def test_protolm_needs_classes_and_bad_settings_exit_2(tmp_path, tiny_bert_dir, capsys):
    path = tmp_path / "scores.csv"
    path.write_text("text,label\n" + "\n".join(f"good film {i},{i / 3}" for i in range(12)) + "\n")
    args = ["fit", "protolm", "--train", str(path), "--encoder", str(tiny_bert_dir)]
    assert main([*args, "--out", str(tmp_path / "m")]) == 2
    assert "error" in capsys.readouterr().err
    bad = ["finetune", "--train", str(path), "--encoder", str(tiny_bert_dir), "--epochs", "0"]
    assert main([*bad, "--out", str(tmp_path / "f")]) == 2
    assert "epochs must be" in capsys.readouterr().err
