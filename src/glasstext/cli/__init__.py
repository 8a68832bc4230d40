"""The ``glasstext`` command: a thin layer over the public Python API.

Every command calls the same functions a Python user would; nothing here
computes anything the library does not expose. Commands live in modules by
group (:mod:`~glasstext.cli.models`: fit / show / predict / explain;
:mod:`~glasstext.cli.explain`: the explanations of LMs and in words;
:mod:`~glasstext.cli.train`: finetune; :mod:`~glasstext.cli.report`: report;
:mod:`~glasstext.cli.serve`: the explorer; :mod:`~glasstext.cli.actions`:
compress-prompt, prune-demos; :mod:`~glasstext.cli.tools`: listings,
cache, demo), and the flags they share in :mod:`~glasstext.cli.common`.

Only the command being run has its options built (and its modules
imported), so ``glasstext --help`` imports neither scikit-learn nor torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from glasstext.cli.common import HelpFormatter
from glasstext.cli.terminal import terminal_safe, terminal_safe_output
from glasstext.exceptions import (
    ExplanationError,
    GlasstextError,
    LMServerError,
)

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

# Errors a user causes (bad file, bad value, missing package): a message, exit 2.
_USER_ERRORS = (
    GlasstextError,
    ValueError,
    TypeError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    ImportError,
)
# A language model that failed or gave nothing usable: a message, exit 1.
_LM_FAILURES = (LMServerError, ExplanationError)


@dataclass(frozen=True)
class Command:
    """One ``glasstext COMMAND``: its one-line help and where its options are built."""

    name: str
    help: str
    module: str
    builder: str


COMMANDS: tuple[Command, ...] = (
    Command("fit", "fit an interpretable model", "glasstext.cli.models", "add_fit"),
    Command("show", "print a saved model in readable form", "glasstext.cli.models", "add_show"),
    Command("predict", "predict with a saved model", "glasstext.cli.models", "add_predict"),
    Command(
        "explain", "explain predictions of a saved model", "glasstext.cli.models", "add_explain"
    ),
    Command(
        "report",
        "a saved model as a standalone HTML report",
        "glasstext.cli.report",
        "add_report",
    ),
    Command(
        "explain-llm",
        "explain a zero-shot LM's class for a text (LIME / KernelSHAP / occlusion)",
        "glasstext.cli.explain",
        "add_explain_llm",
    ),
    Command(
        "summarize",
        "an LM-written summary of what drives each class of a saved model",
        "glasstext.cli.explain",
        "add_summarize",
    ),
    Command(
        "explain-module",
        "SASC: what a saved model's output responds to, in words, checked on data",
        "glasstext.cli.explain",
        "add_explain_module",
    ),
    Command(
        "explain-dataset",
        "prompt search: the instruction that best explains input/output pairs",
        "glasstext.cli.explain",
        "add_explain_dataset",
    ),
    Command(
        "audit",
        "audit an LM used as a classifier: drivers, rules, probes, disagreements (HTML report)",
        "glasstext.cli.audit",
        "add_audit",
    ),
    Command(
        "serve",
        "the interactive explorer: type a text, see its prediction and explanation",
        "glasstext.cli.serve",
        "add_serve",
    ),
    Command(
        "compress-prompt",
        "drop the lowest-attributed words of prompts while the LM's answer holds",
        "glasstext.cli.actions",
        "add_compress_prompt",
    ),
    Command(
        "prune-demos",
        "remove the few-shot demonstrations that push an LM toward wrong answers",
        "glasstext.cli.actions",
        "add_prune_demos",
    ),
    Command(
        "finetune",
        "fine-tune an encoder on labelled texts (CPU) into a model folder",
        "glasstext.cli.train",
        "add_finetune",
    ),
    Command(
        "demo",
        "the offline tour, about 3 min (what `make demo` runs; --full: the long one)",
        "glasstext.cli.tools",
        "add_demo",
    ),
    Command("models", "list the offline model aliases", "glasstext.cli.tools", "add_models"),
    Command("datasets", "list the built-in datasets", "glasstext.cli.tools", "add_datasets"),
    Command("cache", "inspect or prune the embedding/LM cache", "glasstext.cli.tools", "add_cache"),
)


def build_parser(command: str | None = None, *, full: bool = False) -> argparse.ArgumentParser:
    """The ``glasstext`` parser.

    Parameters
    ----------
    command : str, optional
        The command about to run: only its options are built (the others
        keep their one-line help), so unrelated modules are never imported.
    full : bool, default=False
        Build the options of every command (for tests and documentation).
    """
    parser = argparse.ArgumentParser(
        prog="glasstext",
        description="Readable text models fit with language models.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(metavar="COMMAND", dest="command")
    for c in COMMANDS:
        p = sub.add_parser(c.name, help=c.help, description=c.help, formatter_class=HelpFormatter)
        if full or c.name == command:
            getattr(importlib.import_module(c.module), c.builder)(p)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: the installed package's version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings,
            dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show the version (the installed package's) and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from glasstext import __version__

        print(f"glasstext {__version__}")
        parser.exit()


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (the top level has no option taking a value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        with terminal_safe_output():
            return int(args.run(args) or 0)
    except _LM_FAILURES as exc:
        _print_error(f"the language model failed: {exc}")
        return 1
    except _USER_ERRORS as exc:
        _print_error(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``glasstext ... | head -1``): not an error of
        # ours. Point stdout at devnull so the interpreter's final flush is quiet.
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a killed writer


def _print_error(message: str) -> None:
    """One error line on stderr: credentials in any URL it quotes are hidden, and user
    data in it cannot steer the terminal."""
    from glasstext.backends.redaction import redact_spec

    print(f"glasstext: error: {terminal_safe(redact_spec(message))}", file=sys.stderr)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured)
        pass
