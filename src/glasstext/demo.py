"""The demo run by ``glasstext demo`` and ``make demo``: offline, a few minutes.

The default tour (a few minutes on two cores; it ends by printing its own
wall and CPU time, step by step):

1. Aug-Linear on 4,000 Rotten Tomatoes reviews with the packaged MiniLM,
   against TF-IDF + logistic regression on the same split (all 2,114 test
   reviews): the n-grams that drive each class, three test reviews explained
   as exact sums.
2. Aug-Tree on SMS spam, its keywords expanded by MiniLM embeddings, against
   the same tree without expansion: the tree printed as phrase sets, one
   message's decision path.
3. A black-box explanation: KernelSHAP on the TF-IDF baseline for one review.
4. A summary in words, by the packaged SmolLM2-135M, of what drives each class
   of the Aug-Linear model (the one-time GGUF -> safetensors conversion of
   SmolLM2 happens here).

``glasstext demo --full`` adds the long tour (15-25 minutes): Aug-Tree with
SmolLM2 proposing the phrase sets, SASC on the Aug-Linear model's "positive"
output, a prompt search for the rule behind country -> capital pairs, and
Proto-LM fine-tuned for two short epochs.

Each step says what it is about to do and roughly how long it takes before it
starts, puts its result in context in one sentence, and the demo ends with
its own wall and CPU time, step by step.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from glasstext.backends.registry import DEFAULT_ENCODER

__all__ = ["DEFAULT_TOUR", "DEMO_TRAIN", "FULL_TOUR", "STEPS", "Step", "run_demo"]


@dataclass
class _Tour:
    """What the steps share: data, settings, fitted models, the printer."""

    write: Callable[[str], None]
    encoder: str | os.PathLike[str]
    n_train: int | None
    n_test: int | None
    out: str | os.PathLike[str] | None
    progress: bool | None
    data: dict[str, Any] = field(default_factory=dict)

    def reviews(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
        """Rotten Tomatoes (labels as "negative"/"positive"), loaded once."""
        if "rt" not in self.data:
            from glasstext.datasets import load

            ds = load("rotten_tomatoes").subset(self.n_train, self.n_test)
            names = np.asarray(ds.target_names)
            self.data["rt"] = (ds.X_train, names[ds.y_train], ds.X_test, names[ds.y_test])
        return self.data["rt"]


@dataclass(frozen=True)
class Step:
    """One step of the tour.

    Attributes
    ----------
    name : str
        Short key (``"auglinear"``), as in :data:`DEFAULT_TOUR`.
    title : str
        What the step shows, for the timing table.
    doing : str
        The one line printed before it starts.
    seconds : float
        Rough wall time on an idle 2-core machine with a cold cache.
    run : callable
        ``run(tour) -> dict`` of figures; prints its own results.
    """

    name: str
    title: str
    doing: str
    seconds: float
    run: Callable[[_Tour], dict[str, Any]]


# -- the steps -------------------------------------------------------------------------------


def _auglinear_step(tour: _Tour) -> dict[str, Any]:
    """Aug-Linear against TF-IDF + LR on Rotten Tomatoes; three reviews as sums."""
    from glasstext import AugLinearClassifier, UnseenNgramWarning
    from glasstext.baselines import tfidf_logistic

    write = tour.write
    X_train, y_train, X_test, y_test = tour.reviews()
    start = time.perf_counter()
    model = AugLinearClassifier(encoder=tour.encoder, ngram_range=(1, 2), progress=tour.progress)
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        predicted = model.predict(X_test)
    accuracy = float(np.mean(predicted == y_test))
    start = time.perf_counter()
    baseline = tfidf_logistic(X_train, y_train)
    baseline_seconds = time.perf_counter() - start
    baseline_accuracy = float(np.mean(baseline.predict(X_test) == y_test))

    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Aug-Linear (MiniLM, 1-2-grams)':<34} {accuracy:>13.3f} {fit_seconds:>8.1f}")
    name = "TF-IDF 1-2-grams + logistic reg."
    write(f"{name:<34} {baseline_accuracy:>13.3f} {baseline_seconds:>8.1f}")
    write(_versus_baseline(accuracy, baseline_accuracy, len(X_test)))
    write(
        f"\nAug-Linear table: {len(model.vocabulary_)} n-grams, one value each; "
        f"prediction is a lookup."
    )
    write(f"Test texts: {model.unseen_report(X_test).message()}.\n")
    top = model.top_ngrams(10)
    for label in ("positive", "negative"):
        pairs = ", ".join(f"{g} ({v:+.2f})" for g, v in top[label])
        write(f"Top n-grams for {label!r}: {pairs}")
    write("\nThree test reviews, each prediction written as a sum:\n")
    for i in _pick_examples(predicted, y_test):
        write(f"[true label: {y_test[i]}]")
        write(str(model.explain(X_test[i])))
        write("")
    if tour.out is not None:
        write(f"model saved to {model.save(tour.out, overwrite=True)}")
    tour.data.update(auglinear=model, baseline=baseline, predicted=predicted)
    return {
        "accuracy": accuracy,
        "baseline_accuracy": baseline_accuracy,
        "fit_seconds": fit_seconds,
        "n_ngrams": len(model.vocabulary_),
    }


def _versus_baseline(accuracy: float, baseline: float, n_test: int) -> str:
    """One honest sentence comparing Aug-Linear with the TF-IDF baseline."""
    points = 100 * (accuracy - baseline)
    # one standard error of an accuracy difference on n_test texts, roughly
    noise = 100 * np.sqrt(2 * 0.25 / max(n_test, 1))
    if abs(points) < noise:
        verdict = f"Aug-Linear and TF-IDF + LR are within noise ({points:+.1f} points)"
    elif points > 0:
        verdict = f"Aug-Linear is {points:.1f} points more accurate than TF-IDF + LR"
    else:
        verdict = f"TF-IDF + LR is {-points:.1f} points more accurate than Aug-Linear"
    return (
        f"In context: {verdict} on {n_test} test reviews; what Aug-Linear adds is that every "
        f"prediction is an exact sum of the n-gram values below, computed without the LM."
    )


def _augtree_step(tour: _Tour) -> dict[str, Any]:
    """A depth-3 Aug-Tree on SMS spam with embedding-expanded phrase sets."""
    from glasstext.exceptions import NoWordsWarning

    # a few messages are only emoji or symbols; the warning about them is not the demo's point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoWordsWarning)
        return _spam_tree(tour)


def _spam_tree(tour: _Tour) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    from glasstext import AugTreeClassifier
    from glasstext.datasets import load

    write = tour.write
    ds = load("sms_spam").subset(tour.n_train, tour.n_test)
    names = np.asarray(ds.target_names)
    X_train, y_train, X_test, y_test = ds.X_train, names[ds.y_train], ds.X_test, names[ds.y_test]
    start = time.perf_counter()
    tree = AugTreeClassifier(
        max_depth=3,
        expansion="embedding",
        encoder=tour.encoder,
        random_state=0,
        progress=tour.progress,
    ).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    plain = AugTreeClassifier(max_depth=3, expansion="none", random_state=0).fit(X_train, y_train)
    scores = {
        name: float(m.score(X_test, y_test)) for name, m in (("tree", tree), ("plain", plain))
    }
    spam = list(tree.classes_).index("spam")
    auc = float(roc_auc_score(y_test == "spam", tree.predict_proba(X_test)[:, spam]))
    is_spam = y_test == "spam"
    caught = float(np.mean(tree.predict(X_test)[is_spam] == "spam")) if is_spam.any() else 0.0
    majority = float(max(np.mean(is_spam), 1 - np.mean(is_spam)))
    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Aug-Tree, embedding-expanded':<34} {scores['tree']:>13.3f} {seconds:>8.1f}")
    write(f"{'keyword tree (no expansion)':<34} {scores['plain']:>13.3f}")
    write(f"{'always the majority class':<34} {majority:>13.3f}")
    write(
        f"In context: three phrase-set questions catch {caught:.0%} of the spam "
        f"(ROC AUC {auc:.3f}, {100 * (scores['tree'] - scores['plain']):+.1f} points over the "
        f"keyword tree); on movie-review sentiment a tree this small stays near chance "
        f"(README: AUC about 0.57), because sentiment is spread over too many words for three "
        f"questions.\n"
    )
    write(tree.export_text(max_phrases=6))
    write("\nOne test message's decision path:\n")
    i = next((i for i, t in enumerate(X_test) if is_spam[i] and tree.explain(t).steps[0].answer), 0)
    write(f"[true label: {y_test[i]}] {X_test[i]}")
    write(str(tree.explain(X_test[i])))
    return {
        "tree_accuracy": scores["tree"],
        "keyword_tree_accuracy": scores["plain"],
        "tree_auc": auc,
        "tree_majority_accuracy": majority,
    }


def _kernelshap_step(tour: _Tour) -> dict[str, Any]:
    """KernelSHAP on the TF-IDF baseline (a black box to it) for one test review."""
    from glasstext.explain import KernelShapExplainer

    write = tour.write
    _, _, X_test, y_test = tour.reviews()
    baseline = tour.data.get("baseline")
    if baseline is None:  # the step run on its own
        from glasstext.baselines import tfidf_logistic

        X_train, y_train, _, _ = tour.reviews()
        baseline = tour.data["baseline"] = tfidf_logistic(X_train, y_train)
    # a review of 12-25 words: long enough for sampling, short enough to read
    lengths = [len(t.split()) for t in X_test]
    i = next((i for i, n in enumerate(lengths) if 12 <= n <= 25), 0)
    attribution = KernelShapExplainer(baseline, n_samples=500, seed=0).explain(X_test[i])
    write(f"[true label: {y_test[i]}] {X_test[i]}\n")
    write(str(attribution))
    efficiency = float(np.sum(attribution.scores))
    exact = bool(attribution.extras.get("exact"))
    kind = "exact Shapley values" if exact else "estimates from a sample of coalitions"
    write(
        f"In context: {attribution.n_calls} calls of the black box for one review give "
        f"{kind}; they add up to value - base ({efficiency:+.4f}) by construction, while "
        f"Aug-Linear's sums above cost one table lookup and are exact."
    )
    return {"kernelshap_calls": attribution.n_calls, "kernelshap_exact": exact}


def _summary_step(tour: _Tour) -> dict[str, Any]:
    """SmolLM2's summary of what drives each class of the Aug-Linear model."""
    from glasstext import summarize_model

    write = tour.write
    summary = summarize_model(_auglinear(tour), context="movie reviews", k=12)
    write(str(summary))
    unusable = [str(c.label) for c in summary.classes if not c.usable]
    gap = f"; for {', '.join(map(repr, unusable))} it gave nothing usable" if unusable else ""
    write(
        f"\nIn context: a 135M-parameter LM writes weak summaries{gap}: read each as a caption "
        f"of the n-grams listed under it, which are the model's real evidence."
    )
    return {"summaries_usable": len(summary.classes) - len(unusable)}


