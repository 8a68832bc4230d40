"""``fit``, ``show``, ``predict`` and ``explain``: the interpretable models.

``glasstext fit NAME`` is generated from the model registry: every registered
class with a ``cli_name`` offers the parameters listed in its ``cli_options``
as flags, with the default of its ``__init__`` and the type and choices read
from its ``_parameter_constraints``. A classifier and a regressor sharing a
``cli_name`` are one command; ``--task`` (or the labels) picks one. The
encoder settings a model lists in ``cli_encoder_options`` (``--precision``,
``--device``, ``--batch-size``, ``--threads``, ``--executor``) go into its
``encoder=`` as a :class:`glasstext.Encoder` of the ``--encoder`` name.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from glasstext.cli.common import (
    DEVICE_FLAG_HELP,
    add_data_arguments,
    add_deprecated,
    add_device,
    add_out,
    add_task,
    add_text_input,
    load_data,
    metric_name,
    named_labels,
    output_file,
    read_input_texts,
    task_of,
)
from glasstext.cli.terminal import terminal_safe

if TYPE_CHECKING:  # importing the models pulls in scikit-learn: only for `fit`
    from glasstext.models.base import GlassModel

__all__ = [
    "add_explain",
    "add_fit",
    "add_predict",
    "add_show",
    "fit_commands",
    "flag_name",
    "option_kwargs",
]

#: parameters whose flag is not their name (one spelling per concept in every command)
FLAG_NAMES = {"random_state": "--seed", "seed": "--seed", "n_threads": "--threads"}
#: model parameters that seed randomness: always offered as --seed
SEED_PARAMETERS = {"random_state", "seed"}
SEED_HELP = "seed of every random choice, for reproducible results"
#: model parameters offered as flags whenever a model takes them (common vocabulary)
COMMON_PARAMETERS = {
    "device": DEVICE_FLAG_HELP,
    "executor": "where the n-gram embeddings are computed: in this process, or spread over "
    "Ray workers (pip install 'glasstext[ray]'; ray.init() settings from RAY_ADDRESS)",
}
#: old spellings of those flags, still accepted for one release
OLD_FLAG_NAMES = {"random_state": "--random-state"}
#: the prefix of an option that is a setting of the model's encoder (as in set_params)
ENCODER_PREFIX = "encoder__"
#: encoder settings a model may offer as flags (its ``cli_encoder_options``), with their help
ENCODER_OPTIONS = {
    "precision": "encoder precision: auto is bf16 on CPUs with native bf16 instructions "
    "(else fp32) and bf16 or fp16 on a GPU; int8 is the fastest on a CPU, a little less exact",
    "device": DEVICE_FLAG_HELP,
    "batch_size": "texts per forward pass of the encoder",
    "n_threads": "torch threads (default: torch's own, every core)",
    "executor": COMMON_PARAMETERS["executor"],
}


# -- fit -------------------------------------------------------------------------------


def fit_commands() -> dict[str, dict[str, type[GlassModel]]]:
    """Registered model classes by ``cli_name``, then by task (their ``_task``)."""
    from glasstext.models.base import model_types

    commands: dict[str, dict[str, type[GlassModel]]] = {}
    for cls in model_types().values():
        if cls.cli_name:
            tasks = commands.setdefault(cls.cli_name, {})
            if cls._task in tasks:
                raise TypeError(
                    f"{tasks[cls._task].__name__} and {cls.__name__} both declare "
                    f"cli_name {cls.cli_name!r} with _task {cls._task!r}"
                )
            tasks[cls._task] = cls
    return commands


def flag_name(param: str) -> str:
    """A parameter's flag: ``random_state`` -> ``--seed``, ``max_depth`` -> ``--max-depth``;
    an encoder setting's is its own name's (``encoder__n_threads`` -> ``--threads``)."""
    param = param.removeprefix(ENCODER_PREFIX)
    return FLAG_NAMES.get(param, "--" + param.replace("_", "-"))


def add_fit(parser: argparse.ArgumentParser) -> None:
    """``glasstext fit NAME``, one sub-command per ``cli_name`` in the registry."""
    methods = parser.add_subparsers(metavar="METHOD", dest="method")
    for name, classes in fit_commands().items():
        first = next(iter(classes.values()))
        p = methods.add_parser(
            name,
            help=first.cli_help,
            description=first.cli_help,
            formatter_class=parser.formatter_class,
        )
        add_data_arguments(p)
        add_task(p, sorted(classes))
        options = _options(classes)
        for param, (cls, help_text) in options.items():
            bare = param.removeprefix(ENCODER_PREFIX)
            if bare == "device":  # the common --device flag, as in every command
                add_device(p, dest=param)
                continue
            if bare == "executor":
                p.add_argument(
                    "--executor",
                    dest=param,
                    choices=("local", "ray"),
                    default="local",
                    help=help_text,
                )
                continue
            default, constraints = _default_and_constraints(cls, param)
            kwargs = option_kwargs(param, default, constraints)
            if "choices" not in kwargs and kwargs.get("action") is None:
                kwargs.setdefault("metavar", flag_name(param)[2:].upper().replace("-", "_"))
            action = p.add_argument(flag_name(param), help=help_text, **kwargs)
            if param in OLD_FLAG_NAMES:
                add_deprecated(p, OLD_FLAG_NAMES[param], action)
        add_out(p, "folder to save the fitted model to (new or empty)", required=True)
        p.add_argument(
            "--overwrite",
            action="store_true",
            help="replace a model saved at --out before (a folder holding anything else "
            "is never replaced)",
        )
        p.set_defaults(run=_run_fit, fit_name=name, fit_classes=classes, fit_options=list(options))


def _default_and_constraints(cls: type[GlassModel], param: str) -> tuple[Any, list[Any]]:
    """A parameter's default and declared constraints (an encoder setting's: the
    :class:`~glasstext.backends.encoder.Encoder`'s)."""
    if param.startswith(ENCODER_PREFIX):
        from glasstext.backends.encoder import Encoder

        bare = param.removeprefix(ENCODER_PREFIX)
        default = inspect.signature(Encoder.__init__).parameters[bare].default
        return default, Encoder._parameter_constraints.get(bare, [])
    default = inspect.signature(cls.__init__).parameters[param].default
    return default, cls._parameter_constraints.get(param, [])


