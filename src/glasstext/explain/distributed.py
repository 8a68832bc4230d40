"""Explaining many texts at once, in this process or spread over Ray actors.

Each actor holds its own copy of the explainer (and so of its scorer: a model
loaded once per actor, or a client of an LM server, so ``n_workers`` actors
query the server concurrently). An explanation's sampling depends only on the
explainer's seed and the text (:meth:`Explainer.rng` is fresh per text), so
the attributions are the same however the texts are spread; only the model
calls counted per explanation can differ, because each actor's scorer
remembers only the texts it scored itself.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from glasstext.backends.distributed import ExecutorSetting, RateLimit, resolve_executor
from glasstext.explain.attribution import Attribution
from glasstext.explain.base import Explainer
from glasstext.explain.scorers import Scorer

__all__ = ["RateLimitedScorer", "explain_many"]


class RateLimitedScorer(Scorer):
    """A scorer whose model queries wait for a :class:`RateLimit` (an LM server's quota).

    Batching and caching are the wrapped scorer's; only the uncached model calls
    are paced, ``len(batch)`` queries at a time.
    """

    def __init__(self, scorer: Scorer, limit: RateLimit) -> None:
        super().__init__(batch_size=scorer.batch_size, cache=scorer.cache)
        self.scorer = scorer
        self.limit = limit

    @property
    def classes(self) -> tuple[str, ...] | None:
        return self.scorer.classes

    def _score(self, texts: list[str]) -> Any:
        self.limit.wait(len(texts))
        return self.scorer._score(texts)


class _Batch:
    """An explainer turned into "a list of texts in, a list of attributions out"."""

    def __init__(self, explainer: Explainer, target_class: int | str | None) -> None:
        self.explainer = explainer
        self.target_class = target_class

    def explain(self, texts: list[str]) -> list[Attribution]:
        return [self.explainer.explain(t, self.target_class) for t in texts]


def explain_many(
    explainer: Explainer,
    texts: Sequence[str],
    *,
    target_class: int | str | None = None,
    executor: ExecutorSetting = None,
    per_task: int = 1,
    max_queries_per_second: float | None = None,
) -> list[Attribution]:
    """``explainer.explain(text)`` for every text, in input order.

    Parameters
    ----------
    explainer : Explainer
        Any explainer (LIME, KernelSHAP, occlusion, a proxy explainer...). With
        Ray it is shipped to every actor, so its scorer must be picklable (a
        glasstext model, an LM scorer, a module-level function).
    texts : sequence of str
    target_class : int, str or None, default=None
        The class to explain in every text (``None``: each text's top class).
    executor : {None, "local", "ray"} or RayExecutor, default=None
        Where to run (see :func:`glasstext.backends.distributed.resolve_executor`).
    per_task : int, default=1
        Texts one Ray task explains (more amortises Ray's per-task overhead on
        cheap scorers; 1 balances load best when each explanation is costly).
    max_queries_per_second : float or None, default=None
        A rate limit on the model queries of all workers together (e.g. an
        OpenAI-compatible server's quota); ``None``: no limit. With Ray the
        budget is kept by one small actor that every worker asks.

    Returns
    -------
    list of Attribution
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of str, not one str")
    items = list(texts)
    resolved = resolve_executor(executor)
    if max_queries_per_second is not None:
        limit = RateLimit(max_queries_per_second)
        if resolved is not None:
            limit = limit.shared(resolved)
        explainer = copy.copy(explainer)  # the caller's explainer keeps its own scorer
        explainer.scorer = RateLimitedScorer(explainer.scorer, limit)
    batch = _Batch(explainer, target_class)
    if resolved is None:
        return batch.explain(items)
    key = f"explainer:{id(explainer)}:{target_class!r}"
    result: list[Any] = resolved.map(key, batch, "explain", items, per_task=per_task)
    return result