def _augtree_llm_step(tour: _Tour) -> dict[str, Any]:
    """Aug-Tree on Rotten Tomatoes with SmolLM2 proposing the phrase sets."""
    from glasstext import AugTreeClassifier

    write = tour.write
    X_train, y_train, X_test, y_test = tour.reviews()
    start = time.perf_counter()
    tree = AugTreeClassifier(
        max_depth=3, expansion="llm", context="movie reviews", progress=tour.progress
    )
    tree.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    plain = AugTreeClassifier(max_depth=3, expansion="none").fit(X_train, y_train)
    scores = {name: float(m.score(X_test, y_test)) for name, m in (("llm", tree), ("none", plain))}
    calls = tree.expansion_usage_.get("n_generate_calls", 0)
    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Aug-Tree, LLM-expanded phrases':<34} {scores['llm']:>13.3f} {seconds:>8.1f}")
    write(f"{'keyword tree (no expansion)':<34} {scores['none']:>13.3f}")
    write(f"(LM calls: {calls}; a second fit reads every expansion from the cache)")
    write(
        f"In context: both trees are near chance (0.5) on sentiment: three questions cannot "
        f"cover the many words that carry it, and SmolLM2's expansions move accuracy by "
        f"{100 * (scores['llm'] - scores['none']):+.1f} points.\n"
    )
    write(tree.export_text(max_phrases=6))
    write("\nOne test review's decision path:\n")
    i = next((i for i, t in enumerate(X_test) if tree.explain(t).steps[0].answer), 0)
    write(f"[true label: {y_test[i]}] {X_test[i]}")
    write(str(tree.explain(X_test[i])))
    return {"llm_tree_accuracy": scores["llm"], "llm_keyword_tree_accuracy": scores["none"]}


