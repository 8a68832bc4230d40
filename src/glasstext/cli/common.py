"""What every command shares: the help format, one flag per concept, data loading.

The flags a user meets in several commands are added here only, so each
concept has one spelling everywhere: ``--seed`` (any randomness), ``--lm`` (a
language model), ``--encoder``, ``--out`` (every file or folder written),
``--class`` (a class), ``--train`` / ``--dataset`` / ``--text-column`` /
``--label-column`` (labelled data), ``--device`` (where torch models run).
Old spellings stay accepted for one release through :func:`add_deprecated`, hidden from the help.

This module imports nothing heavy: ``glasstext --help`` must start fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "HelpFormatter",
    "add_class",
    "add_data_arguments",
    "add_deprecated",
    "add_device",
    "add_encoder",
    "add_lm",
    "add_out",
    "add_seed",
    "add_task",
    "add_text_input",
    "device_name",
    "explainer_table",
    "load_data",
    "metric_name",
    "named_labels",
    "output_file",
    "python_target",
    "read_input_texts",
    "task_of",
    "writable_path",
]

TASKS = ("classification", "regression")


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default (unless it is None or False).

    A None default means "decided at run time"; its help text says how.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "%(default)" in text
            or not action.option_strings
            or action.default is None
            or action.default is False
            or action.default is argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)"


class _DeprecatedFlag(argparse.Action):
    """An old spelling of a flag: stores into the new flag's destination, with a note."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.replacement: str = kwargs.pop("replacement")
        kwargs["help"] = argparse.SUPPRESS
        kwargs["default"] = argparse.SUPPRESS
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"glasstext: note: {option_string} is deprecated and will be removed in the "
            f"next release; use {self.replacement}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_deprecated(
    parser: argparse.ArgumentParser | Any, old: str, new: argparse.Action
) -> argparse.Action:
    """Accept ``old`` as a hidden, deprecated spelling of the option ``new``.

    ``parser`` may be a parser or an argument group (a mutually exclusive one
    included, so the old spelling obeys the same exclusion).
    """
    kwargs: dict[str, Any] = {"nargs": new.nargs, "metavar": new.metavar}
    if new.type is not None:
        kwargs["type"] = new.type
    action: argparse.Action = parser.add_argument(
        old, dest=new.dest, action=_DeprecatedFlag, replacement=new.option_strings[-1], **kwargs
    )
    return action


# -- one flag per concept --------------------------------------------------------------


def add_seed(
    parser: argparse.ArgumentParser,
    default: int | None = 0,
    *,
    dest: str = "seed",
    help: str = "seed of every random choice, for reproducible results",
) -> argparse.Action:
    """``--seed`` (``--random-state`` still accepted)."""
    action = parser.add_argument("--seed", dest=dest, type=int, default=default, help=help)
    add_deprecated(parser, "--random-state", action)
    return action


def add_out(
    parser: argparse.ArgumentParser,
    help: str,
    *,
    required: bool = False,
    default: str | None = None,
) -> argparse.Action:
    """``--out``: where the command writes its file or folder.

    The path is checked when the command line is read (see
    :func:`writable_path`), so an unwritable output fails before the work.
    """
    kwargs: dict[str, Any] = {"required": True} if required else {"default": default}
    return parser.add_argument("--out", help=help, metavar="PATH", type=writable_path, **kwargs)


def writable_path(value: str) -> str:
    """An ``--out`` value that can be written: checked before any work starts.

    The path itself, if it exists, must be writable; otherwise its nearest
    existing parent must be a folder this process may create entries in
    (missing folders in between are created when the output is written).
    """
    if not value:
        raise argparse.ArgumentTypeError("the output path is empty")
    target = Path(value).expanduser()
    if target.exists():
        if not os.access(target, os.W_OK):
            raise argparse.ArgumentTypeError(f"cannot write {value}: it is read-only")
        return value
    parent = target.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {value}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write {value}: no permission to create files in {parent} "
            "(or it is on a read-only disk)"
        )
    return value


def output_file(value: str | os.PathLike[str]) -> Path:
    """The path of an output file, its missing parent folders created."""
    path = Path(value).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def add_lm(
    parser: argparse.ArgumentParser, default: str | None = None, *, help: str | None = None
) -> argparse.Action:
    """``--lm``: a language model by alias, folder, hub id or ``openai:MODEL@BASE_URL``."""
    if help is None:
        from glasstext.backends.registry import DEFAULT_GENERATOR

        help = "language model: alias, folder, hub id or openai:MODEL@BASE_URL"
        if default is None:
            help += f" (default: the packaged {DEFAULT_GENERATOR})"
    return parser.add_argument("--lm", default=default, metavar="LM", help=help)


def add_encoder(parser: argparse.ArgumentParser, help: str = "alias, hub id or folder") -> None:
    """``--encoder``, defaulting to the packaged encoder."""
    from glasstext.backends.registry import DEFAULT_ENCODER

    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help=help)


#: ``--device`` help: what each setting means.
DEVICE_FLAG_HELP = (
    "where models run: auto (a GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps"
)


def device_name(value: str) -> str:
    """A ``--device`` value, its spelling checked when the command line is read.

    Whether the machine has that device is checked when a model is loaded
    (:func:`glasstext.backends.devices.resolve_device`), with a clear error.
    """
    from glasstext.backends.devices import DEVICE_HELP, DeviceName

    if not DeviceName().accepts(value):
        raise argparse.ArgumentTypeError(f"expected {DEVICE_HELP}, got {value!r}")
    return value


