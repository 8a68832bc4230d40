"""Aug-Tree benchmark: test ROC AUC against the tree a user would fit with scikit-learn.

The bar (``cart``) is what a user runs without tuning:
``CountVectorizer(ngram_range=(1, 2), binary=True)`` +
``DecisionTreeClassifier(max_depth=d, random_state=0)``, every other setting
at its default. ``cart_constrained`` is the old comparison, kept as a second
column: the same tree restricted to Aug-Tree's former candidates (the 20,000
most frequent 1–2-grams in >= 3 texts, stop-word-only n-grams dropped,
``min_samples_leaf=5``).

Aug-Tree is fitted with its defaults (``random_state=0``) and:

- ``none``: no expansion, a plain keyword tree;
- ``embedding`` (the default): expansions = nearest training n-grams by MiniLM
  similarity (``encoder=Encoder("all-MiniLM-L6-v2")``);
- ``llm`` (``--llm-depths``, default depths 2 and 3, on the 2,000-text subsets
  only: SmolLM2 on two shared cores costs seconds per keyword): phrases from the
  packaged SmolLM2-135M-Instruct.

Bagging: ``n_estimators`` bagged Aug-Trees against scikit-learn's
``RandomForestClassifier(n_estimators, max_depth, random_state=0)`` on the
``cart`` features (``--bag-depth``).

Datasets: Rotten Tomatoes, SMS spam (binary: ROC AUC), Reuters R8 and 20
Newsgroups (multiclass: macro one-vs-rest ROC AUC, ``roc_auc_score(...,
multi_class="ovr")``), at depths 2, 3, 5, 8, on 2,000-text training subsets
and the full training splits (20 Newsgroups' full split only with
``--full-20ng``). The test split is always the full one. Each ROC AUC and
accuracy carries a 95% bootstrap interval over test texts; each Aug-Tree method
against ``cart`` at the same depth a paired bootstrap interval of the AUC
difference (``within_noise`` when it covers 0). The headline target is the
default expansion's mean gain; the method best on test is shown only as an
oracle (``oracle_best_method``), never in a target.

    python benchmarks/augtree.py                 # everything (~40 min on 2 cores, empty cache)
    python benchmarks/augtree.py --quick         # RT and R8, 300 / 200 texts, depth 3

Writes ``benchmarks/results/augtree.json`` whole (``harness.write_result``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.tree import DecisionTreeClassifier

import harness
from glasstext import AugTreeClassifier, Encoder
from glasstext.backends.cache import SqliteStore
from glasstext.backends.runtime import blas_threads
from glasstext.datasets import TextDataset, load
from glasstext.models.augtree import candidate_keywords
from glasstext.text import PhraseMatcher

DEFAULT_EXPANSION = "embedding"
SCHEMA = (
    "benchmark",
    "settings",
    "datasets",
    "summary_subset_2000",
    "summary_full",
    "oracle_best_method",
    "default_expansion",
    "mean_auc_gain_vs_sklearn_cart",
    "target_met",
)
DATASETS = {
    "rotten_tomatoes": "movie reviews",
    "sms_spam": "SMS text messages",
    "reuters_r8": "business news",
    "20newsgroups": "newsgroup posts",
}
DEPTHS = (2, 3, 5, 8)
SUBSET = 2000
N_TREES = 10


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def full_proba(model: Any, X: Any, n_classes: int) -> np.ndarray:
    """Class probabilities with one column per class of the dataset (a class missing
    from a training subset gets a column of zeros)."""
    proba = np.asarray(model.predict_proba(X), dtype=float)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(model.classes_, dtype=int)] = proba
    return full


def present(y: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probability columns of the classes present in ``y`` only (a small test
    subset may lack a class, whose one-vs-rest AUC is undefined), labels renumbered."""
    classes = np.unique(y)
    return np.searchsorted(classes, y), proba[:, classes]


def score(model: Any, X: Any, ds: TextDataset, seconds: float) -> dict[str, Any]:
    """ROC AUC (macro one-vs-rest for several classes) and accuracy, each with a 95%
    bootstrap interval over test texts; the probabilities kept for paired differences."""
    proba = full_proba(model, X, len(ds.target_names))
    return {
        "auc": harness.auc(*present(ds.y_test, proba)),
        "accuracy": harness.accuracy(ds.y_test, np.argmax(proba, axis=1)),
        "fit_seconds": round(seconds, 2),
        "_proba": proba,
    }


def with_differences(
    rows: dict[str, Any], y: np.ndarray, reference: str = "cart"
) -> dict[str, Any]:
    """Each Aug-Tree method minus ``reference`` (``auc_minus_<reference>``): a paired
    bootstrap interval of the AUC difference; the probabilities dropped."""
    ref = rows[reference]["_proba"]
    for method, row in rows.items():
        if method not in (reference, "cart_constrained"):
            labels, mine = present(y, row["_proba"])
            row[f"auc_minus_{reference}"] = harness.paired_auc_difference(
                labels, mine, present(y, ref)[1]
            )
    for row in rows.values():
        row.pop("_proba")
    return rows


