"""A cache file that is damaged, full of free pages, or given a silly size (issue 31).

A damaged file (corrupt pages found while reading or writing) gives one
warning naming it and ``glasstext cache clear``, and the work goes on
uncached with the same results; ``glasstext cache`` reports it in one line
and ``clear`` deletes it. Pruning gives the freed space back to the disk.
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_WORDS
from glasstext.backends import cache as cache_module
from glasstext.backends.cache import (
    EmbeddingCache,
    JsonCache,
    SqliteStore,
    default_store,
    resolve_store,
    text_key,
)
from glasstext.cli import main
from glasstext.exceptions import CacheUnavailableWarning

N_FILLER = 3000


def _fill(store: SqliteStore, ns: str, n: int = N_FILLER, size: int = 256) -> None:
    """Enough small entries to span a few hundred pages (no overflow pages)."""
    store.put_many(ns, [(text_key(f"filler {i}"), bytes([i % 251]) * size) for i in range(n)])


def _damage(path: Path) -> None:
    """Zero the middle third of the file's pages: the b-tree pages there no longer parse."""
    with sqlite3.connect(path) as conn:
        (page,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    pages = path.stat().st_size // page
    with open(path, "r+b") as f:
        f.seek(pages // 3 * page)
        f.write(bytes(pages // 3 * page))


def _damaged_file(path: Path, ns: str = "ns") -> Path:
    store = SqliteStore(path)
    _fill(store, ns)
    store.close()  # the log is folded into the file
    _damage(path)
    return path


def _cache_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CacheUnavailableWarning)]


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    return _damaged_file(tmp_path / "cache.sqlite")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _filler_keys() -> list[bytes]:
    return [text_key(f"filler {i}") for i in range(N_FILLER)]


# -- reads and writes that find the damage ------------------------------------------------------


def test_a_read_that_finds_damage_warns_once_and_the_cache_is_left_alone(damaged):
    store = SqliteStore(damaged)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.get_many("ns", _filler_keys()) == {}
        store.put_many("ns", [(b"k", b"v")])
        assert store.claim_many("ns", [b"k"]) == {b"k"}
        store.release("ns", [b"k"])
        assert JsonCache(store, "ns").get(["filler 1", "filler 2"]) == {}
        assert resolve_store(damaged) is None  # the same file again: not used, no warning
    [message] = _cache_warnings(caught)
    assert str(damaged) in message and "glasstext cache clear" in message
    assert "malformed" in message and "\n" not in message
    assert not store.usable


def test_a_write_that_finds_damage_warns_once_and_the_cache_is_left_alone(damaged):
    store = SqliteStore(damaged, max_bytes=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.put_many("ns", [(text_key(f"new {i}"), b"x" * 256) for i in range(2000)])
        store.put_many("ns", [(b"k", b"v")])
        assert store.get_many("ns", [b"k"]) == {}
    [message] = _cache_warnings(caught)
    assert str(damaged) in message and "glasstext cache clear" in message
    assert not store.usable


def test_an_io_error_while_reading_is_dealt_with_the_same_way(tmp_path, monkeypatch):
    store = SqliteStore(tmp_path / "cache.sqlite")
    store.put_many("ns", [(b"k", b"v")])

    def failing():
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_connection", failing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.get_many("ns", [b"k"]) == {}
        assert store.claim_many("ns", [b"k"]) == {b"k"}
        store.put_many("ns", [(b"j", b"w")])
    [message] = _cache_warnings(caught)
    assert "disk I/O error" in message and "glasstext cache clear" in message
    assert not store.usable


def test_errors_that_are_not_the_file_s_still_raise(tmp_path):
    store = SqliteStore(tmp_path / "cache.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        store.put_many(None, [(b"k", b"v")])  # a bug (ns is NOT NULL), not the file
    assert store.usable and store.writable


def test_encoding_with_a_damaged_cache_gives_the_uncached_vectors(tiny_bert_dir, tmp_path):
    from glasstext.backends.encoder import Encoder

    texts = [f"{a} {b}" for a in TINY_WORDS for b in TINY_WORDS[:6]]
    settings = {"precision": "fp32", "progress": False, "batch_size": 16}
    expected = Encoder(str(tiny_bert_dir), cache=False, **settings).encode(texts)

    path = tmp_path / "cache.sqlite"
    store = SqliteStore(path)
    healthy = Encoder(str(tiny_bert_dir), cache=store, **settings)
    healthy.encode(texts)
    _fill(store, healthy.namespace)  # the texts' keys spread among many pages
    store.close()
    _damage(path)

    encoder = Encoder(str(tiny_bert_dir), cache=path, **settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = encoder.encode(texts)
        again = encoder.encode(texts[:10])
    assert len(_cache_warnings(caught)) == 1
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(again, expected[:10])
    assert encoder.n_cache_hits == 0


def test_a_fit_with_a_damaged_cache_warns_once_and_gives_the_uncached_model(
    home, tmp_path, train_csv, tiny_bert_dir, monkeypatch, capsys
):
    from glasstext.models import load_model

    def fit(out: Path) -> None:
        argv = ["fit", "auglinear", "--train", str(train_csv), "--encoder", str(tiny_bert_dir)]
        assert main([*argv, "--out", str(out)]) == 0

    fit(tmp_path / "first")  # fills the cache
    store = default_store()
    namespaces = [ns for (ns,) in store._connection().execute("SELECT DISTINCT ns FROM entries")]
    for ns in namespaces:
        _fill(store, ns)
    store.close()
    _damage(store.path)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(tmp_path / "damaged")
    [message] = _cache_warnings(caught)
    assert str(store.path) in message and "glasstext cache clear" in message

    monkeypatch.setenv("GLASSTEXT_CACHE", "off")
    fit(tmp_path / "uncached")
    capsys.readouterr()
    texts = ["good movie", "awful boring film", "a dull story"]
    got = load_model(tmp_path / "damaged").predict_proba(texts)
    expected = load_model(tmp_path / "uncached").predict_proba(texts)
    np.testing.assert_array_equal(got, expected)


# -- glasstext cache on a damaged file -----------------------------------------------------------


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv", [["info"], ["prune", "--max-mb", "0.1"]])
def test_cache_info_and_prune_report_a_damaged_file_in_one_line(home, argv, capsys):
    path = _damaged_file(home / "cache.sqlite", "ns")
    assert main(["cache", *argv]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(path) in line and "damaged" in line and "glasstext cache clear" in line


def test_cache_clear_deletes_a_damaged_file(home, capsys):
    _damaged_file(home / "cache.sqlite", "ns")
    assert main(["cache", "clear"]) == 0
    assert main(["cache", "info"]) == 0
    assert "0 entries" in capsys.readouterr().out


def test_cache_clear_deletes_a_file_that_is_no_database(home, capsys):
    home.mkdir()
    (home / "cache.sqlite").write_bytes(b"not a database at all " * 200)
    assert main(["cache", "info"]) == 2
    assert "glasstext cache clear" in _one_error_line(capsys.readouterr().err)
    assert main(["cache", "clear"]) == 0
    assert main(["cache", "info"]) == 0
    assert "0 entries" in capsys.readouterr().out


def test_clearing_a_damaged_file_deletes_it_with_its_side_files(damaged):
    for suffix in ("-wal", "-shm"):
        Path(f"{damaged}{suffix}").write_bytes(b"")
    store = SqliteStore(damaged)
    store.clear()
    assert not [p for p in damaged.parent.iterdir() if p.name.startswith(damaged.name)]
    store.put_many("ns", [(b"k", b"v")])  # a new, healthy file
    assert store.get_many("ns", [b"k"]) == {b"k": b"v"}


# -- glasstext cache prune --max-mb -------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-5", "2e9", "ten"])
def test_cache_prune_refuses_a_size_that_is_no_sane_number(home, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cache", "prune", "--max-mb", value])
    assert exit_.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --max-mb" in last and repr(value) in last


def test_cache_prune_accepts_zero_and_fractions(home, capsys):
    assert main(["cache", "prune", "--max-mb", "0"]) == 0
    assert main(["cache", "prune", "--max-mb", "0.5"]) == 0
    assert "removed 0 entries" in capsys.readouterr().out


# -- prune gives space back -----------------------------------------------------------------------


def _filled_store(path: Path) -> SqliteStore:
    store = SqliteStore(path, max_bytes=None)
    _fill(store, "ns", n=2000, size=1024)
    return store


def test_prune_gives_the_freed_space_back_to_the_disk(tmp_path):
    store = _filled_store(tmp_path / "cache.sqlite")
    before = store.disk_bytes()
    assert store.prune(200 * 1024) > 1500
    assert store.disk_bytes() < before / 3
    assert store.stats().entries < 250


def test_prune_trims_a_file_made_for_incremental_vacuum(tmp_path):
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("CREATE TABLE other (x)")
    conn.close()
    store = _filled_store(path)
    before = store.disk_bytes()
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    store.prune(200 * 1024)
    assert store.disk_bytes() < before / 3
    assert any("incremental_vacuum" in s for s in statements)
    assert not any(s.strip().upper() == "VACUUM" for s in statements)


def test_space_is_given_back_later_when_another_process_holds_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_COMPACT_WAIT_SECONDS", 0.1)
    store = _filled_store(tmp_path / "cache.sqlite")
    before = store.disk_bytes()
    store.prune(200 * 1024, compact=False)
    other = sqlite3.connect(store.path)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    assert store.compact() is False
    other.rollback()
    other.close()
    assert store.compact() is True
    assert store.disk_bytes() < before / 3


def test_cache_prune_notes_when_the_space_comes_back_later(home, monkeypatch, capsys):
    monkeypatch.setattr(cache_module, "_COMPACT_WAIT_SECONDS", 0.1)
    _filled_store(home / "cache.sqlite").close()
    reader = sqlite3.connect(home / "cache.sqlite")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM entries").fetchone()  # another process reading
    assert main(["cache", "prune", "--max-mb", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "removed" in out and "later" in out
    reader.close()


def test_cache_prune_shrinks_the_file(home, capsys):
    _filled_store(home / "cache.sqlite").close()
    assert main(["cache", "info"]) == 0
    assert main(["cache", "prune", "--max-mb", "0.2"]) == 0
    info, prune = capsys.readouterr().out.split("removed")
    on_disk = [float(part.split(" MB on disk")[0].rsplit(" ", 1)[1]) for part in (info, prune)]
    assert on_disk[1] < on_disk[0] / 3


def test_writing_goes_on_after_a_prune(tmp_path):
    store = _filled_store(tmp_path / "cache.sqlite")
    store.prune(0)
    EmbeddingCache(store, "ns").put(["t"], np.ones((1, 4), dtype=np.float32))
    assert store.stats().entries == 1