def _options(classes: dict[str, type[GlassModel]]) -> dict[str, tuple[type[GlassModel], str]]:
    """Each offered parameter with a class that takes it and its help text (first one wins).

    A seed parameter is always offered (as ``--seed``), declared or not: every
    command that uses randomness takes ``--seed``; so is ``--device`` for a
    model that takes ``device``. Encoder settings are keyed ``encoder__NAME``.
    """
    options: dict[str, tuple[type[GlassModel], str]] = {}
    for cls in classes.values():
        for param, help_text in cls.cli_options.items():
            options.setdefault(param, (cls, help_text.replace("%", "%%")))
        for name in cls.cli_encoder_options:
            options.setdefault(ENCODER_PREFIX + name, (cls, ENCODER_OPTIONS[name]))
    for cls in classes.values():
        accepted = set(inspect.signature(cls.__init__).parameters)
        for param in SEED_PARAMETERS & accepted:
            options.setdefault(param, (cls, SEED_HELP))
        for param in COMMON_PARAMETERS.keys() & accepted:
            options.setdefault(param, (cls, COMMON_PARAMETERS[param]))
    return options


def option_kwargs(param: str, default: Any, constraints: list[Any]) -> dict[str, Any]:
    """``add_argument`` keywords for a parameter, from its default and constraints.

    ``Options`` only -> ``choices``; ``"boolean"`` -> ``store_true`` (default
    False) or ``--x/--no-x``; a tuple default -> that many values; otherwise
    a converter accepting what the constraints accept (ints, numbers, option
    words, text, and ``none`` where None is allowed).
    """
    from glasstext.validation import Interval, Options

    kwargs: dict[str, Any] = {"dest": param, "default": default}
    if "boolean" in constraints or isinstance(default, bool):
        kwargs["action"] = "store_true" if default is False else argparse.BooleanOptionalAction
        return kwargs
    if isinstance(default, tuple):
        kinds = {type(v) for v in default}
        kwargs["nargs"] = len(default)
        kwargs["type"] = kinds.pop() if len(kinds) == 1 else str
        kwargs["metavar"] = param.split("_")[-1].upper()
        return kwargs
    words = tuple(v for c in constraints if isinstance(c, Options) for v in c.values)
    numbers = {c.kind for c in constraints if isinstance(c, Interval)}
    numbers |= {c for c in constraints if c in (int, float)}
    text = any(c is str or c == "path" for c in constraints)
    if not constraints and default is not None:
        numbers |= {type(default)} & {int, float}
        text = not numbers
    if words and not numbers and not text:
        kwargs["choices"] = list(words)
        kwargs["type"] = _choice_type(words)
        return kwargs
    kwargs["type"] = _converter(words, numbers, text or not (words or numbers), None in constraints)
    return kwargs


def _choice_type(words: tuple[Any, ...]) -> Callable[[str], Any]:
    kinds = {type(w) for w in words}
    return kinds.pop() if len(kinds) == 1 and kinds <= {str, int, float} else str


def _converter(
    words: tuple[Any, ...], numbers: set[type], text: bool, none: bool
) -> Callable[[str], Any]:
    """A flag's ``type``: the first reading of the text the parameter accepts."""
    accepted = [repr(w) for w in words]
    accepted += ["an int"] * (int in numbers) + ["a number"] * (float in numbers)
    accepted += ["none"] * none

    def convert(value: str) -> Any:
        if value in words:
            return value
        if none and value.lower() == "none":
            return None
        for kind in (int, float):
            if kind in numbers:
                try:
                    return kind(value)
                except ValueError:
                    pass
        if text:
            return value
        raise argparse.ArgumentTypeError(f"expected {' or '.join(accepted)}, got {value!r}")

    convert.__name__ = "value"
    return convert


