"""Proxy explanations at task scale: learned proxies, ensembles and what the screen costs.

Target: calibrated zero-shot Gemma-3-270M on Rotten Tomatoes (as in
``proxy_explanations.py``). For each task size ``N`` in ``--n-tasks`` (the
first ``N`` RT test snippets, a shuffled split) and each method:

- a proxy is learned for the target on the whole task
  (:func:`glasstext.explain.learn_proxy`: the ``N`` texts and ``--n-perturb``
  random word deletions of each, scored by the target; these calls count, and
  the same target scorer then serves the prediction check, so the ``N``
  texts are paid once);
- proxies explain the target's predicted class: the learned proxy alone
  (``--learned-samples`` samples: its calls cost no target call), and an
  ensemble of zero-shot SmolLM2 (``--smol-samples``) and the learned proxy
  (:class:`glasstext.explain.ProxyTask` with ``proxy=[smol, learned]``: the
  weighted mean of the L1-normalised explanations, weights ``--weight`` /
  ``1 - --weight``);
- fidelity: summed comprehensiveness (on the target) of the proxy's
  explanations / that of the target's own explanations (``--budget``
  samples), over the first ``--n-eval`` texts of the task (the same texts for
  every ``N``: a fixed subset of a shuffled split; the target's reference
  explanations are benchmark cost, not counted);
- target-call fraction: every target call of the configuration (prediction
  checks and learned-proxy texts) / the calls of explaining all ``N`` texts
  with the target alone (each text's distinct design texts). These rows
  have **no screen**: they are ``proxy-only`` operating points.

The screen's cost is then measured on the per-instance qualities: the
sequential test (``--taus``, ``--delta``, looks ``--min-screen`` ... ``--max-screen``)
replayed ``--replays`` times on random orders of the evaluated texts gives
the acceptance rate and the instances a screen reads; with the measured cost
of one screened instance (the target's explanation plus both
comprehensiveness evaluations) this gives the expected whole-task call
fraction and fidelity at each size of ``--project`` (``scale_projection``:
arithmetic on measured parts, not a run), and the smallest task where an
accepting screen fits in 10% of the calls.

``--screen-tasks N`` runs a real task instead: the proxy learned on ``N``
texts, the ensemble screened once (``--screen-tau``, default 0.8; delta and
looks as above; no prediction check, so no fallback unless the screen does
not accept), then applied to the evaluated texts (:meth:`ProxyTask.screen` /
:meth:`ProxyTask.apply`); after a rejection the other texts' fallbacks are
counted by their design size (not run).

Each part is one run and one file, written whole from an empty cache
(``benchmarks/results/proxy_scale/<part>.json``), apart from
``proxy_explanations.json``:

    python benchmarks/proxy_scale.py --part sizes        # --n-tasks 200 400, both methods
    python benchmarks/proxy_scale.py --part screen_1000  # kernelshap, --screen-tasks 1000
    python benchmarks/proxy_scale.py --part screen_2000  # kernelshap, --screen-tasks 2000
    python benchmarks/proxy_scale.py --quick             # a 20-text task, a smoke run
"""

from __future__ import annotations

import argparse
import math
import sys
import time
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
    comprehensiveness,
    learn_proxy,
)
from glasstext.explain.methods import get_explainer
from glasstext.explain.metrics import DEFAULT_FRACTIONS
from glasstext.explain.proxy_task import sequential_screen

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
OUT_DIR = harness.RESULTS / "proxy_scale"
# Each part's settings (flags given on the command line override them).
PARTS: dict[str, dict[str, Any]] = {
    "sizes": {"n_tasks": [200, 400]},
    "screen_1000": {"methods": ["kernelshap"], "n_tasks": [], "screen_tasks": [1000]},
    "screen_2000": {"methods": ["kernelshap"], "n_tasks": [], "screen_tasks": [2000]},
}
QUICK = {
    "methods": ["kernelshap"],
    "n_tasks": [20],
    "n_eval": 5,
    "budget": 16,
    "smol_samples": 16,
    "learned_samples": 64,
    "replays": 20,
    "min_screen": 2,
    "max_screen": 5,
    "project": [20, 100],
}
SCHEMA = (
    "benchmark",
    "part",
    "settings",
    "definitions",
    "rows",
    "methods",
    "n_configurations",
    "screening_precision",
    "screening_recall",
)
GEMMA = "gemma-3-270m"
SMOL = "SmolLM2-135M-Instruct"


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rounded(value: float | None, digits: int = 4) -> float | None:
    return round(float(value), digits) if value is not None and math.isfinite(value) else None


