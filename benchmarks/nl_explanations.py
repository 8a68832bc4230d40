"""Natural-language explanations benchmark: SASC on planted modules, prompt search on known rules.

**Modules.** Ten synthetic modules, each a detector with a planted concept
(food, negation, numbers, places, emotions, animals, sports, body parts,
family members, weather): the response to a text is the number of the
concept's words it contains (numbers: digit tokens and number words).
``explain_module`` runs on a corpus of 1,500 Rotten Tomatoes, 1,000 SMS and
1,000 Reuters R8 texts. An explanation *matches* the planted concept when the
cosine similarity of its MiniLM (all-MiniLM-L6-v2) embedding and that of the
concept's name is at least ``MATCH_THRESHOLD`` = 0.6. Why 0.6: the highest
similarity between two different planted concept names is 0.46, and on a
hand-made list of near misses, "movies" vs "places" scores 0.57 and "people"
vs "family members" 0.59 (both rejected), while "cities" vs "places" scores
0.67 and "feelings" vs "emotions" 0.73 (accepted). Every explanation's
similarities are in the JSON, so a reader can judge with another threshold.
The planted concept's rank is the position of the first matching explanation
(``null`` when none matches).

**Datasets.** Six input/output datasets with a known rule (add two numbers,
country -> capital, antonym, uppercase, number word -> digits, review ->
sentiment), 30 pairs each. ``explain_dataset`` searches for a prompt; the best
prompt *states the rule* when it matches the rule's keyword pattern (e.g.
``capital`` for capitals). The JSON gives its test accuracy (greedy
generation), its multiple-choice accuracy and the no-prompt baseline's.

Each LM runs once with a fresh cache (cold: every call is made), then the
packaged LM's run is repeated on the warm cache, which must make zero LM calls.

    python benchmarks/nl_explanations.py            # SmolLM2, then Gemma-3-270M (~20 min)
    python benchmarks/nl_explanations.py --quick    # SmolLM2, one module, one dataset

Writes ``benchmarks/results/nl_explanations.json`` whole, at the end of the run
(``harness.write_result``); each LM starts from an empty cache.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import harness
from glasstext import Encoder, explain_dataset, explain_module
from glasstext.backends.cache import SqliteStore
from glasstext.backends.lm import LocalCausalLM, release_models, usage_delta
from glasstext.datasets import load
from glasstext.explain.nl import ExplanationError
from glasstext.explain.sasc import score_explanations
from glasstext.text import PhraseMatcher, tokenize

REPO = Path(__file__).resolve().parent.parent
MATCH_THRESHOLD = 0.6
LMS = ("SmolLM2-135M-Instruct", "gemma-3-270m")
SCHEMA = ("benchmark", "settings", "lms")
# --quick: a smoke run of every step, with the searches cut to the bone.
QUICK_MODULE = {"max_ngrams": 1000, "n_summaries": 2, "n_synthetic": 2, "max_explanations": 2}
QUICK_DATASET = {"n_candidates": 2, "n_keep": 1, "max_iterations": 1, "n_search": 6, "n_test": 4}
SEED = 0


def _words(text: str) -> list[str]:
    return text.split()


CONCEPT_WORDS = {
    "food": "food pizza bread cheese apple apples rice soup cake chicken beef meat fish salad "
    "sandwich burger dinner lunch breakfast popcorn candy chocolate fruit vegetables coffee "
    "tea sugar butter egg eggs pie cookies pasta steak wheat corn cocoa",
    "negation": "not no never nothing nobody none neither nor without don't doesn't didn't "
    "isn't wasn't aren't can't cannot won't wouldn't shouldn't couldn't",
    "places": "america american europe european japan china france germany britain london "
    "paris tokyo york washington california texas canada mexico india russia africa asia "
    "brazil italy spain australia hollywood city country",
    "emotions": "happy sad angry fear love hate joy anger sorrow afraid scared lonely excited "
    "anxious upset cry tears laugh grief jealous proud ashamed nervous furious cheerful "
    "depressed emotional feelings",
    "animals": "dog dogs cat cats horse horses bird birds lion tiger bear wolf cow cows pig "
    "pigs sheep monkey elephant snake mouse rabbit duck shark whale animal animals pet pets",
    "sports": "football soccer baseball basketball tennis golf hockey boxing team player "
    "players coach match goal olympic olympics race racing sport sports stadium league "
    "championship",
    "body parts": "head face eyes eye hand hands arm arms leg legs foot feet heart hair mouth "
    "nose ear ears teeth shoulder finger fingers skin body brain blood",
    "family members": "mother father mom dad son daughter brother sister wife husband family "
    "parents children kids child baby grandmother grandfather uncle aunt cousin",
    "weather": "rain snow storm sun sunny wind windy cloud clouds weather cold hot winter "
    "summer temperature fog ice thunder drought frost",
}
NUMBER_WORDS = set(
    _words(
        "one two three four five six seven eight nine ten eleven twelve twenty thirty forty "
        "fifty hundred thousand million billion dozen"
    )
)
UNRELATED = "musical instruments"  # not planted anywhere: a control explanation


def keyword_module(words: str) -> Callable[[list[str]], np.ndarray]:
    matcher = PhraseMatcher(words.split())

    def module(texts: list[str]) -> np.ndarray:
        return np.asarray(matcher.matrix(texts).sum(axis=1), dtype=np.float64).ravel()

    return module


def number_module(texts: list[str]) -> np.ndarray:
    return np.array(
        [sum(w.isdigit() or w in NUMBER_WORDS for w in tokenize(t)) for t in texts],
        dtype=np.float64,
    )


def modules() -> dict[str, Callable[[list[str]], np.ndarray]]:
    found = {name: keyword_module(words) for name, words in CONCEPT_WORDS.items()}
    found["numbers"] = number_module
    return dict(sorted(found.items()))


def corpus(quick: bool) -> list[str]:
    sizes = {"rotten_tomatoes": 1500, "sms_spam": 1000, "reuters_r8": 1000}
    texts: list[str] = []
    for name, n in sizes.items():
        texts.extend(load(name).X_train[: n // 20 if quick else n])
    return texts


# -- datasets with a known rule --------------------------------------------------------

CAPITALS = [
    ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Egypt", "Cairo"),
    ("Spain", "Madrid"), ("Germany", "Berlin"), ("Russia", "Moscow"), ("China", "Beijing"),
    ("Greece", "Athens"), ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Poland", "Warsaw"),
    ("Austria", "Vienna"), ("Portugal", "Lisbon"), ("Ireland", "Dublin"), ("Canada", "Ottawa"),
    ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Cuba", "Havana"), ("Chile", "Santiago"),
    ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Hungary", "Budapest"),
    ("Thailand", "Bangkok"), ("India", "New Delhi"), ("Mexico", "Mexico City"),
    ("Argentina", "Buenos Aires"), ("Belgium", "Brussels"), ("Turkey", "Ankara"),
    ("Iran", "Tehran"),
]  # fmt: skip
ANTONYMS = [
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("happy", "sad"), ("fast", "slow"),
    ("light", "dark"), ("old", "new"), ("open", "closed"), ("rich", "poor"), ("early", "late"),
    ("strong", "weak"), ("high", "low"), ("full", "empty"), ("hard", "soft"), ("wet", "dry"),
    ("long", "short"), ("clean", "dirty"), ("young", "old"), ("thick", "thin"), ("loud", "quiet"),
    ("true", "false"), ("win", "lose"), ("push", "pull"), ("buy", "sell"), ("love", "hate"),
    ("first", "last"), ("inside", "outside"), ("friend", "enemy"), ("day", "night"),
    ("left", "right"),
]  # fmt: skip
WORDS = _words(
    "apple river green table music house window garden letter bridge pencil winter doctor "
    "market silver planet forest candle island mirror orange tiger ocean rocket butter "
    "castle jacket engine pillow violin"
)
NUMBER_NAMES = _words(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
)


def rule_datasets(rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    pairs = [(int(a), int(b)) for a, b in rng.integers(1, 30, size=(30, 2))]
    numbers = [(w, str(i + 1)) for i, w in enumerate(NUMBER_NAMES)] + [
        (f"twenty-{w}", str(20 + i + 1)) for i, w in enumerate(NUMBER_NAMES[:9])
    ]
    rt = load("rotten_tomatoes")
    picked = rng.choice(len(rt.X_test), size=30, replace=False)
    return {
        "add": {
            "rule": "add the two numbers",
            "pattern": r"\b(add|adds|adding|sum|plus|total)\b",
            "pairs": [(f"{a} {b}", str(a + b)) for a, b in pairs],
        },
        "capital": {
            "rule": "give the capital city of the country",
            "pattern": r"\bcapital",
            "pairs": CAPITALS,
        },
        "antonym": {
            "rule": "give the opposite of the word",
            "pattern": r"\b(opposite|antonym)",
            "pairs": ANTONYMS,
        },
        "uppercase": {
            "rule": "write the word in uppercase letters",
            "pattern": r"(upper\s*-?case|capital letters|capitali[sz]|all caps|in caps)",
            "pairs": [(w, w.upper()) for w in WORDS],
        },
        "number_to_digits": {
            "rule": "write the number in digits",
            "pattern": r"\b(digit|digits|numeral|numerals|numeric)\b",
            "pairs": numbers,
        },
        "sentiment": {
            "rule": "say whether the movie review is positive or negative",
            "pattern": r"\b(sentiment|positive|negative)\b",
            "pairs": [(rt.X_test[int(i)], rt.target_names[rt.y_test[int(i)]]) for i in picked],
        },
    }


# -- running ---------------------------------------------------------------------------


def similarities(encoder: Any, texts: list[str], names: list[str]) -> np.ndarray:
    a = encoder.encode(texts)
    b = encoder.encode(names)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.asarray(a @ b.T)


def run_modules(lm: LocalCausalLM, texts: list[str], encoder: Any, quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    found = modules()
    names = list(found)
    # --quick: the numbers module, which the quick corpus's n-grams are sure to trigger.
    chosen = [("numbers", found["numbers"])] if quick else list(found.items())
    for name, module in chosen:
        before = lm.usage()
        started = time.perf_counter()
        try:
            result = explain_module(
                module, texts, lm=lm, random_state=SEED, progress=False,
                **(QUICK_MODULE if quick else {}),
            )  # fmt: skip
        except ExplanationError as exc:  # the LM proposed nothing usable: a miss, recorded
            out[name] = {
                "planted_concept_rank": None,
                "in_top_3": False,
                "error": str(exc),
                "explanations": [],
                "top_explanation_score": None,
                "lm_usage": usage_delta(before, lm.usage()),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(f"  module {name}: {exc}", flush=True)
            continue
        control = score_explanations(
            module, [UNRELATED], lm=lm, scale=result.scale, random_state=SEED
        )[0]
        seconds = time.perf_counter() - started
        sims = similarities(encoder, [e.text for e in result.explanations], names)
        column = names.index(name)
        rank = next((i + 1 for i, row in enumerate(sims) if row[column] >= MATCH_THRESHOLD), None)
        out[name] = {
            "planted_concept_rank": rank,
            "in_top_3": rank is not None and rank <= 3,
            "n_explanations": len(result.explanations),
            "explanations": [
                {
                    "text": e.text,
                    "score": e.score,
                    "n_proposals": e.n_proposals,
                    "similarity_to_planted": round(float(sims[i, column]), 3),
                    "closest_concept": names[int(np.argmax(sims[i]))],
                    "evidence": [g for g, _ in e.evidence[:8]],
                    "example_text_with": e.texts_with[:2],
                    "example_text_without": e.texts_without[:2],
                }
                for i, e in enumerate(result.explanations)
            ],
            "top_explanation_score": result.best.score,
            "unrelated_control": {"text": UNRELATED, "score": control.score},
            "top_ngrams": [g for g, _ in result.top_ngrams[:10]],
            "module_calls": result.module_calls,
            "lm_usage": usage_delta(before, lm.usage()),
            "seconds": round(seconds, 1),
        }
        print(f"  module {name}: rank {rank}; {[e.text for e in result.explanations]}", flush=True)
    return out


def run_datasets(lm: LocalCausalLM, encoder: Any, quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rules = rule_datasets(np.random.default_rng(SEED))
    for name, spec in list(rules.items())[: 1 if quick else None]:
        X = [x for x, _ in spec["pairs"]]
        y = [o for _, o in spec["pairs"]]
        before = lm.usage()
        started = time.perf_counter()
        result = explain_dataset(
            X, y, lm=lm, random_state=SEED, progress=False,
            **(QUICK_DATASET if quick else {}),
        )  # fmt: skip
        seconds = time.perf_counter() - started
        best = result.best
        similarity = float(similarities(encoder, [best.prompt], [spec["rule"]])[0, 0])
        out[name] = {
            "rule": spec["rule"],
            "best_prompt": best.prompt,
            "states_rule": bool(re.search(spec["pattern"], best.prompt, re.IGNORECASE)),
            "any_candidate_states_rule": any(
                re.search(spec["pattern"], p.prompt, re.IGNORECASE) for p in result.prompts
            ),
            "similarity_to_rule": round(similarity, 3),
            "best_prompt_accuracy": best.test_accuracy,
            "best_prompt_choice_accuracy": best.test_choice_accuracy,
            "best_prompt_test_loglik": best.test_loglik,
            "no_prompt_accuracy": result.baseline.test_accuracy,
            "no_prompt_choice_accuracy": result.baseline.test_choice_accuracy,
            "no_prompt_test_loglik": result.baseline.test_loglik,
            "top_prompts": [p.prompt for p in result.prompts[:5]],
            "n_candidates": len(result.prompts),
            "n_iterations": result.n_iterations,
            "n_test": result.n_test,
            "lm_usage": usage_delta(before, lm.usage()),
            "seconds": round(seconds, 1),
        }
        print(f"  dataset {name}: {best.prompt!r} acc {best.test_accuracy}", flush=True)
    return out


def _calls(usage: dict[str, int]) -> int:
    return int(usage["n_generate_calls"] + usage["n_forward_texts"])


def summarise_lm(modules_out: dict[str, Any], datasets_out: dict[str, Any]) -> dict[str, Any]:
    ranks = [m["planted_concept_rank"] for m in modules_out.values()]
    return {
        "modules": len(ranks),
        "planted_in_top_3": sum(r is not None and r <= 3 for r in ranks),
        "planted_ranked_first": sum(r == 1 for r in ranks),
        "planted_found_at_all": sum(r is not None for r in ranks),
        "top_beats_unrelated_control": sum(
            m["top_explanation_score"] is not None
            and m["top_explanation_score"] > m["unrelated_control"]["score"]
            for m in modules_out.values()
        ),
        "no_usable_explanation": sum("error" in m for m in modules_out.values()),
        "target_top3_for_half": sum(r is not None and r <= 3 for r in ranks) >= len(ranks) / 2,
        "datasets": len(datasets_out),
        "best_prompt_states_rule": sum(d["states_rule"] for d in datasets_out.values()),
        "mean_best_prompt_accuracy": float(
            np.mean([d["best_prompt_accuracy"] for d in datasets_out.values()])
        ),
        "mean_no_prompt_accuracy": float(
            np.mean([d["no_prompt_accuracy"] for d in datasets_out.values()])
        ),
    }


def run_lm(
    name: str, store: SqliteStore, texts: list[str], encoder: Any, quick: bool
) -> dict[str, Any]:
    lm = LocalCausalLM(name, cache=store, progress=False)
    started = time.perf_counter()
    modules_out = run_modules(lm, texts, encoder, quick)
    datasets_out = run_datasets(lm, encoder, quick)
    usage = lm.usage()
    return {
        "modules": modules_out,
        "datasets": datasets_out,
        "summary": summarise_lm(modules_out, datasets_out),
        "lm_usage": usage,
        "lm_calls": _calls(usage),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_arguments(parser, harness.RESULTS / "nl_explanations.json")
    parser.add_argument("--lms", default=",".join(LMS), help="comma-separated model aliases")
    args = parser.parse_args(argv)
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    lms = LMS[:1] if args.quick else args.lms.split(",")

    texts = corpus(args.quick)
    encoder = Encoder("all-MiniLM-L6-v2", cache=False)
    results: dict[str, Any] = {
        "benchmark": "nl_explanations",
        "settings": {
            "corpus": f"{len(texts)} training texts: Rotten Tomatoes, SMS spam, Reuters R8",
            "match": f"cosine of all-MiniLM-L6-v2 embeddings >= {MATCH_THRESHOLD}",
            "explain_module": "defaults (5 summaries of 15 of the top 30 n-grams, "
            "8 synthetic texts per side, max 5 explanations), random_state=0",
            "explain_dataset": "defaults (8 candidates/round, keep 3, 4 rounds, patience 2, "
            "20 search + 7 test examples of 30), random_state=0",
            "unrelated_control": UNRELATED,
            "quick": args.quick,
        },
        "lms": {},
    }
    for name in lms:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(Path(tmp) / "cache.sqlite")  # cold: every call is made
            print(f"{name}: cold run", file=sys.stderr, flush=True)
            try:
                results["lms"][name] = run_lm(name, store, texts, encoder, args.quick)
            except Exception as exc:  # a model that does not load is reported, not fatal
                results["lms"][name] = {"error": f"{type(exc).__name__}: {exc}"}
                traceback.print_exc()
                continue
            if name == lms[0]:
                print(f"{name}: warm run", file=sys.stderr, flush=True)
                warm = run_lm(name, store, texts, encoder, args.quick)
                results["lms"][name]["warm_cache_lm_calls"] = warm["lm_calls"]
                results["lms"][name]["warm_cache_seconds"] = warm["seconds"]
                results["lms"][name]["warm_run_identical"] = _same_answers(
                    results["lms"][name], warm
                )
            store.close()
        release_models()
    print(harness.write_result(args.out, run, results))
    return 0


def _same_answers(cold: dict[str, Any], warm: dict[str, Any]) -> bool:
    return all(
        cold["modules"][m]["explanations"] == warm["modules"][m]["explanations"]
        for m in cold["modules"]
    ) and all(
        cold["datasets"][d]["best_prompt"] == warm["datasets"][d]["best_prompt"]
        for d in cold["datasets"]
    )


if __name__ == "__main__":
    raise SystemExit(main())
