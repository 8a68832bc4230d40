"""The language-model interface every backend implements, and the backend table.

Every method that asks a generative model something goes through
:class:`LanguageModel`: keyword expansion generates text, zero-shot explainers
compare the log-probabilities of label words, prompt search does both. The base
class owns what every backend needs (input checks, a persistent cache, counts
of the calls spent); a backend only supplies the uncached computation.

Backends: :class:`~glasstext.backends.lm.LocalCausalLM` runs a Hugging Face
model in this process; :class:`~glasstext.backends.openai_compat.OpenAICompatibleLM`
asks an OpenAI-compatible server over HTTP. Both import this module and not
each other, and this module imports neither (nor torch), so it stays cheap.

Adding a backend
----------------
Write a module with a :class:`LanguageModel` subclass and register a factory
for its name prefix, e.g. ``register_lm_backend("mybackend",
"mypackage.mylm:MyLM.from_spec")``. :func:`~glasstext.backends.lm.get_lm`
then builds ``"mybackend:..."`` names with ``factory(name)``; a factory given as
a ``"module:attribute"`` string is imported only when first used.

Caching
-------
Results are stored in a :class:`~glasstext.backends.cache.JsonCache` whose
namespace names the model identity and every setting that changes the output
(:attr:`LanguageModel.identity`, :meth:`LanguageModel._output_settings`).
Deterministic calls (greedy decoding, or sampling with a ``seed``) are cached,
so repeating one costs no model call (a local model is not even loaded).
Sampling without a seed is never cached.
"""

from __future__ import annotations

import abc
import importlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasstext.backends.cache import JsonCache, SqliteStore, namespace_of, resolve_store
from glasstext.validation import check_int, check_seed, check_texts

__all__ = [
    "LM_BACKENDS",
    "GenerationRequest",
    "LMFactory",
    "LanguageModel",
    "TextScores",
    "lm_backend_for",
    "register_lm_backend",
    "truncate_at_stop",
    "usage_delta",
]

# Bump when a change here changes outputs, so stale cached values are not reused.
_CACHE_VERSION = 1
# LM outputs are committed to the cache every this many items (four batches of
# the local backend's default 16): a crash loses at most one chunk.
_COMMIT_CHUNK = 64


# -- requests and results --------------------------------------------------------


@dataclass(frozen=True)
class GenerationRequest:
    """The settings of one :meth:`LanguageModel.generate` call.

    Attributes
    ----------
    max_new_tokens : int
        Upper bound on the number of generated tokens.
    temperature : float
        0 for greedy decoding, else the softmax temperature of sampling.
    seed : int or None
        Seed of sampling; ignored (normalised to ``None``) when greedy.
    chat : bool
        Whether prompts are wrapped in the tokenizer's chat template.
    stop : tuple of str
        Generation of a prompt ends at the first of these strings, which is
        cut from the returned text.
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    seed: int | None = None
    chat: bool = True
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        """True when decoding takes the most likely token at every step."""
        return self.temperature == 0.0

    @property
    def deterministic(self) -> bool:
        """True when the output depends only on the prompt (and can be cached)."""
        return self.greedy or self.seed is not None

    def cache_settings(self) -> dict[str, Any]:
        """The settings that determine the output, for a cache namespace."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "chat": self.chat,
            "stop": list(self.stop),
        }


@dataclass(frozen=True)
class TextScores:
    """Log-probability of whole texts under a language model.

    Attributes
    ----------
    total : ndarray of shape (n_texts,)
        Sum of the natural-log probabilities of each text's tokens.
    n_tokens : ndarray of shape (n_texts,)
        Number of tokens scored in each text.
    """

    total: np.ndarray
    n_tokens: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean log-probability per token (``nan`` for an empty text)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.total / self.n_tokens


@dataclass
class _Usage:
    """Counts of work done and saved, for callers that report LM calls spent."""

    n_generate_calls: int = 0
    n_generated_tokens: int = 0
    n_forward_texts: int = 0
    n_forward_batches: int = 0
    n_cache_hits: int = 0


def usage_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Counters of ``after`` minus those of ``before``: the work done in between."""
    return {k: int(after[k]) - int(before.get(k, 0)) for k in after}


# -- input checks ------------------------------------------------------------------


def _check_stop(stop: str | Sequence[str] | None) -> tuple[str, ...]:
    if stop is None:
        return ()
    items = [stop] if isinstance(stop, str) else check_texts(stop, "stop")
    if any(not s for s in items):
        raise ValueError("stop strings must not be empty")
    return tuple(items)


def _make_request(
    max_new_tokens: int,
    temperature: float,
    seed: int | None,
    chat: bool,
    stop: str | Sequence[str] | None,
) -> GenerationRequest:
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=0)
    temperature = float(temperature)
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    seed = check_seed(seed, "seed", allow_none=True)
    return GenerationRequest(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=None if temperature == 0.0 else seed,
        chat=bool(chat),
        stop=_check_stop(stop),
    )


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the earliest occurrence of any stop string (all of it if none occurs)."""
    cut = len(text)
    for s in stop:
        index = text.find(s)
        if 0 <= index < cut:
            cut = index
    return text[:cut]


