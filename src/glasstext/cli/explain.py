"""``explain-llm``, ``summarize``, ``explain-module``, ``explain-dataset``.

Word attributions of a zero-shot language model, and the explanations in
words: each command is one call of the :mod:`glasstext.explain` function of
the same name.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

from glasstext.backends.redaction import redact_spec
from glasstext.cli.common import (
    add_class,
    add_deprecated,
    add_device,
    add_lm,
    add_out,
    add_seed,
    explainer_table,
    output_file,
)

__all__ = ["add_explain_dataset", "add_explain_llm", "add_explain_module", "add_summarize"]


# -- explain-llm: perturbation explanations of a zero-shot LM ----------------------------


def add_explain_llm(parser: argparse.ArgumentParser) -> None:
    """``glasstext explain-llm TEXT``."""
    from glasstext.explain.scorers import SENTIMENT_LABELS, SENTIMENT_TEMPLATE

    parser.description = (
        "Explain which words drive a language model's zero-shot answer, "
        "optionally through a cheaper proxy model; writes an HTML view, prints JSON."
    )
    parser.add_argument(
        "text", nargs="?", default=None, help="the text to explain (or --texts FILE)"
    )
    parser.add_argument(
        "--texts",
        default=None,
        help="CSV / TSV / JSONL / parquet file of texts to explain as one task "
        "(with a proxy: the proxy is screened once for the task, see --tau)",
    )
    parser.add_argument("--text-column", default="text", help="column of the texts in --texts")
    lm = add_lm(
        parser,
        "gemma-3-270m",
        help="target LM: alias, folder, hub id or openai:MODEL@BASE_URL",
    )
    add_deprecated(parser, "--model", lm)
    add_device(
        parser, help="where local LMs run: auto (a GPU when there is one), cpu, cuda, cuda:N or mps"
    )
    parser.add_argument("--template", default=SENTIMENT_TEMPLATE, help="prompt with {text}")
    parser.add_argument(
        "--labels", nargs="+", default=list(SENTIMENT_LABELS), help="label words, class order"
    )
    parser.add_argument("--chat", action="store_true", help="wrap prompts in the chat template")
    parser.add_argument(
        "--method",
        choices=sorted(explainer_table()),
        default="kernelshap",
        help="attribution method",
    )
    parser.add_argument(
        "--n-samples", type=int, default=300, help="perturbed texts per explanation"
    )
    parser.add_argument("--proxy", default=None, help="cheaper LM scored with the same prompt")
    parser.add_argument(
        "--learned-proxy",
        action="store_true",
        help="with --texts: add a proxy learned for the target on the task's texts (an "
        "Aug-Linear regressor fitted to the target's scores of each text and "
        "--learned-perturbations random word deletions of it; those target calls are counted); "
        "with --proxy LM the two proxies make an ensemble",
    )
    parser.add_argument(
        "--learned-perturbations",
        type=int,
        default=2,
        metavar="N",
        help="--learned-proxy: random word deletions of each text scored by the target",
    )
    parser.add_argument(
        "--proxy-samples",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="with --texts: perturbed texts per proxy explanation (proxy calls "
        "cost no target call), one number for every proxy or one per proxy (--proxy first, "
        "then the learned one); default: --n-samples",
    )
    parser.add_argument(
        "--proxy-weights",
        type=float,
        nargs="+",
        default=None,
        metavar="W",
        help="ensemble weights, one per proxy (--proxy first, then the learned one); "
        "default: equal",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.7,
        help="one TEXT: the agreement with the target the proxy needs on its screened "
        "perturbations",
    )
    parser.add_argument(
        "--fallback",
        choices=["target", "calibrate"],
        default="target",
        help="one TEXT: what to do when the proxy disagrees",
    )
    # Task screening is the only mode: "task" is still accepted, with a note.
    parser.add_argument("--screening", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--tau", type=float, default=0.9, help="task screening: share of the target's quality"
    )
    parser.add_argument("--delta", type=float, default=0.01, help="task screening: error level")
    parser.add_argument(
        "--min-screen-texts",
        type=int,
        default=None,
        metavar="N",
        help="task screening: the task's texts screened before the first test "
        "(default: 5, or --max-screen-texts if fewer)",
    )
    max_screen = parser.add_argument(
        "--max-screen-texts",
        type=int,
        default=50,
        metavar="N",
        help="task screening: the most of the task's texts screened",
    )
    add_deprecated(parser, "--max-screen", max_screen)
    parser.add_argument(
        "--prediction-check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --texts: use the proxy only where proxy and target predict the same class "
        "(--no-prediction-check: wherever the screen accepted it)",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="content-free calibration of the zero-shot scores (target and proxy)",
    )
    parser.add_argument(
        "--mask-token", default=None, help="replace words by this (default: delete them)"
    )
    add_class(
        parser, "class index or label to explain (default: the LM's answer)", "--target-class"
    )
    add_seed(parser)
    add_out(parser, "where to write the HTML view", default="explanation.html")
    parser.set_defaults(run=_run_explain_llm)


def _class_of(value: str | None, labels: list[str]) -> int | str | None:
    """``--class`` as an index or one of the label words."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    names = [label.strip() for label in labels]
    if value.strip() not in names:
        raise ValueError(f"--class {value!r} is not one of {names}")
    return value.strip()


