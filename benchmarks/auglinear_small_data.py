"""Aug-Linear's default against the usual baselines when labels are few.

A practitioner often has a hundred or a thousand labelled texts, not the
thousands of the fixed splits. For each built-in dataset below, this
script draws training sets of 100, 300, 1,000 and 2,000 texts from its fixed
training split (stratified by label, scikit-learn's ``train_test_split``
with ``random_state`` 0 to 4: five draws a size) and scores every model on
the whole fixed test split. Methods, each the way a user would run it (the same functions as
``auglinear_accuracy.py``): TF-IDF(1-2) + ``LogisticRegressionCV``, MiniLM
sentence embedding + LR, and ``AugLinearClassifier(encoder="all-MiniLM-L6-v2",
ngram_range=(1, 2))`` with every other setting at its default, predicting
table-only; beside them, the same with ``embedding_weight="idf"``.

The JSON keeps every draw's accuracy, the mean a method scored at each size,
and on how many of the draws the default was above each baseline and each
variant above the default (a tie is not a win).

    python benchmarks/auglinear_small_data.py      # about 45 minutes, vectors cached
    python benchmarks/auglinear_small_data.py --only auglinear_idf_weight  # rerun one method
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from auglinear import accuracy  # the make-bench script's helpers
from auglinear_accuracy import ENCODER, quiet_predict, timed
from glasstext import AugLinearClassifier
from glasstext.backends.cache import SqliteStore
from glasstext.backends.encoder import Encoder
from glasstext.baselines import SentenceEmbeddingLogistic, tfidf_logistic
from glasstext.datasets import TextDataset, load

REPO = Path(__file__).resolve().parent.parent
DATASETS = (
    "rotten_tomatoes",
    "sms_spam",
    "tweets",
    "amazon_reviews",
    "nyt_editorials",
    "reuters_r8",
)
SIZES = (100, 300, 1000, 2000)
N_DRAWS = 5
BASELINES = ("tfidf_lr", "sentence_embedding_lr")
DEFAULT = "auglinear_default"
#: Settings beside the default, each compared with it draw by draw.
VARIANTS: dict[str, dict[str, str]] = {
    "auglinear_idf_weight": {"embedding_weight": "idf"},
}


def draw(X: list[str], y: np.ndarray, size: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``size`` training texts drawn from ``X``, stratified by label."""
    X_small, _, y_small, _ = train_test_split(X, y, train_size=size, stratify=y, random_state=seed)
    return list(X_small), np.asarray(y_small)


def models(store: SqliteStore) -> dict[str, Callable[[list[str], np.ndarray], Any]]:
    """Each method as a function fitting it on training texts and labels."""

    def auglinear(**settings: str) -> Callable[[list[str], np.ndarray], Any]:
        return lambda X, y: AugLinearClassifier(
            encoder=ENCODER, ngram_range=(1, 2), cache=store, progress=False, **settings
        ).fit(X, y)

    return {
        "tfidf_lr": tfidf_logistic,
        "sentence_embedding_lr": lambda X, y: SentenceEmbeddingLogistic(
            Encoder(ENCODER, cache=store, progress=False)
        ).fit(X, y),
        DEFAULT: auglinear(),
        **{name: auglinear(**settings) for name, settings in VARIANTS.items()},
    }


def variant_key(method: str) -> str:
    """``auglinear_idf_weight`` -> ``idf_weight``: the prefix of its comparison keys."""
    return method.removeprefix("auglinear_")


def run_size(
    ds: TextDataset, size: int, fitters: dict[str, Callable[[list[str], np.ndarray], Any]]
) -> dict[str, Any]:
    """Every method on ``N_DRAWS`` training sets of ``size`` texts drawn from ``ds``."""
    X_train, y_train = list(ds.X_train), np.asarray(ds.y_train)
    X_test, y_test = list(ds.X_test), np.asarray(ds.y_test)
    scores: dict[str, list[float]] = {method: [] for method in fitters}
    seconds: dict[str, list[float]] = {method: [] for method in fitters}
    for seed in range(N_DRAWS):
        X, y = draw(X_train, y_train, size, seed)
        for method, fit in fitters.items():
            model, took = timed(partial(fit, X, y))
            scores[method].append(accuracy(quiet_predict(model, X_test), y_test))
            seconds[method].append(took)
        print(
            f"{ds.name} n={size} draw {seed}: "
            + ", ".join(f"{m} {scores[m][-1]:.4f}" for m in fitters),
            flush=True,
        )

    return {
        "n_test": len(X_test),
        "accuracy": scores,
        "mean_fit_seconds": {m: round(float(np.mean(s)), 1) for m, s in seconds.items()},
    }


