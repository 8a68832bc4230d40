"""``compress-prompt`` and ``prune-demos``: explanations of an LM put to work.

Each command is one call of :mod:`glasstext.explain.actions`
(:func:`~glasstext.explain.actions.compress_prompts`,
:func:`~glasstext.explain.actions.prune_demonstrations`) with zero-shot
:class:`~glasstext.explain.LMScorer` targets and proxies.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from glasstext.cli.common import (
    add_lm,
    add_out,
    add_seed,
    add_text_input,
    explainer_table,
    output_file,
    read_input_texts,
)

__all__ = ["add_compress_prompt", "add_prune_demos"]

_DEMO_QUERY_TEMPLATE = 'Review: "{text}"\nSentiment:'


def _add_ranking(
    parser: argparse.ArgumentParser, default_method: str, default_samples: int
) -> None:
    """The flags choosing how units are ranked: method, sample budget, proxy."""
    parser.add_argument(
        "--method",
        choices=sorted(explainer_table()),
        default=default_method,
        help="attribution method that ranks the units",
    )
    parser.add_argument(
        "--n-samples", type=int, default=default_samples, help="LIME / KernelSHAP sample budget"
    )
    parser.add_argument(
        "--proxy",
        default=None,
        help="cheaper LM that ranks instead of the target (default: the target ranks)",
    )


def _write(result: Any, args: argparse.Namespace, seconds: float) -> None:
    data = result.to_dict()
    data["seconds"] = round(seconds, 2)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        output_file(args.out).write_text(text + "\n", encoding="utf-8")
    print(text if args.json else result)


# -- compress-prompt ---------------------------------------------------------------------


def add_compress_prompt(parser: argparse.ArgumentParser) -> None:
    """``glasstext compress-prompt TEXT ...``."""
    from glasstext.explain.scorers import SENTIMENT_LABELS, SENTIMENT_TEMPLATE

    parser.description = (
        "Compress prompts: drop the words (or sentences) with the lowest attribution toward "
        "the target LM's answer while the answer stays the same, re-checking with the target "
        "after each drop (or, with --no-verify, dropping --rate of them at once)."
    )
    add_text_input(parser)
    add_lm(parser, "gemma-3-270m", help="target LM: alias, folder, hub id or openai:MODEL@BASE_URL")
    parser.add_argument("--template", default=SENTIMENT_TEMPLATE, help="prompt with {text}")
    parser.add_argument(
        "--labels", nargs="+", default=list(SENTIMENT_LABELS), help="label words, class order"
    )
    parser.add_argument(
        "--unit", choices=["word", "sentence"], default="word", help="what is dropped"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="fraction of the units to drop: the most with re-checks, exactly this with "
        "--no-verify (default: as many as keep the answer)",
    )
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="re-check the answer after each drop; --no-verify drops --rate of the units "
        "at once and checks once",
    )
    _add_ranking(parser, "occlusion", 64)
    add_seed(parser)
    add_out(parser, "also write the JSON report here")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run_compress_prompt)


def _ranker(args: argparse.Namespace, scorer: Any) -> Any:
    options: dict[str, Any] = {"seed": args.seed}
    if args.method != "occlusion":
        options["n_samples"] = args.n_samples
    return explainer_table()[args.method](scorer, **options)


def _run_compress_prompt(args: argparse.Namespace) -> int:
    from glasstext.explain import LMScorer
    from glasstext.explain.actions import compress_prompts

    texts = read_input_texts(args)
    target = LMScorer(args.lm, args.template, args.labels)
    ranking = target if args.proxy is None else LMScorer(args.proxy, args.template, args.labels)
    start = time.perf_counter()
    report = compress_prompts(
        texts,
        target,
        explainer=_ranker(args, ranking),
        unit=args.unit,
        rate=args.rate,
        verify=args.verify,
        seed=args.seed,
    )
    _write(report, args, time.perf_counter() - start)
    return 0


# -- prune-demos ------------------------------------------------------------------------------


def add_prune_demos(parser: argparse.ArgumentParser) -> None:
    """``glasstext prune-demos --demos FILE --queries FILE``."""
    from glasstext.explain.scorers import SENTIMENT_LABELS

    parser.description = (
        "Find the few-shot demonstrations that push the target LM toward wrong answers "
        "(attribution over demonstrations, on labelled queries), remove the worst, and "
        "compare accuracy before, after, and after removing as many at random."
    )
    parser.add_argument(
        "--demos",
        required=True,
        help="file of demonstrations (CSV / TSV / JSONL / parquet), each a full example "
        "with its answer, in prompt order",
    )
    parser.add_argument("--demo-column", default="text", help="column of the demonstrations")
    parser.add_argument(
        "--queries", required=True, help="file of labelled queries that rank the demonstrations"
    )
    parser.add_argument(
        "--eval", default=None, help="file of held-out labelled queries (default: --queries)"
    )
    parser.add_argument("--text-column", default="text", help="column of the query texts")
    parser.add_argument(
        "--label-column", default="label", help="column of the labels: class index or label word"
    )
    parser.add_argument(
        "--query-template",
        default=_DEMO_QUERY_TEMPLATE,
        help="how a query text is written after the demonstrations, with {text}",
    )
    add_lm(parser, "gemma-3-270m", help="target LM: alias, folder, hub id or openai:MODEL@BASE_URL")
    parser.add_argument(
        "--labels", nargs="+", default=list(SENTIMENT_LABELS), help="label words, class order"
    )
    parser.add_argument("--n-remove", type=int, default=1, help="demonstrations to remove")
    parser.add_argument("--n-random", type=int, default=5, help="seeds of the random baseline")
    _add_ranking(parser, "occlusion", 64)
    add_seed(parser)
    add_out(parser, "also write the JSON report here")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run_prune_demos)


def _labelled(path: str, args: argparse.Namespace) -> tuple[list[str], list[Any]]:
    from glasstext import datasets

    texts, labels = datasets.read_labelled(path, args.text_column, args.label_column)
    queries = [args.query_template.replace("{text}", t) for t in texts]
    return queries, [_label(v) for v in labels]


def _label(value: Any) -> Any:
    """A label as a class index (digits) or a class name (label word without its space)."""
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _run_prune_demos(args: argparse.Namespace) -> int:
    from glasstext import datasets
    from glasstext.explain import LMScorer
    from glasstext.explain.actions import prune_demonstrations

    demos = datasets.read_texts(args.demos, args.demo_column)
    queries, labels = _labelled(args.queries, args)
    eval_queries, eval_labels = _labelled(args.eval, args) if args.eval else (None, None)
    target = LMScorer(args.lm, "{text}", args.labels)
    proxy = LMScorer(args.proxy, "{text}", args.labels) if args.proxy else None
    start = time.perf_counter()
    result = prune_demonstrations(
        demos,
        queries,
        labels,
        target,
        n_remove=args.n_remove,
        method=args.method,
        proxy=proxy,
        n_samples=args.n_samples,
        eval_queries=eval_queries,
        eval_labels=eval_labels,
        n_random=args.n_random,
        seed=args.seed,
    )
    _write(result, args, time.perf_counter() - start)
    return 0
