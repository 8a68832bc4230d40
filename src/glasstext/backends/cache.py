"""A persistent, content-addressed cache for embeddings and LM outputs.

Everything expensive that a language model computes (n-gram embeddings,
generations, log-probabilities) is stored here, keyed by *what* was computed:
a namespace naming the model and every setting that changes the output, plus a
hash of the input text. A cached value can therefore never go stale: a
different model, pooling, layer, prefix or precision is a different key.

The store is one SQLite database in write-ahead-log mode. SQLite gives us what a
hand-rolled file cache would have to rebuild: every write is an atomic
transaction that survives a crash, several processes can read and write at
once (writers wait for each other), and pruning least-recently-used entries is
one query.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MAX_BYTES = 4 * 1024**3
_SQL_BATCH = 900  # stay under SQLite's bound-parameter limit
_TOUCH_AFTER_SECONDS = 3600.0


def default_home() -> Path:
    """Folder for glasstext's caches and converted models.

    ``$GLASSTEXT_HOME`` if set, else ``$XDG_CACHE_HOME/glasstext``, else
    ``~/.cache/glasstext``.
    """
    env = os.environ.get("GLASSTEXT_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "glasstext"


def text_key(text: str) -> bytes:
    """A 16-byte content hash of a text (collisions are practically impossible)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def namespace_of(**settings: Any) -> str:
    """A canonical namespace string from the settings that determine an output."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class CacheStats:
    """Size of a cache: entries and bytes of stored values."""

    entries: int
    bytes: int


class SqliteStore:
    """A byte-valued key-value store in one SQLite file, grouped by namespace.

    Parameters
    ----------
    path : str or Path
        The database file; its folder is created if needed.
    max_bytes : int or None, default=4 GiB
        When the stored values exceed this, the least recently used entries are
        removed until they fill 90% of it. ``None`` never prunes by itself.
    """

    def __init__(
        self, path: str | os.PathLike[str], max_bytes: int | None = DEFAULT_MAX_BYTES
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1

    # -- connection -------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork: reopen in a child process.
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn, self._pid = self._open_with_retries(), os.getpid()
        return self._conn

    def _open_with_retries(self, attempts: int = 100) -> sqlite3.Connection:
        # Two processes creating the same new database at once can get
        # "database is locked" from the journal-mode switch, which SQLite does
        # not always route through the busy timeout: retry the set-up briefly.
        for attempt in range(attempts):
            conn = sqlite3.connect(self.path, timeout=120.0, check_same_thread=False)
            try:
                self._set_up(conn)
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 + 0.01 * attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _set_up(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS entries ("
            " ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
            " nbytes INTEGER NOT NULL, last_used REAL NOT NULL,"
            " PRIMARY KEY (ns, key)) WITHOUT ROWID"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_used)")
        conn.commit()

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # -- reads and writes ---------------------------------------------------
    def get_many(self, ns: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """Values stored for ``keys`` in namespace ``ns`` (missing keys are absent)."""
        found: dict[bytes, bytes] = {}
        if not keys:
            return found
        now = time.time()
        stale: list[bytes] = []
        with self._lock:
            conn = self._connection()
            for start in range(0, len(keys), _SQL_BATCH):
                chunk = list(keys[start : start + _SQL_BATCH])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, value, last_used FROM entries WHERE ns=? AND key IN ({marks})",
                    [ns, *chunk],
                ).fetchall()
                for key, value, last_used in rows:
                    found[key] = value
                    if now - last_used > _TOUCH_AFTER_SECONDS:
                        stale.append(key)
            if stale:
                self._touch(conn, ns, stale, now)
        return found

    def _touch(self, conn: sqlite3.Connection, ns: str, keys: list[bytes], now: float) -> None:
        """Record a use, for LRU pruning.

        Recency only needs to be coarse, so entries used within the last hour
        are not rewritten: a warm read then costs no write at all.
        """
        try:
            conn.executemany(
                "UPDATE entries SET last_used=? WHERE ns=? AND key=?",
                [(now, ns, k) for k in keys],
            )
            conn.commit()
        except sqlite3.OperationalError:
            # Recency is a hint for pruning; a busy database must not fail a read.
            conn.rollback()

    def put_many(self, ns: str, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Store ``(key, value)`` pairs in one atomic transaction."""
        now = time.time()
        rows = [(ns, k, v, len(v), now) for k, v in items]
        if not rows:
            return
        with self._lock:
            conn = self._connection()
            with conn:  # one transaction: all rows or none
                conn.executemany(
                    "INSERT OR REPLACE INTO entries(ns, key, value, nbytes, last_used)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            if self.max_bytes is not None:
                self._prune_locked(conn, self.max_bytes)

    # -- maintenance --------------------------------------------------------
    def stats(self, ns: str | None = None) -> CacheStats:
        """Number of entries and bytes stored (in one namespace, or all)."""
        with self._lock:
            conn = self._connection()
            if ns is None:
                row = conn.execute("SELECT COUNT(*), COALESCE(SUM(nbytes),0) FROM entries")
            else:
                row = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(nbytes),0) FROM entries WHERE ns=?", (ns,)
                )
            n, b = row.fetchone()
        return CacheStats(int(n), int(b))

    def prune(self, max_bytes: int) -> int:
        """Remove least recently used entries until at most ``max_bytes`` remain.

        Returns the number of entries removed.
        """
        with self._lock:
            return self._prune_locked(self._connection(), max_bytes, target=max_bytes)

    def _prune_locked(
        self, conn: sqlite3.Connection, max_bytes: int, target: int | None = None
    ) -> int:
        (total,) = conn.execute("SELECT COALESCE(SUM(nbytes),0) FROM entries").fetchone()
        if total <= max_bytes:
            return 0
        goal = int(0.9 * max_bytes) if target is None else target
        excess = total - goal
        removed = 0
        with conn:
            cur = conn.execute("SELECT ns, key, nbytes FROM entries ORDER BY last_used")
            victims = []
            for ns, key, nbytes in cur:
                victims.append((ns, key))
                excess -= nbytes
                if excess <= 0:
                    break
            conn.executemany("DELETE FROM entries WHERE ns=? AND key=?", victims)
            removed = len(victims)
        return removed

    def clear(self, ns: str | None = None) -> None:
        """Remove every entry (of one namespace, or all)."""
        with self._lock:
            conn = self._connection()
            with conn:
                if ns is None:
                    conn.execute("DELETE FROM entries")
                else:
                    conn.execute("DELETE FROM entries WHERE ns=?", (ns,))


