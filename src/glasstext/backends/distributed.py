"""Ray as an optional execution engine: the same work, spread over actors.

``pip install glasstext[ray]`` adds Ray. Ray places, runs and restarts the
work: actors each load the model once (an encoder, a scorer, an explainer)
and are handed the next batch as they finish one, with a second one queued
so an actor never waits for the driver. An actor that dies (a killed worker,
a lost node) is restarted by Ray and its batches run again, so a job finishes
with the same result. Each actor computes with as many threads as it has CPUs
reserved (on one machine: its CPUs shared out among the actors), whatever
``OMP_NUM_THREADS`` the driver runs with.

The driver keeps the one cache (:mod:`glasstext.backends.cache`): it looks up
every input first, sends only what is missing, and commits each batch as it
comes back. Workers only compute (their encoders have no cache), so a worker
on another machine needs no access to the driver's disk.

``ray.init()`` is called on first use unless Ray is already initialised: call
``ray.init(address=...)`` yourself (or set ``RAY_ADDRESS``) to use a cluster.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from glasstext.exceptions import InvalidParameterError, MissingCarrierError

__all__ = [
    "ExecutorSetting",
    "RayExecutor",
    "embed_texts",
    "import_ray",
    "resolve_executor",
]

ExecutorSetting = Literal["local", "ray"] | None | Any  # or a RayExecutor


def import_ray() -> Any:
    """The ``ray`` module, or an error saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise MissingCarrierError("executor='ray' needs Ray: pip install 'glasstext[ray]'") from exc


class _Worker:
    """A Ray actor holding the objects it works with (encoders, explainers), each built once.

    ``call(index, key, obj, method, items)`` runs ``obj.method(items)`` and
    returns ``(index, result)`` so the driver can put results back in order.
    ``obj`` arrives as a shared object-store reference; the first call with a
    ``key`` fetches and keeps it, so a model it loads stays loaded for later
    batches.

    ``n_threads`` is the number of CPU threads the actor's numerical libraries
    use: Ray reserves CPUs per actor but only sets ``OMP_NUM_THREADS`` when the
    driver has not (and torch reads it once, at import), so the actor sets
    its threads itself, before and after the shipped object is loaded.
    """

    def __init__(self, n_threads: int) -> None:
        self.objects: dict[str, Any] = {}
        self.n_threads = n_threads
        self.busy_seconds = 0.0  # in calls: the rest of an actor's life is waiting
        self.n_tasks = 0
        for name in _THREAD_VARIABLES:  # read by torch and BLAS when first imported
            os.environ[name] = str(n_threads)
        self._set_torch_threads()

    def _set_torch_threads(self) -> None:
        torch = sys.modules.get("torch")  # only if something here uses torch
        if torch is not None and torch.get_num_threads() != self.n_threads:
            torch.set_num_threads(self.n_threads)

    def call(
        self, index: int, key: str, boxed: list[Any], method: str, items: list[Any]
    ) -> tuple[int, Any]:
        if key not in self.objects:
            # The reference comes boxed in a list so Ray does not fetch and
            # unpickle the object again for every batch: only the first time.
            self.objects[key] = import_ray().get(boxed[0])
            self._set_torch_threads()  # unpickling may have imported torch
        started = time.perf_counter()
        try:
            return index, getattr(self.objects[key], method)(items)
        finally:
            self.busy_seconds += time.perf_counter() - started
            self.n_tasks += 1

    def forget(self, key: str) -> None:
        self.objects.pop(key, None)

    def stats(self) -> dict[str, float]:
        """Tasks run and seconds spent in them (how busy Ray kept the actor)."""
        return {"n_tasks": self.n_tasks, "busy_seconds": self.busy_seconds}

    def threads(self) -> tuple[int, int | None]:
        """``(n_threads, torch's threads or None)``: what the actor runs with."""
        torch = sys.modules.get("torch")
        return self.n_threads, (torch.get_num_threads() if torch is not None else None)

    def pid(self) -> int:
        return os.getpid()


