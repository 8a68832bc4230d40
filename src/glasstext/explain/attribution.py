"""The one result type of every explainer: a score per word of a text.

Both types here follow the result protocol (:mod:`glasstext.results`):
``to_dict(top=None)``, ``to_json``, ``str()`` and ``to_html()``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glasstext.explain.perturb import Units
from glasstext.io import jsonable
from glasstext.results import ResultMixin, limit, view

__all__ = ["Attribution", "ProxyReport"]


@dataclass(frozen=True)
class ProxyReport(ResultMixin):
    """What :class:`~glasstext.explain.ProxyExplainer` decided, and what it cost.

    Attributes
    ----------
    decision : {"proxy", "target", "calibrated-proxy"}
        ``"proxy"``: the proxy agreed with the target on the screened texts and
        its (calibrated) values were used. ``"target"``: it did not, and the
        whole perturbation set was scored by the target. ``"calibrated-proxy"``:
        it did not, and the caller chose ``fallback="calibrate"``.
    agreement : float
        Pearson correlation of the explained class's probability under proxy
        and target over the screened texts.
    threshold : float
        The agreement needed to use the proxy.
    n_screened : int
        Distinct texts scored by both models to measure agreement.
    target_calls, proxy_calls : int
        Texts each model actually evaluated for this explanation.
    calibration : (float, float) or None
        ``(slope, intercept)`` mapping proxy values to the target's scale, when
        proxy values were used.
    """

    decision: str
    agreement: float
    threshold: float
    n_screened: int
    target_calls: int
    proxy_calls: int
    calibration: tuple[float, float] | None = None

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (``top`` is ignored: a report has no ranked list)."""
        return {
            "decision": self.decision,
            "agreement": jsonable(self.agreement),
            "threshold": self.threshold,
            "n_screened": self.n_screened,
            "target_calls": self.target_calls,
            "proxy_calls": self.proxy_calls,
            "calibration": list(self.calibration) if self.calibration else None,
        }

    def __str__(self) -> str:
        return (
            f"proxy decision: {self.decision} (agreement {self.agreement:.3f}, "
            f"threshold {self.threshold}); target calls {self.target_calls}, "
            f"proxy calls {self.proxy_calls}"
        )


@dataclass(frozen=True, eq=False)
class Attribution(ResultMixin):
    """Scores of the words of a text for one class of a model.

    A positive score means the word pushes the model toward
    ``explained_class``. Words (or, for a text longer than an explainer's
    ``max_units``, segments of words) come with their character spans in
    ``text``.

    Attributes
    ----------
    text : str
        The explained text.
    words : tuple of str
        The units as written in ``text``.
    spans : tuple of (int, int)
        ``text[start:end]`` of each unit.
    scores : ndarray of shape (n_units,)
    base_value : float
        KernelSHAP and occlusion: the model's value with every unit masked
        (KernelSHAP scores sum to ``value - base_value``). LIME: the intercept
        of the local linear model.
    value : float
        The model's probability of ``explained_class`` for ``text``.
    explained_class : int
        Column of the model's output that is explained.
    class_name : str or None
        Its name, when the model has class names.
    method : str
        ``"lime"``, ``"kernelshap"`` or ``"occlusion"``.
    n_calls : int
        Texts the explained model actually evaluated for this explanation
        (its queries; texts already in the scorer's cache cost none).
    n_texts : int
        Distinct perturbed texts the explanation used (cached or not).
    n_samples : int
        Masks drawn (LIME counts repeated draws; the others count distinct masks).
    mask_token : str or None
        ``None`` when masked units were deleted, else their replacement.
    grouped : bool
        True when units are segments of several words (a long text).
    seed : int or None
        Seed of the sampling.
    extras : dict
        Method details (LIME's local fit ``r2``, KernelSHAP's ``exact`` ...).
    proxy : ProxyReport or None
        Set by :class:`~glasstext.explain.ProxyExplainer`; then ``n_calls``
        counts the target's calls only.
    """

    text: str
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    scores: np.ndarray
    base_value: float
    value: float
    explained_class: int
    class_name: str | None
    method: str
    n_calls: int
    n_texts: int
    n_samples: int
    mask_token: str | None = None
    grouped: bool = False
    seed: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    proxy: ProxyReport | None = None

    def __post_init__(self) -> None:
        scores = np.array(self.scores, dtype=np.float64)
        if scores.shape != (len(self.words),) or len(self.spans) != len(self.words):
            raise ValueError("words, spans and scores must have one entry per unit")
        scores.setflags(write=False)
        object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def units(self) -> Units:
        """The units, for building perturbed texts (see :mod:`glasstext.explain.perturb`)."""
        return Units(self.text, self.spans, self.grouped)

    def ranking(self) -> np.ndarray:
        """Unit indices from the highest score to the lowest (ties: text order)."""
        return np.argsort(-self.scores, kind="stable")

    def top(self, k: int = 10, by: str = "abs") -> list[tuple[str, float]]:
        """The ``k`` units of largest ``|score|`` (``by="abs"``) or score (``"signed"``)."""
        if by not in ("abs", "signed"):
            raise ValueError(f"by must be 'abs' or 'signed', got {by!r}")
        key = -np.abs(self.scores) if by == "abs" else -self.scores
        order = np.argsort(key, kind="stable")[: max(k, 0)]
        return [(self.words[i], float(self.scores[i])) for i in order]

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary of everything in the result.

        Parameters
        ----------
        top : int or None, default=None
            ``None`` lists every unit in text order; an int keeps only the
            ``top`` units of largest ``|score|``, in that order (as :meth:`top`).
        """
        order = list(range(len(self)))
        if top is not None:
            order = limit(list(np.argsort(-np.abs(self.scores), kind="stable")), top)
        return {
            "text": self.text,
            "method": self.method,
            "explained_class": self.explained_class,
            "class_name": self.class_name,
            "value": self.value,
            "base_value": self.base_value,
            "words": [self.words[i] for i in order],
            "spans": [list(self.spans[i]) for i in order],
            "scores": [float(self.scores[i]) for i in order],
            "n_calls": self.n_calls,
            "n_texts": self.n_texts,
            "n_samples": self.n_samples,
            "mask_token": self.mask_token,
            "grouped": self.grouped,
            "seed": self.seed,
            "extras": {k: jsonable(v) for k, v in self.extras.items()},
            "proxy": self.proxy.to_dict() if self.proxy else None,
        }

    def to_html(self, title: str | None = None) -> str:
        """A standalone HTML page (see :func:`glasstext.report.html.attribution_html`)."""
        return str(view(self, "page", title=title))

    def _repr_html_(self) -> str:
        # A notebook gets a fragment whose styles stay inside it, not a whole page.
        return str(view(self, "fragment"))

    def save_html(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        """Write :meth:`to_html` to ``path`` (UTF-8); returns the path."""
        return Path(view(self, "save", path=path, title=title))

    def plot(self, top: int | None = 20, ax: Any = None) -> Any:
        """A bar chart of the scores (needs matplotlib: ``pip install glasstext[plot]``)."""
        return view(self, "plot", top=top, ax=ax)

    def __str__(self) -> str:
        name = self.class_name if self.class_name is not None else self.explained_class
        lines = [
            f"{self.method} attribution for class {name!r}: "
            f"value {self.value:.4f}, base {self.base_value:.4f}, {self.n_calls} model calls",
        ]
        if self.proxy is not None:
            lines.append(str(self.proxy))
        for word, score in self.top(10):
            lines.append(f"  {score:+.4f}  {word}")
        if len(self) > 10:
            lines.append(f"  ... {len(self) - 10} more")
        return "\n".join(lines)
