"""The demo run by ``glasstext demo`` and ``make demo``: offline, on Rotten Tomatoes.

1. Aug-Linear with the packaged MiniLM, against TF-IDF + logistic regression
   on the same split: the n-grams that drive each class, three test reviews
   explained as sums.
2. Aug-Tree with the packaged SmolLM2 expanding its keywords, against the
   same tree without expansion: the tree printed as phrase sets, one review's
   decision path.
3. Explanations in words, by SmolLM2: a summary of what drives each class of
   the Aug-Linear model; SASC on its "positive" output (which concepts it
   responds to, each checked on texts the LM writes); a prompt search that
   finds the rule behind country -> capital pairs.
4. Proto-LM, kept short for a CPU (MiniLM fine-tuned for two epochs on a few
   hundred reviews): its prototypes, each a real training review, and one
   test review explained by the training reviews it resembles.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any, TextIO

import numpy as np

from glasstext import (
    AugLinearClassifier,
    AugTreeClassifier,
    ProtoLMClassifier,
    UnseenNgramWarning,
)
from glasstext.backends.registry import DEFAULT_ENCODER
from glasstext.baselines import tfidf_logistic
from glasstext.datasets import load


def run_demo(
    n_train: int | None = None,
    n_test: int | None = None,
    encoder: str | os.PathLike[str] = DEFAULT_ENCODER,
    out: str | os.PathLike[str] | None = None,
    stream: TextIO | None = None,
    protolm: bool = True,
    language: bool = True,
) -> dict[str, Any]:
    """Run the demo and return its figures.

    Parameters
    ----------
    n_train, n_test : int, optional
        Use only the first rows of each split (default: all of them).
    encoder : str or path-like
        The encoder for Aug-Linear.
    out : path-like, optional
        Also save the fitted model to this folder.
    stream : file-like, optional
        Where to print (default: standard output).
    protolm : bool, default=True
        Include the (short) Proto-LM section.
    language : bool, default=True
        Include the section of explanations in words (summary, SASC, prompt search).
    """
    write = _printer(stream or sys.stdout)
    demo_start = time.perf_counter()
    ds = load("rotten_tomatoes").subset(n_train, n_test)
    write(
        f"glasstext demo: Aug-Linear on Rotten Tomatoes ({len(ds.X_train)} train / "
        f"{len(ds.X_test)} test snippets), encoder {encoder}\n"
    )

    names = np.asarray(ds.target_names)  # fit on "negative"/"positive", not 0/1
    y_train, y_test = names[ds.y_train], names[ds.y_test]
    start = time.perf_counter()
    model = AugLinearClassifier(encoder=encoder, ngram_range=(1, 2))
    model.fit(ds.X_train, y_train)
    fit_seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        predicted = model.predict(ds.X_test)
    accuracy = float(np.mean(predicted == y_test))

    start = time.perf_counter()
    baseline = tfidf_logistic(ds.X_train, ds.y_train)
    baseline_seconds = time.perf_counter() - start
    baseline_accuracy = float(np.mean(baseline.predict(ds.X_test) == ds.y_test))

    unseen = model.unseen_report(ds.X_test)
    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Aug-Linear (MiniLM, 1-2-grams)':<34} {accuracy:>13.3f} {fit_seconds:>8.1f}")
    write(
        f"{'TF-IDF 1-2-grams + logistic reg.':<34} {baseline_accuracy:>13.3f} "
        f"{baseline_seconds:>8.1f}"
    )
    write(
        f"\nAug-Linear table: {len(model.vocabulary_)} n-grams, one value each; "
        f"prediction is a lookup."
    )
    write(f"Test texts: {unseen.message()}.\n")

    top = model.top_ngrams(10)
    for label in ("positive", "negative"):
        pairs = ", ".join(f"{g} ({v:+.2f})" for g, v in top[label])
        write(f"Top n-grams for {label!r}: {pairs}")

    write("\nThree test reviews, each prediction written as a sum:\n")
    for i in _pick_examples(predicted, y_test):
        write(f"[true label: {y_test[i]}]")
        write(str(model.explain(ds.X_test[i])))
        write("")
    if out is not None:
        write(f"model saved to {model.save(out)}")
    tree = _tree_section(ds.X_train, y_train, ds.X_test, y_test, write)
    words = _language_section(model, ds.X_train, write) if language else {}
    proto: dict[str, Any] = {}
    if protolm:
        proto = _protolm_section(ds.X_train, y_train, ds.X_test, y_test, encoder, write)
    wall = time.perf_counter() - demo_start
    # The figure the README quotes: measured by the demo itself, cache state included.
    write(f"\ndemo finished in {int(wall // 60)} min {wall % 60:.0f} s (wall time)")
    return {
        "demo_seconds": wall,
        "accuracy": accuracy,
        "baseline_accuracy": baseline_accuracy,
        "fit_seconds": fit_seconds,
        "n_ngrams": len(model.vocabulary_),
        **tree,
        **words,
        **proto,
    }


def _tree_section(
    X_train: list[str], y_train: np.ndarray, X_test: list[str], y_test: np.ndarray, write: Any
) -> dict[str, Any]:
    """Aug-Tree with LLM-expanded phrase sets, beside the plain keyword tree."""
    write("\nAug-Tree: a depth-3 tree whose splits are phrase sets proposed by SmolLM2-135M\n")
    start = time.perf_counter()
    tree = AugTreeClassifier(max_depth=3, expansion="llm", context="movie reviews")
    tree.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    plain = AugTreeClassifier(max_depth=3, expansion="none").fit(X_train, y_train)
    scores = {name: float(m.score(X_test, y_test)) for name, m in (("llm", tree), ("none", plain))}
    calls = tree.expansion_usage_.get("n_generate_calls", 0)
    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Aug-Tree, LLM-expanded phrases':<34} {scores['llm']:>13.3f} {seconds:>8.1f}")
    write(f"{'keyword tree (no expansion)':<34} {scores['none']:>13.3f}")
    write(f"(LM calls: {calls}; a second fit reads every expansion from the cache)\n")
    write(tree.export_text(max_phrases=6))
    write("\nOne test review's decision path:\n")
    i = next((i for i, t in enumerate(X_test) if tree.explain(t).steps[0].answer), 0)
    write(f"[true label: {y_test[i]}] {X_test[i]}")
    write(str(tree.explain(X_test[i])))
    return {"tree_accuracy": scores["llm"], "keyword_tree_accuracy": scores["none"]}


_CAPITALS = [
    ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Egypt", "Cairo"),
    ("Spain", "Madrid"), ("Germany", "Berlin"), ("Russia", "Moscow"), ("Greece", "Athens"),
    ("Norway", "Oslo"), ("Poland", "Warsaw"), ("Austria", "Vienna"), ("Portugal", "Lisbon"),
    ("Ireland", "Dublin"), ("Canada", "Ottawa"), ("Kenya", "Nairobi"), ("Peru", "Lima"),
]  # fmt: skip


def _language_section(model: AugLinearClassifier, X_train: list[str], write: Any) -> dict[str, Any]:
    """Explanations in words, written by the packaged SmolLM2 and checked against data."""
    from glasstext import explain_dataset, explain_module, summarize_model

    write("\nExplanations in words, by SmolLM2-135M (small: read them with its scores)\n")
    summary = summarize_model(model, context="movie reviews", k=12)
    write(str(summary))
    write("\nSASC: what does the model's 'positive' output respond to?\n")
    sasc = explain_module(
        model, X_train[:1500], output="positive", n_synthetic=4, max_ngrams=5000, progress=False
    )
    write(str(sasc))
    write("\nPrompt search: which instruction explains country -> capital pairs?\n")
    search = explain_dataset(
        [c for c, _ in _CAPITALS], [p for _, p in _CAPITALS], max_iterations=2, progress=False
    )
    write(str(search))
    return {
        "sasc_best": sasc.best.text,
        "sasc_best_score": sasc.best.score,
        "prompt_search_best": search.best.prompt,
    }


def _protolm_section(
    X_train: list[str],
    y_train: np.ndarray,
    X_test: list[str],
    y_test: np.ndarray,
    encoder: str | os.PathLike[str],
    write: Any,
    n_train: int = 600,
    n_test: int = 200,
) -> dict[str, Any]:
    """Proto-LM on a few hundred reviews, two short epochs: prototypes are real reviews."""
    X_fit, y_fit = X_train[:n_train], y_train[:n_train]
    X_eval, y_eval = X_test[:n_test], y_test[:n_test]
    write(
        f"\nProto-LM: MiniLM fine-tuned with a prototype layer, kept short for a CPU "
        f"({len(X_fit)} training reviews, two epochs; benchmarks/protolm.py has the full run)\n"
    )
    model = ProtoLMClassifier(
        encoder=encoder,
        n_prototypes_per_class=3,
        max_length=48,
        epochs=2,
        learning_rate=1e-4,
    )
    model.fit(X_fit, y_fit)
    accuracy = float(model.score(X_eval, y_eval))
    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Proto-LM (MiniLM, 3 per class)':<34} {accuracy:>13.3f} {model.fit_seconds_:>8.1f}")
    write(f"(first {len(X_eval)} test reviews)\n")
    write(model.export_text(max_chars=80))
    predicted = model.predict(X_eval)
    i = next((i for i in range(len(X_eval)) if predicted[i] == y_eval[i]), 0)
    write("\nOne test review, explained by the training reviews it is most like:\n")
    write(f"[true label: {y_eval[i]}]")
    write(str(model.explain(X_eval[i], k=3)))
    return {"protolm_accuracy": accuracy, "protolm_fit_seconds": model.fit_seconds_}


def _pick_examples(predicted: np.ndarray, truth: np.ndarray) -> list[int]:
    """A correct positive, a correct negative and a mistake, when they exist."""
    picks: list[int] = []
    for wanted in (
        lambda i: predicted[i] == truth[i] == "positive",
        lambda i: predicted[i] == truth[i] == "negative",
        lambda i: predicted[i] != truth[i],
    ):
        found = next((i for i in range(len(truth)) if wanted(i) and i not in picks), None)
        if found is not None:
            picks.append(found)
    return picks


def _printer(stream: TextIO) -> Any:
    def write(line: str) -> None:
        print(line, file=stream, flush=True)

    return write
