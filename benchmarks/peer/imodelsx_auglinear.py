"""Fit the reference Aug-Linear (imodelsX 1.0.14 ``AugLinearClassifier``) once and time it.

Run with the peer venv's python (see ``setup_imodelsx.sh``)::

    .bench/imodelsx-venv/bin/python benchmarks/peer/imodelsx_auglinear.py split.json

``split.json`` holds ``X_train``, ``y_train``, ``X_test``, ``y_test``, ``ngrams``,
``all_ngrams`` and ``model_path`` (a local checkpoint folder); an optional
``embed_test_ngrams`` (default true) turns the second, test-n-gram accuracy on or off.
Exactly one JSON object goes to stdout; imodelsX's prints, tqdm bars and warnings go
to stderr.

Fairness measures:
- the classifier keeps imodelsX's defaults apart from ``checkpoint``, ``ngrams`` and
  ``all_ngrams``; ``cache_embs_dir`` stays ``None`` (its default), so no embedding
  pickle is read or written, and the Hugging Face caches point at a fresh temporary
  folder for each run;
- Hugging Face offline mode is on and outgoing socket connections are refused and
  counted (``network_attempts``), so nothing can be fetched silently;
- embeddings are counted by a forward pre-hook on every encoder imodelsX loads
  (rows of ``input_ids``); the hook adds no work to the forward pass.
"""

from __future__ import annotations

import os
import sys
import tempfile

# Must be set before transformers / datasets / huggingface_hub are imported.
_HF_TMP = tempfile.mkdtemp(prefix="imodelsx-peer-hf-")
os.environ.update(
    {
        "HF_HOME": _HF_TMP,
        "HF_DATASETS_CACHE": os.path.join(_HF_TMP, "datasets"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
)

import contextlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

_NETWORK_ATTEMPTS: list[str] = []
_real_connect = socket.socket.connect


def _refuse_connect(self: socket.socket, address: Any) -> None:
    """Refuse and record any outgoing connection except to a local Unix socket."""
    if self.family == socket.AF_UNIX:
        _real_connect(self, address)
        return
    _NETWORK_ATTEMPTS.append(repr(address))
    raise OSError(f"network disabled in peer benchmark (tried {address!r})")


socket.socket.connect = _refuse_connect  # type: ignore[method-assign]


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send Python- and C-level stdout to stderr; yields nothing."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _EmbeddingCounter:
    """Counts rows passed through every encoder that imodelsX loads, and when."""

    def __init__(self) -> None:
        self.rows = 0
        self.calls = 0
        self.load_starts: list[float] = []  # perf_counter when each encoder load began
        self.last_forward_end: list[float] = []  # per load: end of its last forward

    def pre_hook(self, _module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Forward pre-hook: add the batch's row count."""
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            self.rows += int(ids.shape[0])
        self.calls += 1

    def post_hook(self, *_args: Any) -> None:
        """Forward hook: note when the latest forward of the latest encoder ended."""
        self.last_forward_end[-1] = time.perf_counter()

    def attach(self, clf: Any) -> None:
        """Wrap ``clf._get_model_and_tokenizer`` so each loaded encoder gets the hooks."""
        original = clf._get_model_and_tokenizer

        def wrapped() -> tuple[Any, Any]:
            self.load_starts.append(time.perf_counter())
            model, tokenizer = original()
            self.last_forward_end.append(time.perf_counter())
            model.register_forward_pre_hook(self.pre_hook, with_kwargs=True)
            model.register_forward_hook(self.post_hook)
            return model, tokenizer

        clf._get_model_and_tokenizer = wrapped

    def fit_phases(self, fit_start: float, fit_end: float) -> dict[str, float] | None:
        """Split a fit into imodelsX's three stages (needs its two encoder loads)."""
        if len(self.load_starts) < 2:
            return None
        return {
            "embed_documents": round(self.last_forward_end[0] - fit_start, 3),
            "linear_model": round(self.load_starts[1] - self.last_forward_end[0], 3),
            "ngram_table": round(fit_end - self.load_starts[1], 3),
        }


def _accuracy(y_pred: Any, y_true: list[Any]) -> float:
    """Share of matching labels."""
    return float(sum(int(a == b) for a, b in zip(y_pred, y_true, strict=True)) / len(y_true))


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit, evaluate and return the result record."""
    t0 = time.perf_counter()
    import imodelsx
    import torch

    import_seconds = time.perf_counter() - t0

    x_train: list[str] = list(spec["X_train"])
    y_train: list[Any] = list(spec["y_train"])
    x_test: list[str] = list(spec["X_test"])
    y_test: list[Any] = list(spec["y_test"])

    clf = imodelsx.AugLinearClassifier(
        checkpoint=str(spec["model_path"]),
        ngrams=int(spec["ngrams"]),
        all_ngrams=bool(spec["all_ngrams"]),
    )
    counter = _EmbeddingCounter()
    counter.attach(clf)

    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    clf.fit(x_train, y_train)
    t1 = time.perf_counter()
    fit_seconds = t1 - t0
    fit_phases = counter.fit_phases(t0, t1)
    fit_cpu_seconds = time.process_time() - cpu0
    load_after = os.getloadavg()[0]
    n_embeddings_fit = counter.rows
    n_unique_ngrams = len(clf.coefs_dict_)

    t0 = time.perf_counter()
    acc_table = _accuracy(clf.predict(x_test), y_test)
    predict_seconds = time.perf_counter() - t0

    acc_test_ngrams: float | None = None
    extend_seconds: float | None = None
    n_embeddings_test: int | None = None
    if spec.get("embed_test_ngrams", True):
        before = counter.rows
        t0 = time.perf_counter()
        clf.cache_linear_coefs(x_test)  # imodelsX's own option: embed unseen test n-grams
        acc_test_ngrams = _accuracy(clf.predict(x_test), y_test)
        extend_seconds = time.perf_counter() - t0
        n_embeddings_test = counter.rows - before

    extend_rounded = None if extend_seconds is None else round(extend_seconds, 3)
    return {
        "fit_seconds": round(fit_seconds, 3),
        "accuracy_table_only": acc_table,
        "accuracy_with_test_ngrams": acc_test_ngrams,
        "n_embeddings_computed": n_embeddings_fit,
        "n_unique_ngrams": n_unique_ngrams,
        "imodelsx_version": importlib.metadata.version("imodelsx"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "fit_cpu_seconds": round(fit_cpu_seconds, 3),
        "loadavg_1min_before_after_fit": [load_before, load_after],
        "predict_seconds": round(predict_seconds, 3),
        "test_ngram_extension_seconds": extend_rounded,
        "n_embeddings_test_ngrams": n_embeddings_test,
        "fit_phases_seconds": fit_phases,
        "n_encoder_loads": len(counter.load_starts),
        "import_seconds": round(import_seconds, 3),
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "n_train": len(x_train),
        "n_test": len(x_test),
        "network_attempts": len(_NETWORK_ATTEMPTS),
    }


def main(argv: list[str]) -> int:
    """Entry point: ``imodelsx_auglinear.py SPEC.json``."""
    if len(argv) != 2:
        print(f"usage: {argv[0]} SPEC.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    # On SIGTERM exit through the finally below, so the temporary HF folder goes too.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        with _stdout_to_stderr():
            result = run(spec)
    finally:
        shutil.rmtree(_HF_TMP, ignore_errors=True)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