def _sasc_step(tour: _Tour) -> dict[str, Any]:
    """SASC on the Aug-Linear model's "positive" output."""
    from glasstext import explain_module

    X_train = tour.reviews()[0]
    sasc = explain_module(
        _auglinear(tour),
        X_train[:1500],
        output="positive",
        n_synthetic=4,
        max_ngrams=5000,
        progress=tour.progress,
    )
    tour.write(str(sasc))
    best = sasc.best
    tour.write(
        f"\nIn context: the best theme, {best.text!r}, moves the output by {best.score:+.2f} "
        f"(texts the LM writes about it against texts not about it); a 135M LM often names "
        f"themes beside the point, so trust the score and the n-grams more than the words."
    )
    return {"sasc_best": best.text, "sasc_best_score": best.score}


_CAPITALS = [
    ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Egypt", "Cairo"),
    ("Spain", "Madrid"), ("Germany", "Berlin"), ("Russia", "Moscow"), ("Greece", "Athens"),
    ("Norway", "Oslo"), ("Poland", "Warsaw"), ("Austria", "Vienna"), ("Portugal", "Lisbon"),
    ("Ireland", "Dublin"), ("Canada", "Ottawa"), ("Kenya", "Nairobi"), ("Peru", "Lima"),
]  # fmt: skip


