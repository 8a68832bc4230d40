"""Aug-Linear's cross-validated fit with the folds in parallel (``n_jobs``) or not.

The default fit embeds the n-grams, then runs its cross-validated logistic
fits (the sum and mean poolings screened on the embedding features, then
the hybrid; 5 folds x 10 values of C each). With the n-gram
vectors cached, what is left is those fits; this script times the default
with ``n_jobs=None`` (one process, scikit-learn's default) and ``n_jobs=-1``
(all cores), alternating (twice each on Rotten Tomatoes 2,000 / 1,000, binary;
once each on Reuters R8, 8 classes), and checks that both give the same table.

    python benchmarks/auglinear_parallel_folds.py            # ~15 min on 2 cores
    python benchmarks/auglinear_parallel_folds.py --quick    # RT 300 / 200 only

Writes ``benchmarks/results/auglinear_parallel_folds.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from auglinear import log  # the make-bench script's helpers
from glasstext import AugLinearClassifier
from glasstext.backends.cache import SqliteStore
from glasstext.datasets import load

REPO = Path(__file__).resolve().parent.parent
ENCODER = "all-MiniLM-L6-v2"
SPLITS = {
    "rotten_tomatoes_2k": ("rotten_tomatoes", 2000, 1000),
    "reuters_r8": ("reuters_r8", None, None),
}


def timed_fit(
    X: list[str], y: Any, store: SqliteStore, n_jobs: int | None, **settings: Any
) -> tuple[Any, float]:
    model = AugLinearClassifier(
        ENCODER, (1, 2), cache=store, progress=False, n_jobs=n_jobs, **settings
    )
    start = time.perf_counter()
    model.fit(X, y)
    return model, round(time.perf_counter() - start, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="RT 300 / 200 only (smoke test)")
    parser.add_argument(
        "--cache",
        default=str(REPO / ".bench" / "auglinear_accuracy.sqlite"),
        help="n-gram vector cache, shared with auglinear_accuracy.py (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        default=str(REPO / "benchmarks" / "results" / "auglinear_parallel_folds.json"),
        help="where to write the JSON (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    splits = {"rotten_tomatoes_300": ("rotten_tomatoes", 300, 200)} if args.quick else SPLITS
    store = SqliteStore(Path(args.cache))
    result: dict[str, Any] = {
        "benchmark": "auglinear_parallel_folds",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "encoder": ENCODER,
        "splits": {},
    }
    for name, (dataset, n_train, n_test) in splits.items():
        ds = load(dataset).subset(n_train, n_test)
        log(f"{name}: warming the cache (the n-gram vectors are not what is timed)")
        timed_fit(ds.X_train, ds.y_train, store, None, doc_pooling="sum", cv=2)
        seconds: dict[str, list[float]] = {"one_process": [], "all_cores": []}
        models = {}
        rounds = 2 if len(ds.X_train) <= 2000 else 1  # a multiclass fit takes minutes
        for label, n_jobs in (("one_process", None), ("all_cores", -1)) * rounds:
            models[label], fit_seconds = timed_fit(ds.X_train, ds.y_train, store, n_jobs)
            seconds[label].append(fit_seconds)
            log(f"{name}: n_jobs={n_jobs} {fit_seconds} s")
        one, every = models["one_process"], models["all_cores"]
        result["splits"][name] = {
            "n_train": len(ds.X_train),
            "n_classes": len(one.classes_),
            "fit_seconds": seconds,
            "speedup": round(min(seconds["one_process"]) / min(seconds["all_cores"]), 2),
            "same_table": bool(np.allclose(one.coef_table_, every.coef_table_, atol=1e-8)),
            "same_test_predictions": bool(
                np.array_equal(one.predict(ds.X_test), every.predict(ds.X_test))
            ),
        }
    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    text = json.dumps(result, indent=1) + "\n"
    Path(args.out).write_text(text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
