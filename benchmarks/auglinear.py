"""Aug-Linear benchmark: accuracy, fit time and inference speed.

Compares glasstext's default Aug-Linear (the hybrid table) with imodelsX
1.0.14's ``AugLinearClassifier`` (same MiniLM folder, same 2,000 / 1,000
Rotten Tomatoes split, run in its own virtual environment in the same run):
fit time, embeddings computed, accuracy, and table-only inference speed and
memory. Accuracy against TF-IDF and the other baselines, on five splits, is
``benchmarks/auglinear_accuracy.py``.

    python benchmarks/auglinear.py             # full run (~20-30 min on 2 cores)
    python benchmarks/auglinear.py --quick     # small data, no peer: under a minute
    python benchmarks/auglinear.py --skip-peer # without imodelsX

Writes ``benchmarks/results/auglinear.json`` whole (``--out`` to change), with the
run record of ``harness.py``. Every figure is measured in this run, from an empty
cache; accuracies carry a 95% bootstrap interval over test texts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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
from glasstext.backends.registry import resolve_model
from glasstext.datasets import TextDataset, load
from glasstext.text import extract_ngrams

REPO = Path(__file__).resolve().parent.parent
PEER_SETUP = REPO / "benchmarks" / "peer" / "setup_imodelsx.sh"
PEER_SCRIPT = REPO / "benchmarks" / "peer" / "imodelsx_auglinear.py"
PEER_PYTHON = REPO / ".bench" / "imodelsx-venv" / "bin" / "python"
ENCODER = "all-MiniLM-L6-v2"
NGRAM_RANGE = (1, 2)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


SCHEMA = (
    "benchmark",
    "settings",
    "rt_2000_1000",
    "ngram_embeddings_per_s",
    "inference",
    "table_vs_encoder_docs_per_s_ratio",
    "table_vs_encoder_whole_text_docs_per_s_ratio",
    "size_and_memory",
)
# Only with the peer (not in --quick or --skip-peer runs).
PEER_KEYS = (
    "cold_fit_speedup_vs_imodelsx",
    "cold_fit_speedup_vs_imodelsx_our_imports_included",
    "warm_fit_speedup_vs_imodelsx",
    "peer_fit_seconds_used_for_speedup",
    "accuracy_vs_imodelsx",
)


def quiet_score(model: Any, X: list[str], y: Any) -> dict[str, Any]:
    """Test accuracy with its 95% bootstrap interval over test texts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        return harness.accuracy(y, model.predict(X))


def auglinear(store: Any, **settings: Any) -> AugLinearClassifier:
    """The default Aug-Linear on ``store`` (``settings`` beside the encoder's)."""
    encoder = Encoder(ENCODER, cache=store, **settings.pop("encoder", {}))
    return AugLinearClassifier(encoder=encoder, ngram_range=NGRAM_RANGE, progress=False, **settings)


# -- our fit, cold and warm ---------------------------------------------------------


def import_model_libraries() -> float:
    """Import torch and transformers; return the seconds it took.

    The imodelsX script imports its library (which imports both) before it
    starts its fit clock, so our cold fit is timed from the same point: model
    load included, library imports not (they are reported apart).
    """
    start = time.perf_counter()
    import torch  # noqa: F401
    from transformers import AutoModel, AutoTokenizer  # noqa: F401

    return time.perf_counter() - start