def comps(attrs: list[Attribution], judge: LMScorer) -> np.ndarray:
    return np.asarray([comprehensiveness(a, judge) for a in attrs])


def replay(qp: np.ndarray, qt: np.ndarray, tau: float, args, rng) -> dict[str, Any]:
    """The sequential test on random orders of measured per-instance qualities."""
    accepts, used, used_accepting = 0, [], []
    for _ in range(args.replays):
        order = rng.permutation(len(qp))
        decision, n_used, _, _ = sequential_screen(
            qp[order],
            qt[order],
            tau=tau,
            delta=args.delta,
            min_screen_texts=args.min_screen,
            max_screen_texts=min(args.max_screen, len(qp)),
        )
        accepts += decision == "accept"
        used.append(n_used)
        if decision == "accept":
            used_accepting.append(n_used)
    d = qp - tau * qt
    return {
        "tau": tau,
        "true_ratio": rounded(float(qp.sum() / qt.sum())),
        "truly_above_tau": bool(qp.sum() / qt.sum() >= tau),
        "accept_rate": rounded(accepts / args.replays, 3),
        "mean_instances_screened": rounded(float(np.mean(used)), 1),
        "mean_instances_when_accepted": (
            rounded(float(np.mean(used_accepting)), 1) if used_accepting else None
        ),
        "d_mean_over_sd": rounded(float(d.mean() / d.std(ddof=1))),
        "instances_for_t_3": (
            math.ceil((3.0 * d.std(ddof=1) / d.mean()) ** 2) if d.mean() > 0 else None
        ),
    }


def project(
    rep: dict[str, Any],
    ratio: float,
    per_text: float,
    design: float,
    screen_cost: float,
    sizes: list[int],
) -> dict[str, Any]:
    """Expected whole-task call fraction and fidelity of the screen at each task size."""
    n_s = rep["mean_instances_screened"]
    n_acc = rep["mean_instances_when_accepted"] or n_s
    out: dict[str, Any] = {}
    for n in sizes:
        all_target = n * design
        screened = min(n_acc, n)
        accepted = per_text * n + screened * screen_cost
        rejected = per_text * n + min(n_s, n) * screen_cost + (n - min(n_s, n)) * design
        p = rep["accept_rate"]
        out[str(n)] = {
            "fraction_if_accepted": rounded(accepted / all_target),
            "fraction_if_rejected": rounded(rejected / all_target),
            "expected_fraction": rounded((p * accepted + (1 - p) * rejected) / all_target),
            "fidelity_if_accepted": rounded((screened + (n - screened) * ratio) / n),
        }
    # the smallest task where an accepting screen costs <= 10% of the target's calls
    room = 0.1 * design - per_text
    out["min_task_size_for_10pct_if_accepted"] = (
        math.ceil(n_acc * screen_cost / room) if room > 0 else None
    )
    return out


def ensemble_task(method: str, args, target, smol, learned, **screen: Any) -> ProxyTask:
    """The benchmark's proxy: SmolLM2 and the learned proxy weighted ``args.weight``, no
    prediction check; ``screen`` adds the screen's settings."""
    return ProxyTask(
        target,
        [smol, learned],
        method,
        n_samples=args.budget,
        proxy_samples=[args.smol_samples, args.learned_samples],
        proxy_weights=[args.weight, 1.0 - args.weight],
        prediction_check=False,
        seed=args.seed,
        **screen,
    )


