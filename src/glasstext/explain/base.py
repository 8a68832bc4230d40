"""What every perturbation explainer shares: units, one batched scoring pass, the result.

An explanation is two steps with one model pass between them:

1. :meth:`Explainer.design` draws masks over the text's units and turns them
   into distinct texts (identical masks and identical texts are kept once);
2. the scorer evaluates those texts in one batched (chunked) call;
3. :meth:`Explainer.solve` turns the explained class's values into scores.

:class:`~glasstext.explain.ProxyExplainer` reuses steps 1 and 3 and decides
in between which model's values to use.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from glasstext.explain.attribution import Attribution, ProxyReport
from glasstext.explain.perturb import Units, dedup_rows, dedup_texts, make_units, render_many
from glasstext.explain.scorers import Scorer, as_scorer

__all__ = ["DEFAULT_MAX_UNITS", "Design", "Explainer", "resolve_class"]

#: Texts with more words than this are explained as this many word segments.
DEFAULT_MAX_UNITS = 100


@dataclass
class Design:
    """The perturbations of one explanation.

    Attributes
    ----------
    units : Units
    masks : ndarray of shape (n_masks, n_units), bool
        Distinct masks (``True`` keeps a unit).
    weights : ndarray of shape (n_masks,)
        Method weights of the masks (draw counts, kernel weights).
    texts : list of str
        Distinct texts made by the masks.
    text_index : ndarray of shape (n_masks,)
        The text of each mask.
    full_row : int
        The mask that keeps every unit (the original text).
    n_samples : int
        Masks drawn (with repeats for LIME).
    info : dict
        Method details passed on to the result's ``extras``.
    """

    units: Units
    masks: np.ndarray
    weights: np.ndarray
    texts: list[str]
    text_index: np.ndarray
    full_row: int
    n_samples: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def full_text(self) -> int:
        """Index in :attr:`texts` of the original text."""
        return int(self.text_index[self.full_row])


def make_design(
    units: Units,
    masks: np.ndarray,
    weights: np.ndarray,
    mask_token: str | None,
    n_samples: int,
    info: dict[str, Any] | None = None,
) -> Design:
    """A :class:`Design` from distinct masks: their texts, de-duplicated."""
    masks = np.asarray(masks, dtype=bool)
    full = np.flatnonzero(masks.all(axis=1))
    if len(full) != 1:
        raise RuntimeError("internal error: a design must contain the unmasked text once")
    texts, text_index = dedup_texts(render_many(units, masks, mask_token))
    return Design(
        units=units,
        masks=masks,
        weights=np.asarray(weights, dtype=np.float64),
        texts=texts,
        text_index=text_index,
        full_row=int(full[0]),
        n_samples=n_samples,
        info=dict(info or {}),
    )


def distinct(masks: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``masks`` with summed weights (draw counts by default)."""
    unique, counts, inverse = dedup_rows(masks)
    if weights is None:
        return unique, counts.astype(np.float64)
    return unique, np.bincount(inverse, weights=weights, minlength=len(unique))


def resolve_class(target_class: int | str | None, probs: np.ndarray, scorer: Scorer) -> int:
    """The column to explain: the given index or class name, else the arg-max."""
    n_classes = probs.shape[-1]
    if target_class is None:
        return int(np.argmax(probs))
    if isinstance(target_class, str):
        names = scorer.classes
        if names is None or target_class not in names:
            raise ValueError(f"unknown class {target_class!r}; the model's classes are {names}")
        return names.index(target_class)
    if isinstance(target_class, bool) or not isinstance(target_class, int | np.integer):
        raise TypeError(f"target_class must be an int, a class name or None, got {target_class!r}")
    index = int(target_class)
    if not 0 <= index < n_classes:
        raise ValueError(f"target_class {index} is out of range for {n_classes} classes")
    return index


