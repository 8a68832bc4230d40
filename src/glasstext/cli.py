"""The ``glasstext`` command: a thin layer over the public Python API.

Every command calls the same functions a Python user would; nothing here
computes anything the library does not expose.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from glasstext.io import ModelFileError, jsonable

_USER_ERRORS = (ValueError, TypeError, FileNotFoundError, ImportError, ModelFileError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except _USER_ERRORS as exc:
        print(f"glasstext: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if not _is_language_model_failure(exc):
            raise
        print(f"glasstext: error: the language model failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _is_language_model_failure(exc: RuntimeError) -> bool:
    """A server error, or an LM that gave nothing usable (their modules are loaded if raised)."""
    compat = sys.modules.get("glasstext.backends.openai_compat")
    nl = sys.modules.get("glasstext.explain.nl")
    return bool(
        (compat is not None and isinstance(exc, compat.LMServerError))
        or (nl is not None and isinstance(exc, nl.ExplanationError))
    )


# -- parser ---------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glasstext",
        description="Readable text models fit with language models.",
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    fit = sub.add_parser("fit", help="fit an interpretable model")
    fit_sub = fit.add_subparsers(metavar="METHOD")
    aug = fit_sub.add_parser("auglinear", help="Aug-Linear: a table of n-gram values")
    _add_data_arguments(aug)
    aug.add_argument("--task", choices=["classification", "regression"], default=None)
    aug.add_argument("--encoder", default="all-MiniLM-L6-v2", help="alias, hub id or folder")
    aug.add_argument("--ngram-range", nargs=2, type=int, default=[1, 2], metavar=("MIN", "MAX"))
    aug.add_argument("--unseen", choices=["backoff", "embed"], default="backoff")
    aug.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    aug.add_argument("--out", required=True, help="folder to save the fitted model to")
    aug.set_defaults(run=_run_fit_auglinear)

    tree = fit_sub.add_parser("augtree", help="Aug-Tree: a decision tree over phrase sets")
    _add_data_arguments(tree)
    tree.add_argument("--task", choices=["classification", "regression"], default=None)
    tree.add_argument("--max-depth", type=int, default=5)
    tree.add_argument("--expansion", choices=["llm", "embedding", "none"], default="llm")
    tree.add_argument(
        "--lm",
        default=None,
        help="for --expansion llm: alias, folder, hub id or openai:MODEL@BASE_URL "
        "(default: the packaged SmolLM2-135M-Instruct)",
    )
    tree.add_argument("--encoder", default="all-MiniLM-L6-v2", help="for --expansion embedding")
    tree.add_argument("--context", default=None, help='domain for the LM, e.g. "movie reviews"')
    tree.add_argument("--n-expansions", type=int, default=10)
    tree.add_argument("--max-features", type=int, default=5, help="keywords expanded per node")
    tree.add_argument("--min-samples-leaf", type=int, default=5)
    tree.add_argument("--n-estimators", type=int, default=1, help="above 1: bagged trees")
    tree.add_argument("--stem", action="store_true", help="match phrases by word stems")
    tree.add_argument("--random-state", type=int, default=None)
    tree.add_argument("--out", required=True, help="folder to save the fitted model to")
    tree.set_defaults(run=_run_fit_augtree)
    _add_fit_protolm_parser(fit_sub)

    show = sub.add_parser("show", help="print a saved model in readable form")
    show.add_argument("model", help="folder of a saved model")
    show.add_argument("--top", type=int, default=15, help="Aug-Linear: n-grams per class")
    show.set_defaults(run=_run_show)

    pred = sub.add_parser("predict", help="predict with a saved model")
    pred.add_argument("model", help="folder of a saved model")
    _add_text_input(pred)
    pred.add_argument("--proba", action="store_true", help="print class probabilities")
    pred.add_argument("--output", help="write JSON lines here instead of standard output")
    pred.set_defaults(run=_run_predict)

    exp = sub.add_parser("explain", help="explain predictions of a saved model")
    exp.add_argument("model", help="folder of a saved model")
    _add_text_input(exp)
    exp.add_argument("--top", type=int, default=12, help="contributions to show")
    exp.add_argument("--json", action="store_true", help="print JSON")
    exp.set_defaults(run=_run_explain)
    _add_explain_llm_parser(sub)
    _add_summarize_parser(sub)
    _add_explain_module_parser(sub)
    _add_explain_dataset_parser(sub)
    _add_finetune_parser(sub)

    demo = sub.add_parser(
        "demo", help="the offline tour on Rotten Tomatoes (what `make demo` runs)"
    )
    demo.add_argument("--n-train", type=int, default=None, help="training rows (default all)")
    demo.add_argument("--n-test", type=int, default=None, help="test rows (default all)")
    demo.add_argument("--encoder", default="all-MiniLM-L6-v2")
    demo.add_argument("--out", default=None, help="also save the fitted model here")
    demo.set_defaults(run=_run_demo)

    models = sub.add_parser("models", help="list the offline model aliases")
    models.set_defaults(run=_run_models)

    data = sub.add_parser("datasets", help="list the built-in datasets")
    data.set_defaults(run=_run_datasets)

    cache = sub.add_parser("cache", help="inspect or prune the embedding/LM cache")
    cache.add_argument("action", choices=["info", "prune", "clear"])
    cache.add_argument("--max-mb", type=float, default=None, help="with prune: size to keep")
    cache.set_defaults(run=_run_cache)
    return parser


def _add_data_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="a built-in dataset (see `glasstext datasets`)")
    src.add_argument("--train", help="CSV / TSV / JSONL / parquet file with texts and labels")
    p.add_argument("--test", help="test file (default: a seeded 80/20 split of --train)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--n-train", type=int, default=None, help="use the first N training rows")
    p.add_argument("--n-test", type=int, default=None, help="use the first N test rows")


def _add_text_input(p: argparse.ArgumentParser) -> None:
    p.add_argument("texts", nargs="*", help="texts to process")
    p.add_argument("--input", help="file of texts (CSV / TSV / JSONL / parquet)")
    p.add_argument("--text-column", default="text")


# -- commands -------------------------------------------------------------------


def _load_data(args: argparse.Namespace) -> Any:
    from glasstext import datasets

    if args.dataset:
        ds = datasets.load(args.dataset)
    else:
        ds = datasets.load_file(
            args.train, args.text_column, args.label_column, test_path=args.test
        )
    return ds.subset(args.n_train, args.n_test)


def _run_fit_auglinear(args: argparse.Namespace) -> int:
    from glasstext import AugLinearClassifier, AugLinearRegressor

    ds = _load_data(args)
    task = args.task or ("classification" if ds.is_classification else "regression")
    cls = AugLinearClassifier if task == "classification" else AugLinearRegressor
    model = cls(
        encoder=args.encoder,
        ngram_range=tuple(args.ngram_range),
        unseen=args.unseen,
        precision=args.precision,
    )
    y_train, y_test = _named_labels(ds, task)
    start = time.perf_counter()
    model.fit(ds.X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"fit {cls.__name__} on {len(ds.X_train)} texts in {seconds:.1f} s")
    print(f"table: {len(model.vocabulary_)} n-grams")
    if len(ds.X_test):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = model.score(ds.X_test, y_test)
        metric = "accuracy" if task == "classification" else "R^2"
        print(f"test {metric}: {score:.4f} ({len(ds.X_test)} texts)")
        print(model.unseen_report(ds.X_test).message())
    path = model.save(args.out)
    print(f"saved to {path}")
    return 0


def _named_labels(ds: Any, task: str) -> tuple[Any, Any]:
    """Training and test labels; class names when the dataset has them."""
    if task == "classification" and ds.target_names:
        # Fit on the label names, so saved models predict "spam", not 1.
        names = np.asarray(ds.target_names)
        return names[ds.y_train], names[ds.y_test]
    return ds.y_train, ds.y_test


def _run_fit_augtree(args: argparse.Namespace) -> int:
    from glasstext import AugTreeClassifier, AugTreeRegressor

    ds = _load_data(args)
    task = args.task or ("classification" if ds.is_classification else "regression")
    cls = AugTreeClassifier if task == "classification" else AugTreeRegressor
    model = cls(
        max_depth=args.max_depth,
        expansion=args.expansion,
        lm=args.lm,
        encoder=args.encoder,
        context=args.context,
        n_expansions=args.n_expansions,
        max_features=args.max_features,
        min_samples_leaf=args.min_samples_leaf,
        n_estimators=args.n_estimators,
        stem=args.stem,
        random_state=args.random_state,
    )
    y_train, y_test = _named_labels(ds, task)
    start = time.perf_counter()
    model.fit(ds.X_train, y_train)
    seconds = time.perf_counter() - start
    usage = model.expansion_usage_
    print(f"fit {cls.__name__} on {len(ds.X_train)} texts in {seconds:.1f} s")
    if args.expansion == "llm":
        print(
            f"LM calls: {usage.get('n_generate_calls', 0)} "
            f"(cache hits: {usage.get('n_cache_hits', 0)})"
        )
    print(model.export_text(max_phrases=8))
    if len(ds.X_test):
        metric = "accuracy" if task == "classification" else "R^2"
        print(f"test {metric}: {model.score(ds.X_test, y_test):.4f} ({len(ds.X_test)} texts)")
    path = model.save(args.out)
    print(f"saved to {path}")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    from glasstext.models import load_model

    model = load_model(args.model)
    if hasattr(model, "export_text"):
        print(model.export_text())
        return 0
    for label, rows in model.top_ngrams(args.top).items():
        print(f"{label}:")
        for ngram, value in rows:
            print(f"  {value:+.4f}  {ngram}")
    return 0


def _read_input_texts(args: argparse.Namespace) -> list[str]:
    from glasstext.datasets import read_texts

    texts = list(args.texts)
    if args.input:
        texts.extend(read_texts(args.input, args.text_column))
    if not texts:
        raise ValueError("give texts as arguments or a file with --input")
    return texts


def _run_predict(args: argparse.Namespace) -> int:
    from glasstext.models import load_model

    model = load_model(args.model)
    texts = _read_input_texts(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predictions = model.predict(texts)
        proba = model.predict_proba(texts) if args.proba else None
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
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
        print(f"note: {w.message}", file=sys.stderr)
    return 0


def _run_explain(args: argparse.Namespace) -> int:
    from glasstext.models import load_model

    model = load_model(args.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanations = [model.explain(t) for t in _read_input_texts(args)]
    for e in explanations:
        if args.json:
            print(json.dumps(_explanation_dict(e, args.top), ensure_ascii=False))
        else:
            print(e)
            print()
    return 0


def _explanation_dict(e: Any, top: int) -> dict[str, Any]:
    if hasattr(e, "to_dict"):  # Proto-LM: prototypes, logits and attention
        return dict(e.to_dict(top))
    if hasattr(e, "steps"):  # a tree's decision path
        return {
            "text": e.text,
            "prediction": jsonable(e.prediction),
            "path": [
                {"phrases": s.phrases, "matched": s.matched, "answer": s.answer} for s in e.steps
            ],
            "leaf_value": jsonable(e.value),
        }
    return {
        "text": e.text,
        "prediction": jsonable(e.prediction),
        "decision": jsonable(e.decision),
        "intercept": jsonable(e.intercept),
        "contributions": [[g, jsonable(v)] for g, v in e.contributions[:top]],
        "sources": {g: e.sources[g] for g, _ in e.contributions[:top]},
    }


def _run_demo(args: argparse.Namespace) -> int:
    from glasstext.demo import run_demo

    run_demo(n_train=args.n_train, n_test=args.n_test, encoder=args.encoder, out=args.out)
    return 0


def _run_models(args: argparse.Namespace) -> int:
    from glasstext.backends.registry import available_aliases, carrier_status

    for alias in available_aliases():
        print(f"{alias:<24} {carrier_status(alias)}")
    return 0


def _run_datasets(args: argparse.Namespace) -> int:
    from glasstext import datasets

    for name in datasets.available():
        print(name)
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from glasstext.backends.cache import default_store

    store = default_store()
    if args.action == "clear":
        store.clear()
    elif args.action == "prune":
        if args.max_mb is None:
            raise ValueError("cache prune needs --max-mb")
        removed = store.prune(int(args.max_mb * 1024**2))
        print(f"removed {removed} entries")
    stats = store.stats()
    print(f"{store.path}: {stats.entries} entries, {stats.bytes / 1024**2:.1f} MB")
    return 0


# -- explain-llm: perturbation explanations of a zero-shot LM ------------------------


def _add_explain_llm_parser(sub: Any) -> None:
    from glasstext.explain.scorers import SENTIMENT_LABELS, SENTIMENT_TEMPLATE

    p = sub.add_parser(
        "explain-llm",
        help="explain a zero-shot LM's class for a text (LIME / KernelSHAP / occlusion)",
        description="Explain which words drive a language model's zero-shot answer, "
        "optionally through a cheaper proxy model; writes an HTML view, prints JSON.",
    )
    p.add_argument("text", help="the text to explain")
    p.add_argument("--model", default="gemma-3-270m", help="target LM: alias, hub id or folder")
    p.add_argument("--template", default=SENTIMENT_TEMPLATE, help="prompt with {text}")
    p.add_argument(
        "--labels", nargs="+", default=list(SENTIMENT_LABELS), help="label words, class order"
    )
    p.add_argument("--chat", action="store_true", help="wrap prompts in the chat template")
    p.add_argument("--method", choices=["lime", "kernelshap", "occlusion"], default="kernelshap")
    p.add_argument("--n-samples", type=int, default=300, help="perturbed texts per explanation")
    p.add_argument("--proxy", default=None, help="cheaper LM scored with the same prompt")
    p.add_argument("--threshold", type=float, default=0.7, help="agreement needed for the proxy")
    p.add_argument("--fallback", choices=["target", "calibrate"], default="target")
    p.add_argument("--mask-token", default=None, help="replace words by this instead of deleting")
    p.add_argument("--target-class", default=None, help="class index or label (default: argmax)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="explanation.html", help="where to write the HTML view")
    p.set_defaults(run=_run_explain_llm)


def _run_explain_llm(args: argparse.Namespace) -> int:
    from glasstext.explain import LMScorer, ProxyExplainer
    from glasstext.explain.proxy import METHODS

    def scorer(model: str) -> LMScorer:
        return LMScorer(model, args.template, args.labels, chat=args.chat)

    target = scorer(args.model)
    target_class: int | str | None = args.target_class
    if isinstance(target_class, str):
        names = [label.strip() for label in args.labels]
        target_class = int(target_class) if target_class.isdigit() else target_class.strip()
        if isinstance(target_class, str) and target_class not in names:
            raise ValueError(f"--target-class {target_class!r} is not one of {names}")
    options: dict[str, Any] = {"mask_token": args.mask_token, "seed": args.seed}
    if args.method != "occlusion":
        options["n_samples"] = args.n_samples
    start = time.perf_counter()
    if args.proxy:
        options.pop("n_samples", None)
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
        explainer = METHODS[args.method](target, **options)
    attribution = explainer.explain(args.text, target_class=target_class)
    seconds = time.perf_counter() - start
    path = attribution.save_html(args.out)
    summary = {
        "model": args.model,
        "proxy": args.proxy,
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


# -- finetune and fit protolm: training transformers on a CPU ---------------------------


def _add_training_arguments(p: argparse.ArgumentParser, epochs: int) -> None:
    p.add_argument("--encoder", default="all-MiniLM-L6-v2", help="alias, hub id or folder")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5, help="encoder's peak rate")
    p.add_argument("--max-length", type=int, default=128, help="tokens kept per text")
    p.add_argument("--freeze-layers", type=int, default=0, help="lowest layers kept frozen")
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=1, help="epochs without improvement")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads")


def _add_finetune_parser(sub: Any) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune an encoder on labelled texts (CPU) into a model folder",
        description="Fine-tune an encoder with a pooled linear head, with a validation "
        "split and early stopping; the folder works wherever an encoder is accepted "
        "(e.g. glasstext fit auglinear --encoder FOLDER).",
    )
    _add_data_arguments(p)
    p.add_argument("--task", choices=["classification", "regression"], default=None)
    _add_training_arguments(p, epochs=3)
    p.add_argument(
        "--ngram-weight",
        type=float,
        default=0.0,
        help="for Aug-Linear: also train the head on each text's n-grams embedded alone",
    )
    p.add_argument("--out", required=True, help="folder to write the fine-tuned encoder to")
    p.set_defaults(run=_run_finetune)


def _run_finetune(args: argparse.Namespace) -> int:
    from glasstext import finetune_encoder
    from glasstext.backends.finetune import FinetunedModel, finetune_info

    ds = _load_data(args)
    task: Any = args.task or ("classification" if ds.is_classification else "regression")
    y_train, y_test = _named_labels(ds, task)
    folder = finetune_encoder(
        ds.X_train,
        y_train,
        encoder=args.encoder,
        output_dir=args.out,
        task=task,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        freeze_layers=args.freeze_layers,
        validation_fraction=args.validation_fraction,
        patience=args.patience,
        ngram_weight=args.ngram_weight,
        seed=args.seed,
        n_threads=args.threads,
    )
    info = finetune_info(folder)
    print(
        f"fine-tuned {args.encoder} on {info['n_train']} texts "
        f"({info['n_validation']} held out) in {info['seconds']:.1f} s"
    )
    for record in info["history"]:
        figures = ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch")
        print(f"  epoch {record['epoch']}: {figures}")
    print(f"kept epoch {info['best_epoch']} (lowest validation loss)")
    if len(ds.X_test):
        score = FinetunedModel(folder, n_threads=args.threads).score(ds.X_test, y_test)
        metric = "accuracy" if task == "classification" else "R^2"
        print(f"test {metric} of the fine-tuned model: {score:.4f} ({len(ds.X_test)} texts)")
    print(f"saved to {folder}")
    print(f"use it as an encoder: glasstext fit auglinear --encoder {folder} ...")
    return 0


def _add_fit_protolm_parser(fit_sub: Any) -> None:
    p = fit_sub.add_parser(
        "protolm", help="Proto-LM: a transformer that classifies by similar training sentences"
    )
    _add_data_arguments(p)
    p.add_argument("--n-prototypes-per-class", type=int, default=5)
    _add_training_arguments(p, epochs=3)
    p.add_argument("--warmup-epochs", type=int, default=1, help="encoder frozen")
    p.add_argument("--last-layer-epochs", type=int, default=20, help="after projection")
    p.add_argument("--out", required=True, help="folder to save the fitted model to")
    p.set_defaults(run=_run_fit_protolm)


def _run_fit_protolm(args: argparse.Namespace) -> int:
    from glasstext import ProtoLMClassifier

    ds = _load_data(args)
    if not ds.is_classification:
        raise ValueError("Proto-LM is a classifier: the dataset's labels are not classes")
    y_train, y_test = _named_labels(ds, "classification")
    model = ProtoLMClassifier(
        encoder=args.encoder,
        n_prototypes_per_class=args.n_prototypes_per_class,
        max_length=args.max_length,
        batch_size=args.batch_size,
        warmup_epochs=args.warmup_epochs,
        epochs=args.epochs,
        last_layer_epochs=args.last_layer_epochs,
        learning_rate=args.learning_rate,
        validation_fraction=args.validation_fraction,
        patience=args.patience,
        freeze_layers=args.freeze_layers,
        random_state=args.seed,
        n_threads=args.threads,
    )
    model.fit(ds.X_train, y_train)
    print(f"fit ProtoLMClassifier on {len(ds.X_train)} texts in {model.fit_seconds_:.1f} s")
    for record in model.history_:
        if record["stage"] != "last-layer" and "validation_accuracy" in record:
            print(
                f"  {record['stage']} {record['epoch']}: "
                f"validation accuracy {record['validation_accuracy']:.4f}"
            )
    print(model.export_text())
    if len(ds.X_test):
        print(f"test accuracy: {model.score(ds.X_test, y_test):.4f} ({len(ds.X_test)} texts)")
    path = model.save(args.out)
    print(f"saved to {path}")
    return 0


# -- summarize: an LM-written summary of a saved Aug-Linear / Aug-Tree model ---------


def _add_summarize_parser(sub: Any) -> None:
    p = sub.add_parser(
        "summarize",
        help="an LM-written summary of what drives each class of a saved model",
        description="Summarize a saved Aug-Linear or Aug-Tree model: for each class, a "
        "language model names the common theme of the top n-grams (or phrase sets) "
        "that push toward it, listed under the summary.",
    )
    p.add_argument("model", help="folder of a saved Aug-Linear or Aug-Tree model")
    _add_lm_argument(p)
    p.add_argument("--k", type=int, default=15, help="n-grams or phrase sets per class")
    p.add_argument(
        "--context", default=None, help='where the texts come from, e.g. "movie reviews"'
    )
    p.add_argument("--max-new-tokens", type=int, default=32, help="longest answer, in tokens")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_run_summarize)


def _run_summarize(args: argparse.Namespace) -> int:
    from glasstext.explain.summaries import summarize_model
    from glasstext.models import load_model

    model = load_model(args.model)
    summary = summarize_model(
        model, args.lm, k=args.k, context=args.context, max_new_tokens=args.max_new_tokens
    )
    print(summary.to_json(indent=2) if args.json else summary)
    return 0


def _add_lm_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lm",
        default=None,
        help="alias, folder, hub id or openai:MODEL@BASE_URL "
        "(default: the packaged SmolLM2-135M-Instruct)",
    )


def _add_explain_module_parser(sub: Any) -> None:
    p = sub.add_parser(
        "explain-module",
        help="SASC: what a saved model's output responds to, in words, checked on data",
        description="Score every n-gram of a corpus with a saved model's output, ask a "
        "language model for the common theme of the top ones, and rank the themes by how "
        "much more the output responds to texts about them than to texts that are not.",
    )
    p.add_argument("model", help="folder of a saved model")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="a built-in dataset whose training texts are the corpus")
    src.add_argument("--corpus", help="CSV / TSV / JSONL / parquet file of texts")
    p.add_argument("--text-column", default="text")
    p.add_argument("--n-texts", type=int, default=2000, help="use the first N texts")
    p.add_argument("--output", default=None, help="the class whose probability is explained")
    _add_lm_argument(p)
    p.add_argument("--n-summaries", type=int, default=5)
    p.add_argument("--n-synthetic", type=int, default=8, help="texts written per explanation")
    p.add_argument("--max-ngrams", type=int, default=10_000)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_run_explain_module)


def _run_explain_module(args: argparse.Namespace) -> int:
    from glasstext import datasets
    from glasstext.explain.sasc import explain_module
    from glasstext.models import load_model

    model = load_model(args.model)
    if args.dataset:
        corpus = datasets.load(args.dataset).X_train
    else:
        corpus = datasets.read_texts(args.corpus, args.text_column)
    result = explain_module(
        model,
        corpus[: args.n_texts],
        args.lm,
        output=args.output,
        n_summaries=args.n_summaries,
        n_synthetic=args.n_synthetic,
        max_ngrams=args.max_ngrams,
        random_state=args.random_state,
        progress=None,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0


def _add_explain_dataset_parser(sub: Any) -> None:
    p = sub.add_parser(
        "explain-dataset",
        help="prompt search: the instruction that best explains input/output pairs",
        description="Search for the natural-language instruction that, put before each "
        "input, makes a language model give the right output (iPrompt-style).",
    )
    p.add_argument("data", help="CSV / TSV / JSONL / parquet file of input/output pairs")
    p.add_argument("--input-column", default="input")
    p.add_argument("--output-column", default="output")
    _add_lm_argument(p)
    p.add_argument("--n-candidates", type=int, default=8, help="new candidates per round")
    p.add_argument("--max-iterations", type=int, default=4)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_run_explain_dataset)


def _run_explain_dataset(args: argparse.Namespace) -> int:
    from glasstext import datasets
    from glasstext.explain.iprompt import explain_dataset

    inputs, outputs = datasets.read_labelled(args.data, args.input_column, args.output_column)
    result = explain_dataset(
        inputs,
        outputs,
        args.lm,
        n_candidates=args.n_candidates,
        max_iterations=args.max_iterations,
        random_state=args.random_state,
        progress=None,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
