"""Speed of the shared text utilities on 100k documents.

Tokenization + n-gram extraction + vocabulary + count matrix (the fit-time
path) and the vectorised occurrence lookup (the table-only predict path), on
100,000 documents made by cycling the Rotten Tomatoes snippets.

    python benchmarks/text_ngrams.py           # ~1 min; writes benchmarks/results/text_ngrams.json
    python benchmarks/text_ngrams.py --quick   # 5,000 documents
"""

from __future__ import annotations

import argparse
import sys
import time

import harness
from glasstext.datasets import load
from glasstext.text import NgramIndex, NgramVocabulary, ngrams_of_tokens, tokenize

N_DOCS = 100_000
SCHEMA = (
    "benchmark",
    "n_docs",
    "tokenize_and_ngrams_seconds",
    "vocabulary_and_counts_seconds",
    "n_unique_ngrams",
    "n_ngram_occurrences",
    "vectorised_lookup_seconds",
    "vectorised_lookup_docs_per_s",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, harness.RESULTS / "text_ngrams.json")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    n_docs = 5_000 if args.quick else N_DOCS
    ds = load("rotten_tomatoes")
    base = list(ds.X_train) + list(ds.X_test)
    docs = [base[i % len(base)] for i in range(n_docs)]
    results: dict[str, str | float | int] = {"benchmark": "text_ngrams", "n_docs": n_docs}

    start = time.perf_counter()
    grams = [ngrams_of_tokens(tokenize(t), (1, 2)) for t in docs]
    results["tokenize_and_ngrams_seconds"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    vocab = NgramVocabulary.from_documents(grams)
    counts, _ = vocab.count_matrix(grams)
    results["vocabulary_and_counts_seconds"] = round(time.perf_counter() - start, 2)
    results["n_unique_ngrams"] = len(vocab)
    results["n_ngram_occurrences"] = int(counts.sum())

    index = NgramIndex(vocab.ngrams)
    start = time.perf_counter()
    occ = index.occurrences(docs, (1, 2))
    seconds = time.perf_counter() - start
    results["vectorised_lookup_seconds"] = round(seconds, 2)
    results["vectorised_lookup_docs_per_s"] = round(n_docs / seconds)
    assert len(occ.row) == results["n_ngram_occurrences"]

    print(harness.write_result(args.out, run, results))


if __name__ == "__main__":
    main()