def _prompt_search_step(tour: _Tour) -> dict[str, Any]:
    """A prompt search for the rule behind country -> capital pairs."""
    from glasstext import explain_dataset

    search = explain_dataset(
        [c for c, _ in _CAPITALS],
        [p for _, p in _CAPITALS],
        max_iterations=2,
        progress=tour.progress,
    )
    tour.write(str(search))
    best, base = search.best, search.baseline
    accuracy = "n/a" if best.test_accuracy is None else f"{best.test_accuracy:.2f}"
    base_accuracy = "n/a" if base.test_accuracy is None else f"{base.test_accuracy:.2f}"
    gained = (best.test_accuracy or 0.0) > (base.test_accuracy or 0.0)
    verdict = (
        "the search found an instruction that helps"
        if gained
        else "the search found no instruction that beats no prompt at all"
    )
    tour.write(
        f"\nIn context: {verdict} (held-out accuracy {accuracy} against {base_accuracy}); "
        f"a 135M LM knows few capitals and rarely states the rule, so a low figure says more "
        f"about the LM than about the search (`glasstext explain-dataset --lm` takes a larger one)."
    )
    return {"prompt_search_best": best.prompt, "prompt_search_accuracy": best.test_accuracy}


def _protolm_step(tour: _Tour, n_train: int = 600, n_test: int = 200) -> dict[str, Any]:
    """Proto-LM on a few hundred reviews, two short epochs: prototypes are real reviews."""
    from glasstext import ProtoLMClassifier

    write = tour.write
    X_train, y_train, X_test, y_test = tour.reviews()
    X_fit, y_fit = X_train[:n_train], y_train[:n_train]
    X_eval, y_eval = X_test[:n_test], y_test[:n_test]
    model = ProtoLMClassifier(
        encoder=tour.encoder,
        n_prototypes_per_class=3,
        max_length=48,
        epochs=2,
        learning_rate=1e-4,
        progress=tour.progress,
    )
    model.fit(X_fit, y_fit)
    accuracy = float(model.score(X_eval, y_eval))
    write(f"{'model':<34} {'test accuracy':>13} {'fit (s)':>8}")
    write(f"{'Proto-LM (MiniLM, 3 per class)':<34} {accuracy:>13.3f} {model.fit_seconds_:>8.1f}")
    write(
        f"In context: {len(X_fit)} reviews and two epochs keep this CPU-sized, so expect it "
        f"below Aug-Linear (first {len(X_eval)} test reviews; benchmarks/protolm.py has the "
        f"full run); its point is that every prototype is a real training review.\n"
    )
    write(model.export_text(max_chars=80))
    predicted = model.predict(X_eval)
    i = next((i for i in range(len(X_eval)) if predicted[i] == y_eval[i]), 0)
    write("\nOne test review, explained by the training reviews it is most like:\n")
    write(f"[true label: {y_eval[i]}]")
    write(str(model.explain(X_eval[i], k=3)))
    return {"protolm_accuracy": accuracy, "protolm_fit_seconds": model.fit_seconds_}