def _run_explain_llm(args: argparse.Namespace) -> int:
    from glasstext.explain import LMScorer, ProxyExplainer

    def scorer(model: str) -> LMScorer:
        return LMScorer(
            model,
            args.template,
            args.labels,
            chat=args.chat,
            calibrate=args.calibrate,
            device=args.device,
        )

    if (args.text is None) == (args.texts is None):
        raise ValueError("give either a TEXT or --texts FILE")
    _check_proxy_options(args)
    target_class = _class_of(args.target_class, args.labels)
    if args.texts is not None:
        return _run_explain_many(args, scorer, target_class)
    target = scorer(args.lm)
    options: dict[str, Any] = {"mask_token": args.mask_token, "seed": args.seed}
    start = time.perf_counter()
    if args.proxy:
        explainer: Any = ProxyExplainer(
            target,
            scorer(args.proxy),
            args.method,
            n_samples=args.n_samples,
            threshold=args.threshold,
            fallback=args.fallback,
            **options,
        )
    else:
        if args.method != "occlusion":
            options["n_samples"] = args.n_samples
        explainer = explainer_table()[args.method](target, **options)
    attribution = explainer.explain(args.text, target_class=target_class)
    seconds = time.perf_counter() - start
    path = attribution.save_html(output_file(args.out))
    summary = {
        "model": redact_spec(args.lm),
        "proxy": redact_spec(args.proxy) if args.proxy else None,
        "method": attribution.method,
        "class": attribution.class_name,
        "probability": round(attribution.value, 6),
        "base_value": round(attribution.base_value, 6),
        "top": [[w, round(s, 6)] for w, s in attribution.top(10)],
        "target_calls": attribution.n_calls,
        "proxy_report": attribution.proxy.to_dict() if attribution.proxy else None,
        "seconds": round(seconds, 2),
        "html": str(path),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def _n_proxies(args: argparse.Namespace) -> int:
    return int(args.proxy is not None) + int(args.learned_proxy)


def _check_proxy_options(args: argparse.Namespace) -> None:
    """The proxy flags, checked together before any model is loaded."""
    _check_screening(args.screening)
    n = _n_proxies(args)
    if args.texts is None:
        for flag, given in (
            ("--learned-proxy", args.learned_proxy),
            ("--proxy-samples", args.proxy_samples is not None),
            ("--proxy-weights", args.proxy_weights is not None),
            ("--no-prediction-check", not args.prediction_check),
        ):
            if given:
                raise ValueError(f"{flag} needs --texts FILE (it works on a task of texts)")
    if args.learned_perturbations < 0:
        raise ValueError(f"--learned-perturbations must be >= 0, got {args.learned_perturbations}")
    if n == 0:
        for flag, value in (
            ("--proxy-samples", args.proxy_samples),
            ("--proxy-weights", args.proxy_weights),
        ):
            if value is not None:
                raise ValueError(f"{flag} needs a proxy: --proxy LM and/or --learned-proxy")
    if args.proxy_samples is not None:
        if len(args.proxy_samples) not in {1, n}:
            raise ValueError(
                f"--proxy-samples takes one number or one per proxy ({n}), "
                f"got {len(args.proxy_samples)}"
            )
        if min(args.proxy_samples) < 1:
            raise ValueError(f"--proxy-samples must be >= 1, got {args.proxy_samples}")
    if args.proxy_weights is not None:
        weights = args.proxy_weights
        if len(weights) != n:
            raise ValueError(
                f"--proxy-weights takes one weight per proxy ({n}), got {len(weights)}"
            )
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"--proxy-weights must be >= 0 with a positive sum, got {weights}")


def _check_screening(screening: str | None) -> None:
    """``--screening``: ``task`` (the only mode) with a note; ``explanation`` is removed."""
    if screening is None:
        return
    if screening == "explanation":
        raise ValueError(
            "--screening explanation is removed: screening each explanation came within 0.01 "
            "of the fidelity of sending the same share of the texts to the target; "
            "explain-llm TEXT --proxy LM screens the proxy for one text"
        )
    if screening != "task":
        raise ValueError(f"--screening must be task, got {screening!r}")
    print(
        "glasstext: note: --screening is deprecated and will be removed in the next release; "
        "the proxy is always screened once per task",
        file=sys.stderr,
    )


