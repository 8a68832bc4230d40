"""Keyword expansion: related phrases for a keyword, from a language model or embeddings.

Aug-Tree turns a keyword split ("contains *great*") into a phrase-set split
("contains any of *great*, *excellent*, *superb*") with the phrases proposed
here; the tree keeps only those that make its split purer. Three strategies
share one interface, ``expand(keywords) -> {keyword: [phrases]}``:

- :class:`LLMExpander` prompts a causal LM (the packaged SmolLM2 by default, or
  any :class:`~glasstext.backends.lm.LanguageModel`, such as an
  OpenAI-compatible server) and parses its list robustly;
- :class:`EmbeddingExpander` returns the nearest phrases of a candidate pool
  (the training vocabulary) by encoder cosine similarity;
- :class:`NoExpander` returns nothing: a plain keyword tree;
- :class:`CombinedExpander` pools the proposals of several expanders
  (e.g. an LM's and the embedding neighbours), first come first kept.

Both model-backed strategies go through the shared backends, so expansions are
cached persistently: the LM's generation cache is keyed by the model, the
full prompt (which holds the keyword and the context) and the decoding
settings; the encoder's embedding cache by the model and the phrase.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from glasstext.text import tokenize

# For completion (the default): a few-shot list a small base or instruct model
# continues reliably, one line, stopped at the newline.
FEW_SHOT_EXPANSION_PROMPT = (
    "Words and short phrases with the same meaning{context}.\n"
    "good: great, fine, excellent, nice, very good, enjoyable\n"
    "quickly: fast, rapidly, swiftly, in a hurry, speedily\n"
    "house: home, residence, dwelling, apartment, place to live\n"
    "{keyword}:"
)
# For chat models (``chat=True``), e.g. a bigger model behind an OpenAI-compatible server.
CHAT_EXPANSION_PROMPT = (
    'List {n} words or short phrases that mean nearly the same as "{keyword}"{context}. '
    "Reply with a comma-separated list only."
)

# Lines an instruction-tuned model adds around a list ("Here are 10 words ...").
_PREAMBLE = re.compile(
    r"^(here|sure|certainly|these|the following|below|synonyms?|phrases?|words?|similar)\b",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:\d+\s*[.):-]|[-*•·]+)\s*")


@runtime_checkable
class Expander(Protocol):
    """Anything that proposes related phrases for keywords."""

    def expand(self, keywords: Sequence[str]) -> dict[str, list[str]]:
        """Related phrases (not including the keyword itself) for each keyword."""
        ...


class NoExpander:
    """No expansion: every split is a single keyword."""

    def expand(self, keywords: Sequence[str]) -> dict[str, list[str]]:
        """An empty list for every keyword."""
        return {k: [] for k in keywords}

    def usage(self) -> dict[str, int]:
        """No model is used."""
        return {}


def parse_phrase_list(
    answer: str, keyword: str = "", max_words: int = 3, limit: int | None = None
) -> list[str]:
    """Phrases from an LM's free-form list: split, cleaned, lower-cased, deduplicated.

    Parameters
    ----------
    answer : str
        The generated text: a comma-, semicolon- or line-separated list,
        possibly numbered, bulleted, quoted or wrapped in a preamble.
    keyword : str, default=""
        Dropped from the result (an expansion is never the keyword itself).
    max_words : int, default=3
        Longer items are dropped: they are sentences, not phrases.
    limit : int or None, default=None
        Keep at most this many phrases.

    Returns
    -------
    list of str
        Phrases as space-joined lower-case words, in the order given.
    """
    own = " ".join(tokenize(keyword))
    seen = {own} if own else set()
    phrases: list[str] = []
    for line in answer.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line or (_PREAMBLE.match(line) and line.rstrip().endswith(":")):
            continue
        for item in re.split(r"[,;/|]|\bor\b|\band\b", line):
            item = _BULLET.sub("", item)
            words = tokenize(item)
            if not words or len(words) > max_words or _PREAMBLE.match(item.strip()):
                continue
            phrase = " ".join(words)
            if phrase not in seen:
                seen.add(phrase)
                phrases.append(phrase)
    return phrases if limit is None else phrases[:limit]


class LLMExpander:
    """Related phrases proposed by a causal language model.

    Parameters
    ----------
    lm : str, path-like, LanguageModel or None, default=None
        The model (see :func:`~glasstext.backends.lm.get_lm`); ``None`` is the
        packaged SmolLM2-135M-Instruct.
    n_phrases : int, default=10
        How many phrases to ask for (and keep at most).
    context : str or None, default=None
        A domain, e.g. ``"movie reviews"``: the prompt asks for phrases with
        the keyword's meaning in that domain.
    max_words : int, default=3
        Longest phrase kept, in words.
    chat : bool, default=False
        Send the prompt as a chat message (for instruction-tuned chat models)
        rather than as text to continue.
    prompt : str or None, default=None
        Template with a ``{keyword}`` field and optional ``{n}`` and
        ``{context}`` fields; ``None`` picks ``FEW_SHOT_EXPANSION_PROMPT``
        (completion) or ``CHAT_EXPANSION_PROMPT`` (chat). In completion mode
        generation stops at the first newline.
    max_new_tokens : int, default=48
        Generation length per keyword.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where a local LM named by ``lm`` runs.
    """

    def __init__(
        self,
        lm: Any = None,
        n_phrases: int = 10,
        context: str | None = None,
        max_words: int = 3,
        chat: bool = False,
        prompt: str | None = None,
        max_new_tokens: int = 48,
        device: str = "auto",
    ) -> None:
        if n_phrases < 1:
            raise ValueError(f"n_phrases must be at least 1, got {n_phrases}")
        if prompt is None:
            prompt = CHAT_EXPANSION_PROMPT if chat else FEW_SHOT_EXPANSION_PROMPT
        if "{keyword}" not in prompt:
            raise ValueError(f"the expansion prompt must contain {{keyword}}: {prompt!r}")
        self.lm = lm
        self.chat = chat
        self.n_phrases = n_phrases
        self.context = context
        self.max_words = max_words
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.device = device

    def _model(self) -> Any:
        from glasstext.backends.lm import get_lm

        return get_lm(self.lm, device=self.device)

    def prompt_for(self, keyword: str) -> str:
        """The exact prompt sent for ``keyword``."""
        context = f" in {self.context}" if self.context else ""
        return self.prompt.format(keyword=keyword, n=self.n_phrases, context=context)

    def expand(self, keywords: Sequence[str]) -> dict[str, list[str]]:
        """Ask the LM for each keyword's related phrases (one batched call)."""
        unique = list(dict.fromkeys(keywords))
        if not unique:
            return {}
        answers = self._model().generate(
            [self.prompt_for(k) for k in unique],
            max_new_tokens=self.max_new_tokens,
            temperature=0.0,
            chat=self.chat,
            stop=None if self.chat else "\n",
        )
        return {
            k: parse_phrase_list(a, k, self.max_words, self.n_phrases)
            for k, a in zip(unique, answers, strict=True)
        }

    def usage(self) -> dict[str, int]:
        """The LM's usage counters (generation calls, cache hits, ...)."""
        return dict(self._model().usage())


