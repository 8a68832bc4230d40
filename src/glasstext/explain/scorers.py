"""Scorers: one interface for "a model that maps texts to class probabilities".

Every explainer and metric talks to a model through a :class:`Scorer`. The
base class owns what each needs: input checks, chunked (batched) calls so
memory stays bounded, an in-memory cache of identical texts, and counts of the
work done. An adapter only supplies the uncached computation:

- :class:`EstimatorScorer` - glasstext estimators and any scikit-learn text
  pipeline (``predict_proba``, or ``decision_function`` turned into
  probabilities);
- :class:`CallableScorer` - any Python function from a list of texts to an
  array of probabilities;
- :class:`LMScorer` - a causal language model used zero-shot: each text is put
  into a prompt template and the class probabilities are a softmax over the
  log-probabilities of the label words, through the shared LM backend (so its
  persistent cache applies too). It works with any
  :class:`~glasstext.backends.lm.LanguageModel`, local or an OpenAI-compatible
  server that returns log-probabilities.

:func:`as_scorer` turns any of these objects into a scorer.
"""

from __future__ import annotations

import abc
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit, softmax

from glasstext.exceptions import LengthShiftWarning, UnseenNgramWarning
from glasstext.validation import check_texts

if TYPE_CHECKING:
    from glasstext.backends.lm_base import LanguageModel

__all__ = [
    "CONTENT_FREE_INPUTS",
    "SENTIMENT_LABELS",
    "SENTIMENT_TEMPLATE",
    "CallableScorer",
    "EstimatorScorer",
    "LMScorer",
    "Scorer",
    "as_scorer",
]

#: A zero-shot sentiment prompt (measured ROC AUC on Rotten Tomatoes: about
#: 0.92 with SmolLM2-135M-Instruct and 0.99 with Gemma-3-270M).
SENTIMENT_TEMPLATE = 'Movie review: "{text}"\nThe sentiment of this review is'
#: Its label words, in class order (0 = negative, 1 = positive).
SENTIMENT_LABELS = (" negative", " positive")
#: The content-free inputs of Zhao et al. (2021) used by ``LMScorer(calibrate=True)``.
CONTENT_FREE_INPUTS = ("N/A", "", "[MASK]")


