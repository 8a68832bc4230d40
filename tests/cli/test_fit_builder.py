"""``glasstext fit NAME``, generated from a registered model's declarations (a toy model)."""

from __future__ import annotations

import argparse
import json

import pytest

from glasstext.cli import build_parser, main
from glasstext.cli.models import flag_name, option_kwargs
from glasstext.models.base import load_model
from glasstext.validation import Interval, Options


def _fit_parser(toy_model) -> argparse.ArgumentParser:
    parser = build_parser("fit")
    fit = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    method = next(
        a for a in fit.choices["fit"]._actions if isinstance(a, argparse._SubParsersAction)
    )
    return method.choices["toy"]


def test_flag_names_follow_one_spelling_per_concept():
    assert flag_name("random_state") == "--seed"
    assert flag_name("n_threads") == "--threads"
    assert flag_name("min_samples_leaf") == "--min-samples-leaf"


def test_option_kwargs_read_the_constraints():
    assert option_kwargs("mode", "a", [Options(("a", "b"))])["choices"] == ["a", "b"]
    assert option_kwargs("n", 3, [Interval(int, 1)])["type"]("4") == 4
    assert option_kwargs("x", 0.5, [Interval(float, 0)])["type"]("1e-3") == pytest.approx(1e-3)
    assert option_kwargs("on", False, ["boolean"])["action"] == "store_true"
    assert option_kwargs("on", True, ["boolean"])["action"] is argparse.BooleanOptionalAction
    assert option_kwargs("r", (1, 2), [tuple])["nargs"] == 2
    mixed = option_kwargs("k", "all", [Interval(int, 1), Options(("all",)), None])["type"]
    assert (mixed("all"), mixed("7"), mixed("None")) == ("all", 7, None)
    with pytest.raises(argparse.ArgumentTypeError, match="expected 'all' or an int"):
        mixed("many")
    assert option_kwargs("name", None, [None, str])["type"]("x") == "x"
    assert option_kwargs("undeclared", 2, [])["type"]("5") == 5


def test_the_toy_flags_types_and_defaults(toy_model):
    p = _fit_parser(toy_model)
    args = p.parse_args(["--train", "t.csv", "--out", "m"])
    assert (args.alpha, args.n_iter, args.mode, args.shout, args.lower) == (
        0.5,
        3,
        "fast",
        False,
        True,
    )
    assert (args.ngram_range, args.random_state, args.n_threads) == ((1, 2), None, None)
    args = p.parse_args(
        [
            *["--train", "t.csv", "--out", "m", "--alpha", "2", "--n-iter", "5"],
            *["--mode", "slow", "--shout", "--no-lower", "--ngram-range", "1", "3"],
            *["--seed", "7", "--threads", "2", "--max-words", "9", "--lm", "openai:m@http://h/v1"],
        ]
    )
    assert (args.alpha, args.n_iter, args.mode, args.shout, args.lower) == (
        2.0,
        5,
        "slow",
        True,
        False,
    )
    assert (args.ngram_range, args.random_state, args.n_threads) == ([1, 3], 7, 2)
    assert (args.max_words, args.lm) == (9, "openai:m@http://h/v1")
    text = p.format_help()
    assert "--seed SEED" in text and "--threads THREADS" in text and "100% toy" in text
    assert "(default: fast)" in text and "(default: 0.5)" in text
    assert "--random-state" not in text
    assert "--task {classification,regression}" in text
    with pytest.raises(SystemExit):
        p.parse_args(["--train", "t.csv", "--out", "m", "--mode", "medium"])


