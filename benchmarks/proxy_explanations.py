"""Proxy explanations benchmark: explain a zero-shot LM with cheaper models.

Target: Gemma-3-270M used zero-shot for sentiment on Rotten Tomatoes (the
prompt and label words of ``glasstext.explain.SENTIMENT_TEMPLATE`` /
``SENTIMENT_LABELS``); SmolLM2-135M if Gemma does not load (said in the output).
Proxies: SmolLM2-135M with the same prompt, and an Aug-Linear model (MiniLM)
distilled on the target's own labels of RT training texts.

For LIME and KernelSHAP, on the first ``--n-texts`` RT test snippets:

- the target's own explanation with the full budget (``--budget`` samples);
- each proxy through :class:`glasstext.explain.ProxyExplainer` (screening,
  agreement threshold, fallback to the target) and, to show what screening
  buys, the same proxy used unconditionally ("always proxy");
- the ``lime`` and ``shap`` packages explaining the same target with the same
  sample budget (lime ``num_samples``; shap ``KernelExplainer`` ``nsamples``,
  ``l1_reg=False``, the same word masks and deletion), their model calls
  counted at the model function.

Figures: target calls and wall time per explanation; comprehensiveness AOPC
against the target (10%..100% of the words removed); **fidelity** = the proxy
explanation's summed comprehensiveness on the target divided by that of the
target's own full-budget explanation (a ratio of sums: per-text ratios are
unstable when a text's comprehensiveness is near zero; their median is given
too); top-5 and Spearman agreement with the target's explanation.

    python benchmarks/proxy_explanations.py --quick       # 4 snippets, SmolLM2 as target
    python benchmarks/proxy_explanations.py               # 50 snippets, Gemma target
    python benchmarks/proxy_explanations.py --n-texts 100 --budget 256

The full run makes ~350 target forward passes per snippet and method (plus
~130 SmolLM2 ones), about 35k in all at the defaults; on two shared cores that
is one to two hours. LM calls inside timed explanations are never served from
a persistent cache (each explanation starts with an empty in-memory cache);
metric evaluation and distillation labels use the persistent cache.

Prints one JSON object and writes it to
``benchmarks/results/proxy_explanations.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from glasstext.backends.lm import LanguageModel, LocalCausalLM
from glasstext.datasets import load
from glasstext.explain import (
    SENTIMENT_LABELS,
    SENTIMENT_TEMPLATE,
    Attribution,
    EstimatorScorer,
    KernelShapExplainer,
    LimeExplainer,
    LMScorer,
    ProxyExplainer,
    Scorer,
    comprehensiveness,
    rank_agreement,
    top_k_agreement,
)
from glasstext.explain.perturb import make_units, render_many

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "proxy_explanations.json"
GEMMA = "gemma-3-270m"
SMOL = "SmolLM2-135M-Instruct"
TOP_K = 5


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rounded(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


# -- models --------------------------------------------------------------------------


def load_target(name: str, precision: str) -> tuple[str, str | None]:
    """The target model name, falling back to SmolLM2 if it will not load."""
    try:
        LocalCausalLM(name, precision=precision, progress=False).load()
        return name, None
    except Exception as exc:  # any failure to resolve, convert or load
        note = f"{name} failed to load ({type(exc).__name__}: {exc}); target is {SMOL}"
        log(note)
        return SMOL, note


class Models:
    """The LM objects of the run: uncached ones for timed work, cached ones for the rest."""

    def __init__(self, target: str, proxy_lm: str | None, precision: str, batch: int) -> None:
        def lm(name: str, cache: bool) -> LocalCausalLM:
            return LocalCausalLM(
                name, precision=precision, batch_size=batch, progress=False, cache=cache
            )

        self.target_timed = lm(target, cache=False)
        self.target_cached = lm(target, cache=True)
        self.proxy_timed = lm(proxy_lm, cache=False) if proxy_lm else None

    @staticmethod
    def scorer(lm: LanguageModel) -> LMScorer:
        """A fresh scorer (empty in-memory cache) on ``lm``."""
        return LMScorer(lm, SENTIMENT_TEMPLATE, SENTIMENT_LABELS)


def distill_auglinear(models: Models, texts: list[str]) -> tuple[Any, dict[str, Any]]:
    """Aug-Linear fitted on the target's own labels of ``texts``.

    A small base LM used zero-shot is badly calibrated (Gemma-3-270M puts
    "positive" above "negative" for almost every review), so its arg-max gives
    one label to everything. The labels are therefore the target's decision at
    its own median: P(positive) above the median of these texts. That is still
    the target's ranking of the texts, only with its bias removed.
    """
    from glasstext import AugLinearClassifier

    start = time.perf_counter()
    labeller = models.scorer(models.target_cached)
    proba = labeller(texts)[:, 1]
    labels = (proba > np.median(proba)).astype(int)
    label_seconds = time.perf_counter() - start
    info: dict[str, Any] = {
        "n_texts": len(texts),
        "target_label_calls": len(texts),
        "label_seconds": round(label_seconds, 1),
        "argmax_positive_share": rounded(float((proba > 0.5).mean()), 3),
        "labels": "target P(positive) above its median on these texts",
        "positive_share": rounded(float(labels.mean()), 3),
    }
    if len(set(labels.tolist())) < 2 or min(np.bincount(labels)) < 2:
        info["skipped"] = "the target gave (almost) the same score to every text"
        return None, info
    start = time.perf_counter()
    model = AugLinearClassifier(progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(texts, labels)
    info["fit_seconds"] = round(time.perf_counter() - start, 1)
    return model, info


# -- peers ---------------------------------------------------------------------------


class Counted:
    """The target's explained-class probability as a plain function, counting texts."""

    def __init__(self, lm: LanguageModel) -> None:
        self.lm = lm
        self.n_texts = 0

    def probs(self, texts: list[str]) -> np.ndarray:
        self.n_texts += len(texts)
        prompts = [SENTIMENT_TEMPLATE.replace("{text}", t) for t in texts]
        return self.lm.label_probs(prompts, list(SENTIMENT_LABELS))