def run_method(method: str, args, target_lm, smol_lm) -> dict[str, Any]:
    def scorer(lm) -> LMScorer:
        return LMScorer(lm, SENTIMENT_TEMPLATE, SENTIMENT_LABELS, calibrate=True)

    ds = load("rotten_tomatoes")
    texts_eval = [str(t) for t in ds.X_test[: args.n_eval]]
    judge = scorer(target_lm)
    classes = [int(c) for c in judge(texts_eval).argmax(axis=1)]
    explainer = get_explainer(method)
    log(f"{method}: the target's reference explanations of {len(texts_eval)} texts")
    ref_ex = explainer(scorer(target_lm), n_samples=args.budget, seed=args.seed)
    ref = [ref_ex.explain(t, target_class=c) for t, c in zip(texts_eval, classes, strict=True)]
    qt = comps(ref, judge)
    # one screened instance: the target's explanation and two comprehensiveness evaluations
    counts = [
        len({min(len(a), max(1, math.ceil(f * len(a) - 1e-9))) for f in DEFAULT_FRACTIONS})
        for a in ref
    ]
    smol = scorer(smol_lm)
    log(f"{method}: SmolLM2 explanations ({args.smol_samples} samples)")
    smol_ex = explainer(smol, n_samples=args.smol_samples, seed=args.seed)
    smol_attrs = [
        smol_ex.explain(t, target_class=c) for t, c in zip(texts_eval, classes, strict=True)
    ]
    q_smol = comps(smol_attrs, judge)
    rows: list[dict[str, Any]] = []
    tasks: dict[str, Any] = {}
    rng = np.random.default_rng(args.seed)
    for n_task in args.n_tasks:
        task_texts = [str(t) for t in ds.X_test[:n_task]]
        target = scorer(target_lm)
        log(f"{method}: learning a proxy on the {n_task}-text task")
        started = time.perf_counter()
        learned = learn_proxy(target, task_texts, n_perturbations=args.n_perturb, seed=args.seed)
        learn_seconds = time.perf_counter() - started
        task = ensemble_task(method, args, target, smol, learned)
        before = target.n_calls
        predicted = target(task_texts).argmax(axis=1)  # the prediction check (cached by learning)
        prediction_calls = target.n_calls - before
        assert [int(c) for c in predicted[: args.n_eval]] == classes
        designs = [task.design_size(t) for t in task_texts]
        all_target = sum(designs)
        calls = learned.target_calls + prediction_calls
        frac = calls / all_target
        log(f"{method}: N={n_task}: proxies explain {len(texts_eval)} texts")
        learned_ex = task.explainer(learned, args.learned_samples)
        learned_attrs = [
            learned_ex.explain(t, target_class=c) for t, c in zip(texts_eval, classes, strict=True)
        ]
        explainers = task.proxy_explainers()
        ens_attrs = [
            task.explain_with_proxy(explainers, t, c)
            for t, c in zip(texts_eval, classes, strict=True)
        ]
        q_learned, q_ens = comps(learned_attrs, judge), comps(ens_attrs, judge)
        design = all_target / n_task
        screen_cost = float(np.mean([ref_ex_design(ref_ex, t) for t in texts_eval]))
        screen_cost += 2 * float(np.mean(counts))
        info: dict[str, Any] = {
            "n_texts": n_task,
            "learned_proxy": {
                "n_train": learned.n_train,
                "target_calls": learned.target_calls,
                "seconds": round(learn_seconds, 1),
            },
            "target_calls": calls,
            "target_calls_all_target": all_target,
            "target_call_fraction": rounded(frac),
            "screened_instance_target_calls": rounded(screen_cost, 1),
            "proxies": {},
        }
        variants = {
            f"smollm2-zero-shot ({args.smol_samples} samples)": (q_smol, 0),
            f"learned-auglinear on the task ({args.learned_samples} samples)": (q_learned, calls),
            f"ensemble smollm2 {args.weight:g} + learned {1 - args.weight:g}": (q_ens, calls),
        }
        for name, (q, c) in variants.items():
            ratio = float(q.sum() / qt.sum())
            replays = [replay(q, qt, tau, args, rng) for tau in args.taus]
            p_text = c / n_task if c else 1.0  # SmolLM2 alone: the prediction check only
            info["proxies"][name] = {
                "fidelity": rounded(ratio),
                "target_call_fraction": rounded(c / all_target if c else n_task / all_target),
                "screen_replays": replays,
                "scale_projection": {
                    f"tau_{r['tau']:g}": project(
                        r, ratio, p_text, design, screen_cost, args.project
                    )
                    for r in replays
                },
            }
            if c:  # the smol row (no learned proxy) is already in proxy_explanations.json
                rows.append(
                    {
                        "method": method,
                        "proxy": name,
                        "mode": "proxy-only (no screen)",
                        "fidelity": rounded(ratio),
                        "target_call_fraction": rounded(c / all_target),
                        "n_texts": n_task,
                        "n_fidelity_texts": len(texts_eval),
                    }
                )
            log(f"{method}: N={n_task} {name}: fidelity {ratio:.3f}, calls {c / all_target:.3f}")
        tasks[str(n_task)] = info
    screened: dict[str, Any] = {}
    for n_task in args.screen_tasks:
        row, info = run_screened(method, n_task, args, ds, scorer, target_lm, smol, qt, judge)
        rows.append(row)
        screened[str(n_task)] = info
    return {
        "rows": rows,
        "summary": {
            "n_fidelity_texts": len(texts_eval),
            "target_comprehensiveness_mean": rounded(float(qt.mean())),
            "tasks": tasks,
            "screened_tasks": screened,
        },
    }


