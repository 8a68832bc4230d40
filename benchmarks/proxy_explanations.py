"""Proxy explanations benchmark: explain a zero-shot LM through cheaper models.

Target: Gemma-3-270M used zero-shot for sentiment on Rotten Tomatoes (the
prompt and label words of ``glasstext.explain.SENTIMENT_TEMPLATE`` /
``SENTIMENT_LABELS``), with content-free calibration (``LMScorer(...,
calibrate=True)``; ``--no-calibrate`` to turn it off). Proxies: SmolLM2-135M
zero-shot with the same prompt (calibrated the same way), and a proxy learned
for the target (:func:`glasstext.explain.learn_proxy`: a hybrid Aug-Linear
regressor fitted to the target's log-odds on the task's texts and
``--n-perturb`` random word deletions of each; its target calls are counted in
every row that uses it).

The task is the first ``--n-texts`` RT test snippets. For LIME and KernelSHAP:

- the yardstick: the target's own explanation of every text (``--budget``
  samples, seed ``--seed``) and its noise: the same with another seed;
- every proxy's own explanation of every text (no target call), the
  per-explanation screening of :class:`glasstext.explain.ProxyExplainer`
  (threshold 0.7), and the task-level screen-and-apply of
  :class:`glasstext.explain.ProxyTask` (tau 0.9, delta 0.01, at most 50
  screened instances, prediction check, fallback to the target).

Fidelity = summed comprehensiveness AOPC (on the target) of a configuration's
explanations / that of the yardstick's (a ratio of sums). Target-call fraction
= every target call of the configuration (screening, prediction checks,
fallbacks, the learned proxy's training texts) / the calls of explaining every
text with the target alone. Calls count queries: the persistent LM cache makes
reruns cheap but every query is counted as if paid.

Screening precision and recall: the sequential test replayed on the measured
per-instance qualities (random orders of the texts where the predictions
agree; for each proxy, the noise yardstick as a proxy, and tau in 0.5..0.9):
precision = share of acceptances whose proxy really keeps >= tau of the
target's quality on those texts, recall = share of such proxies accepted.

Also: RT accuracy of both LMs with and without calibration, and their
prediction agreement. The downstream figures are ``proxy_downstream.py``'s own
files. No configuration is chosen on the measured texts: the configurations
that meet the issue's bar (fidelity >= 0.9 at <= 10% of the target's calls)
are listed as ``oracle_meeting_target``, an oracle for reference, not a target.

    python benchmarks/proxy_explanations.py --quick   # 3 snippets, SmolLM2 as target
    python benchmarks/proxy_explanations.py           # 50 snippets, Gemma target (~1-2 h)
    python benchmarks/proxy_explanations.py --remote-only   # the remote path (~3 min)

Every run starts from an empty cache (``harness.empty_cache_home``) and writes its
file whole. ``--remote-only`` measures the path a user with a remote LLM takes, on a
real server, into its own file (default
``benchmarks/results/proxy_explanations_remote.json``): Gemma-3-270M served by llama-cpp-python
(:class:`glasstext.backends.llama_server.LlamaServer`, its GGUF, one thread),
the target of ``--remote-method`` explanations of the first
``--remote-texts`` RT test snippets (``--budget`` samples), through the
OpenAI-compatible client. Recorded: target calls, HTTP requests, the latency
of each request (median, p90), wall time, load average, the same
explanations by the local backend (agreement), and a few requests to the
server started without glasstext's numpy log-probabilities
(``fast_logprobs=False``), side by side.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import harness
from glasstext.backends.lm import LocalCausalLM
from glasstext.datasets import load
from glasstext.explain import (
    SENTIMENT_LABELS,
    SENTIMENT_TEMPLATE,
    Attribution,
    LMScorer,
    ProxyTask,
    Scorer,
    comprehensiveness,
    learn_proxy,
    top_k_agreement,
)
from glasstext.explain.methods import get_explainer
from glasstext.explain.proxy_task import sequential_screen

REPO = Path(__file__).resolve().parent.parent
RESULTS = harness.RESULTS
DEFAULT_OUT = RESULTS / "proxy_explanations.json"
REMOTE_OUT = RESULTS / "proxy_explanations_remote.json"
SCHEMA = (
    "benchmark",
    "versions",
    "settings",
    "definitions",
    "operating_points",
    "oracle_meeting_target",
    "screening_precision",
    "screening_recall",
    "calibration",
    "learned_proxy",
    "methods",
    "notes",
)
GEMMA = "gemma-3-270m"
SMOL = "SmolLM2-135M-Instruct"
TOP_K = 5
TAUS = (0.5, 0.6, 0.7, 0.8, 0.9)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rounded(value: float | None, digits: int = 4) -> float | None:
    return round(float(value), digits) if value is not None and math.isfinite(value) else None


class Models:
    """The LMs of the run (persistent cache on) and fresh scorers on them."""

    def __init__(self, target: str, proxy: str, precision: str, batch: int, calibrate: bool):
        def lm(name: str) -> LocalCausalLM:
            return LocalCausalLM(name, precision=precision, batch_size=batch, progress=False)

        self.target_lm = lm(target)
        self.proxy_lm = lm(proxy)
        self.calibrate = calibrate

    def target(self, calibrate: bool | None = None) -> LMScorer:
        cal = self.calibrate if calibrate is None else calibrate
        return LMScorer(self.target_lm, SENTIMENT_TEMPLATE, SENTIMENT_LABELS, calibrate=cal)

    def proxy(self, calibrate: bool | None = None) -> LMScorer:
        cal = self.calibrate if calibrate is None else calibrate
        return LMScorer(self.proxy_lm, SENTIMENT_TEMPLATE, SENTIMENT_LABELS, calibrate=cal)


def calibration_figures(models: Models, texts: list[str], labels: np.ndarray) -> dict[str, Any]:
    """RT accuracy of both LMs with and without calibration, and their agreement."""
    out: dict[str, Any] = {"n_texts": len(texts)}
    preds: dict[str, np.ndarray] = {}
    for name, make in (("target", models.target), ("proxy", models.proxy)):
        for cal in (False, True):
            scorer = make(cal)
            probs = scorer(texts)
            key = f"{name}_{'calibrated' if cal else 'raw'}"
            preds[key] = probs.argmax(axis=1)
            out[key] = {
                "accuracy": rounded(float(np.mean(preds[key] == labels))),
                "positive_share": rounded(float(np.mean(preds[key] == 1)), 3),
                "prior": [rounded(float(p)) for p in scorer.prior]
                if scorer.prior is not None
                else None,
            }
    for kind in ("raw", "calibrated"):
        agree = np.mean(preds[f"target_{kind}"] == preds[f"proxy_{kind}"])
        out[f"prediction_agreement_{kind}"] = rounded(float(agree))
    return out


def explain_all(scorer: Scorer, method: str, texts: list[str], classes: list[int], args, seed):
    explainer = get_explainer(method)(scorer, n_samples=args.budget, seed=seed)
    return [explainer.explain(t, target_class=c) for t, c in zip(texts, classes, strict=True)]


def fidelity(attrs: list[Attribution], comps_target: list[float], judge: Scorer) -> tuple:
    comps = [comprehensiveness(a, judge) for a in attrs]
    return sum(comps) / sum(comps_target), comps


def replay_screen(qp: list[float], qt: list[float], tau: float, args, rng) -> dict[str, Any]:
    """The sequential test replayed on random orders of measured qualities."""
    qp_a, qt_a = np.asarray(qp), np.asarray(qt)
    n = len(qp_a)
    truth = bool(qt_a.sum() > 0 and qp_a.sum() / qt_a.sum() >= tau)
    accepts, used = 0, []
    for _ in range(args.replays):
        order = rng.permutation(n)
        decision, n_used, _, _ = sequential_screen(
            qp_a[order],
            qt_a[order],
            tau=tau,
            delta=args.delta,
            min_screen_texts=args.min_screen,
            max_screen_texts=min(args.max_screen, n),
        )
        accepts += decision == "accept"
        used.append(n_used)
    return {
        "tau": tau,
        "true_ratio": rounded(float(qp_a.sum() / qt_a.sum())) if qt_a.sum() else None,
        "truly_above_tau": truth,
        "accept_rate": rounded(accepts / args.replays, 3),
        "mean_instances_screened": rounded(float(np.mean(used)), 1),
        "n": n,
    }


def run_method(method, models, texts, learned, args) -> dict[str, Any]:
    judge = models.target()  # persistent cache; comprehensiveness on the target
    classes = [int(c) for c in judge(texts).argmax(axis=1)]
    log(f"{method}: yardstick (target, seed {args.seed})")
    target_scorer = models.target()
    yard = explain_all(target_scorer, method, texts, classes, args, args.seed)
    all_target = target_scorer.n_calls - (3 if models.calibrate else 0)
    comps_t = [comprehensiveness(a, judge) for a in yard]
    n_noise = min(args.n_noise or len(texts), len(texts))
    log(f"{method}: noise (target, seed {args.seed + 1}, {n_noise} texts)")
    noise = explain_all(
        models.target(), method, texts[:n_noise], classes[:n_noise], args, args.seed + 1
    )
    noise_fid, comps_noise = fidelity(noise, comps_t[:n_noise], judge)
    out: dict[str, Any] = {
        "n_texts": len(texts),
        "target_calls_all_target": all_target,
        "target_comprehensiveness_mean": rounded(float(np.mean(comps_t))),
        "yardstick_noise": {
            "n_texts": n_noise,
            "fidelity": rounded(noise_fid),
            f"top{TOP_K}_agreement": rounded(
                float(
                    np.mean(
                        [
                            top_k_agreement(a, b, TOP_K)
                            for a, b in zip(noise, yard[:n_noise], strict=True)
                        ]
                    )
                )
            ),
        },
        "proxies": {},
    }
    rows: list[dict[str, Any]] = []
    replays: list[dict[str, Any]] = []
    rng = np.random.default_rng(args.seed)
    proxies: dict[str, Any] = {"smollm2-zero-shot": models.proxy}
    if learned is not None:
        proxies["learned-auglinear"] = lambda: learned
    qualities = {"target-other-seed": (comps_noise, comps_t[:n_noise])}
    for name, make in proxies.items():
        extra_calls = learned.target_calls if name.startswith("learned") else 0
        info: dict[str, Any] = {}
        log(f"{method}: {name} alone")
        proxy_scorer = make()
        alone = explain_all(proxy_scorer, method, texts, classes, args, args.seed)
        fid, comps_p = fidelity(alone, comps_t, judge)
        p_pred = [int(c) for c in proxy_scorer(texts).argmax(axis=1)]
        agree = [a == b for a, b in zip(p_pred, classes, strict=True)]
        info["proxy_alone"] = {
            "fidelity": rounded(fid),
            f"top{TOP_K}_agreement": rounded(
                float(
                    np.mean(
                        [top_k_agreement(a, b, TOP_K) for a, b in zip(alone, yard, strict=False)]
                    )
                )
            ),
            "prediction_agreement": rounded(float(np.mean(agree))),
            "fidelity_where_predictions_agree": rounded(
                sum(c for c, g in zip(comps_p, agree, strict=False) if g)
                / max(sum(c for c, g in zip(comps_t, agree, strict=False) if g), 1e-12)
            ),
        }
        rows.append(row(method, name, "proxy-only", fid, extra_calls / all_target))
        qualities[name] = (
            [c for c, g in zip(comps_p, agree, strict=False) if g],
            [c for c, g in zip(comps_t, agree, strict=False) if g],
        )
        for mode in ("task",):
            log(f"{method}: {name}, {mode}-level screening")
            task = ProxyTask(
                models.target(),
                make(),
                method,
                n_samples=args.budget,
                tau=args.tau,
                delta=args.delta,
                min_screen_texts=args.min_screen,
                max_screen_texts=args.max_screen,
                seed=args.seed,
            )
            result = task.explain_many(texts)
            fid, _ = fidelity(result.attributions, comps_t, judge)
            calls = result.costs.target_calls_total + extra_calls
            frac = calls / all_target
            info[mode] = {
                "fidelity": rounded(fid),
                "target_call_fraction": rounded(frac),
                "target_calls": calls,
                "costs": {
                    k: rounded(v) if isinstance(v, float) else v
                    for k, v in result.costs.to_dict().items()
                },
                "sources": result.counts(),
                "screening": result.screening.to_dict() if result.screening else None,
            }
            rows.append(row(method, name, f"{mode}-level screening", fid, frac))
        out["proxies"][name] = info
    for name, (qp, qt) in qualities.items():
        for tau in TAUS:
            replays.append(
                {"method": method, "proxy": name, **replay_screen(qp, qt, tau, args, rng)}
            )
    rows.append(row(method, "target-other-seed", "target alone (noise)", noise_fid, 1.0))
    out["screen_replays"] = replays
    return {"summary": out, "rows": rows}


def row(method: str, proxy: str, mode: str, fid: float, frac: float) -> dict[str, Any]:
    return {
        "method": method,
        "proxy": proxy,
        "mode": mode,
        "fidelity": rounded(fid),
        "target_call_fraction": rounded(frac),
    }


def precision_recall(replays: list[dict[str, Any]], args) -> tuple[float | None, float | None]:
    accepted = sum(r["accept_rate"] * args.replays for r in replays)
    good_accepted = sum(r["accept_rate"] * args.replays for r in replays if r["truly_above_tau"])
    good = sum(args.replays for r in replays if r["truly_above_tau"])
    precision = good_accepted / accepted if accepted else None
    recall = good_accepted / good if good else None
    return precision, recall


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for pkg in ("glasstext", "torch", "transformers", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    harness.add_common_arguments(p, DEFAULT_OUT)
    p.add_argument("--n-texts", type=int, default=None, help="RT test snippets (default 50)")
    p.add_argument("--budget", type=int, default=None, help="samples per explanation (64)")
    p.add_argument("--n-calibration", type=int, default=None, help="RT texts for accuracy (200)")
    p.add_argument("--n-noise", type=int, default=None, help="texts of the noise yardstick (20)")
    p.add_argument("--n-perturb", type=int, default=2, help="learned proxy: deletions per text")
    p.add_argument("--threshold", type=float, default=0.7, help="per-explanation agreement")
    p.add_argument("--tau", type=float, default=0.9)
    p.add_argument("--delta", type=float, default=0.01)
    p.add_argument("--min-screen", type=int, default=5)
    p.add_argument("--max-screen", type=int, default=50)
    p.add_argument("--replays", type=int, default=200, help="screen replays per configuration")
    p.add_argument("--methods", nargs="+", default=["kernelshap", "lime"])
    p.add_argument("--no-calibrate", action="store_true", help="raw zero-shot scorers")
    p.add_argument("--no-learned", action="store_true", help="skip the learned proxy")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    p.add_argument("--lm-batch", type=int, default=16, help="LM forward-pass batch size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--remote-only",
        action="store_true",
        help="only measure the remote path (a llama-cpp-python server) into remote_path",
    )
    p.add_argument("--remote-texts", type=int, default=5, help="--remote-only: RT snippets")
    p.add_argument("--remote-method", default="kernelshap", help="--remote-only: method")
    p.add_argument(
        "--remote-baseline-requests",
        type=int,
        default=3,
        help="--remote-only: requests timed on the untouched llama-cpp-python server",
    )
    args = p.parse_args(argv)
    if args.remote_only and args.out == DEFAULT_OUT:
        args.out = REMOTE_OUT
    if args.quick:
        args.replays = min(args.replays, 20)
        args.methods = args.methods[:1]
        args.no_learned = True
    defaults = (3, 16, 12) if args.quick else (50, 64, 200)
    args.n_noise = args.n_noise or (None if args.quick else 20)
    args.n_texts = args.n_texts or defaults[0]
    args.budget = args.budget or defaults[1]
    args.n_calibration = args.n_calibration or defaults[2]
    return args


# -- the remote path ---------------------------------------------------------------------------


class RequestTimer:
    """Wraps a client's ``_post``: the wall time of every HTTP request it makes."""

    def __init__(self, lm: Any) -> None:
        self.seconds: list[float] = []
        post = lm._post

        def timed(path: str, payload: dict[str, Any]) -> dict[str, Any]:
            start = time.perf_counter()
            try:
                return post(path, payload)
            finally:
                self.seconds.append(time.perf_counter() - start)

        lm._post = timed

    def summary(self) -> dict[str, Any]:
        t = np.asarray(self.seconds)
        if not len(t):
            return {"requests": 0}
        return {
            "requests": len(t),
            "median_seconds": rounded(float(np.median(t))),
            "p90_seconds": rounded(float(np.percentile(t, 90))),
            "max_seconds": rounded(float(t.max())),
            "total_seconds": round(float(t.sum()), 2),
        }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def remote_explanations(args, texts: list[str], calibrate: bool, fast: bool) -> dict[str, Any]:
    """The target behind a llama-cpp-python server explains ``texts``; the server always stops."""
    from glasstext.backends.llama_server import LlamaServer

    load_start = load_average()
    started = time.perf_counter()
    with LlamaServer(GEMMA, n_threads=1, fast_logprobs=fast) as server:
        lm = server.lm(cache=False, timeout=900.0)
        timer = RequestTimer(lm)
        target = LMScorer(lm, SENTIMENT_TEMPLATE, SENTIMENT_LABELS, calibrate=calibrate)
        explainer = get_explainer(args.remote_method)(target, n_samples=args.budget, seed=args.seed)
        attrs = [explainer.explain(t) for t in texts]
        usage = lm.usage()
    return {
        "attributions": attrs,
        "info": {
            "startup_seconds": round(server.startup_seconds or 0.0, 2),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "target_calls": int(sum(a.n_calls for a in attrs)),
            "latency": timer.summary(),
            "server_usage": usage,
            "load_average_start": load_start,
            "load_average_end": load_average(),
        },
    }


