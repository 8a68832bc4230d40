"""Embedding speed: n-grams per second of MiniLM at each precision, and what it costs.

Embeds the unique 1- and 2-grams of 2,000 Rotten Tomatoes training texts (the
vocabulary Aug-Linear embeds when it fits on them) with ``all-MiniLM-L6-v2``
at ``fp32``, ``bf16`` and ``int8``, side by side in one run, with the cache
disabled (``cache=False``): every n-gram goes through a forward pass. The
precisions take turns, round after round, so a change in the machine's load
falls on all of them. Then, for each precision, the int8/bf16 vectors are
compared with the fp32 ones (cosine) and an ``AugLinearClassifier`` (defaults)
is fitted with an encoder of that precision and scored on the 1,000 test texts.

    python benchmarks/embedding_speed.py            # full run (~10 min on 2 cores)
    python benchmarks/embedding_speed.py --quick    # 100 texts, one round: a smoke test

Writes ``benchmarks/results/embedding_speed.json`` whole (``--out`` to change),
with the run record of ``harness.py``; test accuracies carry a 95% bootstrap
interval over test texts, and each precision against fp32 a paired interval
with McNemar's p. Rates are
wall-clock n-grams per second (what a user waits for) and n-grams per CPU
second of the process (less sensitive to other processes on a shared machine);
the load averages before and after are recorded with them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import harness
from glasstext import AugLinearClassifier, Encoder, UnseenNgramWarning
from glasstext.backends.cache import SqliteStore
from glasstext.backends.runtime import cpu_has_native_bf16, cpu_has_vnni, int8_activation_bits
from glasstext.datasets import load
from glasstext.text import NgramVocabulary, ngrams_of_tokens, tokenize

SCHEMA = (
    "benchmark",
    "encoder",
    "data",
    "n_ngrams",
    "rounds",
    "cache",
    "speed",
    "aug_linear",
    "target_ngrams_per_s",
    "target_met",
    "cpu_features",
)
ENCODER = "all-MiniLM-L6-v2"
PRECISIONS = ("fp32", "bf16", "int8")
NGRAM_RANGE = (1, 2)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def unique_ngrams(texts: list[str]) -> list[str]:
    """The n-grams Aug-Linear embeds when it fits on ``texts`` (each once)."""
    docs = [ngrams_of_tokens(tokenize(t), NGRAM_RANGE) for t in texts]
    return list(NgramVocabulary.from_documents(docs, 1).ngrams)


def timed_encode(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, float, float]:
    """Vectors, wall seconds and process CPU seconds of one uncached pass."""
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = encoder.encode(texts)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Row-wise cosine similarity between two embedding matrices, summarised."""
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {
        "mean": round(float(cos.mean()), 5),
        "p1": round(float(np.percentile(cos, 1)), 5),
        "min": round(float(cos.min()), 5),
    }


def speed(ngrams: list[str], rounds: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Each precision embeds every n-gram ``rounds`` times, taking turns."""
    encoders, load_seconds = {}, {}
    for p in PRECISIONS:
        start = time.perf_counter()
        encoders[p] = Encoder(ENCODER, precision=p, cache=False)
        encoders[p].encode(ngrams[:256])  # load, quantize and warm up
        load_seconds[p] = round(time.perf_counter() - start, 2)
    walls: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    cpus: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    vectors: dict[str, np.ndarray] = {}
    for r in range(rounds):
        turn = PRECISIONS[r % len(PRECISIONS) :] + PRECISIONS[: r % len(PRECISIONS)]
        for p in turn:
            vectors[p], wall, cpu = timed_encode(encoders[p], ngrams)
            walls[p].append(wall)
            cpus[p].append(cpu)
            log(f"round {r + 1} {p}: {len(ngrams) / wall:,.0f} n-grams/s (wall)")
    fp32_wall = statistics.median(walls["fp32"])
    out: dict[str, Any] = {}
    for p in PRECISIONS:
        wall = statistics.median(walls[p])
        out[p] = {
            "ngrams_per_s": round(len(ngrams) / wall),
            "ngrams_per_s_best": round(len(ngrams) / min(walls[p])),
            "ngrams_per_cpu_s": round(len(ngrams) / statistics.median(cpus[p])),
            "speedup_vs_fp32": round(fp32_wall / wall, 2),
            "wall_seconds": [round(w, 2) for w in walls[p]],
            "cpu_seconds": [round(c, 2) for c in cpus[p]],
            "load_and_warmup_seconds": load_seconds[p],
            "cosine_to_fp32": cosines(vectors[p], vectors["fp32"]),
        }
    return out, vectors


def accuracy(ds: Any, store_dir: Path) -> dict[str, Any]:
    """Aug-Linear (defaults) fitted with an encoder of each precision."""
    out: dict[str, Any] = {}
    predictions: dict[str, np.ndarray] = {}
    for p in PRECISIONS:
        store = SqliteStore(store_dir / f"{p}.sqlite")
        encoder = Encoder(ENCODER, precision=p, cache=store)
        start = time.perf_counter()
        model = AugLinearClassifier(encoder=encoder, progress=False).fit(ds.X_train, ds.y_train)
        fit_seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnseenNgramWarning)
            predictions[p] = np.asarray(model.predict(ds.X_test))
        loaded: Any = model._get_encoder()
        out[p] = {
            "test_accuracy": harness.accuracy(ds.y_test, predictions[p]),
            "fit_seconds": round(fit_seconds, 1),
            "ngrams_embedded_in_fit": loaded.n_encoded,
            "fit_embedding_ngrams_per_s": round(loaded.n_encoded / loaded.forward_seconds),
        }
        if p != "fp32":
            out[p]["minus_fp32"] = harness.paired_accuracy_difference(
                ds.y_test, predictions[p], predictions["fp32"]
            )
        log(f"Aug-Linear {p}: accuracy {out[p]['test_accuracy']}, fit {fit_seconds:.1f} s")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_common_arguments(parser, harness.RESULTS / "embedding_speed.json")
    parser.add_argument("--rounds", type=int, default=3, help="passes per precision")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    import torch

    n_train, n_test = (100, 100) if args.quick else (2000, 1000)
    rounds = 1 if args.quick else args.rounds
    ds = load("rotten_tomatoes").subset(n_train, n_test)
    ngrams = unique_ngrams(list(ds.X_train))
    log(f"{len(ngrams):,} unique n-grams")
    rates, _ = speed(ngrams, rounds)
    with tempfile.TemporaryDirectory() as tmp:
        acc = accuracy(ds, Path(tmp))
    result = {
        "benchmark": "embedding_speed",
        "encoder": ENCODER,
        "data": f"rotten_tomatoes subset({n_train}, {n_test}): unique 1-2-grams of train",
        "n_ngrams": len(ngrams),
        "rounds": rounds,
        "cache": False,
        "speed": rates,
        "aug_linear": acc,
        "target_ngrams_per_s": 3000,
        # Each precision's median rate against the 3,000 n-grams/s.
        "target_met": {p: r["ngrams_per_s"] >= 3000 for p, r in rates.items()},
        "cpu_features": {
            "torch_threads": torch.get_num_threads(),
            "native_bf16": cpu_has_native_bf16(),
            "avx512_vnni": cpu_has_vnni(),
            "int8_activation_bits": int8_activation_bits(),
        },
    }
    print(harness.write_result(args.out, run, result))


if __name__ == "__main__":
    main()