def fit_cold_and_warm(ds: TextDataset, store_dir: Path) -> dict[str, Any]:
    """Fit on a fresh cache (cold: model load + every n-gram embedded), then again (warm)."""
    import_seconds = import_model_libraries()
    store = SqliteStore(store_dir / "cache.sqlite")
    start = time.perf_counter()
    cold = auglinear(store)
    cold.fit(ds.X_train, ds.y_train)
    cold_seconds = time.perf_counter() - start
    encoder: Any = cold._get_encoder()
    n_cold, forward_cold = encoder.n_encoded, encoder.forward_seconds

    start = time.perf_counter()
    warm = auglinear(store)
    warm.fit(ds.X_train, ds.y_train)
    warm_seconds = time.perf_counter() - start
    warm_forward = encoder.n_encoded - n_cold
    same = bool(np.allclose(warm.coef_table_, cold.coef_table_))

    # The same cold fit in the other precision, to show what "auto" chose.
    precision = getattr(encoder, "precision_", encoder.precision)
    other = "fp32" if precision == "bf16" else "bf16"
    other_store = SqliteStore(store_dir / f"{other}.sqlite")
    start = time.perf_counter()
    alt = auglinear(other_store, encoder={"precision": other})
    alt.fit(ds.X_train, ds.y_train)
    alt_seconds = time.perf_counter() - start
    alt_encoder: Any = alt._get_encoder()

    embed_model = auglinear(store, unseen="embed").fit(ds.X_train, ds.y_train)
    return {
        "model": cold,
        "cold_fit_seconds": round(cold_seconds, 2),
        "import_seconds_torch_transformers": round(import_seconds, 2),
        "cold_fit_seconds_with_imports": round(cold_seconds + import_seconds, 2),
        "warm_fit_seconds": round(warm_seconds, 3),
        "ngrams_embedded_cold": n_cold,
        "forward_seconds_cold": round(forward_cold, 2),
        "ngram_embeddings_per_s": round(n_cold / forward_cold, 1),
        "ngram_embeddings_per_s_note": (
            "encoder wall seconds of the cold fit; the encoder's words run partly on one "
            "core beside the linear fit, so this is below the encoder's throughput "
            "(embedding_speed.py measures that with the machine to itself)"
        ),
        "forward_passes_warm": warm_forward,
        "warm_table_equals_cold": same,
        "accuracy_table_only": quiet_score(cold, ds.X_test, ds.y_test),
        "accuracy_unseen_embedded": quiet_score(embed_model, ds.X_test, ds.y_test),
        "unseen_test_ngrams": cold.unseen_report(ds.X_test).__dict__,
        "precision": precision,
        "other_precision": {
            "precision": other,
            "cold_fit_seconds": round(alt_seconds, 2),
            "ngram_embeddings_per_s": round(alt_encoder.n_encoded / alt_encoder.forward_seconds, 1),
            "accuracy_table_only": quiet_score(alt, ds.X_test, ds.y_test),
        },
    }


# -- the peer ---------------------------------------------------------------------


