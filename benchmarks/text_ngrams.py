"""Speed of the shared text utilities on 100k documents.

Tokenization + n-gram extraction + vocabulary + count matrix (the fit-time
path) and the vectorised occurrence lookup (the table-only predict path), on
100,000 documents made by cycling the Rotten Tomatoes snippets.

    python benchmarks/text_ngrams.py   # writes benchmarks/results/text_ngrams.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from glasstext.datasets import load
from glasstext.text import NgramIndex, NgramVocabulary, ngrams_of_tokens, tokenize

OUT = Path(__file__).resolve().parent / "results" / "text_ngrams.json"
N_DOCS = 100_000


def main() -> None:
    ds = load("rotten_tomatoes")
    base = list(ds.X_train) + list(ds.X_test)
    docs = [base[i % len(base)] for i in range(N_DOCS)]
    results: dict[str, float | int] = {"n_docs": N_DOCS}

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
    results["vectorised_lookup_docs_per_s"] = round(N_DOCS / seconds)
    assert len(occ.row) == results["n_ngram_occurrences"]

    text = json.dumps(results, indent=2)
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text + "\n")


if __name__ == "__main__":
    main()