def _lm_on_device(args: argparse.Namespace) -> Any:
    """``--lm`` as the commands take it: the name, or the model on ``--device``."""
    if args.device == "auto":  # what the name alone means
        return args.lm
    from glasstext.backends.lm import get_lm

    return get_lm(args.lm, device=args.device)


def _run_explain_many(args: argparse.Namespace, scorer: Any, target_class: Any) -> int:
    """``explain-llm --texts FILE``: every text of a task, the proxy screened once."""
    from glasstext import datasets
    from glasstext.explain import ProxyTask, learn_proxy

    texts = datasets.read_texts(args.texts, args.text_column)
    target = scorer(args.lm)
    proxies = [scorer(args.proxy)] if args.proxy else []
    learned = None
    if args.learned_proxy:
        # Learned first: the task's texts it scores are the prediction check's too (cached).
        learned = learn_proxy(
            target,
            texts,
            n_perturbations=args.learned_perturbations,
            mask_token=args.mask_token,
            seed=0 if args.seed is None else args.seed,
        )
        proxies.append(learned)
    samples = args.proxy_samples
    max_screen = args.max_screen_texts
    min_screen = args.min_screen_texts
    if min_screen is None:
        min_screen = min(5, max(max_screen, 2))
    task = ProxyTask(
        target,
        # Without a proxy the target explains every text: the target stands in for it.
        (proxies if len(proxies) > 1 else proxies[0]) if proxies else target,
        args.method,
        n_samples=args.n_samples,
        proxy_samples=samples[0] if samples and len(samples) == 1 else samples,
        proxy_weights=args.proxy_weights,
        tau=args.tau,
        delta=args.delta,
        min_screen_texts=min_screen,
        max_screen_texts=max_screen,
        prediction_check=args.prediction_check,
        mask_token=args.mask_token,
        seed=args.seed,
    )
    if proxies:
        result = task.explain_many(texts, target_class)
    else:
        result = task.explain_with_target(texts, target_class)
    if learned is not None:
        result = _with_learning_cost(result, learned)
    path = output_file(args.out)
    path.write_text(result.to_html(), encoding="utf-8")
    summary = result.to_dict(top=10)
    names = [redact_spec(args.proxy)] if args.proxy else []
    names += ["learned"] if learned is not None else []
    summary.update(
        {
            "model": redact_spec(args.lm),
            "proxy": names[0] if len(names) == 1 else (names or None),
            "html": str(path),
        }
    )
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def _with_learning_cost(result: Any, learned: Any) -> Any:
    """``result`` with the learned proxy's target calls counted in the task's cost."""
    costs = dataclasses.replace(result.costs, target_calls_learned_proxy=learned.target_calls)
    extras = {**result.extras, "learned_proxy": {"n_train": learned.n_train}}
    return dataclasses.replace(result, costs=costs, extras=extras)


# -- summarize: an LM-written summary of a saved model ------------------------------------


def add_summarize(parser: argparse.ArgumentParser) -> None:
    """``glasstext summarize MODEL``."""
    parser.description = (
        "Summarize a saved Aug-Linear or Aug-Tree model: for each class, a language model "
        "names the common theme of the top n-grams (or phrase sets) that push toward it, "
        "listed under the summary."
    )
    parser.add_argument("model", help="folder of a saved Aug-Linear or Aug-Tree model")
    add_lm(parser)
    add_device(parser)
    top = parser.add_argument(
        "--top", dest="k", type=int, default=15, help="n-grams or phrase sets per class"
    )
    add_deprecated(parser, "--k", top)
    parser.add_argument(
        "--context", default=None, help='where the texts come from, e.g. "movie reviews"'
    )
    parser.add_argument("--max-new-tokens", type=int, default=32, help="longest answer, in tokens")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run_summarize)


def _run_summarize(args: argparse.Namespace) -> int:
    from glasstext.explain.summaries import summarize_model
    from glasstext.models.base import load_model

    summary = summarize_model(
        load_model(args.model),
        _lm_on_device(args),
        k=args.k,
        context=args.context,
        max_new_tokens=args.max_new_tokens,
    )
    print(summary.to_json(indent=2) if args.json else summary)
    return 0


# -- explain-module: SASC ------------------------------------------------------------------


