import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from glasstext.backends.cache import (
    EmbeddingCache,
    JsonCache,
    SqliteStore,
    WriteBehind,
    namespace_of,
    text_key,
)


def test_embeddings_round_trip_and_namespaces_are_separate(store):
    a = EmbeddingCache(store, namespace_of(model="a"))
    b = EmbeddingCache(store, namespace_of(model="b"))
    vecs = np.arange(6, dtype=np.float32).reshape(2, 3)
    a.put(["x", "y"], vecs)
    got = a.get(["x", "y", "z"])
    assert set(got) == {"x", "y"}
    np.testing.assert_array_equal(got["y"], vecs[1])
    assert b.get(["x"]) == {}


def test_namespace_is_canonical():
    assert namespace_of(a=1, b="x") == namespace_of(b="x", a=1)
    assert namespace_of(a=1) != namespace_of(a=2)


def test_json_cache(store):
    c = JsonCache(store, "lm")
    c.put({"p": {"text": "hi", "n": 2}})
    assert c.get(["p", "q"]) == {"p": {"text": "hi", "n": 2}}


def test_values_persist_across_store_instances(tmp_path):
    path = tmp_path / "c.sqlite"
    s1 = SqliteStore(path)
    EmbeddingCache(s1, "ns").put(["t"], np.ones((1, 4), dtype=np.float32))
    s1.close()
    got = EmbeddingCache(SqliteStore(path), "ns").get(["t"])
    np.testing.assert_array_equal(got["t"], np.ones(4, dtype=np.float32))


def test_a_key_is_stored_once_and_replaced(store):
    store.put_many("ns", [(b"k", b"old")])
    store.put_many("ns", [(b"k", b"new"), (b"j", b"other")])
    assert store.get_many("ns", [b"k", b"j"]) == {b"k": b"new", b"j": b"other"}
    assert store.stats().entries == 2


def test_a_file_of_the_first_layout_is_still_read_and_written(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # the layout of files written before
        conn.execute(
            "CREATE TABLE entries (ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
            " nbytes INTEGER NOT NULL, last_used REAL NOT NULL, PRIMARY KEY (ns, key))"
            " WITHOUT ROWID"
        )
        conn.execute("INSERT INTO entries VALUES ('ns', x'01', x'aa', 1, 0.0)")
    store = SqliteStore(path)
    store.put_many("ns", [(b"\x02", b"bb"), (b"\x01", b"cc")])
    assert store.get_many("ns", [b"\x01", b"\x02"]) == {b"\x01": b"cc", b"\x02": b"bb"}


def test_prune_removes_least_recently_used(tmp_path):
    store = SqliteStore(tmp_path / "c.sqlite", max_bytes=None)
    for i in range(10):
        store.put_many("ns", [(text_key(str(i)), b"x" * 100)])
    assert store.stats().bytes == 1000
    removed = store.prune(500)
    assert removed == 5
    left = store.get_many("ns", [text_key(str(i)) for i in range(10)])
    assert set(left) == {text_key(str(i)) for i in range(5, 10)}


def test_store_is_bounded(tmp_path):
    store = SqliteStore(tmp_path / "c.sqlite", max_bytes=1000)
    for i in range(30):
        store.put_many("ns", [(text_key(str(i)), b"x" * 100)])
    assert store.stats().bytes <= 1000


def test_a_failed_write_leaves_nothing_half_written(tmp_path):
    store = SqliteStore(tmp_path / "c.sqlite")

    def items():
        yield text_key("a"), b"1"
        yield text_key("b"), None  # NOT NULL constraint fails mid-transaction

    with pytest.raises((sqlite3.IntegrityError, TypeError)):
        store.put_many("ns", items())
    assert store.stats().entries == 0


_WRITER = """
import sys
import numpy as np
from glasstext.backends.cache import EmbeddingCache, SqliteStore
path, worker = sys.argv[1], int(sys.argv[2])
cache = EmbeddingCache(SqliteStore(path), "ns")
for j in range(20):
    texts = [f"w{worker}-{j}-{k}" for k in range(50)]
    cache.put(texts, np.full((50, 8), worker, dtype=np.float32))
"""


def test_two_processes_writing_at_once(tmp_path):
    path = str(tmp_path / "c.sqlite")
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, path, str(w)], stderr=subprocess.PIPE)
        for w in (1, 2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    store = SqliteStore(path)
    assert store.stats().entries == 2 * 20 * 50
    got = EmbeddingCache(store, "ns").get(["w2-19-49"])
    np.testing.assert_array_equal(got["w2-19-49"], np.full(8, 2, dtype=np.float32))


def test_clear(store):
    store.put_many("a", [(b"k", b"v")])
    store.put_many("b", [(b"k", b"v")])
    store.clear("a")
    assert store.stats().entries == 1
    store.clear()
    assert store.stats().entries == 0


def test_cache_off_by_environment(monkeypatch):
    from glasstext.backends.cache import resolve_store

    monkeypatch.setenv("GLASSTEXT_CACHE", "off")
    assert resolve_store(True) is None


def test_an_unusable_cache_folder_warns_naming_it_and_runs_without(tmp_path):
    from glasstext.backends.cache import resolve_store
    from glasstext.exceptions import CacheUnavailableWarning

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")  # unusable even for root, unlike a read-only folder
    with pytest.warns(CacheUnavailableWarning, match=str(not_a_folder)):
        assert resolve_store(not_a_folder / "cache.sqlite") is None


def test_a_failing_write_warns_once_and_work_goes_on(tmp_path, monkeypatch):
    from glasstext.exceptions import CacheUnavailableWarning

    store = SqliteStore(tmp_path / "c.sqlite")
    store.put_many("ns", [(b"a", b"1")])

    def full():
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "_connection", full)
    with pytest.warns(CacheUnavailableWarning, match="disk is full"):
        store.put_many("ns", [(b"b", b"2")])
    store.put_many("ns", [(b"c", b"3")])  # silently skipped now
    assert not store.writable


def test_prune_refuses_a_negative_size(store):
    with pytest.raises(ValueError, match="negative"):
        store.prune(-5)


def test_disk_bytes_counts_the_files(store):
    store.put_many("ns", [(text_key(str(i)), b"x" * 1000) for i in range(50)])
    assert store.disk_bytes() >= store.stats().bytes > 0


def test_write_behind_stores_every_batch_and_drops_its_claims(store):
    cache = EmbeddingCache(store, namespace_of(model="w"))
    batches = [[f"t{i}-{j}" for j in range(3)] for i in range(4)]
    with WriteBehind(cache) as writer:
        for i, batch in enumerate(batches):
            assert cache.claim(batch) == batch
            writer.put(batch, np.full((3, 2), i, dtype=np.float32))
    got = cache.get([t for b in batches for t in b])
    assert len(got) == 12
    np.testing.assert_array_equal(got["t3-1"], [3.0, 3.0])
    assert store._connection().execute("SELECT count(*) FROM claims").fetchone() == (0,)


def test_write_behind_raises_a_failed_write(store, monkeypatch):
    cache = EmbeddingCache(store, namespace_of(model="w"))

    def broken(texts, vectors):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(cache, "put", broken)
    with pytest.raises(RuntimeError, match="the disk went away"), WriteBehind(cache) as writer:
        writer.put(["a"], np.zeros((1, 2), dtype=np.float32))