def _pair_key(prompt: str, continuation: str) -> str:
    """An unambiguous cache key for a (prompt, continuation) pair."""
    return json.dumps([prompt, continuation], ensure_ascii=False)


# -- the interface -------------------------------------------------------------


class _UsageCounter:
    """A read-only attribute that reads one of the model's usage counters (same name)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, model: Any, owner: type | None = None) -> int:
        return int(getattr(model._usage, self.name))


class LanguageModel(abc.ABC):
    """A causal language model that generates text and scores continuations.

    Subclasses implement the uncached computations (:meth:`_generate_uncached`,
    :meth:`_continuation_logprobs_uncached`, optionally
    :meth:`_score_texts_uncached`) and say what identifies their outputs
    (:attr:`identity`, :meth:`_output_settings`); this class checks inputs,
    de-duplicates, caches and counts.

    Parameters
    ----------
    cache : bool or SqliteStore, default=True
        ``True`` caches in :func:`~glasstext.backends.cache.default_store`,
        a store caches there, ``False`` disables caching.

    Attributes
    ----------
    n_generate_calls : int
        Prompts actually generated (not served from the cache).
    n_generated_tokens : int
        Tokens generated for them.
    n_forward_texts : int
        Token sequences run through scoring forward passes.
    n_forward_batches : int
        Scoring forward passes (batches).
    n_cache_hits : int
        Requested items (prompts, prompt/continuation pairs, texts) served
        from the persistent cache.
    """

    def __init__(self, cache: bool | SqliteStore = True) -> None:
        if not isinstance(cache, bool | SqliteStore):
            raise TypeError(f"cache must be a bool or a SqliteStore, got {type(cache).__name__}")
        self.cache = cache
        self._usage = _Usage()

    def __deepcopy__(self, memo: dict[int, Any]) -> LanguageModel:
        # A backend is a shared resource (weights, cache connection), not
        # estimator state: scikit-learn's clone() must share it, not copy it.
        return self

    # -- what subclasses provide ---------------------------------------------------
    @property
    @abc.abstractmethod
    def identity(self) -> str:
        """A stable name of the model weights, for cache keys."""

    @abc.abstractmethod
    def _output_settings(self) -> dict[str, Any]:
        """Backend settings that change outputs (precision, context length...)."""

    @abc.abstractmethod
    def _generate_uncached(self, prompts: list[str], request: GenerationRequest) -> list[str]:
        """Generated texts (new text only, stop strings cut, stripped), one per prompt."""

    @abc.abstractmethod
    def _continuation_logprobs_uncached(
        self, pairs: list[tuple[str, str]], chat: bool
    ) -> list[float]:
        """Summed log-probability of each continuation after its prompt."""

    def _score_texts_uncached(self, texts: list[str]) -> list[tuple[float, int]]:
        """``(total log-probability, number of tokens)`` of each text."""
        raise NotImplementedError(f"{type(self).__name__} cannot score whole texts")

    # -- usage counters --------------------------------------------------------------
    n_generate_calls = _UsageCounter()
    n_generated_tokens = _UsageCounter()
    n_forward_texts = _UsageCounter()
    n_forward_batches = _UsageCounter()
    n_cache_hits = _UsageCounter()

    def usage(self) -> dict[str, int]:
        """A snapshot of the usage counters (subtract two to measure a step)."""
        return dict(vars(self._usage))

    def reset_usage(self) -> None:
        """Set every usage counter back to zero."""
        self._usage = _Usage()

    # -- caching -------------------------------------------------------------------------
    def _json_cache(self, method: str, **settings: Any) -> JsonCache | None:
        store = resolve_store(self.cache)
        if store is None:
            return None
        namespace = namespace_of(
            model=self.identity,
            method=method,
            version=_CACHE_VERSION,
            **self._output_settings(),
            **settings,
        )
        return JsonCache(store, namespace)

    def _cached(
        self,
        keys: list[str],
        cache: JsonCache | None,
        compute: Callable[[list[str]], list[Any]],
    ) -> list[Any]:
        """Values for ``keys``: from the cache, else computed once per distinct key.

        With a cache, missing keys are computed in chunks of ``_COMMIT_CHUNK``
        (longest first, as the backends batch them) and each chunk is committed
        as soon as it is done: an interrupted run keeps its finished chunks,
        and a chunk another process stored meanwhile is read, not recomputed.
        """
        unique = list(dict.fromkeys(keys))
        found = cache.get(unique) if cache is not None else {}
        initial_hits = set(found)
        missing = [k for k in unique if k not in found]
        if missing and cache is None:
            found.update(zip(missing, compute(missing), strict=True))
        elif missing and cache is not None:
            missing.sort(key=len, reverse=True)
            for start in range(0, len(missing), _COMMIT_CHUNK):
                chunk = missing[start : start + _COMMIT_CHUNK]
                if start:  # another process may have stored some meanwhile
                    stored = cache.get(chunk)
                    found.update(stored)
                    initial_hits.update(stored)
                    chunk = [k for k in chunk if k not in stored]
                if chunk:
                    computed = dict(zip(chunk, compute(chunk), strict=True))
                    cache.put(computed)  # committed now: survives a crash
                    found.update(computed)
        self._usage.n_cache_hits += sum(1 for k in keys if k in initial_hits)
        return [found[k] for k in keys]

    # -- public methods -----------------------------------------------------------------
    def generate(
        self,
        prompts: Sequence[str],
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        seed: int | None = None,
        chat: bool = True,
        stop: str | Sequence[str] | None = None,
    ) -> list[str]:
        """Continue each prompt.

        Parameters
        ----------
        prompts : sequence of str
            The prompts (instructions when ``chat`` is true).
        max_new_tokens : int, default=64
            Upper bound on the tokens generated per prompt.
        temperature : float, default=0.0
            0 decodes greedily; above 0, tokens are sampled from the softmax of
            the logits divided by ``temperature``.
        seed : int or None, default=None
            Makes sampling reproducible: a prompt gets the same text for the
            same seed whatever the batch. Draw several samples of one prompt
            with several seeds. Without a seed, sampling is not cached and
            repeated prompts are sampled independently.
        chat : bool, default=True
            Wrap each prompt as a user turn of the tokenizer's chat template,
            when it has one (otherwise the raw prompt is used).
        stop : str or sequence of str, optional
            Generation ends at the first of these strings, which is cut off.

        Returns
        -------
        list of str
            The new text of each prompt, stripped of surrounding whitespace.
        """
        items = check_texts(prompts, "prompts")
        request = _make_request(max_new_tokens, temperature, seed, chat, stop)
        if not items:
            return []
        if request.max_new_tokens == 0:
            return ["" for _ in items]
        if not request.deterministic:
            return self._generate_counted(items, request)
        cache = self._json_cache("generate", **request.cache_settings())
        texts = self._cached(items, cache, lambda todo: self._generate_counted(todo, request))
        return [str(t) for t in texts]

    def _generate_counted(self, prompts: list[str], request: GenerationRequest) -> list[str]:
        self._usage.n_generate_calls += len(prompts)
        return self._generate_uncached(prompts, request)

    def continuation_logprobs(
        self,
        prompts: Sequence[str],
        continuations: Sequence[str],
        *,
        chat: bool = False,
    ) -> np.ndarray:
        """Log-probability of every continuation after every prompt.

        Parameters
        ----------
        prompts : sequence of str
            Contexts, e.g. zero-shot prompts ending in ``"Sentiment:"``.
        continuations : sequence of str
            Texts scored after each prompt, e.g. ``[" positive", " negative"]``.
            How prompt and continuation are tokenized depends on the backend
            (see its notes): start a continuation with its separating space.
        chat : bool, default=False
            Wrap each prompt as a user turn of the chat template (with the
            assistant turn opened), so continuations are the assistant's answer.

        Returns
        -------
        ndarray of shape (n_prompts, n_continuations)
            Sum of the natural-log token probabilities of each continuation
            (0 for an empty continuation).
        """
        prompt_items = check_texts(prompts, "prompts")
        cont_items = check_texts(continuations, "continuations")
        out = np.zeros((len(prompt_items), len(cont_items)), dtype=np.float64)
        if out.size == 0:
            return out
        pairs = [(p, c) for p in prompt_items for c in cont_items]
        out[:] = self._pair_values(pairs, bool(chat)).reshape(out.shape)
        return out

    def pair_logprobs(
        self,
        prompts: Sequence[str],
        continuations: Sequence[str],
        *,
        chat: bool = False,
    ) -> np.ndarray:
        """Log-probability of ``continuations[i]`` after ``prompts[i]``, for each ``i``.

        Parameters
        ----------
        prompts, continuations : sequence of str
            Paired element-wise; they must have the same length.
        chat : bool, default=False
            As in :meth:`continuation_logprobs`.

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        prompt_items = check_texts(prompts, "prompts")
        cont_items = check_texts(continuations, "continuations")
        if len(prompt_items) != len(cont_items):
            raise ValueError(
                f"prompts and continuations must have the same length, "
                f"got {len(prompt_items)} and {len(cont_items)}"
            )
        if not prompt_items:
            return np.zeros(0, dtype=np.float64)
        return self._pair_values(list(zip(prompt_items, cont_items, strict=True)), bool(chat))

    def _pair_values(self, pairs: list[tuple[str, str]], chat: bool) -> np.ndarray:
        """Cached log-probabilities of (prompt, continuation) pairs."""
        keys = [_pair_key(p, c) for p, c in pairs]
        by_key = dict(zip(keys, pairs, strict=True))
        cache = self._json_cache("continuation_logprobs", chat=chat)

        def compute(todo: list[str]) -> list[float]:
            return self._continuation_logprobs_uncached([by_key[k] for k in todo], chat)

        return np.asarray(self._cached(keys, cache, compute), dtype=np.float64)

    def label_probs(
        self,
        prompts: Sequence[str],
        labels: Sequence[str],
        *,
        chat: bool = False,
    ) -> np.ndarray:
        """Zero-shot class probabilities: a softmax over the labels' log-probabilities.

        Parameters
        ----------
        prompts : sequence of str
            One prompt per example.
        labels : sequence of str
            At least one label continuation, e.g. ``[" negative", " positive"]``.
        chat : bool, default=False
            As in :meth:`continuation_logprobs`.

        Returns
        -------
        ndarray of shape (n_prompts, n_labels)
            Rows sum to one.
        """
        if not check_texts(labels, "labels"):
            raise ValueError("label_probs needs at least one label")
        logp = self.continuation_logprobs(prompts, labels, chat=chat)
        if logp.shape[0] == 0:
            return logp
        from scipy.special import softmax  # imported here: scipy is not needed otherwise

        return np.asarray(softmax(logp, axis=1))

    def score_texts(self, texts: Sequence[str]) -> TextScores:
        """Log-probability of each whole text, from its first token on.

        The first token is predicted from the tokenizer's beginning-of-sequence
        token (or its end-of-sequence token when it has none).

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        TextScores
            ``total`` and ``n_tokens`` per text; ``mean`` is their ratio.
        """
        items = check_texts(texts, "texts")
        values: list[Any] = []
        if items:
            cache = self._json_cache("score_texts")
            values = self._cached(items, cache, self._score_texts_uncached)
        total = np.array([float(v[0]) for v in values], dtype=np.float64)
        n_tokens = np.array([int(v[1]) for v in values], dtype=np.int64)
        return TextScores(total=total, n_tokens=n_tokens)


