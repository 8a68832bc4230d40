"""Aug-Tree benchmark: ROC AUC against CART, and what expansion costs.

For each dataset (Rotten Tomatoes, SMS spam, Reuters R8 as the multiclass
set, scored by macro one-vs-rest AUC) and each depth (3, 5, 8), fits:

- ``cart``: scikit-learn's ``DecisionTreeClassifier`` on the same binary
  n-gram features (the same candidate keywords, same ``min_samples_leaf``);
- ``none``: Aug-Tree without expansion (a keyword tree; should equal CART);
- ``embedding``: expansions = nearest training n-grams by MiniLM similarity;
- ``llm``: expansions proposed by the packaged SmolLM2-135M-Instruct.

Expansion caches live in a fresh store for this run. Trees are grown
breadth-first, so a depth-5 tree is the top of the depth-8 tree: the depth-8
fit comes first (cold cache: it makes every LM call), is repeated (warm cache:
it must make none), and the depth-5 and depth-3 fits reuse the cache.

    python benchmarks/augtree.py           # full run (~30-40 min on 2 cores)
    python benchmarks/augtree.py --quick   # small data, a smoke test

Prints one JSON object and writes it to ``benchmarks/results/augtree.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

from glasstext import AugTreeClassifier
from glasstext.backends.cache import SqliteStore
from glasstext.backends.encoder import get_encoder
from glasstext.backends.lm import LocalCausalLM
from glasstext.backends.runtime import blas_threads
from glasstext.datasets import TextDataset, load
from glasstext.models.augtree import candidate_keywords
from glasstext.text import PhraseMatcher

REPO = Path(__file__).resolve().parent.parent
DATASETS = {
    "rotten_tomatoes": "movie reviews",
    "sms_spam": "SMS text messages",
    "reuters_r8": "business news",
}
DEPTHS = (8, 5, 3)  # deepest first: shallower trees are its top and reuse its cache
METHODS = ("none", "embedding", "llm")
SETTINGS: dict[str, Any] = {
    "ngram_range": (1, 2),
    "min_df": 3,
    "max_vocabulary": 20_000,
    "min_samples_leaf": 5,
    "max_features": 5,
    "n_expansions": 10,
}


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def auc(model: Any, X: Any, y: np.ndarray) -> float:
    """ROC AUC; macro one-vs-rest for more than two classes."""
    proba = model.predict_proba(X)
    if proba.shape[1] == 2:
        return round(float(roc_auc_score(y, proba[:, 1])), 4)
    # Macro one-vs-rest over the classes the test split has (all of them on full data).
    per_class = [
        roc_auc_score(y == c, proba[:, j]) for j, c in enumerate(model.classes_) if (y == c).any()
    ]
    return round(float(np.mean(per_class)), 4)


def accuracy(model: Any, X: Any, y: np.ndarray) -> float:
    return round(float(np.mean(model.predict(X) == y)), 4)


def run_cart(ds: TextDataset, depth: int) -> dict[str, Any]:
    vocabulary = candidate_keywords(
        ds.X_train,
        SETTINGS["ngram_range"],
        SETTINGS["min_df"],
        SETTINGS["max_vocabulary"],
        frozenset(ENGLISH_STOP_WORDS),
    )
    matcher = PhraseMatcher(vocabulary)
    start = time.perf_counter()
    F = matcher.matrix(ds.X_train)
    with blas_threads(1):
        cart = DecisionTreeClassifier(
            max_depth=depth, min_samples_leaf=SETTINGS["min_samples_leaf"], random_state=0
        ).fit(F, ds.y_train)
    seconds = time.perf_counter() - start
    Ft = matcher.matrix(ds.X_test)
    return {
        "auc": auc(cart, Ft, ds.y_test),
        "accuracy": accuracy(cart, Ft, ds.y_test),
        "fit_seconds": round(seconds, 2),
    }


def run_tree(
    ds: TextDataset, depth: int, method: str, context: str, lm: Any, encoder: Any
) -> tuple[dict[str, Any], AugTreeClassifier]:
    model = AugTreeClassifier(
        max_depth=depth,
        expansion=method,
        lm=lm,
        encoder=encoder,
        context=context,
        progress=False,
        **SETTINGS,
    )
    start = time.perf_counter()
    model.fit(ds.X_train, ds.y_train)
    seconds = time.perf_counter() - start
    usage = model.expansion_usage_
    row = {
        "auc": auc(model, ds.X_test, ds.y_test),
        "accuracy": accuracy(model, ds.X_test, ds.y_test),
        "fit_seconds": round(seconds, 2),
        "lm_calls": int(usage.get("n_generate_calls", 0)),
        "texts_encoded": int(usage.get("n_encoded", 0)),
        "n_splits": sum(1 for t in model.trees_ for c in t.left if c >= 0),
        "mean_phrases_per_split": round(
            float(np.mean([len(ps) for ps in model.phrase_sets()] or [0])), 2
        ),
    }
    return row, model


def run_dataset(name: str, context: str, quick: bool, store: SqliteStore) -> dict[str, Any]:
    ds = load(name)
    if quick:
        ds = ds.subset(600, 300)
    lm = LocalCausalLM("SmolLM2-135M-Instruct", cache=store, progress=False)
    encoder = get_encoder("all-MiniLM-L6-v2", cache=store, progress=False)
    depths = (3,) if quick else DEPTHS
    out: dict[str, Any] = {
        "n_train": len(ds.X_train),
        "n_test": len(ds.X_test),
        "n_classes": len(np.unique(ds.y_train)),
        "context": context,
        "by_depth": {},
    }
    example = ""
    for depth in depths:
        rows: dict[str, Any] = {"cart": run_cart(ds, depth)}
        for method in METHODS:
            row, model = run_tree(ds, depth, method, context, lm, encoder)
            rows[method] = row
            log(f"{name} depth {depth} {method}: {row}")
            if method == "llm" and depth == depths[0]:
                warm, _ = run_tree(ds, depth, method, context, lm, encoder)
                out["llm_cold_fit"] = {k: row[k] for k in ("fit_seconds", "lm_calls", "n_splits")}
                out["llm_warm_fit"] = {k: warm[k] for k in ("fit_seconds", "lm_calls", "n_splits")}
                log(f"{name} warm refit: {out['llm_warm_fit']}")
            if method == "llm" and depth == 3:
                example = model.export_text(max_phrases=6)
        log(f"{name} depth {depth} cart: {rows['cart']}")
        out["by_depth"][str(depth)] = rows
    out["example_llm_tree_depth3"] = example
    return out


def summarise(results: dict[str, Any]) -> None:
    """AUC table, gains over CART per method, and the best method's mean gain."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    gains: dict[str, list[float]] = {m: [] for m in METHODS}
    for name, ds in results["datasets"].items():
        table[name] = {}
        for depth, rows in ds["by_depth"].items():
            table[name][depth] = {m: rows[m]["auc"] for m in ("cart", *METHODS)}
            for m in METHODS:
                gains[m].append(rows[m]["auc"] - rows["cart"]["auc"])
    mean_gain = {m: round(100 * float(np.mean(g)), 2) for m, g in gains.items() if g}
    best = max(mean_gain, key=lambda m: mean_gain[m])
    results["auc"] = table
    results["mean_auc_gain_vs_cart_by_method_points"] = mean_gain
    results["best_method"] = best
    results["mean_auc_gain_vs_cart"] = mean_gain[best]
    results["target_met_2_points"] = bool(mean_gain[best] >= 2.0)
    results["warm_cache_lm_calls"] = sum(
        ds.get("llm_warm_fit", {}).get("lm_calls", 0) for ds in results["datasets"].values()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, depth 3 only")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "augtree.json"))
    args = parser.parse_args()

    cache_dir = REPO / ".bench" / "augtree-cache"
    shutil.rmtree(cache_dir, ignore_errors=True)  # cold: this run computes every expansion
    cache_dir.mkdir(parents=True)
    store = SqliteStore(cache_dir / "cache.sqlite")
    results: dict[str, Any] = {
        "benchmark": "augtree",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "settings": {
            **{k: list(v) if isinstance(v, tuple) else v for k, v in SETTINGS.items()},
            "lm": "SmolLM2-135M-Instruct (packaged, fp32, greedy)",
            "encoder": "all-MiniLM-L6-v2",
            "auc": "ROC AUC on the test split; macro one-vs-rest for reuters_r8 (8 classes)",
            "mean_auc_gain_vs_cart": "points (x100), mean over datasets and depths, best method",
            "quick": args.quick,
        },
        "datasets": {},
    }
    started = time.perf_counter()
    for name in args.datasets.split(","):
        results["datasets"][name] = run_dataset(name, DATASETS[name], args.quick, store)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    summarise(results)
    text = json.dumps(results, indent=2)
    print(text)
    out = Path(args.out)
    if not args.quick or args.out != parser.get_default("out"):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