def add_device(
    parser: argparse.ArgumentParser | Any,
    *,
    dest: str = "device",
    help: str = DEVICE_FLAG_HELP,
) -> argparse.Action:
    """``--device``: ``auto`` (default), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    action: argparse.Action = parser.add_argument(
        "--device", dest=dest, default="auto", type=device_name, metavar="DEVICE", help=help
    )
    return action


def add_class(parser: argparse.ArgumentParser, help: str, *old: str) -> argparse.Action:
    """``--class`` (a class index or label); ``old`` spellings stay accepted."""
    action = parser.add_argument(
        "--class", dest="target_class", default=None, metavar="CLASS", help=help
    )
    for spelling in old:
        add_deprecated(parser, spelling, action)
    return action


def add_task(parser: argparse.ArgumentParser, choices: Sequence[str] = TASKS) -> None:
    """``--task``: classification or regression."""
    parser.add_argument(
        "--task",
        choices=list(choices),
        default=None,
        help="what to fit (default: classification if the labels are classes)",
    )


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Labelled data: a built-in dataset or a file, with its columns and sizes."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a built-in dataset (see `glasstext datasets`)")
    source.add_argument("--train", help="CSV / TSV / JSONL / parquet file with texts and labels")
    parser.add_argument("--test", help="test file (default: a seeded 80/20 split of --train)")
    parser.add_argument("--text-column", default="text", help="column of the texts")
    parser.add_argument("--label-column", default="label", help="column of the labels")
    parser.add_argument("--n-train", type=int, default=None, help="use the first N training rows")
    parser.add_argument("--n-test", type=int, default=None, help="use the first N test rows")


def add_text_input(parser: argparse.ArgumentParser) -> None:
    """Texts to process: as arguments and/or a file."""
    parser.add_argument("texts", nargs="*", help="texts to process")
    parser.add_argument("--input", help="file of texts (CSV / TSV / JSONL / parquet)")
    parser.add_argument("--text-column", default="text", help="column of the texts in --input")


# -- data ------------------------------------------------------------------------------


def load_data(args: argparse.Namespace) -> Any:
    """The dataset named by ``--dataset``, or read from ``--train`` (and ``--test``)."""
    from glasstext import datasets

    if args.dataset:
        ds = datasets.load(args.dataset)
    else:
        ds = datasets.load_file(
            args.train, args.text_column, args.label_column, test_path=args.test
        )
    return ds.subset(args.n_train, args.n_test)


def task_of(ds: Any, task: str | None) -> str:
    """The task asked for, or the one the labels call for."""
    if task:
        return task
    return "classification" if ds.is_classification else "regression"


def metric_name(task: str) -> str:
    """What ``score`` measures for ``task``."""
    return "accuracy" if task == "classification" else "R^2"


PYTHON_PREFIX = "py:"


def python_target(spec: str | None) -> Any | None:
    """The object named by ``--lm py:FILE.py:NAME`` or ``py:MODULE:NAME``; ``None``
    for any other spec (an LM alias, folder, hub id or server).

    The object is what the Python API accepts as a target: a function from a list
    of texts to class probabilities, a scorer, or an estimator with
    ``predict_proba``. This is how a classifier that is not a language model, or
    an LM behind custom code, is audited or explained from the command line.
    """
    if spec is None or not spec.startswith(PYTHON_PREFIX):
        return None
    where, sep, name = spec[len(PYTHON_PREFIX) :].rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ValueError(f"--lm {spec}: expected py:FILE.py:NAME or py:MODULE:NAME")
    if where.endswith(".py"):
        path = Path(where).expanduser()
        if not path.is_file():
            raise ValueError(f"--lm {spec}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"--lm {spec}: {path} cannot be imported")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ValueError(f"--lm {spec}: cannot import {where} ({exc})") from exc
    if not hasattr(module, name):
        raise ValueError(f"--lm {spec}: {where} defines no {name}")
    target = getattr(module, name)
    if not (callable(target) or hasattr(target, "predict_proba")):
        raise ValueError(
            f"--lm {spec}: {name} is a {type(target).__name__}, not a function, scorer or estimator"
        )
    return target


def named_labels(ds: Any, task: str) -> tuple[Any, Any]:
    """Training and test labels; class names when the dataset has them."""
    if task == "classification" and ds.target_names:
        import numpy as np

        # Fit on the label names, so saved models predict "spam", not 1.
        names = np.asarray(ds.target_names)
        return names[ds.y_train], names[ds.y_test]
    return ds.y_train, ds.y_test


def read_input_texts(args: argparse.Namespace) -> list[str]:
    """The texts given as arguments, then those of ``--input``."""
    from glasstext.datasets import read_texts

    texts = list(args.texts)
    if args.input:
        texts.extend(read_texts(args.input, args.text_column))
    if not texts:
        raise ValueError("give texts as arguments or a file with --input")
    return texts


def explainer_table() -> dict[str, Any]:
    """Word-attribution explainers by method name (``explain-llm --method``), aliases
    left out of the choices: read from :mod:`glasstext.explain.methods`."""
    from glasstext.explain.methods import EXPLAINERS, explainer_names

    return {name: EXPLAINERS[name] for name in explainer_names()}
