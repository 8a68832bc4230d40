"""Aug-Linear's default against the usual baselines when labels are few, one dataset per run.

A practitioner often has a hundred or a thousand labelled texts, not the
thousands of the fixed splits. For one built-in dataset per invocation, this
script draws training sets of 100, 300, 1,000 and 2,000 texts from its fixed
training split (stratified by label, scikit-learn's ``train_test_split`` with
``random_state`` 0 to 4: five draws a size) and scores every model on the whole
fixed test split. Methods, each the way a user would run it (the same functions
as ``auglinear_accuracy.py``): TF-IDF(1-2) + ``LogisticRegressionCV``, MiniLM
sentence embedding + LR, and ``AugLinearClassifier(encoder=Encoder(
"all-MiniLM-L6-v2"))`` with every other setting at its default, predicting
table-only; beside them, the same with ``embedding_weight="idf"``.

Each file keeps every draw's accuracy, each method's mean over the draws with a
95% t interval over draws, and each comparison (default minus a baseline, a
variant minus the default) as the mean paired difference over draws with its
interval: ``within_noise`` when that interval covers 0. The dataset's role
(development or evaluation only, ``glasstext.datasets``) is recorded;
:func:`aggregate` reads the files for the docs.

    python benchmarks/auglinear_small_data.py --dataset sms_spam   # ~10 min on 2 cores
    python benchmarks/auglinear_small_data.py --quick              # one size, two draws
    make bench-auglinear-small-data                                # every dataset

Writes ``benchmarks/results/auglinear_small_data/<dataset>.json`` whole.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

import harness
from auglinear_accuracy import ENCODER, quiet_predict, timed
from glasstext import AugLinearClassifier, Encoder
from glasstext.backends.cache import SqliteStore
from glasstext.baselines import SentenceEmbeddingLogistic, tfidf_logistic
from glasstext.datasets import EVALUATION_ONLY, TextDataset, load

OUT_DIR = harness.RESULTS / "auglinear_small_data"
DATASETS = (
    "rotten_tomatoes",
    "sms_spam",
    "reuters_r8",
    "tweets",
    "amazon_reviews",
    "nyt_editorials",
)
SIZES = (100, 300, 1000, 2000)
N_DRAWS = 5
QUICK = {"sizes": (100,), "draws": 2, "n_test": 200}
BASELINES = ("tfidf_lr", "sentence_embedding_lr")
DEFAULT = "auglinear_default"
#: Settings beside the default, each compared with it draw by draw.
VARIANTS: dict[str, dict[str, str]] = {
    "auglinear_idf_weight": {"embedding_weight": "idf"},
}
SCHEMA = ("benchmark", "dataset", "role", "encoder", "cache", "sampling", "quick", "sizes")

Fitter = Callable[[list[str], np.ndarray], Any]


def draw(X: list[str], y: np.ndarray, size: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``size`` training texts drawn from ``X``, stratified by label."""
    X_small, _, y_small, _ = train_test_split(X, y, train_size=size, stratify=y, random_state=seed)
    return list(X_small), np.asarray(y_small)


def models(store: SqliteStore) -> dict[str, Fitter]:
    """Each method as a function fitting it on training texts and labels."""
    encoder = Encoder(ENCODER, cache=store)

    def auglinear(**settings: str) -> Fitter:
        return lambda X, y: AugLinearClassifier(
            encoder=encoder, ngram_range=(1, 2), progress=False, **settings
        ).fit(X, y)

    return {
        "tfidf_lr": tfidf_logistic,
        "sentence_embedding_lr": lambda X, y: SentenceEmbeddingLogistic(encoder).fit(X, y),
        DEFAULT: auglinear(),
        **{name: auglinear(**settings) for name, settings in VARIANTS.items()},
    }


def run_size(
    ds: TextDataset, size: int, fitters: dict[str, Fitter], n_draws: int
) -> dict[str, Any]:
    """Every method on ``n_draws`` training sets of ``size`` texts drawn from ``ds``."""
    X_train, y_train = list(ds.X_train), np.asarray(ds.y_train)
    X_test, y_test = list(ds.X_test), np.asarray(ds.y_test)
    scores: dict[str, list[float]] = {method: [] for method in fitters}
    seconds: dict[str, list[float]] = {method: [] for method in fitters}
    for seed in range(n_draws):
        X, y = draw(X_train, y_train, size, seed)
        for method, fit in fitters.items():
            model, took = timed(partial(fit, X, y))
            scores[method].append(float(np.mean(quiet_predict(model, X_test) == y_test)))
            seconds[method].append(took)
        print(
            f"{ds.name} n={size} draw {seed}: "
            + ", ".join(f"{m} {scores[m][-1]:.4f}" for m in fitters),
            file=sys.stderr,
            flush=True,
        )
    return compare({"n_test": len(X_test), "accuracy": scores, "fit_seconds": seconds})


def compare(cell: dict[str, Any]) -> dict[str, Any]:
    """``cell`` with each method's mean over draws and each paired comparison."""
    scores = {m: np.asarray(s) for m, s in cell["accuracy"].items()}

    def difference(a: str, b: str) -> dict[str, Any]:  # a minus b, draw by draw
        summary = harness.over_draws(scores[a] - scores[b])
        ci = summary["ci95"]
        return {
            **summary,
            "within_noise": ci is None or bool(ci[0] <= 0.0 <= ci[1]),
            "draws_above": int(np.sum(scores[a] > scores[b])),
            "draws_below": int(np.sum(scores[a] < scores[b])),
        }

    cell["mean_accuracy"] = {m: harness.over_draws(s) for m, s in scores.items()}
    cell["differences"] = {
        **{f"default_minus_{b}": difference(DEFAULT, b) for b in BASELINES},
        **{f"{v}_minus_default": difference(v, DEFAULT) for v in VARIANTS if v in scores},
    }
    return cell


def aggregate(directory: Path = OUT_DIR) -> dict[str, Any]:
    """The dataset files in ``directory`` as they are, by role (for the docs)."""
    table: dict[str, dict[str, Any]] = {"development": {}, "evaluation_only": {}}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        table[data["role"]][data["dataset"]] = data["sizes"]
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default=DATASETS[0])
    harness.add_common_arguments(parser, OUT_DIR / "DATASET.json")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    out = OUT_DIR / f"{args.dataset}.json" if args.out.name == "DATASET.json" else args.out
    sizes = QUICK["sizes"] if args.quick else SIZES
    n_draws = QUICK["draws"] if args.quick else N_DRAWS
    ds = load(args.dataset)
    if args.quick:
        ds = ds.subset(None, QUICK["n_test"])
    with tempfile.TemporaryDirectory() as tmp:
        fitters = models(SqliteStore(Path(tmp) / "cache.sqlite"))
        cells = {str(n): run_size(ds, n, fitters, n_draws) for n in sizes}
    result = {
        "benchmark": "auglinear_small_data",
        "dataset": args.dataset,
        "role": "evaluation_only" if args.dataset in EVALUATION_ONLY else "development",
        "encoder": ENCODER,
        "cache": "empty at start (a temporary SQLite store shared by this run's models)",
        "sampling": (
            "train_test_split(X_train, y_train, train_size=n, stratify=y_train, "
            f"random_state=seed) for seed in range({n_draws}); scored on the whole fixed "
            "test split" + (f" (its first {QUICK['n_test']} texts: --quick)" if args.quick else "")
        ),
        "quick": args.quick,
        "sizes": cells,
    }
    print(harness.write_result(out, run, result))


if __name__ == "__main__":
    main()
