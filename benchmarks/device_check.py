"""Device check: Aug-Linear fitted on the CPU and on a GPU gives the same table.

On a machine with a GPU (CUDA, or Apple's MPS), embeds the 1- and 2-gram
vocabulary of Rotten Tomatoes training texts with ``all-MiniLM-L6-v2`` on the
CPU and on the GPU (each at its ``precision="auto"``: float32 or bf16 on the
CPU, bf16 or fp16 on a CUDA GPU, float32 on MPS; or ``--precision``), timing
each uncached pass (n-grams per second), then fits ``AugLinearClassifier``
(defaults) on each device from those vectors and checks that the two agree
within the tolerance of the lower of the two precisions:

- the n-gram vectors (cosine between the CPU's and the GPU's),
- the fitted tables (correlation of ``coef_table_``, largest difference
  relative to the table's spread),
- the test predictions (share of the 1,000 test texts given the same class)
  and the test accuracies.

    python benchmarks/device_check.py                 # 2,000 training texts
    python benchmarks/device_check.py --quick         # 300 / 200 texts, under a minute

On a CPU-only machine it says so and exits 0 (nothing is written), except with
``--quick``, which then compares the CPU with itself (a smoke test of this script,
``"smoke_test": true`` in the file); ``--device cpu`` does the same at full size.
On a GPU machine it writes ``benchmarks/results/device_check.json`` whole
(``--out`` to change) with the run record of ``harness.py``; the exit code is 1 if
a check fails. Test accuracies carry a 95% bootstrap interval over test texts and
the CPU-GPU difference a paired interval with McNemar's p.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import harness

ENCODER = "all-MiniLM-L6-v2"
NGRAM_RANGE = (1, 2)

#: What "agree" means for the lower precision of the two runs. float32 on both
#: sides differs only by the order of floating-point sums (kernels differ);
#: bf16 keeps 8 significant bits and fp16 11, so vectors and tables move more.
#: Set from what the CPU measured (benchmarks/results/embedding_speed.json:
#: MiniLM bf16 against fp32, min cosine 0.99976 over 33k n-grams) with room
#: for GPU kernels; not yet confirmed on a GPU (this project's machine has none).
TOLERANCES: dict[str, dict[str, float]] = {
    "fp32": {"min_cosine": 0.99999, "table_correlation": 0.999, "prediction_agreement": 0.99},
    "fp16": {"min_cosine": 0.9995, "table_correlation": 0.99, "prediction_agreement": 0.98},
    "bf16": {"min_cosine": 0.999, "table_correlation": 0.98, "prediction_agreement": 0.97},
}
SCHEMA = (
    "benchmark",
    "smoke_test",
    "encoder",
    "dataset",
    "n_train",
    "n_test",
    "n_ngrams",
    "cpu",
    "gpu",
    "gpu_vs_cpu_speed_ratio",
    "tolerance_of",
    "ngram_cosine_mean",
    "ngram_cosine_min",
    "table_correlation",
    "table_max_abs_diff_over_std",
    "prediction_agreement",
    "test_accuracy_cpu",
    "test_accuracy_gpu",
    "gpu_minus_cpu_accuracy",
    "tolerances",
    "checks",
    "agree",
)
ACCURACY_TOLERANCE = 0.015  # test accuracies within 1.5 points
_RANK = {"fp32": 0, "fp16": 1, "bf16": 2}  # larger: less exact


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[device_check {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def find_gpu(requested: str) -> str | None:
    """The GPU to compare with the CPU, or None on a CPU-only machine."""
    try:
        import torch
    except ImportError:
        return None
    if requested != "auto":
        from glasstext.backends.devices import resolve_device

        return resolve_device(requested)
    if torch.cuda.is_available():
        return "cuda:0"
    if torch.backends.mps.is_available():
        return "mps"
    return None


def gpu_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return str(torch.cuda.get_device_name(int(device.partition(":")[2] or 0)))
    return device


def vocabulary(texts: list[str]) -> list[str]:
    """The n-grams Aug-Linear embeds when it fits on ``texts`` (each once)."""
    from glasstext.text import NgramVocabulary, ngrams_of_tokens, tokenize

    docs = [ngrams_of_tokens(tokenize(t), NGRAM_RANGE) for t in texts]
    return list(NgramVocabulary.from_documents(docs, 1).ngrams)


def embed(device: str, precision: str, ngrams: list[str], store: Any) -> dict[str, Any]:
    """One uncached pass (timed) whose vectors go to ``store`` for the fit that follows."""
    from glasstext import Encoder

    encoder = Encoder(ENCODER, precision=precision, device=device, cache=store)
    encoder.encode(ngrams[:256])  # load and warm up (CUDA kernels, allocator)
    n0, seconds0 = encoder.n_encoded, encoder.forward_seconds
    start = time.perf_counter()
    vectors = encoder.encode(ngrams)  # the rest: one uncached pass, batch by batch
    wall = time.perf_counter() - start
    n_new, forward = encoder.n_encoded - n0, encoder.forward_seconds - seconds0
    return {
        "device": getattr(encoder, "device_", encoder.device),
        "precision": getattr(encoder, "precision_", encoder.precision),
        "vectors": vectors,
        "ngrams_per_s": round(n_new / forward, 1) if forward > 0 else None,
        "wall_seconds": round(wall, 2),
    }


def fit(device: str, precision: str, store: Any, ds: Any) -> Any:
    from glasstext import AugLinearClassifier, Encoder

    encoder = Encoder(ENCODER, precision=precision, device=device, cache=store)
    model = AugLinearClassifier(encoder=encoder, ngram_range=NGRAM_RANGE, progress=False)
    return model.fit(ds.X_train, ds.y_train)


def compare(cpu: dict[str, Any], gpu: dict[str, Any], ds: Any) -> dict[str, Any]:
    """The agreement figures and, per figure, whether it is within tolerance."""
    a, b = cpu["vectors"].astype(np.float64), gpu["vectors"].astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    ta, tb = cpu["model"].coef_table_.ravel(), gpu["model"].coef_table_.ravel()
    pa, pb = cpu["model"].predict(ds.X_test), gpu["model"].predict(ds.X_test)
    acc_a = float(np.mean(pa == ds.y_test))
    acc_b = float(np.mean(pb == ds.y_test))
    lower = max(cpu["precision"], gpu["precision"], key=lambda p: _RANK.get(p, 3))
    tol = TOLERANCES.get(lower, TOLERANCES["bf16"])
    figures = {
        "tolerance_of": lower,
        "ngram_cosine_mean": round(float(cos.mean()), 6),
        "ngram_cosine_min": round(float(cos.min()), 6),
        "table_correlation": round(float(np.corrcoef(ta, tb)[0, 1]), 6),
        "table_max_abs_diff_over_std": round(float(np.abs(ta - tb).max() / ta.std()), 4),
        "prediction_agreement": round(float(np.mean(pa == pb)), 4),
        "test_accuracy_cpu": harness.accuracy(ds.y_test, pa),
        "test_accuracy_gpu": harness.accuracy(ds.y_test, pb),
        "gpu_minus_cpu_accuracy": harness.paired_accuracy_difference(ds.y_test, pb, pa),
    }
    checks = {
        "ngram_cosine_min": figures["ngram_cosine_min"] >= tol["min_cosine"],
        "table_correlation": figures["table_correlation"] >= tol["table_correlation"],
        "prediction_agreement": figures["prediction_agreement"] >= tol["prediction_agreement"],
        "test_accuracy": abs(acc_a - acc_b) <= ACCURACY_TOLERANCE,
    }
    return {**figures, "tolerances": tol, "checks": checks, "agree": all(checks.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="GPU to compare (default: the first)")
    parser.add_argument("--precision", default="auto", help="precision on both devices")
    parser.add_argument("--n-train", type=int, default=2000, help="Rotten Tomatoes texts")
    parser.add_argument("--n-test", type=int, default=1000, help="test texts")
    harness.add_common_arguments(parser, harness.RESULTS / "device_check.json")
    args = parser.parse_args(argv)
    run_record = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    if args.quick:
        args.n_train, args.n_test = 300, 200

    gpu = find_gpu(args.device)
    if gpu is None and args.quick:
        gpu = "cpu"
    if gpu is None or (gpu == "cpu" and args.device == "auto" and not args.quick):
        print(
            "device_check: no GPU on this machine (torch sees no CUDA device and no MPS); "
            "nothing to compare, skipped.",
            file=sys.stderr,
        )
        return 0

    from glasstext import UnseenNgramWarning
    from glasstext.backends.cache import SqliteStore
    from glasstext.datasets import load

    ds = load("rotten_tomatoes").subset(args.n_train, args.n_test)
    ngrams = vocabulary(list(ds.X_train))
    log(f"{len(ngrams)} n-grams of {len(ds.X_train)} texts; CPU and {gpu}")
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, device in (("cpu", "cpu"), ("gpu", gpu)):
            store = SqliteStore(Path(tmp) / f"{name}.sqlite")  # one cache per device
            run = embed(device, args.precision, ngrams, store)
            log(f"{name}: {run['precision']} on {run['device']}, {run['ngrams_per_s']} n-grams/s")
            run["model"] = fit(device, args.precision, store, ds)
            runs[name] = run
            store.close()
        with warnings.catch_warnings():  # unseen test n-grams: the same on both devices
            warnings.simplefilter("ignore", UnseenNgramWarning)
            agreement = compare(runs["cpu"], runs["gpu"], ds)
    cpu_rate, gpu_rate = runs["cpu"]["ngrams_per_s"], runs["gpu"]["ngrams_per_s"]
    result = {
        "benchmark": "device_check",
        "smoke_test": gpu == "cpu",
        "encoder": ENCODER,
        "dataset": "rotten_tomatoes",
        "n_train": len(ds.X_train),
        "n_test": len(ds.X_test),
        "n_ngrams": len(ngrams),
        "cpu": {
            "precision": runs["cpu"]["precision"],
            "ngrams_per_s": cpu_rate,
            "processor": platform.processor() or platform.machine(),
        },
        "gpu": {
            "device": gpu,
            "name": gpu_name(gpu),
            "precision": runs["gpu"]["precision"],
            "ngrams_per_s": gpu_rate,
        },
        "gpu_vs_cpu_speed_ratio": round(gpu_rate / cpu_rate, 1) if cpu_rate and gpu_rate else None,
        **agreement,
    }
    print(harness.write_result(args.out, run_record, result))
    return 0 if agreement["agree"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
