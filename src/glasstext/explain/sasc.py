"""SASC: explain what a text module responds to, in words, and check the words against it.

A *module* is any function from texts to one number per text: a class
probability, a logit, a neuron, a keyword counter. :func:`explain_module`
follows "summarize and score" (Singh et al., 2023, "Explaining black box text
modules in natural language with language models"):

1. **Summarize.** Every n-gram of a corpus is scored alone by the module. A
   language model is shown several random subsets of the top n-grams and asked
   for their common theme; the answers, cleaned and deduplicated, are the
   candidate explanations.
2. **Score.** For each candidate the language model writes short texts about
   the concept and texts that are not about it. The explanation's score is the
   difference of the module's mean response to the two sets, in units of the
   module's standard deviation over the corpus n-grams. A theme the model made
   up, which the module does not respond to, scores near zero.

Candidates are ranked by that score. Every call goes through the shared LM
backend, so it is cached (a repeated run spends no LM calls) and counted.

The prompts are few-shot completions, which even the packaged 135M-parameter
model continues reliably; their worked examples are about clothing, tools,
furniture and musical instruments. ``chat=True`` switches to instructions for
chat models (a larger model behind an OpenAI-compatible server).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glasstext.backends.lm_base import LanguageModel
from glasstext.backends.runtime import progress_bar
from glasstext.explain.nl import (
    ExplanationError,
    UsageMeter,
    clean_concept,
    repeats_phrases,
    resolve_lm,
)
from glasstext.io import jsonable
from glasstext.results import ResultMixin, limit
from glasstext.text import NgramRange, check_ngram_range, extract_ngrams
from glasstext.validation import check_int, check_seed, check_texts

__all__ = [
    "ConceptExplanation",
    "ExplanationError",
    "ModuleExplanation",
    "ModuleResponse",
    "explain_module",
    "score_explanations",
    "summary_prompt",
]


@dataclass(frozen=True)
class _Demo:
    """A worked example of the completion prompts: a topic, phrases and sentences."""

    topic: str
    phrases: str
    about: str
    not_about: str


# Rotated so each prompt shows them in another order: a small base model tends
# to copy the answer of one fixed example; an answer that copies any is dropped.
_DEMOS = (
    _Demo(
        "clothing",
        "shirt, wool coat, jeans, a pair of socks, leather jacket",
        "She wore a wool coat and a red scarf.",
        "He painted the fence pale green.",
    ),
    _Demo(
        "tools",
        "hammer, screwdriver, drill, wrench, a saw",
        "He fixed the shelf with a hammer and a few nails.",
        "She smiled and read the letter again.",
    ),
    _Demo(
        "furniture",
        "sofa, oak table, bookshelf, armchair, a bed frame",
        "They moved the old sofa next to the oak bookcase.",
        "The meeting was moved to a later date.",
    ),
    _Demo(
        "musical instruments",
        "violin, piano, drums, an electric guitar, flute",
        "The band played guitar and drums all night.",
        "They talked quietly while the kettle boiled.",
    ),
)
_DEMO_TOPICS = frozenset(d.topic for d in _DEMOS)
CHAT_SUMMARY_PROMPT = (
    "Here is a list of phrases:\n{phrases}\n"
    "What is the common theme of these phrases? Answer with a few words only."
)
CHAT_TEXT_WITH_PROMPT = "Write one short sentence about {concept}. Reply with the sentence only."
CHAT_TEXT_WITHOUT_PROMPT = (
    "Write one short sentence that has nothing to do with {concept}. Reply with the sentence only."
)


# -- the module ------------------------------------------------------------------------


class ModuleResponse:
    """A text module as a function from texts to one float per text, batched and counted.

    Parameters
    ----------
    module : callable, estimator or Scorer
        A function from a list of texts to an array of shape ``(n,)`` or
        ``(n, k)``; a regressor (its ``predict``); or a classifier with
        ``predict_proba``/``decision_function`` (its class probabilities, see
        :func:`~glasstext.explain.as_scorer`).
    output : int, str or None, default=None
        Which column of a two-dimensional output is the module: an index, or a
        class label of a scorer that has class names. ``None`` takes the only
        column, or the second of two (the positive class of a binary model).
    batch_size : int, default=256
        Texts per call to the module.

    Attributes
    ----------
    n_calls : int
        Texts the module has been asked about.
    """

    def __init__(self, module: Any, output: int | str | None = None, batch_size: int = 256) -> None:
        self.module = module
        self.output = output
        self.batch_size = check_int(batch_size, "batch_size")
        self.n_calls = 0
        self._fn, self._classes = _module_function(module)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """The module's response to each text, shape ``(n_texts,)``."""
        items = check_texts(texts, "texts")
        parts = [
            self._respond(items[i : i + self.batch_size])
            for i in range(0, len(items), self.batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _respond(self, texts: list[str]) -> np.ndarray:
        raw = self._fn(texts)
        self.n_calls += len(texts)
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"the module must return numbers, got {type(raw).__name__}: {raw!r:.80}"
            ) from None
        values = self._column(values)
        if values.shape != (len(texts),):
            raise ValueError(
                f"the module returned shape {values.shape} for {len(texts)} texts; "
                "expected one number per text"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("the module returned NaN or infinite values")
        return values

    def _column(self, values: np.ndarray) -> np.ndarray:
        if values.ndim != 2:
            if self.output is not None and values.ndim == 1:
                raise ValueError(
                    f"output={self.output!r} was given but the module returns one number per text"
                )
            return values
        k = values.shape[1]
        if self.output is None:
            if k > 2:
                labels = f", or one of {list(self._classes)}" if self._classes else ""
                raise ValueError(
                    f"the module returns {k} outputs per text: choose one with output= "
                    f"(an index{labels})"
                )
            return values[:, k - 1]
        return values[:, self._output_index(k)]

    def _output_index(self, k: int) -> int:
        output = self.output
        if isinstance(output, str):
            if not self._classes or output not in self._classes:
                raise ValueError(
                    f"output={output!r} is not a class of the module"
                    + (f"; its classes are {list(self._classes)}" if self._classes else "")
                )
            return list(self._classes).index(output)
        if isinstance(output, bool) or not isinstance(output, int | np.integer):
            raise TypeError(f"output must be an int index or a class label, got {output!r}")
        if not -k <= int(output) < k:
            raise ValueError(f"output={output} is out of range for a module with {k} outputs")
        return int(output)


def _module_function(module: Any) -> tuple[Callable[[list[str]], Any], tuple[Any, ...] | None]:
    from glasstext.explain.scorers import Scorer, as_scorer

    if isinstance(module, LanguageModel | str):
        raise TypeError(
            "a module is a function from texts to numbers; to explain a language "
            "model's output, wrap it, e.g. in glasstext.explain.LMScorer(lm, template, labels)"
        )
    if getattr(module, "_estimator_type", None) == "regressor" and hasattr(module, "predict"):
        return module.predict, None  # its prediction itself, not squashed into a probability
    if (
        isinstance(module, Scorer)
        or hasattr(module, "predict_proba")
        or hasattr(module, "decision_function")
    ):
        scorer = as_scorer(module)
        classes = scorer.classes
        return scorer, tuple(str(c) for c in classes) if classes is not None else None
    if callable(module):
        return module, None
    raise TypeError(
        f"cannot use a {type(module).__name__} as a module: give a function from a list "
        "of texts to numbers, or an estimator with predict_proba"
    )


# -- results ---------------------------------------------------------------------------


@dataclass
class ConceptExplanation(ResultMixin):
    """One candidate explanation and the evidence for it.

    Attributes
    ----------
    text : str
        The explanation, e.g. ``"food"``.
    score : float
        Mean module response to texts about the concept minus the mean response
        to texts not about it, divided by the module's standard deviation over
        the corpus n-grams (``nan`` when the LM wrote no usable texts).
    mean_with, mean_without : float
        The two means.
    n_proposals : int
        How many of the summaries proposed it (0 for an explanation given by the caller).
    evidence : list of (str, float)
        The top n-grams of the subsets that proposed it, with the module's response.
    texts_with, texts_without : list of str
        The synthetic texts it was scored on.
    """

    text: str
    score: float
    mean_with: float
    mean_without: float
    n_proposals: int = 0
    evidence: list[tuple[str, float]] = field(default_factory=list)
    texts_with: list[str] = field(default_factory=list)
    texts_without: list[str] = field(default_factory=list)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-able fields; ``top`` keeps that many evidence n-grams (``None``: all)."""
        return {
            "text": self.text,
            "score": jsonable(self.score),
            "mean_with": jsonable(self.mean_with),
            "mean_without": jsonable(self.mean_without),
            "n_proposals": self.n_proposals,
            "evidence": [[g, float(v)] for g, v in limit(self.evidence, top)],
            "texts_with": list(self.texts_with),
            "texts_without": list(self.texts_without),
        }

    def __str__(self) -> str:
        evidence = ", ".join(g for g, _ in self.evidence[:6])
        shown = f"{self.text}  (score {self.score:+.2f})"
        return f"{shown}  e.g. {evidence}" if evidence else shown


@dataclass
class ModuleExplanation(ResultMixin):
    """What :func:`explain_module` found.

    Attributes
    ----------
    explanations : list of ConceptExplanation
        Ranked by score, best first.
    top_ngrams : list of (str, float)
        The n-grams the module responds to most, with their responses.
    scale : float
        The module's standard deviation over the corpus n-grams (the unit of the scores).
    n_ngrams : int
        N-grams scored by the module.
    module_calls : int
        Texts the module was asked about (n-grams and synthetic texts).
    lm_usage : dict
        Work the language model did (generation calls, forward passes, cache hits).
    seconds : float
        Wall time.
    """

    explanations: list[ConceptExplanation]
    top_ngrams: list[tuple[str, float]]
    scale: float
    n_ngrams: int
    module_calls: int
    lm_usage: dict[str, int]
    seconds: float

    @property
    def best(self) -> ConceptExplanation:
        """The top-ranked explanation."""
        return self.explanations[0]

    def __str__(self) -> str:
        lines = ["The module responds to:"]
        for rank, e in enumerate(self.explanations, 1):
            evidence = ", ".join(g for g, _ in e.evidence[:6])
            lines.append(f"  {rank}. {e.text}  (score {e.score:+.2f})  e.g. {evidence}")
        calls = self.lm_usage.get("n_generate_calls", 0)
        lines.append(
            f"[{self.n_ngrams} n-grams scored; {self.module_calls} module calls; "
            f"{calls} LM generations; {self.seconds:.1f} s]"
        )
        return "\n".join(lines)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-able fields; ``top`` keeps that many explanations, best first (``None``: all)."""
        return {
            "explanations": [e.to_dict() for e in limit(self.explanations, top)],
            "top_ngrams": [[g, float(v)] for g, v in self.top_ngrams],
            "scale": self.scale,
            "n_ngrams": self.n_ngrams,
            "module_calls": self.module_calls,
            "lm_usage": dict(self.lm_usage),
            "seconds": self.seconds,
        }


# -- step 1: n-grams and the module's response to them ------------------------------------


def corpus_ngrams(
    corpus: Sequence[str], ngram_range: NgramRange = (1, 3), max_ngrams: int = 10_000
) -> list[str]:
    """The n-grams of a corpus that SASC scores, at most ``max_ngrams`` of them.

    Every single word is kept first (a module's response to a phrase is mostly
    carried by its words); the rest of the budget goes to the longer n-grams
    seen in at least two texts, most frequent first. Ties keep corpus order.
    """
    low, high = check_ngram_range(ngram_range)
    doc_freq: Counter[str] = Counter()
    for text in corpus:
        doc_freq.update(dict.fromkeys(extract_ngrams(text, (low, high)), 1))  # corpus order
    words = [g for g in doc_freq if " " not in g] if low == 1 else []
    longer = sorted(
        (g for g, c in doc_freq.items() if " " in g and c >= 2),
        key=lambda g: -doc_freq[g],
    )
    if low > 1:
        longer = sorted(doc_freq, key=lambda g: -doc_freq[g])
    return (words + longer)[:max_ngrams]


def top_responses(ngrams: Sequence[str], responses: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The ``k`` n-grams the module responds to most, above its median response.

    A module that responds to few n-grams (a keyword detector) would otherwise
    fill the list with n-grams at its floor ("a", "is"), which says nothing
    about it and misleads the summaries. Equal responses go to the shorter
    n-gram first: "goal" is cleaner evidence than "the goal".
    """
    median = float(np.median(responses))
    above = np.flatnonzero(responses > median)
    pool = above if above.size else np.arange(len(ngrams))
    lengths = np.array([ngrams[int(i)].count(" ") for i in pool])
    order = pool[np.lexsort((lengths, -responses[pool]))][:k]
    return [(ngrams[int(i)], float(responses[int(i)])) for i in order]


# -- step 2: summaries ----------------------------------------------------------------------


def _rotated_demos(variant: int, n: int) -> list[_Demo]:
    return [_DEMOS[(variant + j) % len(_DEMOS)] for j in range(n)]


def summary_prompt(phrases: Sequence[str], variant: int = 0, chat: bool = False) -> str:
    """The prompt asking for the common theme of ``phrases``.

    In completion mode (the default) it shows the four worked examples, in an
    order set by ``variant``, then ``Phrases: ...`` and ``Common theme:``.
    """
    if chat:
        return CHAT_SUMMARY_PROMPT.format(phrases="\n".join(phrases))
    demos = "".join(
        f"Phrases: {d.phrases}\nCommon theme: {d.topic}\n\n"
        for d in _rotated_demos(variant, len(_DEMOS))
    )
    return demos + f"Phrases: {', '.join(phrases)}\nCommon theme:"


def _propose(
    lm: LanguageModel,
    top: list[tuple[str, float]],
    n_summaries: int,
    subset_size: int,
    rng: np.random.Generator,
    chat: bool,
) -> list[tuple[str, int, list[tuple[str, float]]]]:
    """Candidate explanations with their proposal counts and evidence, most proposed first."""
    size = min(subset_size, len(top))
    subsets = [[top[int(i)] for i in rng.permutation(len(top))[:size]] for _ in range(n_summaries)]
    answers = lm.generate(
        [summary_prompt([g for g, _ in s], j, chat) for j, s in enumerate(subsets)],
        max_new_tokens=16,
        chat=chat,
        stop="\n",
    )
    counts: Counter[str] = Counter()
    evidence: dict[str, dict[str, float]] = {}
    first_form: dict[frozenset[str], str] = {}
    for answer, subset in zip(answers, subsets, strict=True):
        subset_phrases = [g for g, _ in subset]
        concept = clean_concept(answer)
        if not concept or concept in _DEMO_TOPICS or repeats_phrases(concept, subset_phrases):
            continue  # empty, a worked example's answer, or the list read back
        # "beauty, art" and "art, beauty" are one candidate, named as first proposed
        concept = first_form.setdefault(frozenset(i.strip() for i in concept.split(",")), concept)
        counts[concept] += 1
        evidence.setdefault(concept, {}).update(subset)
    ranked = sorted(counts, key=lambda c: -counts[c])  # stable: first proposed wins ties
    return [(c, counts[c], sorted(evidence[c].items(), key=lambda kv: -kv[1])[:10]) for c in ranked]


# -- step 3: synthetic texts and scores ------------------------------------------------------


def _text_prompts(concept: str, variant: int, chat: bool) -> tuple[str, str]:
    """A prompt for a sentence about ``concept`` and one for a sentence not about it."""
    if chat:
        return (
            CHAT_TEXT_WITH_PROMPT.format(concept=concept),
            CHAT_TEXT_WITHOUT_PROMPT.format(concept=concept),
        )
    demos = _rotated_demos(variant, 2)
    about = "".join(f"Topic: {d.topic}\nSentence: {d.about}\n\n" for d in demos)
    not_about = "".join(f"A sentence not about {d.topic}: {d.not_about}\n\n" for d in demos)
    return (
        about + f"Topic: {concept}\nSentence:",
        not_about + f"A sentence not about {concept}:",
    )


def _synthetic_texts(
    lm: LanguageModel, concepts: list[str], n_texts: int, seed: int, chat: bool
) -> list[tuple[list[str], list[str]]]:
    """``n_texts`` texts about, and not about, each concept (fewer if the LM writes empties).

    Prompts vary by their worked examples and by the sampling seed, so the
    texts differ; every (prompt, seed) pair is one cached generation, and all
    concepts share each batched call.
    """
    n_variants = 1 if chat else len(_DEMOS)
    slots = [(v, r) for r in range(-(-n_texts // n_variants)) for v in range(n_variants)][:n_texts]
    with_texts: list[list[str]] = [[] for _ in concepts]
    without_texts: list[list[str]] = [[] for _ in concepts]
    for round_ in sorted({r for _, r in slots}):
        variants = [v for v, r in slots if r == round_]
        prompts = [p for c in concepts for v in variants for p in _text_prompts(c, v, chat)]
        outputs = lm.generate(
            prompts, max_new_tokens=32, temperature=0.8, seed=seed + round_, chat=chat, stop="\n"
        )
        for k, _ in enumerate(concepts):
            block = outputs[2 * k * len(variants) : 2 * (k + 1) * len(variants)]
            with_texts[k].extend(t for t in block[0::2] if t.strip())
            without_texts[k].extend(t for t in block[1::2] if t.strip())
    return list(zip(with_texts, without_texts, strict=True))


def score_explanations(
    module: Any,
    explanations: Sequence[str],
    lm: str | LanguageModel | None = None,
    *,
    scale: float | None = None,
    n_synthetic: int = 8,
    output: int | str | None = None,
    chat: bool = False,
    random_state: int = 0,
) -> list[ConceptExplanation]:
    """Score explanations of a module on texts a language model writes for them.

    Parameters
    ----------
    module : callable, estimator or Scorer
        See :class:`ModuleResponse`.
    explanations : sequence of str
        Concepts to test, e.g. ``["food", "sports"]``.
    lm : str, LanguageModel or None, default=None
        The model that writes the texts (``None``: the packaged SmolLM2).
    scale : float or None, default=None
        Divides the differences of means; :func:`explain_module` passes the
        module's standard deviation over the corpus n-grams. ``None`` uses the
        standard deviation over all the synthetic texts written here.
    n_synthetic : int, default=8
        Texts written per concept and side.
    output : int, str or None, default=None
        See :class:`ModuleResponse`.
    chat : bool, default=False
        Use instruction prompts for a chat model instead of few-shot completion.
    random_state : int, default=0
        Seeds the sampling of the texts.

    Returns
    -------
    list of ConceptExplanation
        In the order given (not ranked), with ``n_proposals`` 0.
    """
    concepts = [e.strip() for e in check_texts(explanations, "explanations")]
    if not all(concepts):
        raise ValueError("an explanation is empty: give the concepts to test as words")
    return _score(
        ModuleResponse(module, output),
        [(c, 0, []) for c in concepts],
        resolve_lm(lm),
        scale,
        check_int(n_synthetic, "n_synthetic"),
        chat,
        check_seed(random_state),
    )


def _score(
    respond: ModuleResponse,
    candidates: list[tuple[str, int, list[tuple[str, float]]]],
    lm: LanguageModel,
    scale: float | None,
    n_synthetic: int,
    chat: bool,
    seed: int,
) -> list[ConceptExplanation]:
    texts = _synthetic_texts(lm, [c for c, _, _ in candidates], n_synthetic, seed, chat)
    flat = [t for pos, neg in texts for t in pos + neg]
    values = respond(flat)
    if scale is None:
        scale = float(np.std(values)) if values.size > 1 else 0.0
    unit = scale if scale > 0 else 1.0
    results, at = [], 0
    for (concept, n_proposals, evidence), (pos, neg) in zip(candidates, texts, strict=True):
        with_values = values[at : at + len(pos)]
        without_values = values[at + len(pos) : at + len(pos) + len(neg)]
        at += len(pos) + len(neg)
        mean_with = float(with_values.mean()) if pos else float("nan")
        mean_without = float(without_values.mean()) if neg else float("nan")
        results.append(
            ConceptExplanation(
                text=concept,
                score=(mean_with - mean_without) / unit,
                mean_with=mean_with,
                mean_without=mean_without,
                n_proposals=n_proposals,
                evidence=evidence,
                texts_with=pos,
                texts_without=neg,
            )
        )
    return results


# -- the public entry point ----------------------------------------------------------------


def explain_module(
    module: Any,
    corpus: Sequence[str],
    lm: str | LanguageModel | None = None,
    *,
    output: int | str | None = None,
    ngram_range: NgramRange = (1, 3),
    max_ngrams: int = 10_000,
    n_top_ngrams: int = 30,
    n_summaries: int = 5,
    subset_size: int = 15,
    max_explanations: int = 5,
    n_synthetic: int = 8,
    chat: bool = False,
    random_state: int = 0,
    batch_size: int = 256,
    progress: bool | None = None,
) -> ModuleExplanation:
    """Explain in words what a text module responds to (SASC), checked on synthetic texts.

    Parameters
    ----------
    module : callable, estimator or Scorer
        A function from a list of texts to one number per text (or an array of
        shape ``(n, k)`` with ``output`` choosing the column), or an estimator
        with ``predict_proba``: see :class:`ModuleResponse`.
    corpus : sequence of str
        Texts whose n-grams are scored by the module.
    lm : str, LanguageModel or None, default=None
        The language model that summarizes and writes texts: a name for
        :func:`~glasstext.backends.lm.get_lm` (``"openai:MODEL@URL"`` for a
        server), an instance, or ``None`` for the packaged SmolLM2-135M-Instruct.
    output : int, str or None, default=None
        The column of a multi-output module (an index or a class label).
    ngram_range : (int, int), default=(1, 3)
        Lengths of the n-grams extracted from the corpus.
    max_ngrams : int, default=10000
        Most n-grams scored by the module (see :func:`corpus_ngrams`).
    n_top_ngrams : int, default=30
        The n-grams with the highest responses (above the median response)
        that summaries are drawn from; see :func:`top_responses`.
    n_summaries : int, default=5
        Random subsets of the top n-grams the LM summarizes (one call each).
    subset_size : int, default=15
        N-grams per subset.
    max_explanations : int, default=5
        Most candidate explanations scored (the most often proposed).
    n_synthetic : int, default=8
        Texts written per explanation, about it and not about it.
    chat : bool, default=False
        Instruction prompts for chat models rather than few-shot completion.
    random_state : int, default=0
        Seeds the subsets and the sampling of the synthetic texts: the same
        seed gives the same result.
    batch_size : int, default=256
        Texts per call to the module.
    progress : bool or None, default=None
        Show a progress bar over the steps (``None``: on an interactive terminal).

    Returns
    -------
    ModuleExplanation
        Explanations ranked by score, with the evidence n-grams, the calls spent
        and the wall time.

    Raises
    ------
    ValueError
        An empty corpus, a module that responds identically to every n-gram,
        or bad parameters.
    ExplanationError
        The language model proposed no usable explanation.
    """
    items = check_texts(corpus, "corpus", allow_empty_list=False)
    for name, value in [
        ("max_ngrams", max_ngrams),
        ("n_top_ngrams", n_top_ngrams),
        ("n_summaries", n_summaries),
        ("subset_size", subset_size),
        ("max_explanations", max_explanations),
        ("n_synthetic", n_synthetic),
    ]:
        check_int(value, name)
    seed = check_seed(random_state)
    model = resolve_lm(lm)
    meter = UsageMeter(model)
    respond = ModuleResponse(module, output, batch_size)
    bar = progress_bar(3, "SASC", progress, "step")
    bar.set_postfix_str("score n-grams")

    ngrams = corpus_ngrams(items, ngram_range, max_ngrams)
    if not ngrams:
        raise ValueError("the corpus has no words to extract n-grams from")
    responses = respond(ngrams)
    scale = float(np.std(responses))
    if not scale > 0:
        raise ValueError(
            "the module gives every corpus n-gram the same response: there is nothing to explain"
        )
    top = top_responses(ngrams, responses, n_top_ngrams)
    _advance(bar, "summarize")

    rng = np.random.default_rng(seed)
    candidates = _propose(model, top, n_summaries, subset_size, rng, chat)[:max_explanations]
    if not candidates:
        raise ExplanationError(
            f"the language model ({model.identity}) proposed no usable explanation "
            f"in {n_summaries} summaries; try a larger model, more summaries or chat={not chat}"
        )
    _advance(bar, "score")

    scored = _score(respond, candidates, model, scale, n_synthetic, chat, seed)
    ranked = sorted(scored, key=lambda e: -e.score if np.isfinite(e.score) else np.inf)
    _advance(bar, "done")
    bar.close()
    return ModuleExplanation(
        explanations=ranked,
        top_ngrams=top,
        scale=scale,
        n_ngrams=len(ngrams),
        module_calls=respond.n_calls,
        lm_usage=meter.spent(),
        seconds=meter.seconds(),
    )


def _advance(bar: Any, next_step: str) -> None:
    bar.update(1)
    bar.set_postfix_str(next_step)