# -- the backend table ---------------------------------------------------------------

#: Builds a language model from a full name such as ``"openai:MODEL@URL"``.
LMFactory = Callable[[str], LanguageModel]

#: Name prefix (before the first ``:``) -> factory, or ``"module:attribute"``
#: naming one, imported on first use so a backend costs nothing until asked for.
LM_BACKENDS: dict[str, LMFactory | str] = {
    "openai": "glasstext.backends.openai_compat:OpenAICompatibleLM.from_spec",
}


def register_lm_backend(prefix: str, factory: LMFactory | str) -> None:
    """Make :func:`~glasstext.backends.lm.get_lm` build ``"PREFIX:..."`` names with ``factory``.

    Parameters
    ----------
    prefix : str
        The name prefix, without the colon (e.g. ``"openai"``). Registering a
        prefix again replaces its factory.
    factory : callable or str
        Called with the whole name, returns a :class:`LanguageModel`; or a
        ``"module:attribute"`` string (dots allowed in the attribute, e.g.
        ``"pkg.mod:Class.from_spec"``) imported on first use.
    """
    if not isinstance(prefix, str) or not prefix or ":" in prefix:
        raise ValueError(f"prefix must be a non-empty string without ':', got {prefix!r}")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise TypeError(
            f"factory must be a callable or a 'module:attribute' string, got {factory!r}"
        )
    LM_BACKENDS[prefix] = factory


def lm_backend_for(name: str) -> LMFactory | None:
    """The factory registered for ``name``'s prefix, or ``None`` (then it is a local model)."""
    prefix, sep, _ = name.partition(":")
    if not sep or prefix not in LM_BACKENDS:
        return None
    factory = LM_BACKENDS[prefix]
    return _import_factory(factory) if isinstance(factory, str) else factory


def _import_factory(target: str) -> LMFactory:
    """The object a ``"module:attribute.path"`` string names (modules are imported once)."""
    module_name, _, attribute = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    if not callable(value):
        raise TypeError(f"{target} is not callable")
    return value
