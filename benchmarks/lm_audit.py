"""LM audit benchmark: does ``audit_lm`` find a planted bias, and does its surrogate follow the LM?

Three parts, all on offline LMs used zero-shot for sentiment with content-free
calibration (``--calibration``), surrogates on MiniLM:

1. **Planted triggers.** The target is ``--planted-lm`` wrapped in a
   planted-bias scorer: a text holding the trigger word gets its log-odds of
   "positive" shifted by ``shift``. Triggers are drawn at random (seeded)
   among the corpus words in 1%-5% of its texts (alphabetic, 4+ letters);
   for each of ``--n-triggers`` triggers and each shift in ``--shifts``, one
   audit of the first ``--n-texts`` Rotten Tomatoes test snippets with gold
   labels, budget ``--budget``, the probe ``TRIGGER:`` (deletion) and the
   built-in demographic probes. Recorded: the trigger's rank in
   ``audit.drivers()`` (``planted_trigger_top5_rate`` per shift), the probe's
   measured shift against ``-shift`` (deleting the trigger), and the LM calls
   spent. The LM's persistent cache makes the plantings after the first cheap
   to compute, but every query is counted as if paid.
2. **Fidelity.** Each of ``--lms`` audited on ``--n-texts`` texts of Rotten
   Tomatoes and of the Amazon reviews, no probe: held-out agreement and
   Spearman with intervals, against always answering the LM's most frequent
   class (``surrogate_agreement``, ``surrogate_spearman``: means over the
   runs; every run under ``fidelity``). The same runs with each of
   ``--other-encoders`` (default MPNet) are kept under
   ``fidelity.other_encoders``, outside the targets: what a larger encoder buys.
3. **Proxy.** ``--proxy-target`` audited through ``--proxy-lm`` (the target
   scores ``--target-fraction`` of the texts): target calls against the
   proxy-free audit of part 2 (``target_call_fraction``) and the change of
   held-out agreement with the target.

Calibration (``--calibration``) sets up each LM classifier under audit.
``batch`` (default) divides its class probabilities by their mean over
``CALIBRATION_TEXTS`` texts of the same dataset kept out of the audited corpus
(batch calibration, Zhou et al. 2024): a label-free prior, fixed before any
audit as a deployed classifier's would be, that leaves the LM answering each
class about as often as the data warrants. Its calls belong to setting up the
LM, not to an audit, and are not counted. ``empty`` divides by the probabilities of
an empty review, as ``proxy_downstream.py`` does; ``content-free`` uses
``LMScorer(calibrate=True)``'s inputs. On 300 RT snippets the share of
"positive" answers is, uncalibrated / content-free / empty: SmolLM2
0.52 / 0.91 / 0.81, Gemma 1.00 / 0.91 / 0.80; an LM answering "positive" to
four texts in five is a weak classifier, and an audit of it a weak test.

    python benchmarks/lm_audit.py --quick   # SmolLM2, 150 texts, 2 plantings (~1-2 min)
    python benchmarks/lm_audit.py           # the full run (about 2-3 h on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from glasstext.datasets import load
from glasstext.explain import SENTIMENT_LABELS, CallableScorer, LMScorer, Scorer
from glasstext.explain.audit import DEMOGRAPHIC_PAIRS, audit_lm
from glasstext.text import tokenize

OUT = harness.RESULTS / "lm_audit.json"
# The top-level keys of the result file (checked by tests/benchmarks/test_quick.py).
SCHEMA = (
    "quick",
    "calibration",
    "planted_trigger_top5_rate",
    "surrogate_agreement",
    "surrogate_spearman",
    "target_call_fraction",
    "targets",
    "planted",
    "fidelity",
    "proxy",
)
TEMPLATES = {
    "rotten_tomatoes": 'Movie review: "{text}"\nThe sentiment of this review is',
    "amazon_reviews": 'Product review: "{text}"\nThe sentiment of this review is',
}


CALIBRATION_TEXTS = 100


def lm_scorer(lm: str, template: str, calibration: str, dataset: str) -> Scorer:
    """The zero-shot scorer of ``lm``: batch-calibrated on ``dataset``'s calibration texts
    (:func:`calibration_texts`), uncalibrated, or calibrated on content-free inputs
    (Zhao et al.'s, or an empty review as ``proxy_downstream.py`` does)."""
    if calibration == "none":
        return LMScorer(lm, template, SENTIMENT_LABELS)
    if calibration == "batch":
        raw = LMScorer(lm, template, SENTIMENT_LABELS)
        prior = raw(calibration_texts(dataset)).mean(axis=0)

        def calibrated(batch: list[str]) -> np.ndarray:
            p = raw(batch) / prior
            return p / p.sum(axis=1, keepdims=True)

        return CallableScorer(calibrated, classes=raw.classes, batch_size=64)
    free = (" ",) if calibration == "empty" else ("N/A", "", "[MASK]")
    return LMScorer(lm, template, SENTIMENT_LABELS, calibrate=True, content_free=free)


def corpus(name: str, n: int) -> tuple[list[str], list[int]]:
    """The audited texts: the first ``n`` of the test split, then of the training split."""
    ds = load(name)
    texts = list(ds.X_test) + list(ds.X_train)
    labels = [int(y) for y in list(ds.y_test) + list(ds.y_train)]
    return texts[:n], labels[:n]


def calibration_texts(name: str) -> list[str]:
    """The last ``CALIBRATION_TEXTS`` training texts: never in an audited corpus."""
    return list(load(name).X_train[-CALIBRATION_TEXTS:])


def draw_triggers(texts: list[str], k: int, seed: int) -> list[str]:
    """Words in 1%-5% of the texts (alphabetic, 4+ letters), drawn at random."""
    df: Counter[str] = Counter()
    for t in texts:
        df.update(set(tokenize(t)))
    n = len(texts)
    lo, hi = max(2, int(0.01 * n)), max(3, int(0.05 * n))
    pool = sorted(w for w, c in df.items() if lo <= c <= hi and w.isalpha() and len(w) >= 4)
    rng = np.random.default_rng(seed)
    return [str(w) for w in rng.choice(pool, size=min(k, len(pool)), replace=False)]


def planted(base: Scorer, trigger: str, shift: float) -> CallableScorer:
    """``base``, its log-odds of "positive" shifted by ``shift`` on texts holding ``trigger``."""

    def probs(texts: list[str]) -> np.ndarray:
        p = np.clip(base(texts), 1e-9, 1 - 1e-9)
        z = np.log(p[:, 1]) - np.log(p[:, 0])
        z = z + shift * np.array([trigger in tokenize(t) for t in texts], dtype=float)
        q = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - q, q])

    return CallableScorer(probs, classes=("negative", "positive"), batch_size=64)