_default_stores: dict[Path, SqliteStore] = {}


def default_store() -> SqliteStore:
    """The process-wide store at ``default_home() / "cache.sqlite"``."""
    path = default_home() / "cache.sqlite"
    store = _default_stores.get(path)
    if store is None:
        store = _default_stores[path] = SqliteStore(path)
    return store


# What a user may pass as ``cache=``: see resolve_store.
CacheSetting = bool | str | os.PathLike[str] | SqliteStore | None


def resolve_store(cache: CacheSetting) -> SqliteStore | None:
    """Turn a user's cache setting into a store.

    ``True`` is the shared default store, ``False``/``None`` no cache, a path a
    store in that file, and a :class:`SqliteStore` itself.
    """
    if cache is True:
        return default_store()
    if cache is False or cache is None:
        return None
    if isinstance(cache, SqliteStore):
        return cache
    return SqliteStore(cache)


class EmbeddingCache:
    """Float32 vectors keyed by text, within one namespace of a :class:`SqliteStore`."""

    def __init__(self, store: SqliteStore, namespace: str) -> None:
        self.store = store
        self.namespace = namespace

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors of those ``texts`` that have one."""
        keys = {text_key(t): t for t in texts}
        found = self.store.get_many(self.namespace, list(keys))
        return {keys[k]: np.frombuffer(v, dtype=np.float32) for k, v in found.items()}

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one float32 vector per text."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(texts) != len(vectors):
            raise ValueError("texts and vectors must have the same length")
        self.store.put_many(
            self.namespace,
            ((text_key(t), v.tobytes()) for t, v in zip(texts, vectors, strict=True)),
        )


class JsonCache:
    """JSON-serialisable values keyed by text, within one namespace of a store.

    Used for LM outputs (generations, log-probabilities, expansions).
    """

    def __init__(self, store: SqliteStore, namespace: str) -> None:
        self.store = store
        self.namespace = namespace

    def get(self, texts: Sequence[str]) -> dict[str, Any]:
        """Cached values of those ``texts`` that have one."""
        keys = {text_key(t): t for t in texts}
        found = self.store.get_many(self.namespace, list(keys))
        return {keys[k]: json.loads(v) for k, v in found.items()}

    def put(self, items: dict[str, Any]) -> None:
        """Store ``{text: value}`` pairs atomically."""
        self.store.put_many(
            self.namespace,
            ((text_key(t), json.dumps(v).encode("utf-8")) for t, v in items.items()),
        )