class EmbeddingExpander:
    """The nearest phrases of a candidate pool by encoder cosine similarity.

    Phrases that contain the keyword (``"great film"`` for ``"great"``) are
    skipped: a text with them already contains the keyword, so they cannot
    widen a split.

    Parameters
    ----------
    pool : sequence of str
        Candidate phrases, e.g. the training vocabulary's n-grams.
    encoder : str, path-like or TextEncoder, default="all-MiniLM-L6-v2"
        The encoder (see :func:`~glasstext.backends.encoder.get_encoder`).
    n_phrases : int, default=10
        Neighbours returned per keyword.
    min_similarity : float, default=0.0
        Neighbours below this cosine similarity are dropped.
    encoder_settings : dict or None
        Passed to :func:`~glasstext.backends.encoder.get_encoder`.
    """

    def __init__(
        self,
        pool: Sequence[str],
        encoder: Any = "all-MiniLM-L6-v2",
        n_phrases: int = 10,
        min_similarity: float = 0.0,
        encoder_settings: dict[str, Any] | None = None,
    ) -> None:
        if n_phrases < 1:
            raise ValueError(f"n_phrases must be at least 1, got {n_phrases}")
        self.pool = [p for p in dict.fromkeys(" ".join(tokenize(p)) for p in pool) if p]
        self.encoder = encoder
        self.n_phrases = n_phrases
        self.min_similarity = min_similarity
        self.encoder_settings = dict(encoder_settings or {})
        self._pool_vectors: np.ndarray | None = None
        self._pool_row = {p: i for i, p in enumerate(self.pool)}

    def _encoder(self) -> Any:
        from glasstext.backends.encoder import get_encoder

        enc = self.encoder
        if isinstance(enc, os.PathLike):
            enc = os.fspath(enc)
        return get_encoder(enc, **self.encoder_settings)

    def _normalised(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self._encoder().encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12))

    def _pool_matrix(self) -> np.ndarray:
        if self._pool_vectors is None:
            self._pool_vectors = self._normalised(self.pool)
        return self._pool_vectors

    def expand(self, keywords: Sequence[str]) -> dict[str, list[str]]:
        """Nearest pool phrases of each keyword, most similar first."""
        unique = list(dict.fromkeys(keywords))
        if not unique or not self.pool:
            return {k: [] for k in unique}
        pool = self._pool_matrix()
        keys = [" ".join(tokenize(k)) for k in unique]
        missing = [k for k in keys if k not in self._pool_row]
        extra = dict(zip(missing, self._normalised(missing), strict=True)) if missing else {}
        queries = np.stack(
            [pool[self._pool_row[k]] if k in self._pool_row else extra[k] for k in keys]
        )
        sims = queries @ pool.T
        return {
            word: self._neighbours(key, row)
            for word, key, row in zip(unique, keys, sims, strict=True)
        }

    def _neighbours(self, key: str, sims: np.ndarray) -> list[str]:
        padded = f" {key} "
        out: list[str] = []
        for j in np.argsort(-sims, kind="stable"):
            if sims[j] < self.min_similarity or len(out) == self.n_phrases:
                break
            phrase = self.pool[j]
            if phrase != key and padded not in f" {phrase} ":
                out.append(phrase)
        return out

    def usage(self) -> dict[str, int]:
        """The encoder's counters (texts encoded, cache hits)."""
        enc = self._encoder()
        return {
            "n_encoded": int(getattr(enc, "n_encoded", 0)),
            "n_cache_hits": int(getattr(enc, "n_cache_hits", 0)),
        }