class Features:
    """The features of the scikit-learn side, built once per dataset and size."""

    def __init__(self, ds: TextDataset) -> None:
        self.vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True)
        start = time.perf_counter()
        self.train = self.vectorizer.fit_transform(ds.X_train)
        self.seconds = time.perf_counter() - start
        self.test = self.vectorizer.transform(ds.X_test)
        vocabulary = candidate_keywords(
            ds.X_train, (1, 2), 3, 20_000, frozenset(ENGLISH_STOP_WORDS)
        )
        matcher = PhraseMatcher(vocabulary)
        self.constrained_train = matcher.matrix(ds.X_train)
        self.constrained_test = matcher.matrix(ds.X_test)


def run_sklearn(model: Any, train: Any, test: Any, ds: TextDataset, extra: float) -> dict[str, Any]:
    start = time.perf_counter()
    with blas_threads(1):
        model.fit(train, ds.y_train)
    return score(model, test, ds, time.perf_counter() - start + extra)


def run_tree(ds: TextDataset, **params: Any) -> tuple[dict[str, Any], AugTreeClassifier]:
    model = AugTreeClassifier(random_state=0, progress=False, **params)
    start = time.perf_counter()
    model.fit(ds.X_train, ds.y_train)
    row = score(model, ds.X_test, ds, time.perf_counter() - start)
    usage = model.expansion_usage_
    row.update(
        lm_calls=int(usage.get("n_generate_calls", 0)),
        texts_encoded=int(usage.get("n_encoded", 0)),
        n_splits=sum(1 for t in model.trees_ for c in t.left if c >= 0),
        mean_phrases_per_split=round(
            float(np.mean([len(ps) for ps in model.phrase_sets()] or [0])), 2
        ),
    )
    return row, model


def run_size(
    ds: TextDataset, context: str, args: argparse.Namespace, store: SqliteStore, subset: bool
) -> dict[str, Any]:
    feats = Features(ds)
    # A path, not the store: the encoder is cloned with settings (a store does not deepcopy).
    encoder = Encoder("all-MiniLM-L6-v2", cache=str(store.path))
    lm = None
    if subset and args.llm_depths:
        from glasstext.backends.lm import LocalCausalLM

        lm = LocalCausalLM("SmolLM2-135M-Instruct", cache=store, progress=False)
    out: dict[str, Any] = {
        "n_train": len(ds.X_train),
        "n_test": len(ds.X_test),
        "n_classes": len(np.unique(ds.y_train)),
        "by_depth": {},
    }
    depths = (3,) if args.quick else DEPTHS
    llm_depths = {int(d) for d in args.llm_depths.split(",") if d} if subset else set()
    example = ""
    for depth in depths:
        rows: dict[str, Any] = {
            "cart": run_sklearn(
                DecisionTreeClassifier(max_depth=depth, random_state=0),
                feats.train,
                feats.test,
                ds,
                feats.seconds,
            ),
            "cart_constrained": run_sklearn(
                DecisionTreeClassifier(max_depth=depth, min_samples_leaf=5, random_state=0),
                feats.constrained_train,
                feats.constrained_test,
                ds,
                0.0,
            ),
        }
        rows["none"], _ = run_tree(ds, max_depth=depth, expansion="none")
        rows["embedding"], model = run_tree(
            ds, max_depth=depth, expansion="embedding", encoder=encoder
        )
        if depth == 3:
            example = model.export_text(max_phrases=6)
        if depth in llm_depths and lm is not None:
            rows["llm"], _ = run_tree(ds, max_depth=depth, expansion="llm", lm=lm, context=context)
            rows["llm+embedding"], _ = run_tree(
                ds,
                max_depth=depth,
                expansion="llm+embedding",
                lm=lm,
                encoder=encoder,
                context=context,
            )
        rows = with_differences(rows, ds.y_test)
        for method, row in rows.items():
            log(f"{ds.name} n={len(ds.X_train)} depth {depth} {method}: {row}")
        out["by_depth"][str(depth)] = rows
    out["example_embedding_tree_depth3"] = example
    if args.bag_depth and subset:
        depth = args.bag_depth
        bag = {
            "random_forest": run_sklearn(
                RandomForestClassifier(n_estimators=N_TREES, max_depth=depth, random_state=0),
                feats.train,
                feats.test,
                ds,
                feats.seconds,
            )
        }
        bag["bagged_none"], _ = run_tree(
            ds, max_depth=depth, expansion="none", n_estimators=N_TREES
        )
        bag["bagged_embedding"], _ = run_tree(
            ds, max_depth=depth, expansion="embedding", encoder=encoder, n_estimators=N_TREES
        )
        bag = with_differences(bag, ds.y_test, reference="random_forest")
        log(f"{ds.name} bagging depth {depth}: {bag}")
        out["bagging"] = {"n_estimators": N_TREES, "max_depth": depth, **bag}
    return out