def _auglinear(tour: _Tour) -> Any:
    """The tour's Aug-Linear model (fit here if its step did not run)."""
    if "auglinear" not in tour.data:
        _auglinear_step(tour)
    return tour.data["auglinear"]


STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        Step(
            "auglinear",
            "Aug-Linear on Rotten Tomatoes",
            "embedding the n-grams of 4,000 reviews with MiniLM, then a cross-validated fit, "
            "beside TF-IDF + logistic regression",
            65,
            _auglinear_step,
        ),
        Step(
            "augtree",
            "Aug-Tree on SMS spam",
            "a depth-3 tree, its keywords expanded by MiniLM embeddings",
            5,
            _augtree_step,
        ),
        Step(
            "kernelshap",
            "KernelSHAP on a black box",
            "explaining the TF-IDF baseline's answer for one review, 500 model calls",
            1,
            _kernelshap_step,
        ),
        Step(
            "summary",
            "summary in words (SmolLM2)",
            "asking SmolLM2-135M what drives each class of the Aug-Linear model "
            "(SmolLM2 is converted once, on first use)",
            20,
            _summary_step,
        ),
        Step(
            "augtree_llm",
            "Aug-Tree with SmolLM2 expansions",
            "a depth-3 tree on Rotten Tomatoes, SmolLM2 proposing the phrase sets",
            25,
            _augtree_llm_step,
        ),
        Step(
            "sasc",
            "SASC on the 'positive' output",
            "which concepts drive the Aug-Linear model's 'positive' output "
            "(n-gram responses, LM summaries, synthetic texts)",
            15,
            _sasc_step,
        ),
        Step(
            "prompt_search",
            "prompt search (country -> capital)",
            "SmolLM2 proposing and scoring instructions that map countries to capitals",
            20,
            _prompt_search_step,
        ),
        Step(
            "protolm",
            "Proto-LM (short)",
            "MiniLM fine-tuned with a prototype layer, 600 reviews, two epochs",
            30,
            _protolm_step,
        ),
    )
}

#: Training texts per dataset by default: 4,000 of Rotten Tomatoes' 8,454 reviews
#: (~57,000 n-grams to embed, about half the full split's) and all of SMS spam.
DEMO_TRAIN = 4000

#: The steps of ``glasstext demo`` and of ``glasstext demo --full``.
DEFAULT_TOUR: tuple[str, ...] = ("auglinear", "augtree", "kernelshap", "summary")
FULL_TOUR: tuple[str, ...] = (*DEFAULT_TOUR, "augtree_llm", "sasc", "prompt_search", "protolm")


def tour_steps(
    full: bool = False, protolm: bool | None = None, language: bool | None = None
) -> list[str]:
    """The names of the steps to run.

    ``protolm`` and ``language`` (the summary, SASC and prompt search) add or
    drop those steps; ``None`` follows ``full``.
    """
    names = list(FULL_TOUR if full else DEFAULT_TOUR)
    wanted = {"protolm": protolm, "summary": language, "sasc": language, "prompt_search": language}
    for name, keep in wanted.items():
        if keep is True and name not in names:
            names.append(name)
        elif keep is False and name in names:
            names.remove(name)
    return [n for n in FULL_TOUR if n in names]  # always in tour order


