"""``audit``: a language model used as a classifier, audited (:func:`audit_lm`).

Every input is checked before the first LM call (a bad file, column, label,
probe or prompt is one line and exit status 2). The report, its JSON and the
score cache go to ``--out``; a rerun of the same command resumes from the
cache. When ``--budget`` runs out, what was spent is saved and the exit
status is 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from glasstext.backends.redaction import redact_spec
from glasstext.cli.common import add_lm, add_out, add_seed, python_target

__all__ = ["EXIT_BUDGET", "add_audit"]

#: Exit status of an audit stopped by its budget (the partial report is written).
EXIT_BUDGET = 3


def add_audit(parser: argparse.ArgumentParser) -> None:
    """``glasstext audit --lm LM --texts FILE --out DIR``."""
    from glasstext.explain.scorers import SENTIMENT_LABELS, SENTIMENT_TEMPLATE

    parser.description = (
        "Audit a language model used as a classifier: score the texts, distil an "
        "interpretable surrogate (checked on held-out texts), list what drives the LM, "
        "probe it with counterfactual word swaps, explain its disagreements with the "
        "labels; writes an HTML report, prints JSON."
    )
    add_lm(
        parser,
        "gemma-3-270m",
        help="the LM: alias, folder, hub id or openai:MODEL@BASE_URL; or py:FILE.py:NAME "
        "(or py:MODULE:NAME), a Python function from a list of texts to class "
        "probabilities in --labels order, a scorer or an estimator",
    )
    parser.add_argument("--texts", required=True, help="CSV / TSV / JSONL / parquet file")
    parser.add_argument("--text-column", default="text", help="column of the texts")
    parser.add_argument(
        "--label-column",
        default=None,
        help="column of gold labels (class names or indices): adds what the LM over- and "
        "under-weights, and its disagreements",
    )
    parser.add_argument("--prompt", default=SENTIMENT_TEMPLATE, help="prompt with {text}")
    parser.add_argument(
        "--labels", nargs="+", default=list(SENTIMENT_LABELS), help="label words, class order"
    )
    parser.add_argument("--chat", action="store_true", help="wrap prompts in the chat template")
    parser.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="no content-free calibration of the LM's label probabilities",
    )
    parser.add_argument(
        "--content-free",
        nargs="+",
        default=None,
        metavar="TEXT",
        help='the calibration\'s content-free inputs (" " calibrates on an empty text); '
        "default: N/A, the empty text and [MASK]",
    )
    parser.add_argument("--budget", type=int, default=None, help="most LM calls this run may spend")
    parser.add_argument(
        "--probe",
        action="append",
        default=None,
        metavar="A:B",
        help='a counterfactual swap, repeatable ("he:she"; "word:" deletes the word); '
        "default: a built-in list of demographic pairs",
    )
    parser.add_argument("--no-probes", action="store_true", help="run no probe")
    parser.add_argument(
        "--proxy", default=None, help="an LM that scores the corpus instead (same prompt)"
    )
    parser.add_argument(
        "--target-fraction",
        type=float,
        default=0.2,
        help="with --proxy: share of the texts the LM itself scores",
    )
    parser.add_argument(
        "--encoder", default=None, help="the surrogate's encoder (default: the models' default)"
    )
    parser.add_argument(
        "--holdout", type=float, default=0.25, help="share of texts kept to measure fidelity"
    )
    parser.add_argument(
        "--min-agreement", type=float, default=0.85, help="fidelity the surrogate needs"
    )
    parser.add_argument(
        "--min-above-majority",
        type=float,
        default=0.05,
        help="agreement the surrogate needs above always answering the LM's most frequent class",
    )
    parser.add_argument(
        "--perturbations",
        type=int,
        default=0,
        metavar="N",
        help="random word deletions of each training text scored by the LM for the surrogate",
    )
    parser.add_argument("--n-shap", type=int, default=5, help="disagreements explained by SHAP")
    parser.add_argument("--shap-samples", type=int, default=64, help="KernelSHAP samples each")
    add_seed(parser)
    add_out(parser, "folder of the report, its JSON and the score cache", default="audit")
    parser.set_defaults(run=_run_audit)


def _check(args: argparse.Namespace) -> tuple[list[str], list[Any] | None, list[Any] | None]:
    """Every input, before any model is loaded: texts, gold labels, probes."""
    from glasstext import datasets
    from glasstext.explain.audit import _labels_as_indices, parse_probe

    if "{text}" not in args.prompt:
        raise ValueError(f"--prompt must contain {{text}}, got {args.prompt!r}")
    labels = [lab for lab in args.labels]
    if len(labels) < 2 or any(not lab.strip() for lab in labels):
        raise ValueError(f"--labels needs at least two non-blank label words, got {labels}")
    if len({lab.strip().lower() for lab in labels}) != len(labels):
        raise ValueError(f"--labels must be distinct, got {labels}")
    if args.budget is not None and args.budget < 1:
        raise ValueError(f"--budget must be >= 1, got {args.budget}")
    if not 0.0 < args.target_fraction <= 1.0:
        raise ValueError(f"--target-fraction must be in (0, 1], got {args.target_fraction}")
    if not 0.05 <= args.holdout <= 0.9:
        raise ValueError(f"--holdout must be in [0.05, 0.9], got {args.holdout}")
    if args.perturbations < 0:
        raise ValueError(f"--perturbations must be >= 0, got {args.perturbations}")
    if args.no_probes and args.probe:
        raise ValueError("--probe and --no-probes contradict each other")
    probes: list[Any] | None = [] if args.no_probes else None
    if args.probe:
        probes = [parse_probe(p) for p in args.probe]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out} is a file; give a folder")
    if args.label_column is None:
        texts = datasets.read_texts(args.texts, args.text_column)
        return texts, None, probes
    texts, gold = datasets.read_labelled(args.texts, args.text_column, args.label_column)
    classes = tuple(lab.strip() for lab in labels)
    _labels_as_indices(gold, classes, len(texts))  # raises on a label that is no class
    return texts, list(gold), probes


def _run_audit(args: argparse.Namespace) -> int:
    from glasstext.explain.audit import audit_lm
    from glasstext.explain.scorers import SENTIMENT_TEMPLATE

    texts, gold, probes = _check(args)
    target = python_target(args.lm)
    if target is not None and args.prompt != SENTIMENT_TEMPLATE:
        raise ValueError(f"--prompt applies to a language model, not to --lm {args.lm}")
    result = audit_lm(
        args.lm if target is None else target,
        texts,
        labels=args.labels,
        prompt=args.prompt if target is None else None,
        budget=args.budget,
        y_true=gold,
        probes=probes,
        proxy=args.proxy,
        encoder=args.encoder,
        calibrate=args.calibrate,
        content_free=args.content_free,
        chat=args.chat,
        holdout=args.holdout,
        min_agreement=args.min_agreement,
        min_above_majority=args.min_above_majority,
        n_shap=args.n_shap,
        shap_samples=args.shap_samples,
        target_fraction=args.target_fraction,
        n_perturbations=args.perturbations,
        out=args.out,
        seed=0 if args.seed is None else args.seed,
    )
    out = Path(args.out)
    summary: dict[str, Any] = {
        "model": redact_spec(args.lm),
        "complete": result.complete,
        "stopped": result.stopped,
        "target_calls": result.target_calls,
        "calls_from_cache": result.calls_from_cache,
        "budget": result.budget,
        "fidelity": result.to_dict()["fidelity"],
        "drivers": [[g, round(v, 4)] for g, v in result.drivers(10)] if result.table else [],
        "probes": [p.to_dict() for p in result.probes],
        "html": str(out / "audit.html"),
        "json": str(out / "audit.json"),
    }
    if result.proxy:
        summary["proxy"] = {"name": redact_spec(args.proxy), **result.proxy}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if not result.complete:
        print(
            f"glasstext: note: the budget ran out during {result.stopped} after "
            f"{result.target_calls} LM calls; the scores are cached in {out}: rerun with a "
            "larger --budget to resume",
            file=sys.stderr,
        )
        return EXIT_BUDGET
    return 0
