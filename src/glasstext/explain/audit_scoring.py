"""The audit's target calls: one budget, one resumable cache, one progress bar.

:class:`BudgetedScorer` wraps the audited target (any :class:`Scorer`) so that
every stage of :func:`~glasstext.explain.audit.audit_lm` - scoring the
corpus, probes, KernelSHAP on disagreements - draws on the same budget of
target calls, and a text scored once is never paid again: in this run (the
scorer's in-memory cache) nor in a rerun (:class:`ScoreCache`, a JSON-lines
file appended batch by batch, so an interrupted audit keeps every finished
batch). When the budget cannot cover a batch, the part that fits is scored
and stored, then :class:`BudgetExhausted` stops the stage.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from glasstext.backends.runtime import progress_bar
from glasstext.exceptions import GlasstextError
from glasstext.explain.scorers import LMScorer, Scorer

__all__ = ["BudgetExhausted", "BudgetedScorer", "ScoreCache"]

_FORMAT = "glasstext-audit-scores"


class BudgetExhausted(GlasstextError, RuntimeError):
    """The audit's budget of target calls ran out (what was scored is kept)."""


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ScoreCache:
    """Class probabilities of texts for one target, in a JSON-lines file (or in memory).

    The first line names the target (``identity``); a file written for
    another target is refused, so a cache never mixes two models' answers.
    Each later line is one batch: ``{"k": [sha256 of text, ...], "p": [[...], ...]}``.
    A torn last line (a crash mid-write) is ignored.

    Parameters
    ----------
    path : path-like or None
        The file; ``None`` keeps the scores in memory only.
    identity : str or None
        The target's name; ``None`` (a callable, an estimator) skips the check.
    """

    def __init__(self, path: str | os.PathLike[str] | None, identity: str | None) -> None:
        self.path = Path(path) if path is not None else None
        self.identity = identity
        self.values: dict[str, list[float]] = {}
        self.prior: list[float] | None = None
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        lines = self.path.read_text(encoding="utf-8").splitlines()
        if not lines:
            return
        try:
            head = json.loads(lines[0])
        except json.JSONDecodeError:
            head = None
        if not isinstance(head, dict) or head.get("format") != _FORMAT:
            raise ValueError(f"{self.path} is not a glasstext audit score cache")
        theirs = head.get("target")
        if self.identity is not None and theirs is not None and theirs != self.identity:
            raise ValueError(
                f"{self.path} holds the scores of another target ({theirs}); "
                "give another --out folder or delete it"
            )
        for line in lines[1:]:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line
            if "prior" in row:
                self.prior = [float(v) for v in row["prior"]]
                continue
            for k, p in zip(row.get("k", []), row.get("p", []), strict=False):
                self.values[str(k)] = [float(v) for v in p]

    def _append(self, row: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a", encoding="utf-8") as f:
            if new:
                f.write(json.dumps({"format": _FORMAT, "target": self.identity}) + "\n")
            f.write(json.dumps(row) + "\n")
            f.flush()

    def get(self, text: str) -> list[float] | None:
        return self.values.get(_key(text))

    def put(self, texts: list[str], probs: np.ndarray) -> None:
        keys = [_key(t) for t in texts]
        rows = [[float(v) for v in p] for p in probs]
        self.values.update(zip(keys, rows, strict=True))
        self._append({"k": keys, "p": rows})

    def put_prior(self, prior: np.ndarray) -> None:
        self.prior = [float(v) for v in prior]
        self._append({"prior": self.prior})

    def __len__(self) -> int:
        return len(self.values)


class BudgetedScorer(Scorer):
    """The audited target behind a budget, a resumable cache and a progress bar.

    Parameters
    ----------
    target : Scorer
        The target (its own calls are what the budget counts).
    cache : ScoreCache
    budget : int or None
        Most target calls (texts the target evaluates) this audit may spend;
        ``None``: no limit. Texts found in ``cache`` cost nothing.
    progress : bool or None
        The bar of calls spent and left (``None``: on a terminal).

    Attributes
    ----------
    spent : int
        Target calls spent in this run (calibration prompts included).
    from_cache : int
        Texts served by the cache file instead of the target.
    """

    def __init__(
        self,
        target: Scorer,
        cache: ScoreCache,
        budget: int | None,
        *,
        progress: bool | None = None,
        batch_size: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size or target.batch_size)
        self.target = target
        self.store = cache
        self.budget = budget
        self.spent = 0
        self.from_cache = 0
        total = budget if budget is not None else 0
        self.bar = progress_bar(total, "LM calls", progress, unit="call")
        self._prior_ready = False

    @property
    def classes(self) -> tuple[str, ...] | None:
        return self.target.classes

    @property
    def left(self) -> float:
        return math.inf if self.budget is None else max(self.budget - self.spent, 0)

    def _restore_prior(self) -> None:
        """A calibrated LM's content-free prior, from the cache when it was paid before."""
        target = self.target
        if not (isinstance(target, LMScorer) and target.calibrate):
            return
        if self.store.prior is not None:
            # The prior is the scorer's own measurement, cached like any other answer.
            target._prior = np.asarray(self.store.prior, dtype=np.float64)
            return
        if self.left < len(target.content_free):
            raise BudgetExhausted("the budget does not cover the calibration prompts")
        before = target.n_calls
        prior = target.prior
        self._spend(target.n_calls - before)
        if prior is not None:
            self.store.put_prior(prior)

    def _spend(self, n: int) -> None:
        self.spent += n
        self.bar.update(n)
        if self.budget is not None:
            self.bar.set_postfix(left=int(self.left), refresh=False)

    def _score(self, texts: list[str]) -> Any:
        if not self._prior_ready:  # paid (or read from the cache) with the first batch
            self._restore_prior()
            self._prior_ready = True
        out: list[list[float] | None] = [self.store.get(t) for t in texts]
        todo = [i for i, row in enumerate(out) if row is None]
        self.from_cache += len(texts) - len(todo)
        allowed = todo if self.left >= len(todo) else todo[: int(self.left)]
        if allowed:
            chunk = [texts[i] for i in allowed]
            before = self.target.n_calls
            probs = np.asarray(self.target(chunk), dtype=np.float64)
            self._spend(max(self.target.n_calls - before, 0))
            self.store.put(chunk, probs)
            for i, p in zip(allowed, probs, strict=True):
                out[i] = list(p)
        if len(allowed) < len(todo):
            raise BudgetExhausted(
                f"the budget of {self.budget} LM calls ran out "
                f"({len(todo) - len(allowed)} texts of this batch unscored)"
            )
        return np.asarray(out, dtype=np.float64)

    def known(self, texts: list[str]) -> np.ndarray:
        """Which texts are already scored (free to ask for)."""
        return np.array([t in self._cache or self.store.get(t) is not None for t in texts])

    def close(self) -> None:
        self.bar.close()

    def __repr__(self) -> str:
        return f"BudgetedScorer({self.target!r}, spent={self.spent}, budget={self.budget})"
