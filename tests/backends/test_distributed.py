"""Ray as an execution engine: same results as one process, a killed worker retried."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import ray_fakes  # noqa: E402
from glasstext.backends.cache import EmbeddingCache, SqliteStore  # noqa: E402
from glasstext.backends.distributed import (  # noqa: E402
    RayExecutor,
    embed_texts,
    resolve_executor,
)
from glasstext.backends.encoder import Encoder  # noqa: E402
from glasstext.exceptions import InvalidParameterError  # noqa: E402

TEXTS = [f"word{i} " * (1 + i % 5) + "end" for i in range(40)]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module (start-up costs seconds)."""
    paths = [str(Path(__file__).resolve().parents[2] / "src"), str(Path(__file__).parents[1])]
    env = {"PYTHONPATH": os.pathsep.join(paths), "OMP_NUM_THREADS": "1"}
    os.environ.setdefault("RAY_worker_niceness", "0")  # default +15 starves them on a busy box
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env}
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def ex(local_ray):
    """Two warm actors shared by the module's tests."""
    executor = RayExecutor(n_workers=2)
    yield executor
    executor.shutdown()


def test_resolve_executor():
    assert resolve_executor(None) is None and resolve_executor("local") is None
    assert isinstance(resolve_executor("ray"), RayExecutor)
    ex = RayExecutor(n_workers=1)
    assert resolve_executor(ex) is ex
    with pytest.raises(InvalidParameterError):
        resolve_executor("spark")
    with pytest.raises(InvalidParameterError):
        RayExecutor(n_workers=0)


def test_plain_encoder_object_is_shipped(ex):
    small = RayExecutor(n_workers=2, batch_size=7)
    small._actors = ex.actors()  # the same warm actors, smaller batches
    got = embed_texts(ray_fakes.HashEncoder(), [*TEXTS, TEXTS[0]], small)
    want = ray_fakes.HashEncoder().encode([*TEXTS, TEXTS[0]])
    np.testing.assert_array_equal(got, want)


def test_encoder_identical_and_driver_cache_skips_known(ex, tiny_bert_dir, tmp_path):
    local = Encoder(tiny_bert_dir, cache=False, precision="fp32", batch_size=8)
    want = local.encode(TEXTS)
    store = SqliteStore(tmp_path / "c.sqlite")
    enc = Encoder(tiny_bert_dir, cache=store, precision="fp32", batch_size=8)
    enc.encode(TEXTS[:10])  # already cached: never sent to a worker
    got = ex.embed(enc, TEXTS)
    np.testing.assert_array_equal(got, want)
    assert enc.n_cache_hits == 10 and enc.n_encoded == 40
    again = Encoder(tiny_bert_dir, cache=store, precision="fp32", batch_size=8)
    np.testing.assert_array_equal(again.encode(TEXTS), want)
    assert again.n_encoded == 0  # the driver committed every worker batch


def test_killed_worker_is_retried(ex, tiny_bert_dir, tmp_path):
    marker = tmp_path / "died"
    store = SqliteStore(tmp_path / "c.sqlite")
    enc = ray_fakes.DyingEncoder(
        tiny_bert_dir, cache=store, precision="fp32", batch_size=8, marker=str(marker)
    )
    got = ex.embed(enc, TEXTS)
    assert marker.exists()  # a worker really died mid-job
    want = Encoder(tiny_bert_dir, cache=False, precision="fp32", batch_size=8).encode(TEXTS)
    np.testing.assert_array_equal(got, want)
    cache = EmbeddingCache(store, enc.namespace)
    stored = cache.get(TEXTS)
    assert len(stored) == len(TEXTS)
    np.testing.assert_array_equal(np.stack([stored[t] for t in TEXTS]), want)


def test_auglinear_table_identical_with_ray(ex, tiny_bert_dir, tmp_path):
    from glasstext.models import AugLinearClassifier

    texts = ["good fun film", "bad dull plot", "good acting", "dull and bad"] * 5
    y = [1, 0, 1, 0] * 5
    settings = dict(precision="fp32", batch_size=8)
    a_encoder = Encoder(str(tiny_bert_dir), cache=SqliteStore(tmp_path / "a.sqlite"), **settings)
    a = AugLinearClassifier(a_encoder, cv=2).fit(texts, y)
    b_encoder = Encoder(
        str(tiny_bert_dir), cache=SqliteStore(tmp_path / "b.sqlite"), executor=ex, **settings
    )
    b = AugLinearClassifier(b_encoder, cv=2)
    b.fit(texts, y)
    assert a.vocabulary_.ngrams == b.vocabulary_.ngrams
    np.testing.assert_array_equal(a.coef_table_, b.coef_table_)
    b.save(tmp_path / "m")  # the executor is not part of the model