def test_fit_classifier_then_show_predict_explain(toy_model, train_csv, tmp_path, capsys):
    out = tmp_path / "toy"
    command = ["fit", "toy", "--train", str(train_csv), "--out", str(out)]
    assert main([*command, "--seed", "7", "--threads", "2", "--ngram-range", "1", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fit ToyClassifier on 32 texts in ")
    assert lines[1] == "toy notes: 8 test texts"
    assert lines[2].startswith("test accuracy: ") and lines[2].endswith("(8 texts)")
    assert lines[3] == f"saved to {out}"
    model = load_model(out)
    assert type(model) is toy_model["classification"]
    assert (model.random_state, model.n_threads, model.ngram_range) == (7, 2, (1, 3))

    assert main(["show", str(out)]) == 0
    assert capsys.readouterr().out == "toy model with alpha=0.5\n"
    assert main(["explain", str(out), "a b c", "--json", "--top", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == {"text": "a b c", "words": ["a", "b"]}
    assert main(["explain", str(out), "a b c"]) == 0
    assert "toy explanation of 'a b c'" in capsys.readouterr().out
    dest = tmp_path / "p.jsonl"
    assert main(["predict", str(out), "x", "y", "--proba", "--out", str(dest)]) == 0
    rows = [json.loads(line) for line in dest.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["x", "y"] and set(rows[0]["proba"]) == {"neg", "pos"}


def test_task_picks_the_regressor(toy_model, scores_csv, tmp_path, capsys):
    out = tmp_path / "toy"
    assert main(["fit", "toy", "--train", str(scores_csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fit ToyRegressor on 16 texts" in printed and "test R^2: " in printed
    assert type(load_model(out)) is toy_model["regression"]


def test_a_task_the_command_lacks_exits_2(toy_model, scores_csv, tmp_path, monkeypatch, capsys):
    from glasstext.models import base

    monkeypatch.delitem(base._REGISTRY, "ToyRegressor")
    assert main(["fit", "toy", "--train", str(scores_csv), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "glasstext: error: fit toy is for classification only" in err


def test_errors_exit_2_or_1(toy_model, train_csv, tmp_path, capsys):
    command = ["fit", "toy", "--train", str(train_csv), "--out", str(tmp_path / "m")]
    assert main([*command, "--alpha", "-1"]) == 2
    assert capsys.readouterr().err.startswith("glasstext: error: alpha must be")
    assert main([*command, "--fail", "user"]) == 2
    assert "glasstext: error: the toy refuses" in capsys.readouterr().err
    assert main([*command, "--fail", "lm"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("glasstext: error: the language model failed: the toy server is down")
    assert main(["show", str(tmp_path / "missing")]) == 2
    assert "no saved model" in capsys.readouterr().err


def test_the_old_random_state_spelling_still_works(toy_model, train_csv, tmp_path, capsys):
    out = tmp_path / "toy"
    command = ["fit", "toy", "--train", str(train_csv), "--out", str(out)]
    assert main([*command, "--random-state", "3"]) == 0
    assert "--random-state is deprecated" in capsys.readouterr().err
    assert load_model(out).random_state == 3


def test_two_classes_claiming_one_command_and_task_are_refused(toy_model, monkeypatch):
    from glasstext.cli.models import fit_commands
    from glasstext.models import base

    class Twin(toy_model["classification"]):
        pass

    monkeypatch.setitem(base._REGISTRY, "Twin", Twin)
    with pytest.raises(TypeError, match="both declare cli_name 'toy'"):
        fit_commands()


def test_a_seed_parameter_is_offered_even_if_not_declared(toy_model, monkeypatch):
    for cls in toy_model.values():
        options = {k: v for k, v in cls.cli_options.items() if k != "random_state"}
        monkeypatch.setattr(cls, "cli_options", options)
    args = _fit_parser(toy_model).parse_args(["--train", "t", "--out", "m", "--seed", "5"])
    assert args.random_state == 5


def _fit_methods():
    """The subparsers action of ``glasstext fit``: one parser per model command."""
    parser = build_parser("fit")
    fit = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in fit.choices["fit"]._actions if isinstance(a, argparse._SubParsersAction))


def test_executor_flag_for_a_model_that_takes_executor():
    method = _fit_methods()
    auglinear = method.choices["auglinear"]
    base = ["--train", "t.csv", "--out", "m"]
    assert auglinear.parse_args(base).encoder__executor == "local"
    assert auglinear.parse_args([*base, "--executor", "ray"]).encoder__executor == "ray"
    with pytest.raises(SystemExit):
        auglinear.parse_args([*base, "--executor", "dask"])
    # Aug-Tree embeds no n-gram vocabulary: no flag.
    assert "encoder__executor" not in vars(method.choices["augtree"].parse_args(base))


def test_encoder_flags_build_an_encoder_of_the_encoder_name(monkeypatch, tmp_path):
    from glasstext import Encoder
    from glasstext.cli import models as cli_models

    method = _fit_methods()
    auglinear = method.choices["auglinear"]
    base = ["--train", "t.csv", "--out", str(tmp_path / "m"), "--encoder", "minilm"]
    args = auglinear.parse_args(
        [*base, "--precision", "int8", "--batch-size", "64", "--threads", "2", "--device", "cpu"]
    )
    settings = {
        name.removeprefix("encoder__"): getattr(args, name)
        for name in args.fit_options
        if name.startswith("encoder__")
    }
    encoder = cli_models._configured_encoder(args.encoder, settings)
    assert isinstance(encoder, Encoder)
    assert (
        encoder.get_params()
        == Encoder(
            "minilm", precision="int8", batch_size=64, n_threads=2, device="cpu"
        ).get_params()
    )
    defaults = auglinear.parse_args(base)
    plain = {
        name.removeprefix("encoder__"): getattr(defaults, name)
        for name in defaults.fit_options
        if name.startswith("encoder__")
    }
    assert cli_models._configured_encoder("minilm", plain) == "minilm"  # the plain name
    text = auglinear.format_help()
    assert "--precision {auto,fp32,bf16,fp16,int8}" in text and "(default: 256)" in text
    # Proto-LM's --batch-size is its training batch, not the encoder's
    protolm = method.choices["protolm"].parse_args(["--train", "t", "--out", "m"])
    assert protolm.batch_size == 32 and not hasattr(protolm, "encoder__batch_size")


def test_auglinear_backoff_and_pooling_flags():
    method = _fit_methods()
    auglinear = method.choices["auglinear"]
    base = ["--train", "t.csv", "--out", "m"]
    defaults = auglinear.parse_args(base)
    assert (defaults.doc_pooling, defaults.encoder_words) == ("auto", 30000)
    assert defaults.compose is True and defaults.word_shapes is True
    args = auglinear.parse_args(
        [*base, "--doc-pooling", "mean", "--encoder-words", "0", "--no-compose", "--no-word-shapes"]
    )
    assert (args.doc_pooling, args.encoder_words, args.compose, args.word_shapes) == (
        "mean",
        0,
        False,
        False,
    )
    with pytest.raises(SystemExit):
        auglinear.parse_args([*base, "--doc-pooling", "max"])
