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

from collections.abc import Sequence
from typing import Any

from glasstext.backends.distributed import ExecutorSetting, resolve_executor
from glasstext.explain.attribution import Attribution
from glasstext.explain.base import Explainer

__all__ = ["explain_many"]


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

    Returns
    -------
    list of Attribution
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of str, not one str")
    items = list(texts)
    batch = _Batch(explainer, target_class)
    resolved = resolve_executor(executor)
    if resolved is None:
        return batch.explain(items)
    key = f"explainer:{id(explainer)}:{target_class!r}"
    result: list[Any] = resolved.map(key, batch, "explain", items, per_task=per_task)
    return result
