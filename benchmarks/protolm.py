"""Proto-LM and encoder fine-tuning benchmark on Rotten Tomatoes (CPU).

Measured in one run, on the built-in split (8,454 / 2,114 snippets):

1. ``finetuned_linear``: MiniLM fine-tuned with a mean-pooled linear head
   (:func:`glasstext.finetune_encoder`) for ``--epochs`` epochs;
2. ``protolm``: :class:`glasstext.ProtoLMClassifier` on the same MiniLM, the
   same number of encoder-training (joint) epochs, plus its warm-up epoch
   with the encoder frozen, the projection and the last-layer stage;
3. ``auglinear_base`` / ``auglinear_finetuned``: Aug-Linear (1-2-grams) with
   the base MiniLM and with the encoder fine-tuned in step 1; with
   ``--ngram-weight W`` also ``auglinear_finetuned_ngram``: Aug-Linear with an
   encoder fine-tuned with the extra n-gram objective (``ngram_weight=W``;
   about three times the fine-tuning time);
4. faithfulness of Proto-LM's token attention against LIME (and a random
   ranking) on the same model: comprehensiveness and sufficiency (AOPC) from
   :mod:`glasstext.explain.metrics`;
5. that every prototype equals the embedding of its training sentence.

    python benchmarks/protolm.py            # full run (~30-45 min on 2 cores)
    python benchmarks/protolm.py --quick    # 150 / 100 snippets, one epoch: a smoke test

Writes ``benchmarks/results/protolm.json`` whole (``--out`` to change; nothing is
reused from an earlier run: the fine-tuning starts from the base MiniLM and the
n-gram cache is empty). Accuracies carry a 95% bootstrap interval over test
texts; Proto-LM against the fine-tuned head and the fine-tuned Aug-Linear against
the base one a paired interval with McNemar's p. The fine-tuned encoder is left
in ``.bench/protolm/`` (``AugLinearClassifier(encoder=Encoder(that_folder))``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import harness
from glasstext import (
    AugLinearClassifier,
    Encoder,
    ProtoLMClassifier,
    UnseenNgramWarning,
    finetune_encoder,
)
from glasstext.backends.cache import SqliteStore
from glasstext.backends.finetune import FinetunedModel, finetune_info
from glasstext.datasets import load
from glasstext.explain.metrics import attention_faithfulness

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".bench" / "protolm"
SCHEMA = (
    "benchmark",
    "settings",
    "protolm_accuracy",
    "finetuned_linear_accuracy",
    "protolm_minus_finetuned_linear",
    "auglinear_finetuned_accuracy",
    "auglinear_base_accuracy",
    "auglinear_finetuned_minus_base",
    "auglinear_finetuned_unseen_embedded_accuracy",
    "auglinear_base_unseen_embedded_accuracy",
    "auglinear_finetuned_ngram_accuracy",
    "targets",
    "train_seconds",
    "faithfulness",
    "finetuned_ngram",
    "auglinear_finetuned_ngram",
    "finetuned_linear",
    "protolm",
    "auglinear_base",
    "auglinear_finetuned",
)
ENCODER = "all-MiniLM-L6-v2"


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def accuracy(pred: Any, truth: Any) -> dict[str, Any]:
    """Test accuracy with its 95% bootstrap interval over test texts."""
    return harness.accuracy(np.asarray(truth), np.asarray(pred))


def run_finetune(
    ds: Any, settings: dict[str, Any], folder: Path, ngram_weight: float = 0.0
) -> dict[str, Any]:
    """MiniLM + mean pooling + linear head, fine-tuned; its test accuracy."""
    log(f"fine-tuning {ENCODER} ({settings['epochs']} epochs, ngram_weight={ngram_weight})")
    start = time.perf_counter()
    finetune_encoder(
        ds.X_train,
        ds.y_train,
        encoder=ENCODER,
        output_dir=folder,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        max_length=settings["max_length"],
        learning_rate=settings["learning_rate"],
        ngram_weight=ngram_weight,
        n_threads=settings["threads"],
        progress=False,
    )
    seconds = time.perf_counter() - start
    info = finetune_info(folder)
    model = FinetunedModel(folder, n_threads=settings["threads"])
    start = time.perf_counter()
    pred = np.asarray(model.predict(ds.X_test))
    result = {
        "accuracy": accuracy(pred, ds.y_test),
        "_pred": pred,
        "train_seconds": round(seconds, 1),
        "predict_seconds": round(time.perf_counter() - start, 2),
        "epochs_run": info["epochs_run"],
        "best_epoch": info["best_epoch"],
        "history": info["history"],
    }
    log(f"fine-tuned linear head: {result}")
    return result


def run_protolm(ds: Any, settings: dict[str, Any]) -> tuple[ProtoLMClassifier, dict[str, Any]]:
    """Proto-LM on the base encoder, the same number of joint epochs."""
    log(f"Proto-LM ({settings['epochs']} joint epochs + 1 warm-up)")
    model = ProtoLMClassifier(
        encoder=Encoder(ENCODER, batch_size=settings["batch_size"], n_threads=settings["threads"]),
        n_prototypes_per_class=settings["n_prototypes_per_class"],
        max_length=settings["max_length"],
        warmup_epochs=1,
        epochs=settings["epochs"],
        learning_rate=settings["learning_rate"],
        progress=False,
    )
    model.fit(ds.X_train, ds.y_train)
    start = time.perf_counter()
    pred = np.asarray(model.predict(ds.X_test))
    acc = accuracy(pred, ds.y_test)
    predict_seconds = time.perf_counter() - start
    sentences = [p["sentence"] for p in model.prototypes_]
    diff = float(np.abs(model.embed(sentences) - model.prototype_vectors_).max())
    labels_ok = all(
        ds.y_train[p["train_index"]] == p["class"] and ds.X_train[p["train_index"]] == p["sentence"]
        for p in model.prototypes_
    )
    example = model.explain(ds.X_test[0], k=3)
    sums_ok = bool(np.allclose(example.contributions.sum(axis=0), example.logits))
    result = {
        "accuracy": acc,
        "_pred": pred,
        "train_seconds": round(model.fit_seconds_, 1),
        "predict_seconds": round(predict_seconds, 2),
        "prototype_vs_sentence_embedding_max_abs_diff": diff,
        "prototypes_are_training_sentences_of_their_class": labels_ok,
        "explain_contributions_sum_to_logits": sums_ok,
        "prototypes": model.prototypes_,
        "example_explanation": example.to_dict(top=8),
        "history": model.history_,
    }
    log(f"Proto-LM: accuracy {acc}, {model.fit_seconds_:.0f} s")
    return model, result


def run_auglinear(ds: Any, encoder: str | Path, store: SqliteStore) -> dict[str, Any]:
    """Aug-Linear (1-2-grams) with a given encoder: table-only and unseen-embedded accuracy."""
    log(f"Aug-Linear with {encoder}")
    start = time.perf_counter()
    model = AugLinearClassifier(
        encoder=Encoder(str(encoder), cache=store), ngram_range=(1, 2), progress=False
    )
    model.fit(ds.X_train, ds.y_train)
    seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        pred = np.asarray(model.predict(ds.X_test))
        table = accuracy(pred, ds.y_test)
        model.set_params(unseen="embed")
        embedded = accuracy(model.predict(ds.X_test), ds.y_test)
    result = {
        "accuracy_table_only": table,
        "_pred": pred,
        "accuracy_unseen_embedded": embedded,
        "fit_seconds": round(seconds, 1),
        "table_ngrams": len(model.vocabulary_),
    }
    log(f"Aug-Linear with {encoder}: {result}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, harness.RESULTS / "protolm.json")
    parser.add_argument("--n-train", type=int, default=None, help="training rows (default all)")
    parser.add_argument("--n-test", type=int, default=None, help="test rows (default all)")
    parser.add_argument("--epochs", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--n-prototypes-per-class", type=int, default=5)
    parser.add_argument("--faithfulness-texts", type=int, default=None, help="default 50")
    parser.add_argument("--lime-samples", type=int, default=300)
    parser.add_argument(
        "--ngram-weight",
        type=float,
        default=0.0,
        help="also fine-tune with the n-gram objective for Aug-Linear (0: skip)",
    )
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])

    n_train = args.n_train if args.n_train is not None else (150 if args.quick else None)
    n_test = args.n_test if args.n_test is not None else (100 if args.quick else None)
    settings: dict[str, Any] = {
        "encoder": ENCODER,
        "epochs": args.epochs if args.epochs is not None else (1 if args.quick else 3),
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "n_prototypes_per_class": args.n_prototypes_per_class,
        "faithfulness_texts": args.faithfulness_texts or (3 if args.quick else 50),
        "lime_samples": 50 if args.quick else args.lime_samples,
        "threads": args.threads,
        "ngram_weight": args.ngram_weight,
        "quick": args.quick,
    }
    ds = load("rotten_tomatoes").subset(n_train, n_test)
    settings.update(n_train=len(ds.X_train), n_test=len(ds.X_test))
    log(f"Rotten Tomatoes: {len(ds.X_train)} train / {len(ds.X_test)} test; {settings}")

    work = Path(tempfile.mkdtemp(prefix="protolm-quick-")) if args.quick else WORK
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "minilm-rt"
    shutil.rmtree(folder, ignore_errors=True)  # fine-tuned afresh, never an earlier run's
    linear = run_finetune(ds, settings, folder)
    ngram_folder = None
    ngram_linear = None
    if args.ngram_weight > 0:
        ngram_folder = folder.with_name(folder.name + "-ngram")
        shutil.rmtree(ngram_folder, ignore_errors=True)
        ngram_linear = run_finetune(ds, settings, ngram_folder, args.ngram_weight)
    proto_model, proto = run_protolm(ds, settings)

    store_dir = Path(tempfile.mkdtemp(prefix="protolm-bench-", dir=work))
    try:
        store = SqliteStore(store_dir / "cache.sqlite")
        aug_base = run_auglinear(ds, ENCODER, store)
        aug_tuned = run_auglinear(ds, folder, store)
        aug_ngram = run_auglinear(ds, ngram_folder, store) if ngram_folder else None
        store.close()
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)

    n_faith = min(settings["faithfulness_texts"], len(ds.X_test))
    log(f"attention vs LIME faithfulness on {n_faith} test texts")
    faith = attention_faithfulness(
        proto_model, ds.X_test[:n_faith], lime_samples=settings["lime_samples"], seed=0
    )
    gap = harness.paired_accuracy_difference(ds.y_test, proto["_pred"], linear["_pred"])
    tuned_gain = harness.paired_accuracy_difference(
        ds.y_test, aug_tuned["_pred"], aug_base["_pred"]
    )
    for part in (linear, proto, aug_base, aug_tuned, ngram_linear, aug_ngram):
        if part is not None:
            part.pop("_pred")
    results = {
        "benchmark": "protolm",
        "settings": settings,
        "protolm_accuracy": proto["accuracy"],
        "finetuned_linear_accuracy": linear["accuracy"],
        "protolm_minus_finetuned_linear": gap,
        "auglinear_finetuned_accuracy": aug_tuned["accuracy_table_only"],
        "auglinear_base_accuracy": aug_base["accuracy_table_only"],
        "auglinear_finetuned_minus_base": tuned_gain,
        "auglinear_finetuned_unseen_embedded_accuracy": aug_tuned["accuracy_unseen_embedded"],
        "auglinear_base_unseen_embedded_accuracy": aug_base["accuracy_unseen_embedded"],
        "auglinear_finetuned_ngram_accuracy": (
            aug_ngram["accuracy_table_only"] if aug_ngram else None
        ),
        "targets": {
            "protolm_within_1_point_of_finetuned_linear": gap["difference"] >= -0.01,
            "auglinear_finetuned_at_least_0.80": aug_tuned["accuracy_table_only"]["value"] >= 0.80,
            "auglinear_finetuned_above_base": tuned_gain["difference"] > 0,
        },
        "train_seconds": {
            "finetuned_linear": linear["train_seconds"],
            "protolm": proto["train_seconds"],
            "auglinear_base_fit": aug_base["fit_seconds"],
            "auglinear_finetuned_fit": aug_tuned["fit_seconds"],
        },
        "faithfulness": faith.to_dict(),
        "finetuned_ngram": ngram_linear,
        "auglinear_finetuned_ngram": aug_ngram,
        "finetuned_linear": linear,
        "protolm": proto,
        "auglinear_base": aug_base,
        "auglinear_finetuned": aug_tuned,
    }
    log(f"wrote {harness.write_result(args.out, run, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