def as_attribution(base: Attribution, scores: np.ndarray, method: str, calls: int) -> Attribution:
    return replace(base, scores=scores, method=method, n_calls=calls, extras={}, proxy=None)


def run_lime_peer(text: str, lm: LanguageModel, cls: int, budget: int, seed: int) -> dict[str, Any]:
    from lime.lime_text import LimeTextExplainer

    units = make_units(text)
    counted = Counted(lm)

    def words(s: str) -> list[str]:
        return list(make_units(s).words)

    start = time.perf_counter()
    explainer = LimeTextExplainer(
        class_names=[lab.strip() for lab in SENTIMENT_LABELS],
        split_expression=words,
        bow=False,
        mask_string="",
        random_state=seed,
    )
    exp = explainer.explain_instance(
        text, counted.probs, labels=(cls,), num_features=len(units), num_samples=budget
    )
    seconds = time.perf_counter() - start
    scores = np.zeros(len(units))
    for index, weight in exp.local_exp[cls]:
        scores[index] = weight
    return {"scores": scores, "calls": counted.n_texts, "seconds": seconds}


def run_shap_peer(text: str, lm: LanguageModel, cls: int, budget: int, seed: int) -> dict[str, Any]:
    import shap

    units = make_units(text)
    d = len(units)
    counted = Counted(lm)

    def f(masks: np.ndarray) -> np.ndarray:
        return counted.probs(render_many(units, masks > 0.5))[:, cls]

    np.random.seed(seed)  # noqa: NPY002 - shap samples from the global generator
    start = time.perf_counter()
    explainer = shap.KernelExplainer(f, np.zeros((1, d)))
    phi = explainer.shap_values(np.ones((1, d)), nsamples=budget, l1_reg=False, silent=True)
    seconds = time.perf_counter() - start
    return {
        "scores": np.asarray(phi, dtype=np.float64).reshape(-1)[:d],
        "calls": counted.n_texts,
        "seconds": seconds,
    }


# -- one snippet ------------------------------------------------------------------------