class Explainer(abc.ABC):
    """A perturbation explainer over the words of a text.

    Parameters
    ----------
    model : Scorer, estimator or callable
        The model to explain (see :func:`~glasstext.explain.scorers.as_scorer`).
    mask_token : str or None, default=None
        ``None`` deletes masked words; a string replaces each of them.
    max_units : int or None, default=100
        Texts with more words are explained as this many segments of
        consecutive words (``None``: always word by word).
    seed : int or None, default=0
        Seed of the sampling; the same seed gives the same attribution.
    """

    method: ClassVar[str] = ""

    def __init__(
        self,
        model: Any,
        *,
        mask_token: str | None = None,
        max_units: int | None = DEFAULT_MAX_UNITS,
        seed: int | None = 0,
    ) -> None:
        if mask_token is not None and not isinstance(mask_token, str):
            raise TypeError(f"mask_token must be a str or None, got {type(mask_token).__name__}")
        if max_units is not None and (not isinstance(max_units, int) or max_units < 1):
            raise ValueError(f"max_units must be an int >= 1 or None, got {max_units!r}")
        self.scorer = as_scorer(model)
        self.mask_token = mask_token
        self.max_units = max_units
        self.seed = seed

    # -- the two steps ---------------------------------------------------------------
    def units(self, text: str) -> Units:
        """The units (words or segments) of ``text``."""
        return make_units(text, self.max_units)

    def units_of(self, text: str, units: Units | None = None) -> Units:
        """The given ``units`` after checking they are of ``text``; else :meth:`units`."""
        if units is None:
            return self.units(text)
        if not isinstance(units, Units):
            raise TypeError(f"units must be Units or None, got {type(units).__name__}")
        if units.text != text:
            raise ValueError("units are the spans of another text than the one explained")
        return units

    def rng(self) -> np.random.Generator:
        """A fresh generator from the seed: every explanation samples the same way."""
        return np.random.default_rng(self.seed)

    @abc.abstractmethod
    def design(self, units: Units, rng: np.random.Generator) -> Design:
        """The masks and texts to score."""

    @abc.abstractmethod
    def solve(self, design: Design, values: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
        """Scores, base value and details from the explained class's value of every mask."""

    # -- the whole explanation -----------------------------------------------------------
    def explain(
        self, text: str, target_class: int | str | None = None, *, units: Units | None = None
    ) -> Attribution:
        """Explain the model's output for ``text``.

        Parameters
        ----------
        text : str
        target_class : int, str or None, default=None
            The class to explain (index or name); ``None`` explains the
            model's most probable class for ``text``.
        units : Units or None, default=None
            The units to attribute to (words, sentences, any spans of
            ``text``, e.g. from :func:`~glasstext.explain.actions.text_units`);
            ``None``: :meth:`units`.

        Returns
        -------
        Attribution

        Raises
        ------
        TypeError
            ``text`` is not a str.
        ValueError
            ``text`` is empty or has no words, or ``units`` are of another text.
        """
        design = self.design(self.units_of(text, units), self.rng())
        before = self.scorer.n_calls
        probs = self.scorer(design.texts)
        n_calls = self.scorer.n_calls - before
        cls = resolve_class(target_class, probs[design.full_text], self.scorer)
        values = probs[design.text_index, cls]
        a = self.attribution(design, values, cls, n_calls)
        return replace(
            a, extras={**a.extras, **scorer_context(self.scorer, probs[design.full_text])}
        )

    def attribution(
        self,
        design: Design,
        values: np.ndarray,
        cls: int,
        n_calls: int,
        proxy: ProxyReport | None = None,
    ) -> Attribution:
        """Solve a design for the values of its masks and package the result."""
        scores, base, extras = self.solve(design, np.asarray(values, dtype=np.float64))
        names = self.scorer.classes
        units = design.units
        return Attribution(
            text=units.text,
            words=units.words,
            spans=units.spans,
            scores=scores,
            base_value=float(base),
            value=float(values[design.full_row]),
            explained_class=cls,
            class_name=names[cls] if names is not None and cls < len(names) else None,
            method=self.method,
            n_calls=n_calls,
            n_texts=len(design.texts),
            n_samples=design.n_samples,
            mask_token=self.mask_token,
            grouped=units.grouped,
            seed=self.seed,
            extras={**design.info, **extras},
            proxy=proxy,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.scorer!r}, seed={self.seed})"


def scorer_context(scorer: Scorer, probabilities: np.ndarray) -> dict[str, Any]:
    """What a reader of an attribution wants to know about the model explained.

    ``model`` (a short name), ``probabilities`` (class name -> probability for
    the whole text) and, for a prompted language model, ``prompt`` (its
    template): the HTML view shows them (kept in ``Attribution.extras``).
    """
    names = scorer.classes or tuple(str(i) for i in range(len(probabilities)))
    lm = getattr(scorer, "lm", None)
    if lm is not None:
        model = str(getattr(lm, "identity", type(lm).__name__))
    elif hasattr(scorer, "estimator"):
        model = type(scorer.estimator).__name__
    else:
        fn = getattr(scorer, "fn", scorer)
        model = str(getattr(fn, "__qualname__", type(fn).__name__))
    context: dict[str, Any] = {
        "model": model,
        "probabilities": {str(n): float(p) for n, p in zip(names, probabilities, strict=False)},
    }
    template = getattr(scorer, "template", None)
    if isinstance(template, str):
        context["prompt"] = template
    return context
