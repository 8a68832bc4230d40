"""Which of Aug-Tree's former constraints cost AUC against scikit-learn's default tree.

scikit-learn's default tree on ``CountVectorizer(ngram_range=(1, 2),
binary=True)`` features, then the same tree with one of Aug-Tree's former
settings at a time: ``min_samples_leaf=5``, ``min_df=3`` (or 2), the 20,000
most frequent n-grams, stop-word-only n-grams dropped (scikit-learn's English
list), the library tokenizer (``glasstext.text.tokenize``: "don't" and
"e-mail" kept whole, one-letter words kept), words split at every
non-letter-or-digit (Aug-Tree's new ``token_pattern``), entropy instead of
Gini, and all former constraints together. 2,000 training texts, full test
splits (20 Newsgroups: 2,000 test texts), depths 2, 3, 5; test ROC AUC
(macro one-vs-rest for R8 and 20 Newsgroups) with a 95% bootstrap interval over
test texts, and each setting against ``sklearn_defaults`` a paired interval of the
AUC difference (``within_noise`` when it covers 0).

    python benchmarks/augtree_factors.py           # ~8 min on 2 cores
    python benchmarks/augtree_factors.py --quick   # RT 300 / 200, depth 3

Writes ``benchmarks/results/augtree_factors.json`` whole (``harness.write_result``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.tree import DecisionTreeClassifier

import harness
from glasstext.backends.runtime import blas_threads
from glasstext.datasets import load
from glasstext.text import SPLIT_WORD_PATTERN, tokenize

DATASETS = ("rotten_tomatoes", "sms_spam", "reuters_r8", "20newsgroups")
SCHEMA = ("benchmark", "quick", "depths", "datasets")
LIBRARY_TOKENIZER = {"tokenizer": tokenize, "lowercase": False, "token_pattern": None}
VARIANTS: dict[str, dict[str, Any]] = {
    "sklearn_defaults": {},
    "min_samples_leaf_5": {"tree": {"min_samples_leaf": 5}},
    "min_df_3": {"vec": {"min_df": 3}},
    "min_df_2": {"vec": {"min_df": 2}},
    "max_features_20000": {"vec": {"max_features": 20_000}},
    "stop_word_ngrams_dropped": {"stop": True},
    "library_tokenizer": {"vec": LIBRARY_TOKENIZER},
    "split_words": {"vec": {"token_pattern": SPLIT_WORD_PATTERN}},
    "entropy": {"tree": {"criterion": "entropy"}},
    "all_former_constraints": {
        "vec": {**LIBRARY_TOKENIZER, "min_df": 3, "max_features": 20_000},
        "stop": True,
        "tree": {"min_samples_leaf": 5},
    },
}


def fit_proba(ds: Any, depth: int, variant: dict[str, Any]) -> np.ndarray:
    """The tree's test probabilities, one column per class of the dataset."""
    vec_args = variant.get("vec", {})
    vec = CountVectorizer(ngram_range=(1, 2), binary=True, **vec_args)
    vec.fit(ds.X_train)
    if variant.get("stop"):  # drop n-grams made only of stop words, as Aug-Tree did
        kept = sorted(
            g for g in vec.vocabulary_ if not all(w in ENGLISH_STOP_WORDS for w in g.split(" "))
        )
        rest = {k: v for k, v in vec_args.items() if k not in ("min_df", "max_features")}
        vec = CountVectorizer(ngram_range=(1, 2), binary=True, vocabulary=kept, **rest)
    train, test = vec.transform(ds.X_train), vec.transform(ds.X_test)
    with blas_threads(1):
        tree = DecisionTreeClassifier(max_depth=depth, random_state=0, **variant.get("tree", {}))
        tree.fit(train, ds.y_train)
    proba = np.zeros((len(ds.X_test), len(ds.target_names)))
    proba[:, tree.classes_.astype(int)] = tree.predict_proba(test)
    return proba


def depth_rows(ds: Any, depth: int) -> dict[str, Any]:
    """Every setting's AUC, and its paired difference from scikit-learn's defaults."""
    probas = {v: fit_proba(ds, depth, spec) for v, spec in VARIANTS.items()}
    base = probas["sklearn_defaults"]
    rows: dict[str, Any] = {}
    for v, proba in probas.items():
        rows[v] = {"auc": harness.auc(ds.y_test, proba)}
        if v != "sklearn_defaults":
            rows[v]["minus_sklearn_defaults"] = harness.paired_auc_difference(
                ds.y_test, proba, base
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, harness.RESULTS / "augtree_factors.json")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    names = DATASETS[:1] if args.quick else DATASETS
    depths = (3,) if args.quick else (2, 3, 5)
    datasets: dict[str, Any] = {}
    for name in names:
        full = load(name)
        if args.quick:
            ds = full.subset(300, 200)
        else:
            ds = full.subset(2000, 2000 if name == "20newsgroups" else None)
        datasets[name] = {str(depth): depth_rows(ds, depth) for depth in depths}
        print(name, file=sys.stderr, flush=True)
    out = {"benchmark": "augtree_factors", "quick": args.quick, "depths": list(depths)}
    print(harness.write_result(args.out, run, {**out, "datasets": datasets}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
