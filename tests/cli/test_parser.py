"""The whole parser, checked programmatically: help, defaults, one flag per concept."""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import glasstext
from glasstext.cli import COMMANDS, build_parser, main
from glasstext.cli.common import HelpFormatter
from glasstext.cli.models import fit_commands

# Old spellings: accepted for one release, never shown.
OLD_FLAGS = {"--random-state", "--output", "--target-class", "--model", "--k"}
# Commands that use randomness (fit methods: those whose model takes a seed, added below).
USES_RANDOMNESS = {
    "audit",
    "finetune",
    "explain-llm",
    "explain-module",
    "explain-dataset",
    "serve",
    "compress-prompt",
    "prune-demos",
}
# Commands that write a file or folder (every fit method too).
WRITES = {
    "predict",
    "finetune",
    "explain-llm",
    "demo",
    "report",
    "compress-prompt",
    "prune-demos",
    "audit",
}


def _leaves(parser: argparse.ArgumentParser, name: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its words (``"fit toy"``), sub-commands opened."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {name: parser}
    leaves: dict[str, argparse.ArgumentParser] = {}
    for choice, sub in subs[0].choices.items():
        leaves.update(_leaves(sub, f"{name} {choice}".strip()))
    return leaves


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.help is not argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
    ]


@pytest.fixture
def leaves(toy_model) -> dict[str, argparse.ArgumentParser]:
    return _leaves(build_parser(full=True))


def _fit_methods() -> dict[str, bool]:
    """Each ``fit NAME`` and whether one of its classes takes a seed."""
    return {
        f"fit {name}": any(
            {"random_state", "seed"} & set(inspect.signature(cls.__init__).parameters)
            for cls in classes.values()
        )
        for name, classes in fit_commands().items()
    }


def test_every_command_is_built(leaves):
    names = {c.name for c in COMMANDS} - {"fit"}
    assert names <= set(leaves)
    assert "fit toy" in leaves and set(_fit_methods()) <= set(leaves)


def test_every_option_has_help_and_shows_its_default(leaves):
    formatter = HelpFormatter("glasstext")
    for name, parser in leaves.items():
        assert parser.formatter_class is HelpFormatter, name
        for action in _visible(parser):
            assert action.help, f"{name}: {action.dest} has no help"
            shown = formatter._get_help_string(action) or ""
            if action.option_strings and action.default not in (None, False):
                assert "%(default)" in shown, f"{name}: {action.dest} hides its default"
        parser.format_help()  # every help string formats (no stray %)


def test_one_flag_per_concept(leaves):
    for name, parser in leaves.items():
        for action in _visible(parser):
            assert not set(action.option_strings) & OLD_FLAGS, f"{name}: {action.option_strings}"
            if action.dest in ("seed", "random_state"):
                assert action.option_strings == ["--seed"], name
            if action.dest == "out":
                assert action.option_strings == ["--out"], name
            if action.dest == "target_class":
                assert action.option_strings == ["--class"], name
            if action.dest == "lm":
                assert action.option_strings == ["--lm"], name


def test_randomness_takes_seed_and_writing_takes_out(leaves):
    seeded = USES_RANDOMNESS | {m for m, takes_seed in _fit_methods().items() if takes_seed}
    writes = WRITES | set(_fit_methods())
    for name, parser in leaves.items():
        flags = {f for a in _visible(parser) for f in a.option_strings}
        assert (name in seeded) == ("--seed" in flags), name
        assert (name in writes) == ("--out" in flags), name


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["predict", "m", "t", "--output", "f"], ["predict", "m", "t", "--out", "f"]),
        (["explain-llm", "t", "--model", "x"], ["explain-llm", "t", "--lm", "x"]),
        (["explain-llm", "t", "--target-class", "1"], ["explain-llm", "t", "--class", "1"]),
        (
            ["explain-module", "m", "--corpus", "c", "--output", "pos"],
            ["explain-module", "m", "--corpus", "c", "--class", "pos"],
        ),
        (
            ["explain-module", "m", "--corpus", "c", "--random-state", "4"],
            ["explain-module", "m", "--corpus", "c", "--seed", "4"],
        ),
        (["explain-dataset", "d", "--random-state", "4"], ["explain-dataset", "d", "--seed", "4"]),
        (["finetune", "--train", "t", "--out", "o", "--random-state", "4"], None),
        (["summarize", "m", "--k", "3"], ["summarize", "m", "--top", "3"]),
    ],
)
def test_old_spellings_are_accepted_with_a_note(old, new, capsys):
    parser = build_parser(old[0])
    parsed = vars(parser.parse_args(old))
    assert f"{old[-2]} is deprecated" in capsys.readouterr().err
    if new is not None:
        assert parsed == vars(parser.parse_args(new))
        assert capsys.readouterr().err == ""


def test_show_top_is_ignored_with_a_note(tmp_path, capsys):
    assert main(["show", str(tmp_path / "missing"), "--top", "3"]) == 2
    err = capsys.readouterr().err
    assert "--top is deprecated and ignored" in err and "no saved model" in err


def test_the_encoder_default_comes_from_the_registry(leaves):
    from glasstext.backends.registry import DEFAULT_ENCODER

    for name in ("finetune", "demo"):
        (encoder,) = [a for a in leaves[name]._actions if a.dest == "encoder"]
        assert encoder.default == DEFAULT_ENCODER


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def _modules_loaded_by(argv: list[str]) -> set[str]:
    code = (
        "import sys\nfrom glasstext.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(glasstext.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return set(done.stderr.split())


def test_help_imports_neither_sklearn_nor_torch():
    heavy = {"sklearn", "torch", "transformers", "scipy", "pandas", "numpy"}
    assert not _modules_loaded_by(["--help"]) & heavy
    for command in ("show", "predict", "explain", "cache", "datasets", "models"):
        assert not _modules_loaded_by([command, "--help"]) & heavy, command
    for command in ("summarize", "explain-module", "finetune", "demo"):
        assert not _modules_loaded_by([command, "--help"]) & {"sklearn", "torch"}, command