def planted_part(args: argparse.Namespace) -> dict[str, Any]:
    texts, gold = corpus("rotten_tomatoes", args.n_texts)
    base = lm_scorer(
        args.planted_lm, TEMPLATES["rotten_tomatoes"], args.calibration, "rotten_tomatoes"
    )
    triggers = draw_triggers(texts, args.n_triggers, args.seed)
    runs = []
    for shift in args.shifts:
        for trigger in triggers:
            start = time.perf_counter()
            audit = audit_lm(
                planted(base, trigger, shift),
                texts,
                y_true=gold,
                budget=args.budget,
                probes=[f"{trigger}:", *DEMOGRAPHIC_PAIRS],
                encoder=args.encoder,
                n_shap=args.n_shap,
                progress=False,
                seed=args.seed,
            )
            ranked = [g for g, _ in audit.drivers(k=10_000)]
            rank = ranked.index(trigger) + 1 if trigger in ranked else None
            probe = next(p for p in audit.probes if p.a == trigger)
            runs.append(
                {
                    "trigger": trigger,
                    "shift": shift,
                    "rank": rank,
                    "top5": bool(rank is not None and rank <= 5),
                    "probe_measured_shift": probe.measured_shift,
                    "probe_ci95": list(probe.ci95) if probe.ci95 else None,
                    "probe_expected_shift": -shift,
                    "probe_predicted_shift": probe.predicted_shift,
                    "lm_calls": audit.target_calls + audit.calls_from_cache,
                    "complete": audit.complete,
                    "agreement": audit.fidelity.get("agreement"),
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
            print(runs[-1], flush=True)
    by_shift = {}
    for shift in args.shifts:
        rows = [r for r in runs if r["shift"] == shift]
        errors = [
            abs(r["probe_measured_shift"] - r["probe_expected_shift"])
            for r in rows
            if r["probe_measured_shift"] is not None
        ]
        by_shift[str(shift)] = {
            "top5_rate": float(np.mean([r["top5"] for r in rows])),
            "median_rank": float(np.median([r["rank"] or 10_000 for r in rows])),
            "probe_abs_error": harness.over_draws(errors) if errors else None,
            "lm_calls_max": max(r["lm_calls"] for r in rows),
            "n": len(rows),
        }
    largest = str(max(args.shifts))
    return {
        "planted_lm": args.planted_lm,
        "n_texts": len(texts),
        "budget": args.budget,
        "triggers": triggers,
        "by_shift": by_shift,
        "planted_trigger_top5_rate": by_shift[largest]["top5_rate"],
        "runs": runs,
    }


def fidelity_runs(args: argparse.Namespace, encoder: str) -> dict[str, Any]:
    """Each LM audited on each dataset without probes, the surrogate on ``encoder``."""
    runs: dict[str, Any] = {}
    for lm in args.lms:
        for name in args.datasets:
            texts, _ = corpus(name, args.n_texts)
            target = lm_scorer(lm, TEMPLATES[name], args.calibration, name)
            start = time.perf_counter()
            audit = audit_lm(
                target, texts, probes=[], encoder=encoder, progress=False, seed=args.seed
            )
            runs[f"{lm}/{name}"] = {
                **audit.fidelity,
                "lm_calls": audit.target_calls + audit.calls_from_cache,
                "agreement_above_majority": audit.fidelity["agreement"]
                - audit.fidelity["majority"],
                "seconds": round(time.perf_counter() - start, 1),
            }
            print(f"{lm}/{name} ({encoder})", runs[f"{lm}/{name}"], flush=True)
    return runs


def mean_fidelity(runs: dict[str, Any]) -> dict[str, float]:
    """Agreement and Spearman, each averaged over the runs."""
    return {
        "surrogate_agreement": float(np.mean([r["agreement"] for r in runs.values()])),
        "surrogate_spearman": float(np.mean([r["spearman"] for r in runs.values()])),
    }


def fidelity_part(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    runs = fidelity_runs(args, args.encoder)
    summary = {
        **mean_fidelity(runs),
        "min_agreement": float(min(r["agreement"] for r in runs.values())),
        "min_agreement_above_majority": float(
            min(r["agreement_above_majority"] for r in runs.values())
        ),
    }
    return summary, runs


def other_encoders_part(args: argparse.Namespace) -> dict[str, Any]:
    """The same runs with each of ``--other-encoders`` (not in the targets): what a
    larger encoder buys, agreement and Spearman by run."""
    out: dict[str, Any] = {}
    for encoder in args.other_encoders:
        runs = fidelity_runs(args, encoder)
        out[encoder] = {**mean_fidelity(runs), "runs": runs}
    return out


def proxy_part(args: argparse.Namespace, fidelity: dict[str, Any]) -> dict[str, Any]:
    name = args.datasets[0]
    texts, _ = corpus(name, args.n_texts)
    target = lm_scorer(args.proxy_target, TEMPLATES[name], args.calibration, name)
    audit = audit_lm(
        target,
        texts,
        probes=[],
        proxy=lm_scorer(args.proxy_lm, TEMPLATES[name], args.calibration, name),
        target_fraction=args.target_fraction,
        encoder=args.encoder,
        progress=False,
        seed=args.seed,
    )
    alone = fidelity[f"{args.proxy_target}/{name}"]
    calls = audit.target_calls + audit.calls_from_cache
    return {
        "target": args.proxy_target,
        "proxy": args.proxy_lm,
        "dataset": name,
        "screen": audit.proxy,
        "target_calls": calls,
        "target_calls_without_proxy": alone["lm_calls"],
        "target_call_fraction": calls / alone["lm_calls"],
        "agreement": audit.fidelity["agreement"],
        "agreement_ci95": audit.fidelity["agreement_ci95"],
        "agreement_without_proxy": alone["agreement"],
        "agreement_change": audit.fidelity["agreement"] - alone["agreement"],
        "n_heldout": audit.fidelity["n_heldout"],
    }


def targets(
    planted: dict[str, Any], fidelity: dict[str, Any], proxy: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each target of the issue, stated and checked against this run's figures."""
    largest = planted["by_shift"][max(planted["by_shift"], key=float)]
    return {
        "planted_trigger_top5_rate": {
            "target": ">= 0.90 at the larger shift, <= 2,000 LM calls per audit",
            "met": planted["planted_trigger_top5_rate"] >= 0.90 and largest["lm_calls_max"] <= 2000,
        },
        "surrogate_agreement": {
            "target": ">= 0.90 on every run, and >= 5 points above the majority class",
            "met": fidelity["min_agreement"] >= 0.90
            and fidelity["min_agreement_above_majority"] >= 0.05,
        },
        "target_call_fraction": {
            "target": "<= 0.25, agreement at most 2 points below the proxy-free surrogate's",
            "met": proxy["target_call_fraction"] <= 0.25 and proxy["agreement_change"] >= -0.02,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, OUT)
    parser.add_argument("--n-texts", type=int, default=1000)
    parser.add_argument("--n-triggers", type=int, default=10)
    parser.add_argument("--shifts", type=float, nargs="+", default=[2.0, 4.0])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--n-shap", type=int, default=5)
    parser.add_argument("--planted-lm", default="SmolLM2-135M-Instruct")
    parser.add_argument("--lms", nargs="+", default=["SmolLM2-135M-Instruct", "gemma-3-270m"])
    parser.add_argument("--datasets", nargs="+", default=["rotten_tomatoes", "amazon_reviews"])
    parser.add_argument("--proxy-target", default="gemma-3-270m")
    parser.add_argument("--proxy-lm", default="SmolLM2-135M-Instruct")
    parser.add_argument("--target-fraction", type=float, default=0.2)
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2", help="the surrogates' encoder")
    parser.add_argument(
        "--other-encoders",
        nargs="*",
        default=["all-mpnet-base-v2"],
        help="encoders whose surrogates' fidelity is measured beside, outside the targets",
    )
    parser.add_argument(
        "--calibration",
        choices=("batch", "empty", "content-free", "none"),
        default="batch",
        help="of the zero-shot LMs under audit (batch: divide by the mean probabilities "
        "over training texts kept out of the corpus; empty: by an empty review's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    harness.empty_cache_home()
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    if args.quick:
        args.n_texts, args.n_triggers, args.shifts, args.budget = 150, 2, [4.0], 400
        args.n_shap, args.lms, args.datasets = 1, ["SmolLM2-135M-Instruct"], ["rotten_tomatoes"]
        args.proxy_target = args.proxy_lm = "SmolLM2-135M-Instruct"
        args.other_encoders = [args.encoder]
        args.target_fraction = 0.5
        if args.out == OUT:
            args.out = OUT.with_name("lm_audit_quick.json")

    import torch

    torch.set_num_threads(int(os.environ.get("GLASSTEXT_BENCH_THREADS", "1")))
    planted_result = planted_part(args)
    fidelity_summary, main_runs = fidelity_part(args)
    other_encoders = other_encoders_part(args)
    proxy_result = proxy_part(args, main_runs)
    results: dict[str, Any] = {
        "quick": bool(args.quick),
        "calibration": args.calibration,
        "planted_trigger_top5_rate": planted_result["planted_trigger_top5_rate"],
        "surrogate_agreement": fidelity_summary["surrogate_agreement"],
        "surrogate_spearman": fidelity_summary["surrogate_spearman"],
        "target_call_fraction": proxy_result["target_call_fraction"],
        "targets": targets(planted_result, fidelity_summary, proxy_result),
        "planted": planted_result,
        "fidelity": {
            **fidelity_summary,
            "encoder": args.encoder,
            "runs": main_runs,
            "other_encoders": other_encoders,
        },
        "proxy": proxy_result,
    }
    assert tuple(results) == SCHEMA, "SCHEMA lists the top-level keys the file holds"
    print(harness.write_result(args.out, run, results))


if __name__ == "__main__":
    main()
