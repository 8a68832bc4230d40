"""What every benchmark shares: the run record, the result file, and the statistics.

A benchmark script builds its figures, then hands them to :func:`write_result`
inside a :class:`Run`. The file it writes holds, beside the figures, the exact
command, the git commit and whether the tree was clean, the package versions,
and the machine: CPU model, cores, load average at the start and the end,
peak resident memory and wall time. One invocation writes one file whole.

Statistics (95% intervals by default):

- :func:`accuracy` and :func:`auc`: the figure with a bootstrap interval over
  test texts;
- :func:`paired_accuracy_difference` and :func:`paired_auc_difference`: A
  minus B on the same test texts, a paired bootstrap interval, and for
  accuracy McNemar's exact test; ``within_noise`` is true exactly when the
  interval covers 0;
- :func:`over_draws`: the mean of a figure over several draws with a
  t interval.

Test labels are read once per reported model. :class:`SealedLabels` holds
them until the selection (of a variant, ``C``, a pooling...) is done: any read
before :meth:`SealedLabels.unseal` raises, so a selection step that peeks at
them fails loudly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
CONFIDENCE = 0.95
N_RESAMPLES = 2000
_PACKAGES = (
    "glasstext",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "transformers",
    "safetensors",
    "imodelsx",
    "lime",
    "shap",
    "ray",
    "llama-cpp-python",
)

__all__ = [
    "Run",
    "SealedLabels",
    "accuracy",
    "add_common_arguments",
    "auc",
    "empty_cache_home",
    "mcnemar_p",
    "over_draws",
    "paired_accuracy_difference",
    "paired_auc_difference",
    "write_result",
]


# -- the run record --------------------------------------------------------------------------


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_state() -> dict[str, Any]:
    """The commit checked out and whether tracked files differ from it, result files aside:
    a benchmark's parts run one after another in one checkout, each writing its file
    under ``benchmarks/results``, and those outputs are not the code that was run."""
    status = _git(
        "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"
    )
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_clean": status == "" if status is not None else None,
    }


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a benchmark may use (absent ones left out)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def cpu_model() -> str:
    """The processor's name as the kernel reports it (else the platform's)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its waited-for children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports kilobytes


@dataclass
class Run:
    """One benchmark invocation: when it started, on what, from which command.

    Create it first thing in ``main``; :func:`write_result` closes it.
    """

    argv: Sequence[str] = field(default_factory=lambda: list(sys.argv))
    started: float = field(default_factory=time.perf_counter)
    load_at_start: tuple[float, float, float] = field(default_factory=os.getloadavg)
    # The code that runs is the code at the start: a checkout changing during the run
    # must not relabel it.
    git_at_start: dict[str, Any] = field(default_factory=lambda: git_state())

    @property
    def command(self) -> str:
        script = Path(self.argv[0])
        with contextlib.suppress(ValueError):
            script = script.resolve().relative_to(REPO)
        return shlex.join(["python", str(script), *self.argv[1:]])

    def record(self) -> dict[str, Any]:
        """The command, code and machine, measured now (call once the work is done)."""
        return {
            "command": self.command,
            **self.git_at_start,
            "packages": package_versions(),
            "machine": {
                "cpu": cpu_model(),
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "load_average_start": [round(x, 2) for x in self.load_at_start],
                "load_average_end": [round(x, 2) for x in os.getloadavg()],
                "peak_rss_mb": peak_rss_mb(),
                "wall_seconds": round(time.perf_counter() - self.started, 1),
                "thread_environment": thread_environment(),
            },
        }


# Environment variables that set how many threads the numeric libraries use.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "GLASSTEXT_BENCH_THREADS",
)


def thread_environment() -> dict[str, str]:
    """The thread variables set for this run (unset ones are left out: library defaults)."""
    return {name: os.environ[name] for name in THREAD_VARIABLES if name in os.environ}


def write_result(path: str | os.PathLike[str], run: Run, results: dict[str, Any]) -> Path:
    """Write ``results`` with the run's record to ``path``, whole or not at all.

    The record's keys come first; ``results`` may not reuse them.
    """
    record = run.record()
    clash = sorted(set(record) & set(results))
    if clash:
        raise ValueError(f"results may not use the record's keys: {', '.join(clash)}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**record, **results}, indent=1, ensure_ascii=False, allow_nan=False)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}-", delete=False
    ) as f:
        f.write(text + "\n")
    os.replace(f.name, target)
    return target


def add_common_arguments(parser: argparse.ArgumentParser, default_out: Path) -> None:
    """``--out`` and ``--quick``, the flags every benchmark takes."""
    parser.add_argument(
        "--out", type=Path, default=default_out, help="result file to write (default: %(default)s)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny subsets, end to end in under a minute: checks the script, not the figures",
    )


def empty_cache_home() -> str:
    """Point glasstext's persistent cache (``GLASSTEXT_HOME``) at a new, empty folder for
    the rest of this process, so a run starts from an empty cache; returns the folder.

    Call it first thing in ``main``, before any model or store is built.
    """
    folder = tempfile.mkdtemp(prefix="glasstext-bench-cache-")
    os.environ["GLASSTEXT_HOME"] = folder
    return folder


# -- sealed test labels ----------------------------------------------------------------------