def summarise(results: dict[str, Any]) -> None:
    """Gains over default CART per method (mean over datasets and depths 2-5), worst case."""
    for size in ("subset_2000", "full"):
        gains: dict[str, list[float]] = {}
        worst: dict[str, float] = {}
        for ds in results["datasets"].values():
            if size not in ds:
                continue
            for depth, rows in ds[size]["by_depth"].items():
                if int(depth) > 5:
                    continue
                for method, row in rows.items():
                    if method == "cart":
                        continue
                    gain = 100 * (row["auc"]["value"] - rows["cart"]["auc"]["value"])
                    gains.setdefault(method, []).append(gain)
                    worst[method] = min(worst.get(method, np.inf), gain)
        if not gains:
            results[f"summary_{size}"] = None  # that size was not run
            continue
        mean = {m: round(float(np.mean(g)), 2) for m, g in gains.items()}
        # The method best on test, among those run at every depth: an oracle, not a choice.
        tree_methods = [m for m in mean if m in ("none", "embedding")]
        oracle = max(tree_methods, key=lambda m: mean[m])
        results[f"summary_{size}"] = {
            "mean_auc_gain_vs_sklearn_cart_points": mean,
            "worst_gain_at_depth_le_5_points": {m: round(w, 2) for m, w in worst.items()},
            "n_comparisons": {m: len(g) for m, g in gains.items()},
            "oracle_best_method": oracle,
        }
    headline = results.get("summary_subset_2000") or results.get("summary_full") or {}
    if headline:
        # The target is the default's (no choice made on test); the oracle is shown apart.
        results["oracle_best_method"] = headline["oracle_best_method"]
        results["default_expansion"] = DEFAULT_EXPANSION
        gain = headline["mean_auc_gain_vs_sklearn_cart_points"][DEFAULT_EXPANSION]
        results["mean_auc_gain_vs_sklearn_cart"] = gain
        results["target_met"] = bool(
            gain >= 2.0 and headline["worst_gain_at_depth_le_5_points"][DEFAULT_EXPANSION] >= 0.0
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, harness.RESULTS / "augtree.json")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--sizes", default="subset,full", help="subset, full or both")
    parser.add_argument("--full-20ng", action="store_true", help="also 20 Newsgroups' full split")
    parser.add_argument(
        "--llm-depths", default="2,3", help="depths for expansion='llm' ('' for none)"
    )
    parser.add_argument("--bag-depth", type=int, default=5, help="0: no bagging comparison")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    if args.quick:
        args.datasets, args.bag_depth, args.llm_depths = "rotten_tomatoes,reuters_r8", 2, ""

    results: dict[str, Any] = {
        "benchmark": "augtree",
        "settings": {
            "cart": "CountVectorizer(ngram_range=(1, 2), binary=True) + "
            "DecisionTreeClassifier(max_depth=d, random_state=0), other settings default",
            "cart_constrained": "20,000 most frequent 1-2-grams in >= 3 texts, stop-word-only "
            "n-grams dropped, min_samples_leaf=5",
            "augtree": "AugTreeClassifier(max_depth=d, expansion=..., random_state=0), "
            "other settings default",
            "random_forest": f"RandomForestClassifier(n_estimators={N_TREES}, max_depth=d, "
            "random_state=0) on the cart features; bagged Aug-Trees: n_estimators="
            f"{N_TREES}",
            "lm": "SmolLM2-135M-Instruct (packaged, fp32, greedy)",
            "encoder": "all-MiniLM-L6-v2",
            "cache": "empty at start (a temporary SQLite store shared by this run's models)",
            "auc": "ROC AUC on the full test split; macro one-vs-rest for reuters_r8 and "
            "20newsgroups; 95% bootstrap intervals over test texts (stratified)",
            "mean_auc_gain_vs_sklearn_cart": "points (x100), the default expansion, mean over "
            "datasets and depths 2-5, 2,000-text training subsets",
            "quick": args.quick,
        },
        "datasets": {},
    }
    sizes = args.sizes.split(",")
    names = args.datasets.split(",")
    plan = [(name, "subset_2000") for name in names] if args.quick or "subset" in sizes else []
    if not args.quick and "full" in sizes:
        plan += [(n, "full") for n in names if n != "20newsgroups" or args.full_20ng]
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "cache.sqlite")
        for name, size in plan:
            full = load(name)
            if args.quick:
                ds = full.subset(300, 200)
            else:
                ds = full.subset(SUBSET, None) if size == "subset_2000" else full
            entry = results["datasets"].setdefault(name, {"context": DATASETS[name]})
            entry[size] = run_size(ds, DATASETS[name], args, store, size == "subset_2000")
    summarise(results)
    log(f"wrote {harness.write_result(args.out, run, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
