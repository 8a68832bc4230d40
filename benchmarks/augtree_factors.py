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
(macro one-vs-rest for R8 and 20 Newsgroups).

    python benchmarks/augtree_factors.py   # ~5 min on 2 cores

Writes ``benchmarks/results/augtree_factors.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

from glasstext.backends.runtime import blas_threads
from glasstext.datasets import load
from glasstext.text import SPLIT_WORD_PATTERN, tokenize

REPO = Path(__file__).resolve().parent.parent
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


def auc(proba: np.ndarray, y: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro"))


def fit_score(ds: Any, depth: int, variant: dict[str, Any]) -> float:
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
    return round(auc(tree.predict_proba(test), ds.y_test), 4)


def main() -> int:
    out: dict[str, Any] = {"benchmark": "augtree_factors", "date": time.strftime("%Y-%m-%d")}
    for name in ("rotten_tomatoes", "sms_spam", "reuters_r8", "20newsgroups"):
        ds = load(name).subset(2000, 2000 if name == "20newsgroups" else None)
        rows = {}
        for depth in (2, 3, 5):
            rows[str(depth)] = {v: fit_score(ds, depth, spec) for v, spec in VARIANTS.items()}
            print(name, depth, rows[str(depth)], flush=True)
        out[name] = rows
    path = REPO / "benchmarks" / "results" / "augtree_factors.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