#: Environment variables that size the thread pools of OpenMP, MKL and OpenBLAS.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class RayExecutor:
    """Spread batches of work over a pool of Ray actors.

    Parameters
    ----------
    n_workers : int or None, default=None
        Actors per pool; ``None`` uses as many as the cluster's CPUs allow
        (one per CPU, or per ``cpus_per_worker``) and, with
        ``gpus_per_worker``, its GPUs.
    cpus_per_worker : float or None, default=None
        CPUs Ray reserves for each actor; the actor's torch and BLAS use
        ``floor(cpus_per_worker)`` threads (at least 1). ``None``: on one
        machine, its CPUs shared out among the ``n_workers`` actors (one actor
        on a 2-core machine computes with both cores, as the single-process
        path does; two get one each, so they do not fight over the cores);
        on a cluster of several nodes, or with ``n_workers=None``, 1.
    gpus_per_worker : float, default=0
        GPUs Ray reserves for each actor (fractions share a GPU).
    batch_size : int or None, default=None
        Inputs per task; ``None`` uses the encoder's own batch size (so each
        task is exactly one of the batches the single-process path runs, and
        the vectors are bit for bit the same).
    tasks_in_flight : int, default=2
        Tasks queued on each actor at a time: while an actor computes one
        batch the next is already there, so it never waits for the driver
        (which commits results to the cache meanwhile). 1 balances the last
        batches best when each is long.
    max_retries : int, default=-1
        How often Ray restarts a dead actor and re-runs its task (``-1``:
        without limit).
    init_kwargs : dict or None, default=None
        Passed to ``ray.init`` when Ray is not initialised yet (e.g.
        ``{"address": "ray://head:10001"}``; ``RAY_ADDRESS`` works too).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> RayExecutor:
        # A pool of running actors is shared, not copied, when an estimator holding
        # it is cloned (scikit-learn's clone deep-copies parameters).
        return self

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        cpus_per_worker: float | None = None,
        gpus_per_worker: float = 0,
        batch_size: int | None = None,
        tasks_in_flight: int = 2,
        max_retries: int = -1,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise InvalidParameterError(f"n_workers must be an int >= 1, got {n_workers!r}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise InvalidParameterError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not isinstance(tasks_in_flight, int) or tasks_in_flight < 1:
            raise InvalidParameterError(
                f"tasks_in_flight must be an int >= 1, got {tasks_in_flight!r}"
            )
        if (cpus_per_worker is not None and cpus_per_worker <= 0) or gpus_per_worker < 0:
            raise InvalidParameterError("cpus_per_worker must be > 0 and gpus_per_worker >= 0")
        self.n_workers = n_workers
        self.cpus_per_worker = cpus_per_worker
        self.gpus_per_worker = gpus_per_worker
        self.batch_size = batch_size
        self.tasks_in_flight = tasks_in_flight
        self.max_retries = max_retries
        self.init_kwargs = dict(init_kwargs or {})
        self._actors: list[Any] = []
        self._refs: dict[str, Any] = {}

    # -- Ray ----------------------------------------------------------------------
    def _ray(self) -> Any:
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(**{"log_to_driver": False, **self.init_kwargs})
        return ray

    def worker_cpus(self) -> float:
        """CPUs reserved for each actor: ``cpus_per_worker``, or the default above."""
        if self.cpus_per_worker is not None:
            return float(self.cpus_per_worker)
        if self.n_workers is None:
            return 1.0
        nodes = [n for n in self._ray().nodes() if n.get("Alive")]
        if len(nodes) != 1:
            return 1.0
        cpus = float(nodes[0].get("Resources", {}).get("CPU", 1))
        # Never more than the node has, never a share so small Ray cannot place it.
        return max(min(cpus, cpus / self.n_workers), 0.01)

    def worker_threads(self) -> int:
        """CPU threads each actor computes with: ``floor(worker_cpus())``, at least 1."""
        return max(1, math.floor(self.worker_cpus()))

    def workers(self) -> int:
        """Actors per pool: ``n_workers``, or as many as the cluster's CPUs (and GPUs) allow."""
        if self.n_workers is not None:
            return self.n_workers
        resources = self._ray().cluster_resources()
        count = int(resources.get("CPU", 1) // self.worker_cpus())
        if self.gpus_per_worker:
            # An actor waiting for a GPU the cluster lacks would hold its batches forever.
            gpus = resources.get("GPU", 0)
            if gpus < self.gpus_per_worker:
                raise InvalidParameterError(
                    f"gpus_per_worker={self.gpus_per_worker} but the Ray cluster has {gpus:g} GPUs"
                )
            count = min(count, int(gpus // self.gpus_per_worker))
        return max(1, count)

    def actors(self) -> list[Any]:
        """This executor's actors (started on first use, then kept warm)."""
        if not self._actors:
            ray = self._ray()
            actor = ray.remote(
                num_cpus=self.worker_cpus(),
                num_gpus=self.gpus_per_worker,
                max_restarts=self.max_retries,
                max_task_retries=self.max_retries,
            )(_Worker)
            threads = self.worker_threads()
            self._actors = [actor.remote(threads) for _ in range(self.workers())]
        return self._actors

    def map_batches(
        self, key: str, obj: Any, method: str, batches: Sequence[list[Any]]
    ) -> Iterator[tuple[int, Any]]:
        """``(index, obj.method(batch))`` for every batch, in the order they finish.

        ``obj`` is shipped once and built into each actor on its first batch;
        ``key`` names it, so later calls with the same key reuse what the
        actors loaded (an encoder's model). Each actor has up to
        ``tasks_in_flight`` batches queued and is handed the next as soon as
        one of its own finishes.
        """
        ray = self._ray()
        if key not in self._refs:
            # Kept by the driver: a restarted actor is rebuilt from the reference,
            # and holding the object keeps an id()-based key from being reused.
            self._refs[key] = (obj, ray.put(obj))
        boxed = [self._refs[key][1]]
        work = iter(enumerate(batches))
        pending: dict[Any, Any] = {}  # task's result reference -> its actor

        def submit(actor: Any) -> None:
            item = next(work, None)
            if item is not None:
                pending[actor.call.remote(item[0], key, boxed, method, item[1])] = actor

        actors = self.actors()
        for _ in range(self.tasks_in_flight):
            for actor in actors:  # round robin: every actor starts at once
                submit(actor)
        while pending:
            [done], _ = ray.wait(list(pending), num_returns=1)
            submit(pending.pop(done))  # that actor's queue is one shorter
            yield ray.get(done)

    def map(self, key: str, obj: Any, method: str, items: Sequence[Any], per_task: int = 1) -> list:
        """``obj.method(chunk)`` over ``items`` in chunks, results flattened in input order."""
        batches = [list(items[i : i + per_task]) for i in range(0, len(items), per_task)]
        out: list[Any] = [None] * len(batches)
        for index, result in self.map_batches(key, obj, method, batches):
            out[index] = result
        return [r for chunk in out for r in chunk]

    def forget(self, key: str) -> None:
        """Drop the object shipped as ``key`` (from the driver and every actor)."""
        if self._refs.pop(key, None) is not None:
            ray = import_ray()
            ray.get([actor.forget.remote(key) for actor in self._actors])

    def shutdown(self) -> None:
        """Stop this executor's actors (Ray itself keeps running)."""
        ray = import_ray()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        self._refs.clear()

    # -- embedding ------------------------------------------------------------------
    def embed(self, encoder: Any, texts: Sequence[str]) -> np.ndarray:
        """``encoder.encode(texts)``, computed by the actors.

        A glasstext :class:`~glasstext.backends.encoder.Encoder` keeps its cache
        on the driver: cached texts are not sent, and every batch that comes
        back is committed at once. Batches are the encoder's own
        (length-sorted, ``batch_size``), so each vector is computed exactly as
        the single-process path computes it. Any other object with
        ``encode`` is shipped to the actors as it is.
        """
        items = list(texts)
        if not items:
            return np.asarray(encoder.encode([]), dtype=np.float32)
        unique = list(dict.fromkeys(items))
        # an encoder with a driver-side cache and its own batches (duck-typed: the
        # encoder module imports this one)
        driver_cache = all(hasattr(encoder, m) for m in ("cached", "plan_batches", "store"))
        if driver_cache:
            found = encoder.cached(unique)
            missing = [t for t in unique if t not in found]
            batches = encoder.plan_batches(missing, self.batch_size)
            worker = encoder.worker_copy()
            worker.n_threads = self.worker_threads()  # the actor's share of the CPUs
            key = f"encoder:{type(encoder).__qualname__}:{encoder.namespace}"
        else:
            found, missing = {}, unique
            size = self.batch_size or 256
            batches = [missing[i : i + size] for i in range(0, len(missing), size)]
            worker, key = encoder, f"object:{id(encoder)}"
        for index, vectors in self.map_batches(key, worker, "encode", batches):
            batch = batches[index]
            vectors = np.asarray(vectors, dtype=np.float32)
            if driver_cache:
                encoder.store(batch, vectors)  # committed now: a later crash keeps it
            found.update(zip(batch, vectors, strict=True))
        return np.stack([found[t] for t in items]).astype(np.float32, copy=False)


def resolve_executor(executor: ExecutorSetting) -> RayExecutor | None:
    """``None``/``"local"`` -> ``None`` (this process); ``"ray"`` -> a shared
    :class:`RayExecutor`; an executor object is used as it is."""
    if executor is None or executor == "local":
        return None
    if executor == "ray":
        global _default_ray
        if _default_ray is None:
            _default_ray = RayExecutor()
        return _default_ray
    if hasattr(executor, "embed") and hasattr(executor, "map"):
        return executor
    raise InvalidParameterError(
        f"executor must be None, 'local', 'ray' or a RayExecutor, got {executor!r}"
    )


_default_ray: RayExecutor | None = None


def embed_texts(encoder: Any, texts: Sequence[str], executor: ExecutorSetting = None) -> np.ndarray:
    """``encoder.encode(texts)`` in this process, or spread over ``executor``."""
    resolved = resolve_executor(executor)
    if resolved is None:
        return np.asarray(encoder.encode(texts))
    return resolved.embed(encoder, texts)


def embed_to_file(
    encoder: Any,
    texts: Sequence[str],
    path: str | os.PathLike[str],
    *,
    dtype: Any = np.float16,
    chunk_size: int = 16_384,
    executor: ExecutorSetting = None,
) -> np.memmap:
    """Embed ``texts`` chunk by chunk into a ``(len(texts), dim)`` array on disk.

    For vocabularies whose float32 vectors do not fit in memory: each chunk is
    embedded (through the cache and ``executor`` like :func:`embed_texts`),
    converted to ``dtype`` (float16 halves the disk and the page cache; the
    values of n-gram embeddings lose nothing that matters at 3 significant
    digits) and written, so memory holds one chunk at a time.

    Returns
    -------
    numpy.memmap
        Read-only view of the file.
    """
    if chunk_size < 1:
        raise InvalidParameterError(f"chunk_size must be >= 1, got {chunk_size!r}")
    dim = 0
    with open(path, "wb") as out:
        for start in range(0, len(texts), chunk_size):
            vectors = embed_texts(encoder, texts[start : start + chunk_size], executor)
            dim = vectors.shape[1]
            out.write(np.ascontiguousarray(vectors, dtype=dtype).tobytes())
    return np.memmap(path, dtype=dtype, mode="r", shape=(len(texts), dim))


class RateLimit:
    """At most ``per_second`` queries per second, shared by everything holding it.

    ``wait(n)`` blocks until ``n`` more queries fit in the rate. Queries are
    spaced evenly (a reservation moves the next free time by ``n / per_second``).
    :meth:`shared` makes a copy whose bookkeeping lives in one Ray actor, so
    that every worker of an executor draws from the same budget (an LM server's
    rate limit holds for all of them together).
    """

    def __init__(self, per_second: float) -> None:
        if not per_second > 0:
            raise InvalidParameterError(f"per_second must be > 0, got {per_second!r}")
        self.per_second = float(per_second)
        self._next = 0.0
        self._actor: Any = None

    def reserve(self, n: int) -> float:
        """Book ``n`` queries; the seconds to wait before sending them."""
        import time

        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + n / self.per_second
        return start - now

    def wait(self, n: int) -> None:
        """Block until ``n`` queries may be sent."""
        import time

        if self._actor is not None:
            delay = float(import_ray().get(self._actor.reserve.remote(n)))
        else:
            delay = self.reserve(n)
        if delay > 0:
            time.sleep(delay)

    def shared(self, executor: RayExecutor) -> RateLimit:
        """This limit with its bookkeeping in one Ray actor (picklable, shared)."""
        ray = executor._ray()
        copy = RateLimit(self.per_second)
        copy._actor = ray.remote(num_cpus=0)(RateLimit).remote(self.per_second)
        return copy
