"""``report``: a saved model as a standalone HTML page."""

from __future__ import annotations

import argparse

from glasstext.cli.common import add_out, output_file

__all__ = ["add_report"]


def add_report(parser: argparse.ArgumentParser) -> None:
    """``glasstext report MODEL --out report.html``."""
    parser.add_argument("model", help="folder of a saved model")
    add_out(parser, "the HTML file to write", required=True)
    examples = parser.add_mutually_exclusive_group()
    examples.add_argument("--dataset", help="a built-in dataset: its test texts are the examples")
    examples.add_argument("--examples", help="file of example texts (CSV / TSV / JSONL / parquet)")
    parser.add_argument("--text-column", default="text", help="column of the texts in --examples")
    parser.add_argument(
        "--n-examples", type=int, default=500, help="example texts used (coverage, neighbours)"
    )
    parser.add_argument("--title", default=None, help="page heading (default: the model)")
    parser.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from glasstext.models.base import load_model
    from glasstext.validation import check_int

    n = check_int(args.n_examples, "--n-examples")
    model = load_model(args.model)
    options = {} if args.title is None else {"title": args.title}
    examples = None
    if args.dataset:
        from glasstext import datasets

        ds = datasets.load(args.dataset)
        examples = list(ds.X_test[:n])
        if type(model).__name__ == "ProtoLMClassifier":
            options["X_train"] = list(ds.X_train[:n])
    elif args.examples:
        from glasstext.datasets import read_texts

        examples = list(read_texts(args.examples, args.text_column))[:n]
    path = model.save_html(output_file(args.out), examples, **options)
    print(f"wrote {path}")
    return 0