class CombinedExpander:
    """The proposals of several expanders, interleaved and deduplicated.

    Phrases are taken in turn from each expander's list (the first of each,
    then the second of each...), so every source is represented near the top;
    a phrase proposed twice is kept once.

    Parameters
    ----------
    *expanders : Expander
        E.g. ``LLMExpander(...)`` and ``EmbeddingExpander(...)``.
    """

    def __init__(self, *expanders: Expander) -> None:
        if not expanders:
            raise ValueError("CombinedExpander needs at least one expander")
        self.expanders = list(expanders)

    def expand(self, keywords: Sequence[str]) -> dict[str, list[str]]:
        """Each keyword's phrases from every expander, interleaved."""
        unique = list(dict.fromkeys(keywords))
        answers = [e.expand(unique) for e in self.expanders]
        out: dict[str, list[str]] = {}
        for k in unique:
            lists = [a.get(k, []) for a in answers]
            merged: list[str] = []
            for i in range(max((len(x) for x in lists), default=0)):
                merged.extend(x[i] for x in lists if i < len(x) and x[i] not in merged)
            out[k] = merged
        return out

    def usage(self) -> dict[str, int]:
        """The expanders' usage counters, summed by name."""
        total: dict[str, int] = {}
        for e in self.expanders:
            usage = getattr(e, "usage", None)
            for name, value in (usage() if callable(usage) else {}).items():
                total[name] = total.get(name, 0) + int(value)
        return total