def _run_fit(args: argparse.Namespace) -> int:
    from glasstext.models.base import check_save_target

    classes: dict[str, type[GlassModel]] = args.fit_classes
    check_save_target(args.out, overwrite=args.overwrite)  # before the data and the fit
    ds = load_data(args)
    task = task_of(ds, args.task)
    if task not in classes:
        raise ValueError(
            f"fit {args.fit_name} is for {' and '.join(sorted(classes))} only, "
            f"and these labels call for {task}"
        )
    cls = classes[task]
    accepted = inspect.signature(cls.__init__).parameters
    params: dict[str, Any] = {}
    encoder_settings: dict[str, Any] = {}
    for param in args.fit_options:
        if param.startswith(ENCODER_PREFIX):
            encoder_settings[param.removeprefix(ENCODER_PREFIX)] = getattr(args, param)
        elif param in accepted:
            value = getattr(args, param)
            params[param] = tuple(value) if isinstance(value, list) else value
    if "encoder" in accepted:
        name = params.get("encoder", accepted["encoder"].default)
        params["encoder"] = _configured_encoder(name, encoder_settings)
    model: Any = cls(**params)
    y_train, y_test = named_labels(ds, task)
    start = time.perf_counter()
    model.fit(ds.X_train, y_train)
    seconds = time.perf_counter() - start
    X_test = ds.X_test if len(ds.X_test) else None
    lines = [f"fit {cls.__name__} on {len(ds.X_train)} texts in {seconds:.1f} s"]
    lines += model.fit_notes(X_test)
    if X_test is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the notes above already reported unseen n-grams
            score = model.score(X_test, y_test)
        lines.append(f"test {metric_name(task)}: {score:.4f} ({len(X_test)} texts)")
    # Saved before anything is printed: a closed pipe (`| head -1`) must not lose the model.
    path = model.save(args.out, overwrite=args.overwrite)
    lines.append(f"saved to {path}")
    print("\n".join(lines))
    return 0


def _configured_encoder(name: Any, settings: dict[str, Any]) -> Any:
    """An Encoder of ``name`` with the encoder flags that differ from their defaults, or
    ``name`` itself when none does."""
    from glasstext.backends.encoder import Encoder

    defaults = Encoder().get_params()
    changed = {
        key: value
        for key, value in settings.items()
        if value != defaults[key] and not (key == "executor" and value == "local")
    }
    return Encoder(name, **changed) if changed else name


# -- show / predict / explain -----------------------------------------------------------


def add_show(parser: argparse.ArgumentParser) -> None:
    """``glasstext show MODEL``."""
    parser.add_argument("model", help="folder of a saved model")
    # --top (n-grams per class) predates export_text; accepted, ignored, for one release
    parser.add_argument("--top", type=int, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.set_defaults(run=_run_show)


def _run_show(args: argparse.Namespace) -> int:
    from glasstext.models.base import load_model

    if "top" in args:
        print(
            "glasstext: note: show --top is deprecated and ignored (show prints the "
            "whole model); it will be removed in the next release",
            file=sys.stderr,
        )
    print(load_model(args.model).export_text())
    return 0


def add_predict(parser: argparse.ArgumentParser) -> None:
    """``glasstext predict MODEL TEXT...``."""
    parser.add_argument("model", help="folder of a saved model")
    add_text_input(parser)
    parser.add_argument("--proba", action="store_true", help="print class probabilities")
    out = add_out(parser, "write JSON lines here instead of standard output")
    add_deprecated(parser, "--output", out)
    parser.set_defaults(run=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    from glasstext.io import jsonable
    from glasstext.models.base import load_model

    model = load_model(args.model)
    texts = read_input_texts(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predictions = model.predict(texts)
        proba = model.predict_proba(texts) if args.proba else None
    out = output_file(args.out).open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        for i, text in enumerate(texts):
            row: dict[str, Any] = {"text": text, "prediction": jsonable(predictions[i])}
            if proba is not None:
                row["proba"] = {
                    str(c): round(float(p), 6)
                    for c, p in zip(model.classes_, proba[i], strict=True)
                }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    for w in caught[:1]:
        print(terminal_safe(f"note: {w.message}"), file=sys.stderr)
    return 0


def add_explain(parser: argparse.ArgumentParser) -> None:
    """``glasstext explain MODEL TEXT...``."""
    parser.add_argument("model", help="folder of a saved model")
    add_text_input(parser)
    parser.add_argument("--top", type=int, default=12, help="contributions to show with --json")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run_explain)


def _run_explain(args: argparse.Namespace) -> int:
    from glasstext.models.base import load_model

    model = load_model(args.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanations = [model.explain(t) for t in read_input_texts(args)]
    for e in explanations:
        if args.json:
            print(json.dumps(e.to_dict(args.top), ensure_ascii=False))
        else:
            print(e)
            print()
    return 0