def compare(cell: dict[str, Any]) -> dict[str, Any]:
    """``cell`` with its means and win counts (re)computed from its draws' accuracies."""
    scores = cell["accuracy"]

    def above(a: str, b: str) -> int:  # draws where method a scored above method b
        return int(np.sum(np.array(scores[a]) > np.array(scores[b])))

    cell["mean_accuracy"] = {m: round(float(np.mean(s)), 4) for m, s in scores.items()}
    cell["default_wins"] = {b: above(DEFAULT, b) for b in BASELINES}
    cell["default_losses"] = {b: above(b, DEFAULT) for b in BASELINES}
    for variant in (v for v in VARIANTS if v in scores):
        cell[f"{variant_key(variant)}_wins_over_default"] = above(variant, DEFAULT)
        cell[f"{variant_key(variant)}_losses_to_default"] = above(DEFAULT, variant)
    return cell


def summarise(datasets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Wins and mean differences over every dataset and size."""
    cells = [cell for sizes in datasets.values() for cell in sizes.values()]

    def mean_gap(a: str, b: str) -> float:  # method a's mean accuracy minus b's, over cells
        return round(
            float(np.mean([c["mean_accuracy"][a] - c["mean_accuracy"][b] for c in cells])), 4
        )

    summary: dict[str, Any] = {"draws": len(cells) * N_DRAWS}
    for b in BASELINES:
        summary[f"default_wins_over_{b}"] = sum(c["default_wins"][b] for c in cells)
        summary[f"default_losses_to_{b}"] = sum(c["default_losses"][b] for c in cells)
        summary[f"mean_default_minus_{b}"] = mean_gap(DEFAULT, b)
    for variant in (v for v in VARIANTS if all(v in c["accuracy"] for c in cells)):
        key = variant_key(variant)
        for outcome in ("wins_over_default", "losses_to_default"):
            summary[f"{key}_{outcome}"] = sum(c[f"{key}_{outcome}"] for c in cells)
        summary[f"mean_{key}_minus_default"] = mean_gap(variant, DEFAULT)
    return summary


def merged(earlier: dict[str, Any], datasets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``earlier``'s cells with the methods just run added (or replaced), recompared."""
    for name, sizes in datasets.items():
        for size, cell in sizes.items():
            old = earlier.setdefault(name, {}).setdefault(size, cell)
            if old is not cell:
                old["accuracy"].update(cell["accuracy"])
                old["mean_fit_seconds"].update(cell["mean_fit_seconds"])
            compare(old)
    return earlier


def uncomparable(
    earlier: dict[str, Any], names: list[str], sizes: list[int], methods: list[str]
) -> list[str]:
    """The cells (``"dataset n=size"``) that would lack the default or a baseline once
    ``methods`` are run and merged into ``earlier``'s datasets."""
    needed = {DEFAULT, *BASELINES} - set(methods)
    return [
        f"{name} n={size}"
        for name in names
        for size in sizes
        if not needed <= set(earlier.get(name, {}).get(str(size), {}).get("accuracy", {}))
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        help="which built-in datasets to draw from (default: all six)",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=list(SIZES),
        help="training-set sizes to draw (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        default=str(REPO / "benchmarks" / "results" / "auglinear_small_data.json"),
        help="where to write the JSON (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*BASELINES, DEFAULT, *VARIANTS],
        help="run these methods only and merge them into the JSON at --out, which must "
        "hold the default and the baselines on the same datasets and sizes (default: run all)",
    )
    args = parser.parse_args(argv)
    earlier: dict[str, Any] = {}
    if args.only:  # checked before any fit: every merged cell must stay comparable
        if not Path(args.out).is_file():
            parser.error(f"--only merges into {args.out}, which does not exist")
        earlier = json.loads(Path(args.out).read_text("utf-8"))
        gaps = uncomparable(earlier["datasets"], args.datasets, args.sizes, args.only)
        if gaps:
            parser.error(
                f"{args.out} has no draws of the default and the baselines for "
                + ", ".join(gaps)
                + "; run them too (add them to --only) or run without --only"
            )
    store = SqliteStore(REPO / ".bench" / "auglinear_accuracy.sqlite")
    fitters = models(store)
    if args.only:
        fitters = {m: fit for m, fit in fitters.items() if m in args.only}
    start, load_at_start = time.perf_counter(), list(os.getloadavg())
    datasets = {
        name: {str(n): run_size(ds, n, fitters) for n in args.sizes}
        for name, ds in ((name, load(name)) for name in args.datasets)
    }
    run = {
        "methods": list(fitters),
        "load_average_at_start": load_at_start,
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.only:
        result = earlier
        result["datasets"] = merged(result["datasets"], datasets)
        result.setdefault("runs", []).append(run)
    else:
        result = {
            "machine": {"cpus": os.cpu_count()},
            "encoder": ENCODER,
            "sampling": (
                "train_test_split(X_train, y_train, train_size=n, stratify=y_train, "
                f"random_state=seed) for seed in range({N_DRAWS}); "
                "scored on the whole fixed test split"
            ),
            "datasets": merged({}, datasets),
            "runs": [run],
        }
    result["summary"] = summarise(result["datasets"])
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