class SealedLabels:
    """Test labels that cannot be read until the selection is done.

    Pass the sealed object wherever the code may be tempted to look at it; call
    :meth:`unseal` after every choice is made, to score the chosen models.
    """

    def __init__(self, labels: Any) -> None:
        self._labels = np.asarray(labels)
        self._sealed = True

    def unseal(self) -> np.ndarray:
        """The labels, once selection is over; from now on they read as an array."""
        self._sealed = False
        return self._labels

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        if self._sealed:
            raise RuntimeError("test labels read before the selection is done")
        return self._labels

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        labels = self._refuse()
        return labels if dtype is None else labels.astype(dtype)

    def __len__(self) -> int:
        return len(self._refuse())

    def __iter__(self) -> Any:
        return iter(self._refuse())

    def __getitem__(self, index: Any) -> Any:
        return self._refuse()[index]

    def __eq__(self, other: object) -> Any:
        return self._refuse() == other

    def __ne__(self, other: object) -> Any:
        return self._refuse() != other

    __hash__ = None  # type: ignore[assignment]


# -- statistics ------------------------------------------------------------------------------


def _bootstrap(
    data: tuple[np.ndarray, ...], statistic: Callable[..., float], seed: int
) -> list[float]:
    """Percentile bootstrap interval of ``statistic`` (vectorised, taking ``axis``) over
    test texts, rows resampled together."""
    result = stats.bootstrap(
        data,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return [float(low), float(high)]


def _correct(y_true: Any, y_pred: Any) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.shape[0]} labels but {y_pred.shape[0]} predictions")
    return (y_true == y_pred).astype(float)


def accuracy(y_true: Any, y_pred: Any, seed: int = 0) -> dict[str, Any]:
    """Accuracy with a bootstrap interval over test texts."""
    correct = _correct(y_true, y_pred)
    return {"value": float(correct.mean()), "ci95": _bootstrap((correct,), np.mean, seed)}


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC from ranks (the Mann-Whitney U statistic): ties count one half."""
    ranks = stats.rankdata(score)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC; for several classes the macro mean of one-vs-rest AUCs, as scikit-learn's
    ``roc_auc_score(..., multi_class="ovr")`` (ranks here: fast enough to bootstrap)."""
    if score.ndim == 1 or score.shape[1] == 2:
        positive_score = score if score.ndim == 1 else score[:, 1]
        return _binary_auc(y_true == np.max(y_true), positive_score)
    return float(np.mean([_binary_auc(y_true == k, score[:, k]) for k in range(score.shape[1])]))


def _stratified_resamples(y: np.ndarray, seed: int) -> list[np.ndarray]:
    """Bootstrap row sets drawn within each class, so every resample holds every class
    (as pROC resamples for AUC intervals)."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(y == c) for c in np.unique(y)]
    return [
        np.concatenate([rng.choice(rows, size=rows.size, replace=True) for rows in members])
        for _ in range(N_RESAMPLES)
    ]


def _percentile_interval(values: list[float]) -> list[float]:
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def auc(y_true: Any, score: Any, seed: int = 0) -> dict[str, Any]:
    """ROC AUC (macro one-vs-rest for several classes) with a stratified bootstrap interval.

    ``y_true`` holds class indices (0..k-1); ``score`` the positive class's
    score or one column per class.
    """
    y, s = np.asarray(y_true), np.asarray(score, dtype=float)
    values = [_auc(y[rows], s[rows]) for rows in _stratified_resamples(y, seed)]
    return {"value": _auc(y, s), "ci95": _percentile_interval(values)}


def mcnemar_p(y_true: Any, pred_a: Any, pred_b: Any) -> float:
    """McNemar's exact test: p-value that A and B err equally often where they differ."""
    a, b = _correct(y_true, pred_a), _correct(y_true, pred_b)
    only_a = int(((a == 1) & (b == 0)).sum())
    only_b = int(((a == 0) & (b == 1)).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def _difference(value: float, interval: list[float], **extra: Any) -> dict[str, Any]:
    low, high = interval
    return {
        "difference": value,
        "ci95": interval,
        "within_noise": bool(low <= 0.0 <= high),
        **extra,
    }


def paired_accuracy_difference(
    y_true: Any, pred_a: Any, pred_b: Any, seed: int = 0
) -> dict[str, Any]:
    """Accuracy of A minus B on the same texts: paired bootstrap interval and McNemar's p."""
    delta = _correct(y_true, pred_a) - _correct(y_true, pred_b)
    return _difference(
        float(delta.mean()),
        _bootstrap((delta,), np.mean, seed),
        mcnemar_p=mcnemar_p(y_true, pred_a, pred_b),
    )


def paired_auc_difference(y_true: Any, score_a: Any, score_b: Any, seed: int = 0) -> dict[str, Any]:
    """ROC AUC of A minus B on the same texts, with a paired stratified bootstrap interval."""
    y = np.asarray(y_true)
    a, b = np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float)
    values = [
        _auc(y[rows], a[rows]) - _auc(y[rows], b[rows]) for rows in _stratified_resamples(y, seed)
    ]
    return _difference(_auc(y, a) - _auc(y, b), _percentile_interval(values))


def over_draws(values: Sequence[float]) -> dict[str, Any]:
    """Mean of a figure over draws, with a t interval (a single draw has none)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci95": None, "draws": int(x.size)}
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, x.size - 1) * stats.sem(x))
    return {"mean": mean, "ci95": [mean - half, mean + half], "draws": int(x.size)}
