"""LM-written summaries of what drives each class of an Aug-Linear or Aug-Tree model.

:func:`summarize_model` asks the model for the evidence it already holds for
each class (``model.summary_evidence(k)``, part of the model protocol of
:mod:`glasstext.models.base`): the n-grams with the largest table values
(Aug-Linear), or the split phrase sets whose "contains" branch raises the class
(Aug-Tree). It then asks a language model, in one batched call, for the common
theme of each class's evidence. The result lists the summary with the evidence
under it, so a reader can always check the words the summary is built on.

Evidence
--------
Aug-Linear
    ``model.top_ngrams(k)``: a classifier's n-grams that push toward each class
    (for a binary model the first class gets the most negative table values,
    the second the most positive); a regressor's n-grams that raise
    (``"higher"``) and lower (``"lower"``) the prediction. Weights are the
    table values; an n-gram that points the other way is left out.
Aug-Tree
    For every split, the class fractions of its "contains" child (``right``)
    minus those of its "does not contain" child (``left``). A phrase set is
    evidence for each class whose fraction it raises, weighted by that rise
    times the share of training texts that reached the split (summed over the
    trees of an ensemble, divided by their number). For a regressor the
    difference of the mean targets gives ``"higher"`` (positive weights) and
    ``"lower"`` (negative weights).

Prompt
------
A few-shot completion prompt (``chat=False``, stopped at the newline, greedy,
so the backend caches it persistently): demonstrations on unrelated topics,
then ``Phrases: ...`` and ``Common theme:``. A small model such as the packaged
SmolLM2-135M-Instruct continues this far more reliably than a chat request.
``context`` ("movie reviews") adds one line saying where the phrases come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glasstext.backends.lm import LanguageModel
from glasstext.explain.nl import (
    UsageMeter,
    check_positive_int,
    clean_concept,
    repeats_phrases,
    resolve_lm,
)
from glasstext.io import python_scalar
from glasstext.models.base import Evidence, GlassModel, model_types
from glasstext.results import ResultMixin, limit

__all__ = [
    "NO_EVIDENCE",
    "NO_SUMMARY",
    "SUMMARY_PROMPT",
    "ClassSummary",
    "ModelSummary",
    "summarize_model",
    "summary_prompt",
]

# Demonstrations avoid the concepts benchmarked elsewhere (sentiment, food,
# negation, numbers, places, time...), so they cannot leak an answer.
SUMMARY_PROMPT = (
    "Lists of phrases, each followed by what they have in common.\n\n"
    "Phrases: shirt, wool coat, jeans, sneakers, scarf, dress\n"
    "Common theme: clothing and what people wear\n\n"
    "Phrases: hammer, screwdriver, drill, wrench, saw blade\n"
    "Common theme: tools for building and repairs\n\n"
    "Phrases: keyboard, software update, laptop, crashed, password\n"
    "Common theme: computers and software problems\n\n"
    "{context}Phrases: {phrases}\n"
    "Common theme:"
)
NO_SUMMARY = "(the language model gave no usable summary)"
NO_EVIDENCE = "(no n-gram or phrase set in the model points this way)"

# Most phrases shown to the LM per class, and most words kept of its answer.
_MAX_PROMPT_PHRASES = 20
_MAX_SUMMARY_WORDS = 16


@dataclass
class ClassSummary(ResultMixin):
    """The summary of one class (or, for a regressor, one direction).

    Attributes
    ----------
    label : object
        The class label; ``"higher"`` or ``"lower"`` for a regressor.
    summary : str
        The cleaned LM answer, or :data:`NO_SUMMARY` / :data:`NO_EVIDENCE`.
    evidence : list of (str or tuple of str, float)
        ``(n-gram, table value)`` for Aug-Linear, ``(phrase set, weight)`` for
        Aug-Tree, strongest first (see the module notes for the weights).
    answer : str or None
        The raw LM answer (``None`` when the class had no evidence to ask about).
    """

    label: Any
    summary: str
    evidence: Evidence = field(default_factory=list)
    answer: str | None = None

    @property
    def usable(self) -> bool:
        """Whether the LM gave a usable summary."""
        return self.summary not in (NO_SUMMARY, NO_EVIDENCE)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-able dict (``top`` keeps the strongest evidence items)."""
        items = []
        for item, weight in limit(self.evidence, top):
            key = "ngram" if isinstance(item, str) else "phrases"
            value = item if isinstance(item, str) else list(item)
            items.append({key: value, "weight": float(weight)})
        return {
            "label": python_scalar(self.label),
            "summary": self.summary,
            "answer": self.answer,
            "evidence": items,
        }

    def __str__(self) -> str:
        return "\n".join([f"{python_scalar(self.label)!r}: {self.summary}", *_evidence_lines(self)])