def run_screened(method, n_task, args, ds, scorer, target_lm, smol, qt, judge):
    """A real task: learn the proxy, screen the ensemble once, apply it to the evaluated texts.

    Every target call of the task is made and counted (the proxy learning, the
    prediction check, the screen with its metric texts) except the fallbacks
    of texts outside the evaluated ones after a rejection, whose cost is the
    distinct texts of their designs (what explaining them would cost). The
    proxy's explanations of texts outside the evaluated ones cost no target
    call and are not computed.
    """
    task_texts = [str(t) for t in ds.X_test[:n_task]]
    target = scorer(target_lm)
    started = time.perf_counter()
    log(f"{method}: screened task of {n_task} texts: learning the proxy")
    learned = learn_proxy(target, task_texts, n_perturbations=args.n_perturb, seed=args.seed)
    task = ensemble_task(
        method,
        args,
        target,
        smol,
        learned,
        tau=args.screen_tau,
        delta=args.delta,
        min_screen_texts=args.min_screen,
        max_screen_texts=args.max_screen,
    )
    log(f"{method}: screened task of {n_task} texts: screening (tau {args.screen_tau})")
    screen = task.screen(task_texts)
    log(f"{method}: screen {screen.report}")
    evaluated = list(range(args.n_eval))
    result = task.apply(screen, evaluated)
    pending = 0
    if not screen.report.accepted:  # the rest of the task falls back to the target
        rest = [i for i in range(n_task) if i not in screen.screened and i >= args.n_eval]
        pending = sum(task.design_size(task_texts[i]) for i in rest)
    all_target = result.costs.target_calls_all_target
    total = learned.target_calls + result.costs.target_calls_total + pending
    q = comps(result.attributions, judge)
    fid = float(q.sum() / qt[: len(q)].sum())
    mode = f"task-level screening (tau {args.screen_tau:g}, delta {args.delta:g})"
    name = f"ensemble smollm2 {args.weight:g} + learned {1 - args.weight:g}"
    row = {
        "method": method,
        "proxy": name,
        "mode": mode,
        "fidelity": rounded(fid),
        "target_call_fraction": rounded(total / all_target),
        "n_texts": n_task,
        "n_fidelity_texts": len(q),
        "screen_decision": screen.report.decision,
    }
    info = {
        "row": row,
        "screening": screen.report.to_dict(),
        "target_calls": {
            "learned_proxy": learned.target_calls,
            "predictions": screen.target_calls_predictions,
            "screening": screen.target_calls_screening,
            "fallbacks_of_evaluated_texts": result.costs.target_calls_fallbacks,
            "fallbacks_of_other_texts_by_design_size": pending,
            "total": total,
            "all_target": all_target,
        },
        "sources_of_evaluated_texts": result.counts(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    log(f"{method}: screened task of {n_task}: fidelity {fid:.3f}, calls {total / all_target:.3f}")
    return row, info


def ref_ex_design(explainer, text: str) -> int:
    """Distinct texts of the target's explanation of ``text`` (what screening it costs)."""
    return len(explainer.design(explainer.units(text), explainer.rng()).texts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--part", choices=list(PARTS), default="sizes")
    harness.add_common_arguments(p, OUT_DIR / "PART.json")
    p.add_argument("--methods", nargs="+", default=["kernelshap", "lime"])
    p.add_argument("--n-tasks", nargs="*", type=int, default=[200])
    p.add_argument("--n-eval", type=int, default=50)
    p.add_argument("--budget", type=int, default=64)
    p.add_argument("--smol-samples", type=int, default=64)
    p.add_argument("--learned-samples", type=int, default=1024)
    p.add_argument("--n-perturb", type=int, default=2)
    p.add_argument("--weight", type=float, default=0.5, help="SmolLM2's weight in the ensemble")
    p.add_argument("--taus", nargs="+", type=float, default=[0.8, 0.9])
    p.add_argument("--delta", type=float, default=0.01)
    p.add_argument("--min-screen", type=int, default=5)
    p.add_argument("--max-screen", type=int, default=50)
    p.add_argument("--replays", type=int, default=200)
    p.add_argument(
        "--screen-tasks",
        nargs="*",
        type=int,
        default=[],
        help="task sizes run for real with the ensemble screened once (--screen-tau)",
    )
    p.add_argument("--screen-tau", type=float, default=0.8)
    p.add_argument("--project", nargs="+", type=int, default=[200, 1000, 2000, 5000])
    p.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    p.add_argument("--lm-batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    given = {a.lstrip("-").split("=")[0].replace("-", "_") for a in argv or sys.argv[1:]}
    args = p.parse_args(argv)
    preset = QUICK if args.quick else PARTS[args.part]
    for key, value in preset.items():
        if key not in given:
            setattr(args, key, value)
    if args.out.name == "PART.json":
        args.out = OUT_DIR / f"{args.part}.json"
    return args


def precision_recall(result: dict[str, Any]) -> dict[str, Any]:
    """The screen's precision and recall over every replay of the run (as in the main benchmark)."""
    replays = [
        r
        for m in result["methods"].values()
        for t in m["tasks"].values()
        for p in t["proxies"].values()
        for r in p["screen_replays"]
    ]
    accepted = sum(r["accept_rate"] for r in replays)
    good = [r for r in replays if r["truly_above_tau"]]
    good_accepted = sum(r["accept_rate"] for r in good)
    return {
        "n_configurations": len(replays),
        "screening_precision": rounded(good_accepted / accepted) if accepted else None,
        "screening_recall": rounded(good_accepted / len(good)) if good else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    harness.empty_cache_home()
    # --quick checks the script, not the figures: SmolLM2 stands for the target too, so
    # one small model loads instead of two.
    target_lm = LocalCausalLM(
        SMOL if args.quick else GEMMA,
        precision=args.precision,
        batch_size=args.lm_batch,
        progress=False,
    )
    smol_lm = (
        target_lm
        if args.quick
        else LocalCausalLM(SMOL, precision=args.precision, batch_size=args.lm_batch, progress=False)
    )
    rows: list[dict[str, Any]] = []
    methods: dict[str, Any] = {}
    for method in args.methods:
        res = run_method(method, args, target_lm, smol_lm)
        rows += res["rows"]
        methods[method] = res["summary"]
    result = {
        "benchmark": "proxy_scale",
        "part": "quick" if args.quick else args.part,
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"
        },
        "definitions": {
            "fidelity": "summed comprehensiveness AOPC (on the target) of the proxy's "
            "explanations / of the target's own, over the first n_fidelity_texts texts",
            "target_call_fraction": "prediction checks and learned-proxy training texts / "
            "explaining all n_texts texts with the target; no screen in these rows",
            "scale_projection": "expected whole-task call fraction and fidelity if the task "
            "screened this proxy: the replayed screen's acceptance rate and instances read, "
            "times the measured cost of one screened instance; arithmetic, not a run",
        },
        "rows": rows,
        "methods": methods,
    }
    result.update(precision_recall(result))
    print(harness.write_result(args.out, run, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