def run_peer(ds: TextDataset, blas_one: bool) -> dict[str, Any]:
    """imodelsX AugLinearClassifier on the same split, in its own venv."""
    if not PEER_PYTHON.exists():
        log("setting up the imodelsX environment (once)")
        subprocess.run(["bash", str(PEER_SETUP)], check=True)
    spec = {
        "X_train": ds.X_train,
        "y_train": ds.y_train.tolist(),
        "X_test": ds.X_test,
        "y_test": ds.y_test.tolist(),
        "ngrams": NGRAM_RANGE[1],
        "all_ngrams": NGRAM_RANGE[0] == 1,
        "model_path": resolve_model(ENCODER).path,
        "embed_test_ngrams": True,
    }
    env = dict(os.environ)
    if blas_one:
        env["OPENBLAS_NUM_THREADS"] = "1"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
    try:
        out = subprocess.run(
            [str(PEER_PYTHON), str(PEER_SCRIPT), fh.name],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(fh.name)
    if out.returncode != 0:
        raise RuntimeError(f"imodelsX run failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -- inference speed ----------------------------------------------------------------


def docs_per_second(fn: Any, texts: list[str], min_seconds: float = 2.0) -> float:
    """Throughput of ``fn(texts)``, repeating until ``min_seconds`` have passed."""
    fn(texts[:10])  # warm-up
    runs, start = 0, time.perf_counter()
    while True:
        fn(texts)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return runs * len(texts) / elapsed


def inference_speed(model: AugLinearClassifier, texts: list[str], n_encoder: int) -> dict[str, Any]:
    """Table lookups against the encoder, on the same test texts."""
    table_model = AugLinearClassifier.load(model.save(Path(tempfile.mkdtemp()) / "m"))

    def table(batch: list[str]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnseenNgramWarning)
            table_model.decision_function(batch)

    table_rate = docs_per_second(table, texts)
    encoder = Encoder(ENCODER, cache=False)
    sample = texts[:n_encoder]
    encoder.encode(sample[:4])  # load before timing

    # The same Aug-Linear decision computed with the encoder: embed each
    # document's n-grams (no cache), as a model without a table must.
    start = time.perf_counter()
    for text in sample:
        encoder.encode(list(dict.fromkeys(extract_ngrams(text, NGRAM_RANGE))))
    ngram_rate = len(sample) / (time.perf_counter() - start)
    # A whole-document embedding, the cheapest use of the encoder at all.
    start = time.perf_counter()
    encoder.encode(sample)
    sentence_rate = len(sample) / (time.perf_counter() - start)
    return {
        "table_only_docs_per_s": round(table_rate, 1),
        "encoder_ngram_docs_per_s": round(ngram_rate, 2),
        "encoder_whole_text_docs_per_s": round(sentence_rate, 1),
        "table_vs_encoder_ngram_ratio": round(table_rate / ngram_rate, 1),
        "table_vs_encoder_whole_text_ratio": round(table_rate / sentence_rate, 1),
        "n_docs_timed_encoder": len(sample),
    }


# Peak memory from VmHWM: unlike ru_maxrss it starts afresh at exec, so the
# benchmark's own (large) footprint does not leak into the child's figure.
_RSS_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
kind, path = sys.argv[1], sys.argv[2]
texts = ["a thoroughly enjoyable film", "dull and lifeless"] * 50
before = peak_kb()
if kind == "table":
    from glasstext import AugLinearClassifier
    AugLinearClassifier.load(path).predict(texts)
else:
    from glasstext import Encoder
    Encoder(path, cache=False).encode(texts)
print(before, peak_kb(), "torch" in sys.modules)
"""


def size_and_memory(model: AugLinearClassifier) -> dict[str, Any]:
    """Disk size and peak memory of the saved table model against the encoder."""
    folder = model.save(Path(tempfile.mkdtemp()) / "m")
    encoder_folder = Path(resolve_model(ENCODER).path)
    result: dict[str, Any] = {
        "table_model_mb": round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6, 2),
        "encoder_mb": round(
            sum(f.stat().st_size for f in encoder_folder.rglob("*") if f.is_file()) / 1e6, 2
        ),
    }
    for kind, path in (("table", folder), ("encoder", ENCODER)):
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, kind, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        _, after, torch_loaded = out.stdout.split()
        result[f"{kind}_peak_rss_mb"] = round(int(after) / 1024, 1)
        result[f"{kind}_process_imports_torch"] = torch_loaded == "True"
    result["table_vs_encoder_peak_rss_ratio"] = round(
        result["table_peak_rss_mb"] / result["encoder_peak_rss_mb"], 3
    )
    return result


# -- main ---------------------------------------------------------------------------------


def measure_inference(results: dict[str, Any], model: AugLinearClassifier, quick: bool) -> None:
    """Fill the inference-speed and size/memory sections of ``results``."""
    log("inference speed")
    texts = list(load("rotten_tomatoes").X_test)
    speed = inference_speed(model, texts[:300] if quick else texts, 20 if quick else 200)
    results["inference"] = speed
    results["table_vs_encoder_docs_per_s_ratio"] = speed["table_vs_encoder_ngram_ratio"]
    results["table_vs_encoder_whole_text_docs_per_s_ratio"] = speed[
        "table_vs_encoder_whole_text_ratio"
    ]
    log("size and memory")
    results["size_and_memory"] = size_and_memory(model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, harness.RESULTS / "auglinear.json")
    parser.add_argument("--skip-peer", action="store_true", help="do not run imodelsX")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])

    results: dict[str, Any] = {
        "benchmark": "auglinear",
        "settings": {
            "encoder": ENCODER,
            "ngram_range": list(NGRAM_RANGE),
            "quick": args.quick,
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        },
    }
    rt = load("rotten_tomatoes")
    n_train, n_test = (300, 200) if args.quick else (2000, 1000)
    small = rt.subset(n_train, n_test)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        log(f"cold and warm fit on Rotten Tomatoes {n_train}/{n_test}")
        ours = fit_cold_and_warm(small, tmp_path / "cold")
        model = ours.pop("model")
        results["rt_2000_1000"] = {"glasstext": ours}
        log(json.dumps(ours))

        if not (args.quick or args.skip_peer):
            log("imodelsX AugLinearClassifier on the same split (default threads)")
            peer = run_peer(small, blas_one=False)
            log(json.dumps(peer))
            log("imodelsX again with OPENBLAS_NUM_THREADS=1")
            peer_blas1 = run_peer(small, blas_one=True)
            log(json.dumps(peer_blas1))
            results["rt_2000_1000"]["imodelsx"] = peer
            results["rt_2000_1000"]["imodelsx_openblas_1_thread"] = peer_blas1
            best_peer = min(peer["fit_seconds"], peer_blas1["fit_seconds"])
            results["cold_fit_speedup_vs_imodelsx"] = round(best_peer / ours["cold_fit_seconds"], 1)
            # Ours with the library imports counted in, which the peer's figure leaves out.
            results["cold_fit_speedup_vs_imodelsx_our_imports_included"] = round(
                best_peer / ours["cold_fit_seconds_with_imports"], 1
            )
            results["warm_fit_speedup_vs_imodelsx"] = round(best_peer / ours["warm_fit_seconds"], 1)
            results["peer_fit_seconds_used_for_speedup"] = best_peer
            results["accuracy_vs_imodelsx"] = {
                "glasstext_table_only": ours["accuracy_table_only"],
                "imodelsx_table_only": peer["accuracy_table_only"],
                "glasstext_unseen_embedded": ours["accuracy_unseen_embedded"],
                "imodelsx_test_ngrams_embedded": peer.get("accuracy_with_test_ngrams"),
            }
        results["ngram_embeddings_per_s"] = ours["ngram_embeddings_per_s"]

        # Accuracy against the baselines lives in benchmarks/auglinear_accuracy.py.
        measure_inference(results, model, args.quick)

    log(f"wrote {harness.write_result(args.out, run, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
