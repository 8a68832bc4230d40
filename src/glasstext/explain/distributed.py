"""Explaining many texts, or many modules, at once: in this process or over Ray actors.

Each actor holds its own copy of the explainer (and so of its scorer: a model
loaded once per actor, or a client of an LM server, so ``n_workers`` actors
query the server concurrently). An explanation's sampling depends only on the
explainer's seed and the text (:meth:`Explainer.rng` is fresh per text), so
the attributions are the same however the texts are spread; only the model
calls counted per explanation can differ, because each actor's scorer
remembers only the texts it scored itself.

:func:`explain_modules` does the same for SASC (:func:`~glasstext.explain.sasc.explain_module`)
over many modules: each actor resolves the language model once (a name is
loaded in the actor, not shipped) and explains the modules it is handed. SASC
draws everything from ``random_state``, so each module's explanation is the
one a single-process run with the same seed gives.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, cast

from glasstext.backends.distributed import ExecutorSetting, RateLimit, resolve_executor
from glasstext.explain.attribution import Attribution
from glasstext.explain.base import Explainer
from glasstext.explain.sasc import ModuleExplanation
from glasstext.explain.scorers import Scorer

__all__ = ["RateLimitedScorer", "explain_many", "explain_modules"]


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


class _ModuleBatch:
    """SASC as "a list of (module number, output) in, a list of explanations out".

    The modules travel inside this object, so each distinct module is shipped
    once per actor however many outputs of it are explained (a model with
    many units is one object), and the language model is resolved on first
    use in the process that runs the batch (an actor loads a named model once
    and keeps it for later batches).
    """

    def __init__(
        self, modules: list[Any], corpus: list[str], lm: Any, device: str, settings: dict[str, Any]
    ) -> None:
        self.modules = modules
        self.corpus = corpus
        self.lm = lm
        self.device = device
        self.settings = settings
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}  # ship the name, not a loaded model

    def explain(self, items: list[tuple[int, int | str | None]]) -> list[ModuleExplanation]:
        from glasstext.explain.nl import resolve_lm
        from glasstext.explain.sasc import explain_module

        if self._model is None:
            self._model = resolve_lm(self.lm, self.device)
        return [
            explain_module(
                self.modules[i], self.corpus, self._model, output=output, **self.settings
            )
            for i, output in items
        ]


def explain_modules(
    modules: Sequence[Any],
    corpus: Sequence[str],
    lm: Any = None,
    *,
    outputs: Sequence[int | str | None] | None = None,
    executor: ExecutorSetting = None,
    per_task: int = 1,
    device: str = "auto",
    **settings: Any,
) -> list[ModuleExplanation]:
    """SASC over many modules: ``explain_module(module, corpus, lm, ...)`` for each, in order.

    Parameters
    ----------
    modules : sequence
        Modules as :func:`~glasstext.explain.sasc.explain_module` takes them
        (functions from texts to numbers, estimators). With Ray they are
        shipped to the actors, so they must be picklable (module-level
        functions, fitted estimators); each distinct object once per actor. To
        explain several outputs of one model (units of a layer, classes),
        repeat the model and give ``outputs``.
    corpus : sequence of str
        Texts whose n-grams every module is scored on (shipped once per actor).
    lm : str, LanguageModel or None, default=None
        The language model that summarizes and writes texts. A name is
        resolved in each worker (``"openai:MODEL@URL"``: every actor queries
        the server), so give names rather than loaded models when using Ray.
    outputs : sequence or None, default=None
        One ``output=`` per module (an index or a class label; ``None``: the
        module's default).
    executor : {None, "local", "ray"} or RayExecutor, default=None
        Where to run (see :func:`glasstext.backends.distributed.resolve_executor`).
    per_task : int, default=1
        Modules one Ray task explains.
    device : str, default="auto"
        Where a local language model named by ``lm`` runs.
    **settings
        Any other parameter of :func:`~glasstext.explain.sasc.explain_module`
        (``random_state``, ``n_summaries``, ``n_synthetic``, ``max_ngrams``...),
        the same for every module.

    Returns
    -------
    list of ModuleExplanation
        In the order of ``modules``. Each equals what ``explain_module`` gives
        for that module alone in one process with the same settings, except
        the wall time and the LM usage (a cache shared between modules makes
        later modules' repeated prompts free).
    """
    if isinstance(corpus, str):
        raise TypeError("corpus must be a sequence of str, not one str")
    items = list(modules)
    wanted = [None] * len(items) if outputs is None else list(outputs)
    if len(wanted) != len(items):
        raise ValueError(f"outputs has {len(wanted)} entries for {len(items)} modules")
    if "output" in settings:
        raise TypeError("explain_modules takes outputs= (one per module), not output=")
    settings.setdefault("progress", False)
    distinct: dict[int, int] = {}  # id(module) -> its number among the distinct modules
    numbers = [distinct.setdefault(id(m), len(distinct)) for m in items]
    unique = list({id(m): m for m in items}.values())
    batch = _ModuleBatch(unique, list(corpus), lm, device, settings)
    pairs = list(zip(numbers, wanted, strict=True))
    resolved = resolve_executor(executor)
    if resolved is None:
        return batch.explain(pairs)
    key = f"sasc:{id(batch)}"
    try:
        return cast(list[ModuleExplanation], resolved.map(key, batch, "explain", pairs, per_task))
    finally:
        # The corpus is not kept for later calls; a named LM stays loaded in
        # each actor (get_lm shares it per process).
        if hasattr(resolved, "forget"):
            resolved.forget(key)