def timed(fn: Callable[[], Attribution]) -> tuple[Attribution, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


EXPLAINERS: dict[str, type[LimeExplainer] | type[KernelShapExplainer]] = {
    "lime": LimeExplainer,
    "kernelshap": KernelShapExplainer,
}


def explain_snippet(
    text: str,
    method: str,
    models: Models,
    proxies: dict[str, Callable[[], Scorer]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Every explanation of one snippet with one method, and their metrics."""
    row: dict[str, Any] = {"n_words": len(make_units(text))}
    cls_name = EXPLAINERS[method]
    target_attr, seconds = timed(
        lambda: cls_name(
            models.scorer(models.target_timed), n_samples=args.budget, seed=args.seed
        ).explain(text)
    )
    cls = target_attr.explained_class
    judge = models.scorer(models.target_cached)  # metrics: persistent cache, not timed
    target_comp = comprehensiveness(target_attr, judge)
    row["target"] = {"calls": target_attr.n_calls, "seconds": seconds, "comp": target_comp}

    for name, make_proxy in proxies.items():
        target_scorer = models.scorer(models.target_timed)
        proxy_scorer = make_proxy()
        explainer = ProxyExplainer(
            target_scorer,
            proxy_scorer,
            method,
            n_samples=args.budget,
            threshold=args.threshold,
            seed=args.seed,
        )
        attr, seconds = timed(lambda ex=explainer: ex.explain(text, target_class=cls))
        assert attr.proxy is not None
        always = ProxyExplainer(
            target_scorer,
            proxy_scorer,
            method,
            n_samples=args.budget,
            threshold=-1.0,
            seed=args.seed,
        ).explain(text, target_class=cls)
        row[name] = {
            "decision": attr.proxy.decision,
            "agreement": attr.proxy.agreement,
            "target_calls": attr.proxy.target_calls,
            "n_screened": attr.proxy.n_screened,
            "proxy_calls": attr.proxy.proxy_calls,
            "seconds": seconds,
            "comp": comprehensiveness(attr, judge),
            "comp_always_proxy": comprehensiveness(always, judge),
            "top_k": top_k_agreement(attr, target_attr, TOP_K),
            "spearman": rank_agreement(attr, target_attr),
        }

    if not args.skip_peers:
        peer = run_lime_peer if method == "lime" else run_shap_peer
        result = peer(text, models.target_timed, cls, args.budget, args.seed)
        peer_attr = as_attribution(target_attr, result["scores"], method + "-peer", result["calls"])
        row["peer"] = {
            "calls": result["calls"],
            "seconds": result["seconds"],
            "comp": comprehensiveness(peer_attr, judge),
            "top_k": top_k_agreement(peer_attr, target_attr, TOP_K),
        }
    return row


# -- summary ------------------------------------------------------------------------------


def mean(rows: list[dict[str, Any]], *keys: str) -> float:
    values = []
    for r in rows:
        v: Any = r
        for k in keys:
            v = v[k]
        values.append(float(v))
    clean = [v for v in values if math.isfinite(v)]
    return float(np.mean(clean)) if clean else math.nan


def summarise(rows: list[dict[str, Any]], proxies: list[str], peer_name: str) -> dict[str, Any]:
    target_comp = sum(r["target"]["comp"] for r in rows)
    target_calls = sum(r["target"]["calls"] for r in rows)
    out: dict[str, Any] = {
        "n_texts": len(rows),
        "mean_words": rounded(mean(rows, "n_words"), 1),
        "target_full_budget": {
            "calls_per_explanation": rounded(mean(rows, "target", "calls"), 1),
            "seconds_per_explanation": rounded(mean(rows, "target", "seconds"), 2),
            "comprehensiveness": rounded(mean(rows, "target", "comp")),
        },
        "proxies": {},
    }
    for name in proxies:
        comp = sum(r[name]["comp"] for r in rows)
        always = sum(r[name]["comp_always_proxy"] for r in rows)
        ratios = [
            r[name]["comp"] / r["target"]["comp"] for r in rows if abs(r["target"]["comp"]) > 1e-3
        ]
        calls = sum(r[name]["target_calls"] for r in rows)
        decisions = [r[name]["decision"] for r in rows]
        out["proxies"][name] = {
            "fidelity": rounded(comp / target_comp) if target_comp > 0 else None,
            "fidelity_median_per_text": rounded(float(np.median(ratios))) if ratios else None,
            "fidelity_always_proxy": rounded(always / target_comp) if target_comp > 0 else None,
            "target_call_fraction": rounded(calls / target_calls) if target_calls else None,
            "target_calls_per_explanation": rounded(calls / len(rows), 1),
            "proxy_calls_per_explanation": rounded(mean(rows, name, "proxy_calls"), 1),
            "seconds_per_explanation": rounded(mean(rows, name, "seconds"), 2),
            "comprehensiveness": rounded(comp / len(rows)),
            "decisions": {d: decisions.count(d) for d in sorted(set(decisions))},
            "agreement_mean": rounded(mean(rows, name, "agreement")),
            f"top{TOP_K}_agreement": rounded(mean(rows, name, "top_k")),
            "spearman": rounded(mean(rows, name, "spearman")),
            "threshold_sweep": threshold_sweep(rows, name),
        }
    if rows and "peer" in rows[0]:
        ours_calls = mean(rows, "target", "calls")
        peer_calls = mean(rows, "peer", "calls")
        out["same_budget_vs_" + peer_name] = {
            "peer_calls_per_explanation": rounded(peer_calls, 1),
            "peer_seconds_per_explanation": rounded(mean(rows, "peer", "seconds"), 2),
            "peer_comprehensiveness": rounded(mean(rows, "peer", "comp")),
            "ours_calls_per_explanation": rounded(ours_calls, 1),
            "ours_seconds_per_explanation": rounded(mean(rows, "target", "seconds"), 2),
            "ours_comprehensiveness": rounded(mean(rows, "target", "comp")),
            "calls_ours_over_peer": rounded(ours_calls / peer_calls) if peer_calls else None,
            f"peer_top{TOP_K}_agreement_with_ours": rounded(mean(rows, "peer", "top_k")),
        }
    return out


SWEEP = (-1.0, 0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)


def threshold_sweep(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Fidelity and target-call fraction had the agreement threshold been another value.

    Computed from the measured rows, no new model call: at threshold t a text
    whose screened agreement is >= t gets the calibrated proxy explanation
    (its comprehensiveness is ``comp_always_proxy``, its target cost the
    screened texts), any other text the target's own (full cost).
    """
    target_comp = sum(r["target"]["comp"] for r in rows)
    target_calls = sum(r["target"]["calls"] for r in rows)
    sweep = []
    for t in SWEEP:
        used = [r[name]["agreement"] is not None and r[name]["agreement"] >= t for r in rows]
        comp = sum(
            r[name]["comp_always_proxy"] if u else r["target"]["comp"]
            for r, u in zip(rows, used, strict=True)
        )
        calls = sum(
            r[name]["n_screened"] if u else r["target"]["calls"]
            for r, u in zip(rows, used, strict=True)
        )
        sweep.append(
            {
                "threshold": t,
                "proxy_used_share": rounded(float(np.mean(used)), 3),
                "fidelity": rounded(comp / target_comp) if target_comp > 0 else None,
                "target_call_fraction": rounded(calls / target_calls) if target_calls else None,
            }
        )
    return sweep


def targets_met(methods: dict[str, Any], primary: str) -> dict[str, Any]:
    met: dict[str, Any] = {}
    for method, summary in methods.items():
        p = summary["proxies"].get(primary)
        if p is not None and p["fidelity"] is not None:
            met[f"{method}: {primary} proxy fidelity >= 0.9"] = p["fidelity"] >= 0.9
            met[f"{method}: {primary} proxy target calls <= 10%"] = p["target_call_fraction"] <= 0.1
        for key, peer in summary.items():
            if key.startswith("same_budget_vs_"):
                name = key.removeprefix("same_budget_vs_")
                met[f"{method}: fewer target calls than {name}"] = (
                    peer["ours_calls_per_explanation"] < peer["peer_calls_per_explanation"]
                )
                met[f"{method}: comprehensiveness not below {name}"] = (
                    peer["ours_comprehensiveness"] >= peer["peer_comprehensiveness"]
                )
    return met


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for pkg in ("glasstext", "lime", "shap", "torch", "transformers"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


# -- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="4 snippets, small budget, SmolLM2 target")
    p.add_argument("--n-texts", type=int, default=None, help="RT test snippets (default 50)")
    p.add_argument("--budget", type=int, default=None, help="samples per explanation (128)")
    p.add_argument("--n-distill", type=int, default=None, help="RT training texts (1500)")
    p.add_argument("--threshold", type=float, default=0.7, help="proxy agreement threshold")
    p.add_argument("--methods", nargs="+", default=["lime", "kernelshap"], choices=EXPLAINERS)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--lm-batch", type=int, default=16, help="LM forward-pass batch size")
    p.add_argument("--skip-peers", action="store_true", help="without the lime / shap packages")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    defaults = (4, 32, 100) if args.quick else (50, 128, 1500)
    args.n_texts = args.n_texts or defaults[0]
    args.budget = args.budget or defaults[1]
    args.n_distill = args.n_distill or defaults[2]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    notes: list[str] = []
    if args.quick:
        target, note = SMOL, "--quick: SmolLM2 is the target, so the SmolLM2 proxy is left out"
        notes.append(note)
    else:
        target, note = load_target(GEMMA, args.precision)
        if note:
            notes.append(note)
    proxy_lm = None if target == SMOL else SMOL
    models = Models(target, proxy_lm, args.precision, args.lm_batch)

    ds = load("rotten_tomatoes")
    snippets = [str(t) for t in ds.X_test[: args.n_texts]]
    log(f"target {target}; distilling Aug-Linear on {args.n_distill} target-labelled texts")
    distilled, distill_info = distill_auglinear(
        models, [str(t) for t in ds.X_train[: args.n_distill]]
    )

    proxies: dict[str, Callable[[], Scorer]] = {}
    if models.proxy_timed is not None:
        proxy_lm_obj = models.proxy_timed
        proxies["smollm2-zero-shot"] = lambda: Models.scorer(proxy_lm_obj)
    if distilled is not None:
        proxies["auglinear-distilled"] = lambda: EstimatorScorer(distilled)
    else:
        notes.append(f"Aug-Linear proxy skipped: {distill_info.get('skipped')}")
    primary = "smollm2-zero-shot" if "smollm2-zero-shot" in proxies else "auglinear-distilled"

    if distilled is not None:
        from scipy.stats import spearmanr

        judge = Models.scorer(models.target_cached)
        t = judge(snippets)[:, 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = np.asarray(distilled.predict_proba(snippets))[:, 1]
        # The target is uncalibrated (see distill_auglinear): compare rankings.
        rho = spearmanr(t, a).statistic if len(snippets) > 2 else float("nan")
        distill_info["spearman_with_target_on_snippets"] = rounded(float(rho), 3)

    methods: dict[str, Any] = {}
    per_text: dict[str, list[dict[str, Any]]] = {}
    for method in args.methods:
        rows = []
        for i, text in enumerate(snippets):
            log(f"{method} {i + 1}/{len(snippets)} ({len(make_units(text))} words)")
            rows.append(explain_snippet(text, method, models, proxies, args))
        peer_name = "lime" if method == "lime" else "shap"
        methods[method] = summarise(rows, list(proxies), peer_name)
        p = methods[method]["proxies"].get(primary, {})
        methods[method]["fidelity"] = p.get("fidelity")
        methods[method]["target_call_fraction"] = p.get("target_call_fraction")
        per_text[method] = [
            {
                k: (
                    {kk: rounded(vv) if isinstance(vv, float) else vv for kk, vv in v.items()}
                    if isinstance(v, dict)
                    else v
                )
                for k, v in r.items()
            }
            for r in rows
        ]

    result = {
        "benchmark": "proxy_explanations",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
        },
        "versions": versions(),
        "settings": {
            "target": target,
            "proxies": list(proxies),
            "primary_proxy": primary,
            "n_texts": len(snippets),
            "budget": args.budget,
            "threshold": args.threshold,
            "n_screen": "6% of the distinct perturbed texts, at least 10, + the text and the "
            "fully masked text",
            "precision": args.precision,
            "template": SENTIMENT_TEMPLATE,
            "labels": list(SENTIMENT_LABELS),
            "quick": args.quick,
            "seed": args.seed,
        },
        "definitions": {
            "fidelity": "sum over texts of comprehensiveness AOPC (on the target) of the proxy "
            "explanation / same for the target's own explanation with the full budget",
            "target_call_fraction": "target calls of the proxy explanations / target calls of "
            "the target's own full-budget explanations",
            "fidelity_always_proxy": "the same proxy used without screening (threshold -1)",
            "calls": "texts the model evaluated; ours count each distinct text once, lime "
            "scores every sample, shap scores nsamples + the text + the background",
        },
        "distillation": distill_info,
        "methods": methods,
        "targets_met": targets_met(methods, primary),
        "notes": notes,
        "seconds_total": round(time.perf_counter() - started, 1),
        "per_text": per_text,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
