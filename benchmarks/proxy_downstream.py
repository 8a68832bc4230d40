"""Explanations put to work: prompt compression and pruning of poisoned demonstrations.

Target: Gemma-3-270M (base) used for sentiment on Rotten Tomatoes; proxy:
SmolLM2-135M-Instruct with the same prompt. Both through
:mod:`glasstext.explain.actions`.

**Prompt compression** (first ``--n-compress`` RT test snippets with at least
``--min-words`` words). The target's answer is the arg-max of its label
probabilities for the snippet in ``--template``. Words are ranked by

- ``target-occlusion``: leave-one-out occlusion on the target (n + 2 calls);
- ``proxy-lime``: LIME on the proxy (``--proxy-samples`` proxy calls, no target call);
- ``random``: a seeded random order (the baseline).

For each ranking: ``fixed`` compression at 30% and 50% of the words (dropped
at once, one target call checks the answer) and ``greedy`` compression (each
drop re-checked with the target, so the answer is always kept; the figure is
the compression reached and the calls spent).

**Poisoned demonstrations** (``--n-trials`` trials). Each trial draws
``--n-demos`` balanced RT training snippets as demonstrations
(``Review: "..."\\nSentiment: positive``), flips the label of ``--n-poison`` of
them, ranks the demonstrations by occlusion attribution toward wrong answers on
``--n-rank`` labelled training queries (with the target, and with the proxy),
removes the ``--n-poison`` worst and measures accuracy on ``--n-eval`` held-out
test snippets: before, after, and after random removal of as many
(``--n-random`` seeds). Also: how many removed demonstrations were poisoned.

**Remote path** (``--server``, needs llama-cpp-python): the target's GGUF is
served by llama-cpp-python's OpenAI-compatible server on a local port, and a
few snippets are scored, explained and compressed through
:class:`~glasstext.backends.openai_compat.OpenAICompatibleLM` (persistent
cache off): calls, wall time per call, and the largest difference between the
server's and the local backend's label probabilities (the server runs the
quantized GGUF, the local backend its dequantized fp32 weights).

Each part is one run and one file, written whole:
``benchmarks/results/proxy_downstream/<part>.json``.

    python benchmarks/proxy_downstream.py --part compression     # ~25 min on 2 cores
    python benchmarks/proxy_downstream.py --part demonstrations  # ~25 min
    python benchmarks/proxy_downstream.py --part remote          # needs llama-cpp-python
    python benchmarks/proxy_downstream.py --quick                # compression, a few snippets
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import harness
from glasstext.datasets import load
from glasstext.explain import (
    SENTIMENT_LABELS,
    LimeExplainer,
    LMScorer,
    OcclusionExplainer,
    Scorer,
)
from glasstext.explain.actions import compress_prompt, few_shot_prompt, prune_demonstrations

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = harness.RESULTS / "proxy_downstream"
TARGET = "gemma-3-270m"
PROXY = "SmolLM2-135M-Instruct"
# The snippet's prompt: two fixed examples, then the snippet.
TEMPLATE = (
    'Review: "a gorgeous, witty, seductive movie."\nSentiment: positive\n\n'
    'Review: "the plot is nothing but boilerplate cliches."\nSentiment: negative\n\n'
    'Review: "{text}"\nSentiment:'
)
PARTS = ("compression", "demonstrations", "remote")
# The top-level keys of a --part compression file (the other parts have their own
# section instead of "compression").
SCHEMA = (
    "benchmark",
    "part",
    "target",
    "proxy",
    "template",
    "demonstration_format",
    "calibration",
    "labels",
    "settings",
    "notes",
    "compression",
)
DEMO = 'Review: "{text}"\nSentiment:{label}'
QUERY = 'Review: "{text}"\nSentiment:'


class Calibrated(Scorer):
    """Contextual calibration (Zhao et al., 2021) of a zero-shot LM scorer.

    Gemma-3-270M (base) puts more than 0.86 on " positive" for almost every
    review, so its raw arg-max is one constant answer and "keeping the answer"
    would be trivial. Each prompt's class probabilities are divided by those of
    the same prompt with an empty review (``" "``), then renormalised: on 40 RT
    test snippets this moves the answers from 100% to ~70% positive (accuracy
    0.45 -> 0.75). The content-free prompts are real target calls, counted in
    ``base.n_calls`` (this scorer's ``n_calls`` counts the prompts asked for).
    """

    def __init__(self, base: LMScorer, content_free: Callable[[str], str]) -> None:
        super().__init__(batch_size=base.batch_size)
        self.base = base
        self.content_free = content_free

    @property
    def classes(self) -> tuple[str, ...]:
        return self.base.classes

    def _score(self, texts: list[str]) -> np.ndarray:
        probs = self.base(texts)
        prior = self.base([self.content_free(t) for t in texts])
        ratio = probs / prior
        return np.asarray(ratio / ratio.sum(axis=1, keepdims=True))


def empty_review(text: str) -> str:
    """The content-free text of a snippet scored with TEMPLATE."""
    return " "


def empty_query(prompt: str) -> str:
    """A few-shot prompt with its query's review emptied (the demonstrations kept)."""
    return prompt[: prompt.rfind('Review: "')] + QUERY.format(text=" ")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def r4(value: Any) -> float:
    return round(float(value), 4)


# -- compression ------------------------------------------------------------------------------


def compression(args: argparse.Namespace, target: Scorer, proxy: Scorer) -> dict[str, Any]:
    ds = load("rotten_tomatoes")
    texts = [t for t in ds.X_test if len(t.split()) >= args.min_words][: args.n_compress]
    log(f"compression: {len(texts)} snippets")
    answers = np.argmax(target(texts), axis=1)
    rankings: dict[str, Any] = {
        "target-occlusion": lambda: OcclusionExplainer(target),
        "proxy-lime": lambda: LimeExplainer(proxy, n_samples=args.proxy_samples, seed=args.seed),
        "random": lambda: "random",
    }
    out: dict[str, Any] = {
        "n_examples": len(texts),
        "answer_balance": {
            "positive_fraction": r4(np.mean(answers == 1)),
            "accuracy_vs_gold": r4(
                np.mean(answers == np.asarray(ds.y_test)[[list(ds.X_test).index(t) for t in texts]])
            ),
        },
        "rankings": {},
    }
    for name, make in rankings.items():
        rows: dict[str, Any] = {}
        for mode, rate, verify in (
            ("fixed_30", 0.3, False),
            ("fixed_50", 0.5, False),
            ("greedy", None, True),
        ):
            # every mode pays its own ranking: no scores kept from the previous mode
            for scorer in (target, proxy):
                scorer.clear_cache()
                if isinstance(scorer, Calibrated):
                    scorer.base.clear_cache()
            results = []
            calls_before = target.n_calls
            start = time.perf_counter()
            for i, text in enumerate(texts):
                # a fresh explainer per text; random removal is seeded per text
                results.append(
                    compress_prompt(
                        text, target, explainer=make(), rate=rate, verify=verify, seed=args.seed + i
                    )
                )
            seconds = time.perf_counter() - start
            rows[mode] = {
                "rate_asked": rate,
                "answer_preservation": r4(np.mean([r.answer_kept for r in results])),
                "mean_compression_rate": r4(np.mean([r.compression_rate for r in results])),
                "median_compression_rate": r4(np.median([r.compression_rate for r in results])),
                "mean_char_compression_rate": r4(
                    np.mean([r.char_compression_rate for r in results])
                ),
                "target_calls_per_prompt": r4(np.mean([r.target_calls for r in results])),
                "new_target_calls_per_prompt": r4((target.n_calls - calls_before) / len(texts)),
                "ranking_target_calls_per_prompt": r4(
                    np.mean([r.ranking_target_calls for r in results])
                ),
                "ranking_proxy_calls_per_prompt": r4(
                    np.mean([r.ranking_proxy_calls for r in results])
                ),
                "seconds": round(seconds, 1),
                "example": results[0].to_dict(),
            }
            log(
                f"compression {name} {mode}: {rows[mode]['answer_preservation']} kept, "
                f"{rows[mode]['mean_compression_rate']} dropped"
            )
        out["rankings"][name] = rows
    fixed = out["rankings"]
    out["target_met"] = {
        ranking: bool(fixed[ranking]["fixed_30"]["answer_preservation"] >= 0.9)
        for ranking in ("target-occlusion", "proxy-lime")
    }
    return out


# -- poisoned demonstrations ------------------------------------------------------------------


def demonstrations(args: argparse.Namespace, target: Scorer, proxy: Scorer) -> dict[str, Any]:
    ds = load("rotten_tomatoes")
    x_train, y_train = list(ds.X_train), np.asarray(ds.y_train)
    x_test, y_test = list(ds.X_test), np.asarray(ds.y_test)
    short = np.array([len(t.split()) <= args.max_demo_words for t in x_train])
    words = [w.strip() for w in SENTIMENT_LABELS]
    trials = []
    for trial in range(args.n_trials):
        rng = np.random.default_rng([args.seed, trial])
        half = args.n_demos // 2
        pos = rng.choice(np.flatnonzero(short & (y_train == 1)), half, replace=False)
        neg = rng.choice(np.flatnonzero(short & (y_train == 0)), args.n_demos - half, replace=False)
        chosen = rng.permutation(np.concatenate([pos, neg]))
        poisoned = set(rng.choice(len(chosen), args.n_poison, replace=False).tolist())
        demos = [
            DEMO.format(text=x_train[j], label=" " + words[int(y_train[j]) ^ (k in poisoned)])
            for k, j in enumerate(chosen)
        ]
        pool = np.setdiff1d(np.flatnonzero(short), chosen)
        rank_idx = rng.choice(pool, args.n_rank, replace=False)
        eval_idx = rng.choice(len(x_test), args.n_eval, replace=False)
        queries = [QUERY.format(text=x_train[j]) for j in rank_idx]
        evals = [QUERY.format(text=x_test[j]) for j in eval_idx]
        row: dict[str, Any] = {"trial": trial, "poisoned": sorted(poisoned)}
        for name, ranker in (("target", None), ("proxy", proxy)):
            start = time.perf_counter()
            result = prune_demonstrations(
                demos,
                queries,
                [int(y) for y in y_train[rank_idx]],
                target,
                n_remove=args.n_poison,
                proxy=ranker,
                eval_queries=evals,
                eval_labels=[int(y) for y in y_test[eval_idx]],
                n_random=args.n_random,
                seed=args.seed,
            )
            row[name] = {
                "accuracy_before": r4(result.accuracy_before),
                "accuracy_after": r4(result.accuracy_after),
                "random_accuracy": r4(result.random_accuracy),
                "random_accuracies": [r4(a) for a in result.random_accuracies],
                "removed": list(result.removed),
                "poisoned_removed": len(poisoned & set(result.removed)),
                "ranking_target_calls": result.ranking_target_calls,
                "ranking_proxy_calls": result.ranking_proxy_calls,
                "target_calls": result.target_calls,
                "seconds": round(time.perf_counter() - start, 1),
            }
            log(f"demos trial {trial} {name}: {row[name]}")
        # the accuracy without the poisoned demonstrations (an oracle removal)
        clean = np.array([k not in poisoned for k in range(len(demos))])
        prompts = [few_shot_prompt(demos, q, clean) for q in evals]
        row["oracle_accuracy"] = r4(np.mean(np.argmax(target(prompts), axis=1) == y_test[eval_idx]))
        trials.append(row)
    return summarize_trials(trials, args)


def summarize_trials(trials: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """The demonstration-pruning figures over the finished trials."""

    def mean(ranker: str, key: str) -> float:
        return r4(np.mean([t[ranker][key] for t in trials]))

    summary = {
        ranker: {
            "accuracy_before": mean(ranker, "accuracy_before"),
            "accuracy_after": mean(ranker, "accuracy_after"),
            "random_accuracy": mean(ranker, "random_accuracy"),
            "poisoned_removed_fraction": r4(
                np.mean([t[ranker]["poisoned_removed"] for t in trials]) / args.n_poison
            ),
            "beats_random_in_trials": int(
                sum(t[ranker]["accuracy_after"] > t[ranker]["random_accuracy"] for t in trials)
            ),
            "ranking_target_calls_per_trial": mean(ranker, "ranking_target_calls"),
            "ranking_proxy_calls_per_trial": mean(ranker, "ranking_proxy_calls"),
        }
        for ranker in ("target", "proxy")
    }
    return {
        "n_trials": len(trials),
        "n_demos": args.n_demos,
        "n_poison": args.n_poison,
        "n_rank_queries": args.n_rank,
        "n_eval_queries": args.n_eval,
        "n_random_seeds": args.n_random,
        "method": "occlusion over demonstrations, value 1 - p(gold)",
        "oracle_accuracy": r4(np.mean([t["oracle_accuracy"] for t in trials])),
        "summary": summary,
        "target_met": {
            # beats random by more than rounding (one query in a few hundred)
            r: bool(summary[r]["accuracy_after"] - summary[r]["random_accuracy"] > 0.005)
            for r in summary
        },
        "trials": trials,
    }


# -- the remote path ---------------------------------------------------------------------------


def remote(args: argparse.Namespace, local_target: Scorer) -> dict[str, Any]:
    from glasstext.backends.llama_server import LlamaServer, llama_cpp_available

    if not llama_cpp_available():
        return {"skipped": "llama-cpp-python is not installed"}
    ds = load("rotten_tomatoes")
    texts = [t for t in ds.X_test if len(t.split()) >= args.min_words][: args.n_server]
    with LlamaServer(target_model(args), n_threads=1) as server:
        lm = server.lm(cache=False, timeout=900.0)
        target = Calibrated(LMScorer(lm, TEMPLATE, SENTIMENT_LABELS), empty_review)
        start = time.perf_counter()
        remote_probs = target(texts)
        score_seconds = time.perf_counter() - start
        local_probs = local_target(texts)
        start = time.perf_counter()
        before = target.n_calls
        results = [compress_prompt(t, target, rate=0.3, verify=False) for t in texts]
        compress_seconds = time.perf_counter() - start
        calls = target.n_calls - before
        usage = lm.usage()
        raw_remote = target.base(texts)
    raw_local = local_target.base(texts) if isinstance(local_target, Calibrated) else local_probs
    diff = np.abs(remote_probs - local_probs)
    raw_diff = np.abs(raw_remote - raw_local)
    return {
        "server": "llama-cpp-python (llama_cpp.server), logits_all, 1 thread, GGUF Q4_K_M",
        "model": target_model(args),
        "startup_seconds": round(server.startup_seconds or 0.0, 1),
        "n_texts": len(texts),
        "score_seconds_per_text": r4(score_seconds / len(texts)),
        "max_abs_prob_diff_vs_local": r4(diff.max()),
        "mean_abs_prob_diff_vs_local": r4(diff.mean()),
        "max_abs_raw_prob_diff_vs_local": r4(raw_diff.max()),
        "same_answer_as_local": r4(
            np.mean(np.argmax(remote_probs, axis=1) == np.argmax(local_probs, axis=1))
        ),
        "compression_fixed_30": {
            "answer_preservation": r4(np.mean([r.answer_kept for r in results])),
            "target_calls": calls,
            "seconds": round(compress_seconds, 1),
            "seconds_per_target_call": r4(compress_seconds / max(calls, 1)),
            "server_requests_per_target_call": r4(usage["n_forward_texts"] / max(calls, 1)),
        },
        "server_usage": usage,
    }


def target_model(args: argparse.Namespace) -> str:
    """The target LM: Gemma; with --quick, which checks the script and not the figures,
    SmolLM2 (the proxy's model), so that one small model loads instead of two."""
    return PROXY if args.quick else TARGET


def header(args: argparse.Namespace) -> dict[str, Any]:
    """What was run."""
    return {
        "benchmark": "proxy_downstream",
        "part": args.part,
        "target": target_model(args),
        "proxy": PROXY,
        "template": TEMPLATE,
        "demonstration_format": DEMO,
        "calibration": "contextual (Zhao et al. 2021): probabilities divided by those of the "
        "same prompt with an empty review, renormalised; target and proxy alike",
        "labels": list(SENTIMENT_LABELS),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "notes": [
            "target calls count the prompts asked for; contextual calibration adds one "
            "content-free prompt per distinct context (once per run for compression, once "
            "per demonstration subset for pruning), not counted",
            "threads: GLASSTEXT_BENCH_THREADS (default 1)",
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, default="compression")
    harness.add_common_arguments(parser, OUT_DIR / "PART.json")
    parser.add_argument("--n-compress", type=int, default=40)
    parser.add_argument("--min-words", type=int, default=8)
    parser.add_argument("--proxy-samples", type=int, default=64)
    parser.add_argument("--n-trials", type=int, default=4)
    parser.add_argument("--n-demos", type=int, default=8)
    parser.add_argument("--n-poison", type=int, default=2)
    parser.add_argument("--n-rank", type=int, default=8)
    parser.add_argument("--n-eval", type=int, default=40)
    parser.add_argument("--n-random", type=int, default=5)
    parser.add_argument("--max-demo-words", type=int, default=20)
    parser.add_argument("--n-server", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    out = OUT_DIR / f"{args.part}.json" if args.out.name == "PART.json" else args.out
    if args.quick:
        args.n_compress, args.n_trials, args.n_eval, args.n_rank = 1, 1, 4, 2
        args.n_random, args.n_server, args.proxy_samples = 1, 2, 8
        args.n_demos, args.n_poison = 4, 1

    import torch

    torch.set_num_threads(int(os.environ.get("GLASSTEXT_BENCH_THREADS", "1")))
    target = Calibrated(LMScorer(target_model(args), TEMPLATE, SENTIMENT_LABELS), empty_review)
    result = header(args)
    if args.part == "compression":
        proxy = Calibrated(LMScorer(PROXY, TEMPLATE, SENTIMENT_LABELS), empty_review)
        result["compression"] = compression(args, target, proxy)
    elif args.part == "demonstrations":
        demo_target = Calibrated(
            LMScorer(target_model(args), "{text}", SENTIMENT_LABELS), empty_query
        )
        demo_proxy = Calibrated(LMScorer(PROXY, "{text}", SENTIMENT_LABELS), empty_query)
        result["demonstrations"] = demonstrations(args, demo_target, demo_proxy)
    else:
        result["remote"] = remote(args, target)
    print(harness.write_result(out, run, result))


if __name__ == "__main__":
    main()
