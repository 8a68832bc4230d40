"""Shared pieces of the natural-language explainers (SASC, prompt search, summaries).

The explainers in :mod:`~glasstext.explain.sasc`, :mod:`~glasstext.explain.iprompt`
and :mod:`~glasstext.explain.summaries` all ask a language model for a short
piece of text, clean it, and report the calls they spent. Those three steps
live here once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from glasstext.backends.lm import LanguageModel, get_lm, usage_delta
from glasstext.exceptions import ExplanationError
from glasstext.validation import check_int

__all__ = [
    "ExplanationError",
    "UsageMeter",
    "check_positive_int",
    "clean_concept",
    "clean_sentence",
    "repeats_phrases",
    "resolve_lm",
]

# Lead-ins a model writes before the answer ("The common theme is ...").
_CONCEPT_LEAD_INS = re.compile(
    r"^(?:(?:the\s+)?(?:common\s+)?(?:theme|topic|concept|pattern)s?"
    r"(?:\s+(?:among|of|in)\s+(?:these|the|all)\s+(?:\w+\s+)?(?:phrases|words|texts))?"
    r"\s*(?:is|are|:)\s*|they\s+(?:are\s+)?all\s+(?:about|involve|describe|mention)?\s*"
    r"|these\s+(?:phrases|words)\s+(?:are\s+)?(?:all\s+)?(?:about|describe|mention|involve)?\s*)",
    re.IGNORECASE,
)
_LEADING_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)
_QUOTES = "\"'`“”‘’*"


def resolve_lm(lm: str | LanguageModel | None, device: str = "auto") -> LanguageModel:
    """The shared language model for a name, an instance, or ``None`` (packaged SmolLM2).

    ``device`` is where a local model named by ``lm`` runs (see
    :func:`~glasstext.backends.devices.resolve_device`).
    """
    if lm is not None and not isinstance(lm, str | LanguageModel):
        raise TypeError(
            f"lm must be a model name, a LanguageModel or None, got {type(lm).__name__}"
        )
    return get_lm(lm, device=device)


# Parameter checks live in glasstext.validation; this name stays for the callers
# that still import it from here (explain/summaries.py).
check_positive_int = check_int


def clean_concept(answer: str, max_words: int = 8) -> str:
    """A short concept ("food", "negative emotions") from a model's free-form answer.

    Keeps the first line and the first sentence, removes lead-ins such as "the
    common theme among these phrases is", quotes, a leading article and trailing
    punctuation, and lower-cases the rest. Answers longer than ``max_words``
    words are cut to their first ``max_words`` words.

    Returns
    -------
    str
        The cleaned concept; ``""`` when nothing usable is left.
    """
    text = answer.strip().splitlines()[0] if answer.strip() else ""
    text = re.split(r"(?<=[a-z0-9])[.!?](?:\s|$)", text, maxsplit=1)[0]
    text = text.strip().strip(_QUOTES).strip()
    for _ in range(2):  # a lead-in can hide behind a quote or an article
        text = _CONCEPT_LEAD_INS.sub("", text).strip().strip(_QUOTES).strip()
        text = _LEADING_ARTICLE.sub("", text)
    text = re.sub(r"\s+", " ", text).strip(" .,:;!?-" + _QUOTES)
    # Small models repeat themselves: "food, drink, drink, drink" -> "food, drink".
    items = list(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    words = ", ".join(items).split()[:max_words]
    return " ".join(words).strip(" ,;:").lower()


def repeats_phrases(answer: str, phrases: Sequence[str]) -> bool:
    """Whether an answer only reads back the listed phrases ("2002, ten, 1999") instead of
    naming what they share: at least two of its comma-separated items are listed phrases."""
    listed = {p.strip().lower() for p in phrases}
    items = [item.strip().lower() for item in answer.split(",") if item.strip()]
    return len(items) >= 2 and sum(item in listed for item in items) >= 2


def clean_sentence(answer: str) -> str:
    """The first line of an answer, whitespace collapsed, quotes removed, capitalised.

    Returns ``""`` when nothing usable is left.
    """
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    text = re.sub(r"\s+", " ", lines[0]).strip().strip(_QUOTES).strip()
    if not text:
        return ""
    return text[0].upper() + text[1:]


class UsageMeter:
    """Counts the work a step costs a language model, and the wall time.

    >>> meter = UsageMeter(lm)          # doctest: +SKIP
    >>> ...                             # doctest: +SKIP
    >>> meter.spent()["n_generate_calls"]  # doctest: +SKIP
    """

    def __init__(self, lm: LanguageModel) -> None:
        self.lm = lm
        self._before = lm.usage()
        self._start = time.perf_counter()

    def spent(self) -> dict[str, int]:
        """Usage counters accumulated since the meter was made."""
        return usage_delta(self._before, self.lm.usage())

    def seconds(self) -> float:
        """Wall time since the meter was made."""
        return time.perf_counter() - self._start