def untouched_server_latency(args) -> dict[str, Any]:
    """A few scoring requests to the server as llama-cpp-python ships it (no numpy sort)."""
    from glasstext.backends.llama_server import LlamaServer

    prompts = [SENTIMENT_TEMPLATE.replace("{text}", str(t)) for t in load("rotten_tomatoes").X_test]
    load_start = load_average()
    with LlamaServer(GEMMA, n_threads=1, fast_logprobs=False) as server:
        lm = server.lm(cache=False, timeout=900.0)
        timer = RequestTimer(lm)
        n = args.remote_baseline_requests
        lm.label_probs(prompts[: (n + 1) // 2], list(SENTIMENT_LABELS))
    return {**timer.summary(), "load_average_start": load_start, "load_average_end": load_average()}


def remote_only(args: argparse.Namespace, run: harness.Run) -> int:
    """``--remote-only``: measure the remote path, into its own file."""
    from importlib import metadata

    from glasstext.backends.llama_server import llama_cpp_available

    if not llama_cpp_available():
        print("llama-cpp-python is not installed: pip install 'glasstext[server]'")
        return 1
    calibrate = not args.no_calibrate
    texts = [str(t) for t in load("rotten_tomatoes").X_test[: args.remote_texts]]
    log(f"remote path: {args.remote_method} of {len(texts)} texts through a llama-cpp server")
    remote = remote_explanations(args, texts, calibrate, fast=True)
    log(f"remote path: {remote['info']}")
    log("the same explanations with the local backend")
    models = Models(GEMMA, SMOL, args.precision, args.lm_batch, calibrate)
    start = time.perf_counter()
    explainer = get_explainer(args.remote_method)(
        models.target(), n_samples=args.budget, seed=args.seed
    )
    local = [
        explainer.explain(t, target_class=a.explained_class)
        for t, a in zip(texts, remote["attributions"], strict=True)
    ]
    local_seconds = time.perf_counter() - start
    pairs = list(zip(remote["attributions"], local, strict=True))
    pearson = [float(np.corrcoef(r.scores, loc.scores)[0, 1]) for r, loc in pairs]
    baseline = None
    if args.remote_baseline_requests > 0:
        log("the untouched llama-cpp-python server, for comparison")
        baseline = untouched_server_latency(args)
    info = remote["info"]
    result = {
        "server": f"llama-cpp-python {metadata.version('llama_cpp_python')} "
        "(glasstext.backends.llama_server.LlamaServer: numpy log-probabilities, "
        "logits_all, 1 thread, n_ctx 2048, n_batch 512), Gemma-3-270M GGUF Q4_K_M",
        "client": "OpenAICompatibleLM (echo=true, logprobs=1, max_tokens=1, one prompt "
        "per request: two requests per scored text, one per label word)",
        "method": args.remote_method,
        "n_samples": args.budget,
        "calibrated": calibrate,
        "seed": args.seed,
        "n_texts": len(texts),
        **info,
        "requests_per_target_call": rounded(
            info["latency"]["requests"] / max(info["target_calls"], 1), 3
        ),
        "seconds_per_text": rounded(info["wall_seconds"] / len(texts), 2),
        "local_backend": {
            "precision": args.precision,
            "seconds": round(local_seconds, 1),
            "same_explained_class": rounded(
                float(np.mean([r.explained_class == loc.explained_class for r, loc in pairs]))
            ),
            "pearson_mean": rounded(float(np.mean(pearson))),
            "pearson_min": rounded(float(np.min(pearson))),
            f"top{TOP_K}_agreement_mean": rounded(
                float(np.mean([top_k_agreement(r, loc, k=TOP_K) for r, loc in pairs]))
            ),
        },
        "untouched_server_requests": baseline,
        "notes": [
            "latency is the wall time of each HTTP request as the client sees it, on a 2-core "
            "machine shared with other jobs (see the load averages)",
            "the untouched server (python -m llama_cpp.server) sorts the 262,144-token "
            "vocabulary in Python for every echoed token; LlamaServer starts it through "
            "glasstext.backends._llama_launch, which computes the same lists in numpy",
            "agreement with the local backend: the server computes with the Q4_K_M GGUF, the "
            "local backend with the dequantized weights in --precision",
            "local_backend.seconds: the same perturbations through the local LM, its cache "
            "empty at the start of this run",
        ],
    }
    print(harness.write_result(args.out, run, {"benchmark": "proxy_explanations_remote", **result}))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    record = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    harness.empty_cache_home()
    if args.remote_only:
        return remote_only(args, record)
    started = time.perf_counter()
    notes: list[str] = []
    target = SMOL if args.quick else GEMMA
    if args.quick:
        notes.append("--quick: SmolLM2 is both target and zero-shot proxy (a smoke run)")
    models = Models(target, SMOL, args.precision, args.lm_batch, not args.no_calibrate)
    ds = load("rotten_tomatoes")
    texts = [str(t) for t in ds.X_test[: args.n_texts]]
    log(f"target {target}; calibration figures on {args.n_calibration} RT test texts")
    calibration = calibration_figures(
        models,
        [str(t) for t in ds.X_test[: args.n_calibration]],
        np.asarray(ds.y_test[: args.n_calibration]),
    )
    learned, learned_info = None, {}
    if not args.no_learned:
        log("learning a proxy for the target")
        start = time.perf_counter()
        learned = learn_proxy(
            models.target(), texts, n_perturbations=args.n_perturb, seed=args.seed
        )
        learned_info = {
            "n_train": learned.n_train,
            "target_calls": learned.target_calls,
            "seconds": round(time.perf_counter() - start, 1),
            "model": "AugLinearRegressor (hybrid, MiniLM) on the target's log-odds",
        }
    run = Run(args, started, notes, target, texts, calibration, learned_info)
    for method in args.methods:
        res = run_method(method, models, texts, learned, args)
        run.methods[method] = res["summary"]
        run.operating_points += res["rows"]
        run.replays += res["summary"]["screen_replays"]
    print(harness.write_result(args.out, record, build(run)))
    return 0


@dataclass
class Run:
    """What a run has set up and measured so far: all that :func:`build` writes out."""

    args: argparse.Namespace
    started: float
    notes: list[str]
    target: str
    texts: list[str]
    calibration: dict[str, Any]
    learned_info: dict[str, Any]
    methods: dict[str, Any] = field(default_factory=dict)
    operating_points: list[dict[str, Any]] = field(default_factory=list)
    replays: list[dict[str, Any]] = field(default_factory=list)


def build(run: Run) -> dict[str, Any]:
    """The results of the run (written once, at the end)."""
    args, target, operating_points = run.args, run.target, run.operating_points
    precision, recall = precision_recall(run.replays, args)
    best = [r for r in operating_points if r["proxy"] != "target-other-seed"]
    met = [
        r for r in best if (r["fidelity"] or 0) >= 0.9 and (r["target_call_fraction"] or 9) <= 0.1
    ]
    result = {
        "benchmark": "proxy_explanations",
        "versions": versions(),
        "settings": {
            "target": target,
            "zero_shot_proxy": SMOL,
            "n_texts": len(run.texts),
            "budget": args.budget,
            "calibrated_scorers": not args.no_calibrate,
            "tau": args.tau,
            "delta": args.delta,
            "min_screen": args.min_screen,
            "max_screen": args.max_screen,
            "per_explanation_threshold": args.threshold,
            "replays": args.replays,
            "precision": args.precision,
            "template": SENTIMENT_TEMPLATE,
            "labels": list(SENTIMENT_LABELS),
            "quick": args.quick,
            "seed": args.seed,
        },
        "definitions": {
            "fidelity": "sum over the task's texts of comprehensiveness AOPC (on the target) of "
            "the configuration's explanations / the same for the target's own explanations",
            "target_call_fraction": "every target call of the configuration (screening with "
            "its quality metrics, prediction checks, fallbacks, learned-proxy training texts) / "
            "the target calls of explaining every text with the target alone",
            "screening_precision": "over replays of the sequential test on measured qualities "
            "(proxies x methods x tau in 0.5..0.9): accepted proxies that keep >= tau of the "
            "target's summed comprehensiveness on the texts where predictions agree / accepted",
            "screening_recall": "accepted / configurations that keep >= tau",
        },
        "operating_points": operating_points,
        # Chosen on the measured texts themselves: an oracle, never a target.
        "oracle_meeting_target": met,
        "screening_precision": rounded(precision),
        "screening_recall": rounded(recall),
        "calibration": run.calibration,
        "learned_proxy": run.learned_info,
        "methods": run.methods,
        "notes": run.notes,
    }
    return result


if __name__ == "__main__":
    raise SystemExit(main())