def add_explain_module(parser: argparse.ArgumentParser) -> None:
    """``glasstext explain-module MODEL``."""
    parser.description = (
        "Score every n-gram of a corpus with a saved model's output, ask a language model "
        "for the common theme of the top ones, and rank the themes by how much more the "
        "output responds to texts about them than to texts that are not."
    )
    parser.add_argument(
        "model",
        nargs="+",
        help="folder of a saved model; several are explained one after another, or "
        "side by side over Ray workers with --executor ray",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a built-in dataset whose training texts are the corpus")
    source.add_argument("--corpus", help="CSV / TSV / JSONL / parquet file of texts")
    parser.add_argument("--text-column", default="text", help="column of the texts in --corpus")
    parser.add_argument("--n-texts", type=int, default=2000, help="use the first N texts")
    add_class(
        parser,
        "the class whose probability is explained: index or label (default: the single "
        "output, or the second class of a binary model)",
        "--output",
    )
    add_lm(parser)
    add_device(parser)
    parser.add_argument("--n-summaries", type=int, default=5, help="themes the LM proposes")
    parser.add_argument("--n-synthetic", type=int, default=8, help="texts written per explanation")
    parser.add_argument(
        "--max-ngrams", type=int, default=10_000, help="n-grams of the corpus scored"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where the models are explained: in this process, or spread over Ray "
        "workers, each loading --lm once (pip install 'glasstext[ray]'; ray.init() "
        "settings from RAY_ADDRESS)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="Ray workers (default: one per CPU)"
    )
    add_seed(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run_explain_module)


def _run_explain_module(args: argparse.Namespace) -> int:
    from glasstext import datasets
    from glasstext.explain.sasc import explain_module
    from glasstext.models.base import load_model

    if args.dataset:
        corpus = datasets.load(args.dataset).X_train
    else:
        corpus = datasets.read_texts(args.corpus, args.text_column)
    corpus = corpus[: args.n_texts]
    settings = dict(
        n_summaries=args.n_summaries,
        n_synthetic=args.n_synthetic,
        max_ngrams=args.max_ngrams,
        random_state=args.seed,
    )
    if len(args.model) == 1 and args.executor == "local":
        result = explain_module(
            load_model(args.model[0]),
            corpus,
            _lm_on_device(args),
            output=args.target_class,
            progress=None,
            **settings,
        )
        print(json.dumps(result.to_dict(), indent=2) if args.json else result)
        return 0
    results = _explain_modules(args, corpus, settings)
    if args.json:
        rows = [{"model": m, **r.to_dict()} for m, r in zip(args.model, results, strict=True)]
        print(json.dumps(rows, indent=2))
    else:
        print("\n\n".join(f"== {m} ==\n{r}" for m, r in zip(args.model, results, strict=True)))
    return 0


def _explain_modules(args: argparse.Namespace, corpus: Any, settings: dict[str, Any]) -> list:
    """Several saved models (or one over Ray): :func:`explain_modules`."""
    from glasstext.backends.distributed import RayExecutor
    from glasstext.explain.distributed import explain_modules
    from glasstext.models.base import load_model

    executor: Any = None
    if args.executor == "ray":
        executor = RayExecutor(n_workers=args.workers)
    modules = [load_model(m) for m in args.model]
    try:
        return explain_modules(
            modules,
            corpus,
            args.lm,  # a name: each Ray worker loads the LM itself, on --device
            outputs=[args.target_class] * len(modules),
            executor=executor,
            device=args.device,
            **settings,
        )
    finally:
        if executor is not None:
            executor.shutdown()


# -- explain-dataset: prompt search ------------------------------------------------------


def add_explain_dataset(parser: argparse.ArgumentParser) -> None:
    """``glasstext explain-dataset FILE``."""
    parser.description = (
        "Search for the natural-language instruction that, put before each input, makes "
        "a language model give the right output (iPrompt-style)."
    )
    parser.add_argument("data", help="CSV / TSV / JSONL / parquet file of input/output pairs")
    parser.add_argument("--input-column", default="input", help="column of the inputs")
    parser.add_argument("--output-column", default="output", help="column of the outputs")
    add_lm(parser)
    add_device(parser)
    parser.add_argument("--n-candidates", type=int, default=8, help="new candidates per round")
    parser.add_argument("--max-iterations", type=int, default=4, help="rounds of the search")
    add_seed(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run_explain_dataset)


def _run_explain_dataset(args: argparse.Namespace) -> int:
    from glasstext import datasets
    from glasstext.explain.iprompt import explain_dataset

    inputs, outputs = datasets.read_labelled(args.data, args.input_column, args.output_column)
    result = explain_dataset(
        inputs,
        outputs,
        _lm_on_device(args),
        n_candidates=args.n_candidates,
        max_iterations=args.max_iterations,
        random_state=args.seed,
        progress=None,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0