@dataclass
class ModelSummary(ResultMixin):
    """What drives each class of a model, in the words of a language model.

    Attributes
    ----------
    model_kind : str
        Class name of the summarized model, e.g. ``"AugTreeClassifier"``.
    task : {"classification", "regression"}
    evidence_kind : {"ngrams", "phrase sets"}
    classes : list of ClassSummary
        One per class in the model's class order; for a regressor ``"higher"``
        then ``"lower"``.
    lm_usage : dict of str to int
        LM work spent (``n_generate_calls`` is 0 when every answer came from
        the cache, ``n_cache_hits`` counts those).
    seconds : float
        Wall time of the summary.
    lm : str
        Identity of the language model.
    context : str or None
        The domain given in the prompt.
    """

    model_kind: str
    task: str
    evidence_kind: str
    classes: list[ClassSummary]
    lm_usage: dict[str, int]
    seconds: float
    lm: str = ""
    context: str | None = None

    def __getitem__(self, label: Any) -> ClassSummary:
        """The summary of one class label (or ``"higher"`` / ``"lower"``)."""
        for entry in self.classes:
            if entry.label == label or str(entry.label) == str(label):
                return entry
        raise KeyError(label)

    def __str__(self) -> str:
        calls = self.lm_usage.get("n_generate_calls", 0)
        hits = self.lm_usage.get("n_cache_hits", 0)
        if self.evidence_kind == "ngrams":
            weight = "n-gram table values"
        elif self.task == "classification":
            weight = "phrase sets; weight = rise of the class fraction x share of texts"
        else:
            weight = "phrase sets; weight = change of the mean x share of texts"
        lines = [
            f"{self.model_kind}: what drives each "
            f"{'class' if self.task == 'classification' else 'direction'} "
            f"({calls} LM generation{'s' if calls != 1 else ''}, {hits} from cache, "
            f"{self.seconds:.1f} s)",
            f"evidence: {weight}",
        ]
        for entry in self.classes:
            label = python_scalar(entry.label)
            heading = (
                f"class {label!r}" if self.task == "classification" else f"{label} predictions"
            )
            lines += ["", f"{heading}: {entry.summary}", *_evidence_lines(entry)]
        return "\n".join(lines)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-able dict (numpy scalars converted to Python values); ``top``
        keeps the strongest evidence items of each class."""
        return {
            "model_kind": self.model_kind,
            "task": self.task,
            "evidence_kind": self.evidence_kind,
            "lm": self.lm,
            "context": self.context,
            "classes": [c.to_dict(top) for c in self.classes],
            "lm_usage": {k: int(v) for k, v in self.lm_usage.items()},
            "seconds": float(self.seconds),
        }


def summary_prompt(phrases: Sequence[str], context: str | None = None) -> str:
    """The completion prompt asking for the common theme of ``phrases``."""
    intro = f"The next phrases come from {context}.\n" if context else ""
    return SUMMARY_PROMPT.format(context=intro, phrases=", ".join(phrases))


def summarize_model(
    model: Any,
    lm: str | LanguageModel | None = None,
    *,
    k: int = 15,
    context: str | None = None,
    max_new_tokens: int = 32,
) -> ModelSummary:
    """An LM-written summary of what drives each class, with the evidence under it.

    Parameters
    ----------
    model : AugLinearClassifier, AugLinearRegressor, AugTreeClassifier or AugTreeRegressor
        A fitted (or loaded) model: any glasstext model whose
        ``summary_evidence(k)`` gives readable evidence.
    lm : str, LanguageModel or None, default=None
        The language model: an alias, a local folder, a hub id,
        ``"openai:MODEL@BASE_URL"``, or an instance. ``None`` is the packaged
        SmolLM2-135M-Instruct.
    k : int, default=15
        Evidence items per class: n-grams (Aug-Linear) or phrase sets (Aug-Tree).
    context : str or None, default=None
        Where the texts come from, e.g. ``"movie reviews"``; said in the prompt.
    max_new_tokens : int, default=32
        Upper bound on the tokens of each answer.

    Returns
    -------
    ModelSummary
        One :class:`ClassSummary` per class (``"higher"`` and ``"lower"`` for a
        regressor), the LM calls spent and the wall time. Prompts are sent in
        one batched, greedy ``generate`` call, cached by the backend: asking
        again costs no generation.

    Raises
    ------
    TypeError
        ``model`` is not a glasstext model with readable evidence (Proto-LM's
        evidence is whole sentences), or ``lm`` is not a model name, a
        LanguageModel or None.
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.
    glasstext.backends.openai_compat.LMServerError
        The language-model server failed (backend errors are not swallowed).
    """
    _check_summarizable(model)
    k = check_positive_int(k, "k")
    max_new_tokens = check_positive_int(max_new_tokens, "max_new_tokens")
    if context is not None and not isinstance(context, str):
        raise TypeError(f"context must be a str or None, got {type(context).__name__}")
    context = context.strip() if context else None
    context = context or None

    found = model.summary_evidence(k)
    evidence = found.classes

    backend = resolve_lm(lm)
    meter = UsageMeter(backend)
    asked = [i for i, (_, items) in enumerate(evidence) if items]
    prompts = [summary_prompt(_prompt_phrases(evidence[i][1]), context) for i in asked]
    answers: dict[int, str] = {}
    if prompts:
        outputs = backend.generate(prompts, max_new_tokens=max_new_tokens, chat=False, stop="\n")
        answers = dict(zip(asked, outputs, strict=True))

    classes = []
    for i, (label, items) in enumerate(evidence):
        if i not in answers:
            classes.append(ClassSummary(label, NO_EVIDENCE, items, None))
            continue
        answer = answers[i].strip()
        classes.append(ClassSummary(label, _summary_text(answer, items), items, answer))
    return ModelSummary(
        model_kind=type(model).__name__,
        task=found.task,
        evidence_kind=found.kind,
        classes=classes,
        lm_usage=meter.spent(),
        seconds=meter.seconds(),
        lm=str(backend.identity),
        context=context,
    )


# -- evidence -----------------------------------------------------------------------


def _check_summarizable(model: Any) -> None:
    """A TypeError unless ``model`` is a glasstext model (which then says whether
    it has readable evidence when asked for it)."""
    if isinstance(model, GlassModel):
        return
    readable = [
        name
        for name, cls in model_types().items()
        if cls.summary_evidence is not GlassModel.summary_evidence
    ]
    names = ", ".join(readable[:-1]) + f" and {readable[-1]}" if len(readable) > 1 else readable[0]
    raise TypeError(f"summarize_model supports {names} models, got {type(model).__name__}")


# -- prompt and answer --------------------------------------------------------------


def _prompt_phrases(items: Evidence) -> list[str]:
    """The evidence as one flat list of distinct phrases, strongest first."""
    phrases: list[str] = []
    for item, _ in items:
        for phrase in [item] if isinstance(item, str) else item:
            if phrase not in phrases:
                phrases.append(phrase)
    return phrases[:_MAX_PROMPT_PHRASES]


def _summary_text(answer: str, items: Evidence) -> str:
    """The cleaned answer, or :data:`NO_SUMMARY` when it is empty or copies the list."""
    text = clean_concept(answer, max_words=_MAX_SUMMARY_WORDS)
    if not text:
        return NO_SUMMARY
    if repeats_phrases(text, _prompt_phrases(items)):
        return NO_SUMMARY  # the model repeated the phrases instead of naming a theme
    return text


def _evidence_lines(entry: ClassSummary) -> list[str]:
    return [f"    {value:+.4f}  {_item_text(item)}" for item, value in entry.evidence]


def _item_text(item: str | tuple[str, ...]) -> str:
    if isinstance(item, str):
        return item
    return "{" + ", ".join(f'"{p}"' for p in item) + "}"