def test_explanations_identical_with_ray(ex):
    from glasstext.explain import KernelShapExplainer, LimeExplainer
    from glasstext.explain.distributed import explain_many

    texts = ["a good good film", "bad plot but good cast", "nothing good here at all"]
    for cls in (LimeExplainer, KernelShapExplainer):
        explainer = cls(ray_fakes.word_count_proba, n_samples=64, seed=3)
        local = explain_many(explainer, texts)
        spread = explain_many(explainer, texts, executor=ex)
        for x, z in zip(local, spread, strict=True):
            np.testing.assert_array_equal(x.scores, z.scores)
            assert x.words == z.words


def test_rate_limit_spaces_queries_across_workers(ex):
    import time

    from glasstext.explain import OcclusionExplainer
    from glasstext.explain.distributed import explain_many

    texts = ["good film", "bad good plot", "good good"]
    explainer = OcclusionExplainer(ray_fakes.word_count_proba)
    want = explain_many(explainer, texts)
    started = time.perf_counter()
    got = explain_many(explainer, texts, executor=ex, max_queries_per_second=40)
    n_queries = sum(a.n_calls for a in got)
    assert time.perf_counter() - started >= (n_queries - 1) / 40
    for x, z in zip(want, got, strict=True):
        np.testing.assert_array_equal(x.scores, z.scores)


def test_rate_limit_local():
    from glasstext.backends.distributed import RateLimit

    limit = RateLimit(10)
    assert limit.reserve(5) == 0.0
    assert limit.reserve(1) == pytest.approx(0.5, abs=0.05)
    with pytest.raises(InvalidParameterError):
        RateLimit(0)


def test_default_cpus_share_the_machine_and_set_threads(ex, tiny_bert_dir):
    cpus = ray.cluster_resources()["CPU"]
    assert RayExecutor(n_workers=1).worker_cpus() == cpus  # one actor: every core
    assert RayExecutor(n_workers=2).worker_cpus() == cpus / 2
    assert RayExecutor(n_workers=1).worker_threads() == int(cpus)
    assert RayExecutor(n_workers=4).worker_threads() == 1  # a fraction still computes
    assert RayExecutor(n_workers=1, cpus_per_worker=0.5).worker_threads() == 1
    assert RayExecutor().worker_cpus() == 1  # one actor per CPU
    assert RayExecutor().workers() == int(cpus)
    with pytest.raises(InvalidParameterError, match="GPUs"):
        RayExecutor(gpus_per_worker=1).workers()  # no GPU here: an error, not a hang
    with pytest.raises(InvalidParameterError):
        RayExecutor(tasks_in_flight=0)
    # The driver runs with OMP_NUM_THREADS=1 here (the fixture's env): the
    # actors still take their share, and torch in them follows.
    ex.embed(Encoder(tiny_bert_dir, cache=False, precision="fp32", n_threads=2), TEXTS[:4])
    threads = ray.get([a.threads.remote() for a in ex.actors()])
    assert threads == [(ex.worker_threads(), ex.worker_threads())] * len(threads)
    stats = ray.get([a.stats.remote() for a in ex.actors()])
    assert sum(s["n_tasks"] for s in stats) >= 1 and all(s["busy_seconds"] >= 0 for s in stats)


def test_one_task_in_flight_gives_the_same_order(ex):
    single = RayExecutor(n_workers=2, tasks_in_flight=1)
    single._actors = ex.actors()
    items = list(range(23))
    assert single.map("o", ray_fakes.Doubler(), "double", items, per_task=3) == [
        2 * i for i in items
    ]


def test_sasc_over_modules_identical_with_ray(ex):
    import json

    from explain.nl_fakes import ThemeLM, food_corpus, food_module, road_module, two_outputs
    from glasstext.explain.distributed import explain_modules

    modules = [food_module, road_module, two_outputs, two_outputs]
    outputs = [None, None, 0, 1]
    settings = dict(random_state=5, n_synthetic=4, n_summaries=3)
    local = explain_modules(modules, food_corpus(), ThemeLM(), outputs=outputs, **settings)
    spread = explain_modules(
        modules, food_corpus(), ThemeLM(), outputs=outputs, executor=ex, **settings
    )
    keys = ("explanations", "top_ngrams", "scale", "n_ngrams", "module_calls")
    for a, b in zip(local, spread, strict=True):
        assert json.dumps({k: a.to_dict()[k] for k in keys}) == json.dumps(
            {k: b.to_dict()[k] for k in keys}
        )
    assert [r.best.text for r in spread] == ["food", "roads and cars"] * 2
    assert not any(k.startswith("sasc:") for k in ex._refs)  # the corpus was let go