class Scorer(abc.ABC):
    """A model that maps texts to class probabilities, batched, cached and counted.

    Call it with a list of texts; it returns an array of shape
    ``(n_texts, n_classes)``. Subclasses implement :meth:`_score`.

    Parameters
    ----------
    batch_size : int, default=64
        Most texts sent to the model in one call.
    cache : bool, default=True
        Keep every text's result in memory, so a repeated text costs nothing.
    max_cache_entries : int, default=200_000
        When the cache grows past this, its oldest entries are dropped.

    Attributes
    ----------
    n_calls : int
        Texts the model actually evaluated (its queries; cache hits excluded).
    n_batches : int
        Calls made to the model (each with at most ``batch_size`` texts).
    n_requested : int
        Texts asked for, repeats and cache hits included.
    n_cache_hits : int
        Requested texts served from the in-memory cache or repeated within a request.
    """

    def __init__(
        self, *, batch_size: int = 64, cache: bool = True, max_cache_entries: int = 200_000
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.batch_size = batch_size
        self.cache = bool(cache)
        self.max_cache_entries = max_cache_entries
        self._cache: dict[str, np.ndarray] = {}
        self._n_classes: int | None = None
        self.reset_usage()

    # -- what subclasses provide -------------------------------------------------------
    @abc.abstractmethod
    def _score(self, texts: list[str]) -> Any:
        """Probabilities of distinct, uncached texts (at most ``batch_size`` of them)."""

    @property
    def classes(self) -> tuple[str, ...] | None:
        """Class names in column order, when the model has them."""
        return None

    # -- usage ---------------------------------------------------------------------------
    def reset_usage(self) -> None:
        """Set the usage counters back to zero (the cache is kept)."""
        self.n_calls = 0
        self.n_batches = 0
        self.n_requested = 0
        self.n_cache_hits = 0

    def usage(self) -> dict[str, int]:
        """A snapshot of the counters (subtract two to measure a step)."""
        return {
            "n_calls": self.n_calls,
            "n_batches": self.n_batches,
            "n_requested": self.n_requested,
            "n_cache_hits": self.n_cache_hits,
        }

    def clear_cache(self) -> None:
        """Forget every cached result."""
        self._cache.clear()

    # -- scoring ---------------------------------------------------------------------------
    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities of ``texts``, shape ``(n_texts, n_classes)``."""
        items = check_texts(texts, "texts")
        self.n_requested += len(items)
        if not items:
            return np.zeros((0, self._n_classes or 0), dtype=np.float64)
        unique = list(dict.fromkeys(items))
        todo = [t for t in unique if t not in self._cache] if self.cache else unique
        self.n_cache_hits += len(items) - len(todo)
        found: dict[str, np.ndarray] = {t: self._cache[t] for t in unique if t in self._cache}
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            rows = self._checked(self._score(chunk), len(chunk))
            self.n_calls += len(chunk)
            self.n_batches += 1
            found.update(zip(chunk, rows, strict=True))
        if self.cache:
            self._remember({t: found[t] for t in todo})
        return np.stack([found[t] for t in items]).astype(np.float64, copy=False)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Same as calling the scorer (scikit-learn's name for it)."""
        return self(texts)

    def _remember(self, values: dict[str, np.ndarray]) -> None:
        self._cache.update(values)
        excess = len(self._cache) - self.max_cache_entries
        if excess > 0:
            for key in list(self._cache)[:excess]:
                del self._cache[key]

    def _checked(self, output: Any, n: int) -> np.ndarray:
        """The model's output as a finite ``(n, n_classes)`` float array."""
        arr = np.asarray(output, dtype=np.float64)
        if arr.ndim == 1:  # probability of the positive class
            arr = np.column_stack([1.0 - arr, arr])
        if arr.ndim != 2 or arr.shape[0] != n:
            raise ValueError(
                f"{type(self).__name__}: the model returned shape {np.shape(output)} for "
                f"{n} texts; expected (n_texts, n_classes)"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{type(self).__name__}: the model returned NaN or infinite values")
        if self._n_classes is None:
            self._n_classes = arr.shape[1]
        elif arr.shape[1] != self._n_classes:
            raise ValueError(
                f"{type(self).__name__}: the model returned {arr.shape[1]} classes, "
                f"earlier {self._n_classes}"
            )
        return arr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_calls={self.n_calls}, cached={len(self._cache)})"


class CallableScorer(Scorer):
    """A scorer around a function from a list of texts to class probabilities.

    Parameters
    ----------
    fn : callable
        ``fn(list_of_texts)`` returns an array of shape ``(n, n_classes)``, or
        of shape ``(n,)`` read as the probability of the positive class.
    classes : sequence of str, optional
        Class names in column order.
    batch_size, cache, max_cache_entries
        See :class:`Scorer`.
    """

    def __init__(
        self,
        fn: Callable[[list[str]], Any],
        classes: Sequence[str] | None = None,
        *,
        batch_size: int = 64,
        cache: bool = True,
        max_cache_entries: int = 200_000,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        super().__init__(batch_size=batch_size, cache=cache, max_cache_entries=max_cache_entries)
        self.fn = fn
        self._classes = tuple(str(c) for c in classes) if classes is not None else None

    @property
    def classes(self) -> tuple[str, ...] | None:
        return self._classes

    def _score(self, texts: list[str]) -> Any:
        return self.fn(texts)


class EstimatorScorer(Scorer):
    """A scorer around a fitted text classifier: glasstext's or a scikit-learn pipeline.

    Uses ``predict_proba`` when the estimator has it; otherwise
    ``decision_function`` turned into probabilities (a logistic for one
    column, a softmax for several). Aug-Linear's warnings about n-grams absent
    from its table (:class:`~glasstext.exceptions.UnseenNgramWarning`) and
    about texts much shorter than its training texts
    (:class:`~glasstext.exceptions.LengthShiftWarning`) are silenced: perturbed
    texts are full of new bigrams and shorter by design. glasstext's models (any
    :class:`~glasstext.models.base.GlassModel`) reject blank documents, so for
    them a blank text (every word of an unpunctuated text masked) is scored as
    ``"."``: the same absence of words, i.e. the intercept.

    Parameters
    ----------
    estimator : object
        A fitted classifier that accepts a list of strings.
    batch_size, cache, max_cache_entries
        See :class:`Scorer`.
    """

    def __init__(
        self,
        estimator: Any,
        *,
        batch_size: int = 512,
        cache: bool = True,
        max_cache_entries: int = 200_000,
    ) -> None:
        if not (hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")):
            raise TypeError(
                f"{type(estimator).__name__} has neither predict_proba nor decision_function"
            )
        super().__init__(batch_size=batch_size, cache=cache, max_cache_entries=max_cache_entries)
        self.estimator = estimator

    @property
    def classes(self) -> tuple[str, ...] | None:
        classes = getattr(self.estimator, "classes_", None)
        return tuple(str(c) for c in classes) if classes is not None else None

    def _score(self, texts: list[str]) -> Any:
        if _is_glass_model(self.estimator):
            texts = [t if t.strip() else "." for t in texts]
        with warnings.catch_warnings():
            # Explainers score perturbed texts: words deleted (shorter, sometimes wordless)
            # or n-grams never seen in training, by design; the model's warnings about its
            # inputs would speak of the perturbations, not of the user's texts.
            warnings.simplefilter("ignore", UnseenNgramWarning)
            warnings.simplefilter("ignore", LengthShiftWarning)
            if hasattr(self.estimator, "predict_proba"):
                return self.estimator.predict_proba(texts)
            scores = np.asarray(self.estimator.decision_function(texts), dtype=np.float64)
        if scores.ndim == 1:
            return expit(scores)
        return softmax(scores, axis=1)


def _is_glass_model(estimator: Any) -> bool:
    """Whether ``estimator`` follows glasstext's model protocol (and so rejects blank texts).

    Looked up without importing :mod:`glasstext.models`: if its protocol module
    is not loaded yet, no object can be one of its models.
    """
    base = sys.modules.get("glasstext.models.base")
    return base is not None and isinstance(estimator, base.GlassModel)


class LMScorer(Scorer):
    """A causal language model used zero-shot: probabilities of label words.

    Each text is put into ``template`` (at ``{text}``) and the probabilities
    of the classes are a softmax over the summed log-probabilities of the
    label words after the prompt
    (:meth:`~glasstext.backends.lm.LanguageModel.label_probs`). Prompts are
    scored in batches by the backend, and its persistent cache serves prompts
    it has seen in earlier runs (they then cost no forward pass, but still
    count in :attr:`n_calls`, which counts queries).

    Parameters
    ----------
    lm : str, path-like or LanguageModel, default="SmolLM2-135M-Instruct"
        A model name for :func:`~glasstext.backends.lm.get_lm` (an offline
        alias such as ``"gemma-3-270m"``, a hub id or a folder), or any
        :class:`~glasstext.backends.lm.LanguageModel` instance, such as an
        OpenAI-compatible server backend.
    template : str, default=SENTIMENT_TEMPLATE
        The prompt, with ``{text}`` where the text goes (other braces are
        left as they are).
    labels : sequence of str, default=SENTIMENT_LABELS
        One continuation per class, in class order. Start each with its
        separating space (``" positive"``), not the prompt's end.
    chat : bool, default=False
        Wrap the prompt in the model's chat template.
    calibrate : bool, default=False
        Content-free calibration (Zhao et al. 2021, *Calibrate Before Use*):
        the label prior ``q`` is measured once, as the mean of the label
        probabilities of the ``content_free`` inputs put into the template,
        and divided out: ``p'(c) ∝ p(c) / q(c)``. A small zero-shot LM that
        says "positive" for almost every review then decides by how far a text
        moves it from its prior. The calibration prompts are counted in
        :attr:`n_calls` (once per scorer).
    content_free : sequence of str, default=("N/A", "", "[MASK]")
        The content-free inputs of the calibration.
    batch_size : int, default=256
        Prompts handed to the backend at once (it splits them into its own
        forward-pass batches, sorted by length).
    cache, max_cache_entries
        See :class:`Scorer`.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where a local LM named by ``lm`` runs (``"auto"``: a GPU when there
        is one); ignored for a ready instance or a server.
    """

    def __init__(
        self,
        lm: str | os.PathLike[str] | LanguageModel | None = None,
        template: str = SENTIMENT_TEMPLATE,
        labels: Sequence[str] = SENTIMENT_LABELS,
        *,
        chat: bool = False,
        calibrate: bool = False,
        content_free: Sequence[str] = CONTENT_FREE_INPUTS,
        batch_size: int = 256,
        cache: bool = True,
        max_cache_entries: int = 200_000,
        device: str = "auto",
    ) -> None:
        from glasstext.backends.lm import get_lm
        from glasstext.validation import check_param

        check_param(calibrate, ["boolean"], "calibrate")
        free = check_texts(content_free, "content_free")
        if calibrate and not free:
            raise ValueError("content_free must hold at least one input when calibrate=True")

        if not isinstance(template, str) or "{text}" not in template:
            raise ValueError(f"template must be a str containing '{{text}}', got {template!r}")
        label_items = check_texts(labels, "labels")
        if len(label_items) < 2 or any(not lab.strip() for lab in label_items):
            raise ValueError(f"labels must be at least two non-blank strings, got {label_items!r}")
        if len(set(label_items)) != len(label_items):
            raise ValueError(f"labels must be distinct, got {label_items!r}")
        super().__init__(batch_size=batch_size, cache=cache, max_cache_entries=max_cache_entries)
        self.lm = get_lm(lm, device=device)
        self.template = template
        self.labels = tuple(label_items)
        self.chat = bool(chat)
        self.calibrate = bool(calibrate)
        self.content_free = tuple(free)
        self._prior: np.ndarray | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(lab.strip() for lab in self.labels)

    def prompt(self, text: str) -> str:
        """The prompt of one text."""
        return self.template.replace("{text}", text)

    @property
    def prior(self) -> np.ndarray | None:
        """The content-free label prior (measured on first use when ``calibrate``)."""
        if self.calibrate and self._prior is None:
            prompts = [self.prompt(t) for t in self.content_free]
            probs = self.lm.label_probs(prompts, self.labels, chat=self.chat)
            self.n_calls += len(prompts)  # real model calls, paid once per scorer
            self._prior = np.asarray(probs, dtype=np.float64).mean(axis=0)
        return self._prior

    def _score(self, texts: list[str]) -> Any:
        prompts = [self.prompt(t) for t in texts]
        probs = np.asarray(self.lm.label_probs(prompts, self.labels, chat=self.chat))
        prior = self.prior
        if prior is None:
            return probs
        # p(c) / q(c), renormalised: a shift of the log-probabilities, through the one softmax.
        logp = np.log(np.clip(probs, 1e-300, None)) - np.log(np.clip(prior, 1e-300, None))
        return softmax(logp, axis=1)

    def __repr__(self) -> str:
        cal = ", calibrate=True" if self.calibrate else ""
        return f"LMScorer({self.lm!r}, labels={self.labels!r}{cal}, n_calls={self.n_calls})"


def as_scorer(model: Any) -> Scorer:
    """A :class:`Scorer` for ``model``.

    Parameters
    ----------
    model : Scorer, estimator or callable
        A scorer (returned as is); an object with ``predict_proba`` or
        ``decision_function`` (:class:`EstimatorScorer`); or a function from a
        list of texts to probabilities (:class:`CallableScorer`). A language
        model needs a prompt and label words: wrap it in :class:`LMScorer`.

    Returns
    -------
    Scorer
    """
    if isinstance(model, Scorer):
        return model
    from glasstext.backends.lm_base import LanguageModel

    if isinstance(model, LanguageModel | str):
        raise TypeError(
            "a language model needs a prompt template and label words: "
            "use LMScorer(lm, template, labels)"
        )
    if hasattr(model, "predict_proba") or hasattr(model, "decision_function"):
        return EstimatorScorer(model)
    if callable(model):
        return CallableScorer(model)
    raise TypeError(
        f"cannot score texts with a {type(model).__name__}: give a Scorer, an estimator "
        "with predict_proba, or a function from a list of texts to probabilities"
    )