def run_demo(
    n_train: int | None = DEMO_TRAIN,
    n_test: int | None = None,
    encoder: str | os.PathLike[str] = DEFAULT_ENCODER,
    out: str | os.PathLike[str] | None = None,
    stream: TextIO | None = None,
    protolm: bool | None = None,
    language: bool | None = None,
    *,
    full: bool = False,
    steps: Sequence[str] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run the demo and return its figures.

    Parameters
    ----------
    n_train, n_test : int, optional
        Use only the first rows of each split (``None``: all of them). The
        default, :data:`DEMO_TRAIN` training texts, keeps the first run within
        a few minutes (Rotten Tomatoes has 8,454, SMS spam 3,863).
    encoder : str or path-like
        The encoder for Aug-Linear, Aug-Tree's expansions and Proto-LM.
    out : path-like, optional
        Also save the fitted Aug-Linear model to this folder.
    stream : file-like, optional
        Where to print (default: standard output).
    protolm : bool, optional
        Include (True) or leave out (False) the short Proto-LM step; default: with ``full``.
    language : bool, optional
        Include or leave out the explanations in words (summary, SASC, prompt
        search); default: the summary always, SASC and prompt search with ``full``.
    full : bool, default=False
        The long tour (:data:`FULL_TOUR`) instead of the default (:data:`DEFAULT_TOUR`).
    steps : sequence of str, optional
        Exactly these steps (names in :data:`STEPS`), overriding the three above.
    progress : bool or None, default=None
        Progress bars of the long computations; ``None`` shows them on a terminal.

    Returns
    -------
    dict
        The figures of every step, ``step_seconds`` (wall time per step),
        ``step_cpu_seconds`` and ``demo_seconds`` / ``demo_cpu_seconds``.
    """
    names = list(steps) if steps is not None else tour_steps(full, protolm, language)
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ValueError(f"unknown demo steps {unknown}; the steps are {list(STEPS)}")
    write = _printer(stream or sys.stdout)
    tour = _Tour(write, encoder, n_train, n_test, out, progress)
    expected = sum(STEPS[n].seconds for n in names)
    write(
        f"glasstext demo: {len(names)} steps, about {_minutes(expected)} on an idle 2-core "
        f"machine the first time (models converted, embeddings cached), less afterwards"
        + ("; `glasstext demo --full` adds the long tour" if names == list(DEFAULT_TOUR) else "")
        + "\n"
    )
    figures: dict[str, Any] = {}
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    demo_start, demo_cpu = time.perf_counter(), _cpu_seconds()
    for k, name in enumerate(names, 1):
        step = STEPS[name]
        write(f"[{k}/{len(names)}] {step.title}: {step.doing} (about {step.seconds:.0f} s) ...\n")
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        figures.update(step.run(tour))
        wall[name] = time.perf_counter() - start
        cpu[name] = _cpu_seconds() - start_cpu
        write(f"\n[{k}/{len(names)}] done in {wall[name]:.0f} s\n")
    total, total_cpu = time.perf_counter() - demo_start, _cpu_seconds() - demo_cpu
    _timing_table(write, names, wall, cpu, total, total_cpu)
    return {
        **figures,
        "step_seconds": wall,
        "step_cpu_seconds": cpu,
        "demo_seconds": total,
        "demo_cpu_seconds": total_cpu,
    }


def _timing_table(
    write: Callable[[str], None],
    names: list[str],
    wall: dict[str, float],
    cpu: dict[str, float],
    total: float,
    total_cpu: float,
) -> None:
    """Per-step wall and CPU times, then the total the README quotes."""
    write(f"{'step':<38} {'wall (s)':>9} {'CPU (s)':>8}")
    for name in names:
        write(f"{STEPS[name].title:<38} {wall[name]:>9.1f} {cpu[name]:>8.1f}")
    # The figure the README quotes: measured by the demo itself, cache state included.
    write(
        f"\ndemo finished in {_minutes(total)} (wall time; {_minutes(total_cpu)} of CPU time, "
        f"load average {os.getloadavg()[0]:.1f})"
    )


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (torch's, BLAS's) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


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


def _printer(stream: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        print(line, file=stream, flush=True)

    return write
