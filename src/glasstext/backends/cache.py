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

Work is committed as it finishes (the encoder and the LM backends write every
batch; the encoder while it computes the next, :class:`WriteBehind`), so a
crash or ``kill -9`` loses at most the batches in flight. Several
processes computing for the same inputs share the work through *claims*: a
process claims the keys it is about to compute, the others skip them and later
read the results (or take them over if the claimer died).

``GLASSTEXT_CACHE=off`` turns the persistent cache off; a cache folder that
cannot be used (read-only, full, missing permissions) or a damaged file
(corrupt pages, I/O errors, found when opening, reading or writing) gives one
:class:`~glasstext.exceptions.CacheUnavailableWarning` naming the file, and
work goes on without a cache, with the same results; ``glasstext cache clear``
deletes a damaged file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glasstext.exceptions import (
    CacheDamagedError,
    CacheUnavailableWarning,
    InvalidParameterError,
)

DEFAULT_MAX_BYTES = 4 * 1024**3
_SQL_BATCH = 900  # stay under SQLite's bound-parameter limit
_TOUCH_AFTER_SECONDS = 3600.0
# Checking the total size scans the whole table: do it once this process has
# written another 2% of the bound (the bound may be overshot by that much).
_PRUNE_CHECK_FRACTION = 0.02
CLAIM_SECONDS = 900.0  # a claim older than this is abandoned whoever holds it
_OFF_VALUES = {"off", "0", "false", "no", "none"}
_UNUSABLE = ("readonly", "read-only", "unable to open", "disk is full", "permission")
# A file whose content cannot be read: SQLite's codes (extended codes start with
# them) and, for errors raised without a code, its words.
_DAMAGED_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR")
_DAMAGED_WORDS = ("malformed", "not a database", "disk i/o")
_BUSY_SECONDS = 120.0  # how long a query waits for other processes' writes
# Giving space back waits this long for other processes, then is left for later.
_COMPACT_WAIT_SECONDS = 5.0
_POSTPONED = ("locked", "busy", "full")  # why space cannot be given back right now
_INCREMENTAL_VACUUM = 2  # PRAGMA auto_vacuum of a file made with auto_vacuum=INCREMENTAL


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


def cache_disabled() -> bool:
    """Whether ``$GLASSTEXT_CACHE`` turns the persistent cache off (``off``, ``0``, ...)."""
    return os.environ.get("GLASSTEXT_CACHE", "").strip().lower() in _OFF_VALUES


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return row.fetchone() is not None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    """Whether the process that made a claim still runs (known only on this host)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: trust the claim until it expires
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unusable(exc: BaseException) -> bool:
    """Whether an error means the cache file cannot be used (not a bug in a query)."""
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc).lower() for word in _UNUSABLE
    )


def _damaged(exc: BaseException) -> bool:
    """Whether an error means the file's content cannot be read (corrupt, not a database, I/O).

    SQLite raises the plain ``DatabaseError`` only for such files; its subclasses
    name other failures (a constraint, a busy database, a bug in a query).
    """
    if type(exc) is sqlite3.DatabaseError:
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorname", None) or ""
    return code.startswith(_DAMAGED_CODES) or any(w in str(exc).lower() for w in _DAMAGED_WORDS)


def _damaged_message(path: Path, exc: BaseException) -> str:
    return (
        f"the cache {path} is damaged ({exc}): glasstext runs without it; "
        "`glasstext cache clear` deletes it"
    )


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
        self._written_since_check: int | None = None  # None: check on the first write
        self.writable = True  # False once a write found the file unusable
        self.usable = True  # False once the file was found damaged: left alone from then on

    def __deepcopy__(self, memo: dict[int, Any]) -> SqliteStore:
        # A store is a handle on a shared file: a cloned estimator (scikit-learn's
        # clone deep-copies parameters) shares it, as two processes do.
        return self

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
            conn = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, check_same_thread=False)
            try:
                self._set_up(conn)
                return conn
            except sqlite3.Error as exc:
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
        if not _has_table(conn, "entries"):
            # Values (1-4 KB vectors) live in a rowid table, appended in write
            # order; only the small (ns, key) index takes random inserts. A
            # table clustered on the hash key (the layout older files keep)
            # fills and reads several times slower, at twice the size on disk.
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries ("
                " ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
                " nbytes INTEGER NOT NULL, last_used REAL NOT NULL)"
            )
            conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS entries_key ON entries(ns, key)")
        conn.execute("CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_used)")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS claims ("
            " ns TEXT NOT NULL, key BLOB NOT NULL, owner TEXT NOT NULL,"
            " expires REAL NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID"
        )
        conn.commit()

    def check(self) -> None:
        """Open the database now, so an unusable folder fails here and not mid-work.

        Raises
        ------
        CacheDamagedError
            The file is damaged (not a database, or corrupt where opening reads).
        sqlite3.Error or OSError
            The file cannot be created, opened or written.
        """
        with self._lock, self._file_failures(maintenance=True):
            self._connection()

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        with self._lock:
            self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            # A failed transaction may still hold a lock that other processes wait for.
            with contextlib.suppress(sqlite3.Error):
                self._conn.rollback()
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None

    # -- a failing file -------------------------------------------------------
    @contextlib.contextmanager
    def _file_failures(self, *, maintenance: bool = False) -> Iterator[None]:
        """The one place where a failing cache file is dealt with.

        A damaged file (corrupt pages, not a database, I/O errors) is left
        alone for the rest of the process; a file that cannot be written
        (read-only, disk full, permissions) is only read from then on. The
        first such failure gives one
        :class:`~glasstext.exceptions.CacheUnavailableWarning`, and the
        block's error is swallowed: its caller returns what an empty cache
        gives, so the work goes on uncached. Maintenance (``maintenance=True``:
        statistics, pruning, clearing) raises
        :class:`~glasstext.exceptions.CacheDamagedError` for a damaged file
        instead. Other errors (a bug in a query, a constraint) pass through.
        """
        try:
            yield
        except (sqlite3.DatabaseError, OSError) as exc:
            if _damaged(exc):
                message, first = _damaged_message(self.path, exc), self._leave_alone()
                if maintenance:
                    raise CacheDamagedError(message) from exc
            elif _unusable(exc) and not maintenance:
                message, first = self._unwritable_message(exc), self.writable
                self.writable = False
            else:
                raise
            if first:
                warnings.warn(message, CacheUnavailableWarning, stacklevel=4)

    def _leave_alone(self) -> bool:
        """Stop using a damaged file in this process; whether it was in use until now."""
        was_usable, self.usable = self.usable, False
        _unusable_paths.add(self.path)
        self._drop_connection()
        return was_usable

    def _unwritable_message(self, exc: BaseException) -> str:
        return (
            f"cannot write to the cache {self.path} ({exc}): results are no longer "
            "cached. Free space or fix the folder's permissions, or set "
            "GLASSTEXT_CACHE=off to run without a cache."
        )

    # -- reads and writes ---------------------------------------------------
    def get_many(self, ns: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """Values stored for ``keys`` in namespace ``ns`` (missing keys are absent)."""
        found: dict[bytes, bytes] = {}
        if not keys or not self.usable:
            return found
        now = time.time()
        stale: list[bytes] = []
        with self._lock, self._file_failures():
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
        return {}  # the file failed: as if nothing were cached

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
        except sqlite3.OperationalError as exc:
            # Recency is a hint for pruning; a busy database must not fail a read.
            conn.rollback()
            if _damaged(exc):
                raise

    def put_many(self, ns: str, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Store ``(key, value)`` pairs in one atomic transaction.

        A file that turns out unusable (read-only, disk full) or damaged gives
        one :class:`~glasstext.exceptions.CacheUnavailableWarning`; later
        writes are skipped, and the values are simply not cached.
        """
        now = time.time()
        rows = [(ns, k, v, len(v), now) for k, v in items]
        if not rows or not (self.usable and self.writable):
            return
        with self._lock, self._file_failures():
            conn = self._connection()
            with conn:  # one transaction: all rows or none
                conn.executemany(
                    "INSERT OR REPLACE INTO entries(ns, key, value, nbytes, last_used)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            if self._prune_due(sum(r[3] for r in rows)):
                self._prune_locked(conn, self.max_bytes)  # type: ignore[arg-type]

    def _prune_due(self, nbytes: int) -> bool:
        if self.max_bytes is None:
            return False
        if self._written_since_check is not None:
            self._written_since_check += nbytes
            if self._written_since_check < _PRUNE_CHECK_FRACTION * self.max_bytes:
                return False
        self._written_since_check = 0
        return True

    # -- sharing work between processes ---------------------------------------
    def claim_many(
        self, ns: str, keys: Sequence[bytes], seconds: float = CLAIM_SECONDS
    ) -> set[bytes]:
        """Claim keys this process is about to compute; return those it got.

        A key is refused while another live process holds an unexpired claim on
        it (that process will store its value). Claims of processes that died
        (on this host) or expired are taken over.
        """
        if not keys or not (self.usable and self.writable):
            return set(keys)
        me, now = _owner(), time.time()
        granted: set[bytes] = set()
        with self._lock, self._file_failures():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")  # read and write claims atomically
            try:
                for start in range(0, len(keys), _SQL_BATCH):
                    chunk = list(keys[start : start + _SQL_BATCH])
                    marks = ",".join("?" * len(chunk))
                    held = {
                        key
                        for key, owner, expires in conn.execute(
                            "SELECT key, owner, expires FROM claims"
                            f" WHERE ns=? AND key IN ({marks})",
                            [ns, *chunk],
                        )
                        if owner != me and expires > now and _owner_alive(owner)
                    }
                    mine = [k for k in chunk if k not in held]
                    conn.executemany(
                        "INSERT OR REPLACE INTO claims(ns, key, owner, expires)"
                        " VALUES (?, ?, ?, ?)",
                        [(ns, k, me, now + seconds) for k in mine],
                    )
                    granted.update(mine)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            return granted
        return set(keys)  # no sharing without a usable file: compute it all

    def release(self, ns: str, keys: Sequence[bytes]) -> None:
        """Drop this process's claims on ``keys`` (after storing their values)."""
        if not keys or not (self.usable and self.writable):
            return
        me = _owner()
        with self._lock, self._file_failures():
            conn = self._connection()
            with conn:
                conn.executemany(
                    "DELETE FROM claims WHERE ns=? AND key=? AND owner=?",
                    [(ns, k, me) for k in keys],
                )

    # -- maintenance --------------------------------------------------------
    def stats(self, ns: str | None = None) -> CacheStats:
        """Number of entries and bytes stored (in one namespace, or all).

        Raises
        ------
        CacheDamagedError
            The file is damaged.
        """
        with self._lock, self._file_failures(maintenance=True):
            conn = self._connection()
            if ns is None:
                row = conn.execute("SELECT COUNT(*), COALESCE(SUM(nbytes),0) FROM entries")
            else:
                row = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(nbytes),0) FROM entries WHERE ns=?", (ns,)
                )
            n, b = row.fetchone()
        return CacheStats(int(n), int(b))

    def disk_bytes(self) -> int:
        """Bytes the database takes on disk (its file plus the write-ahead log)."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        return total

    def prune(self, max_bytes: int, *, compact: bool = True) -> int:
        """Remove least recently used entries until at most ``max_bytes`` remain.

        Parameters
        ----------
        max_bytes : int
            Bytes of values to keep.
        compact : bool, default=True
            Then give the freed space back to the disk (:meth:`compact`; when
            another process holds the file, the space is given back later).

        Returns
        -------
        int
            The number of entries removed.

        Raises
        ------
        InvalidParameterError
            ``max_bytes`` is negative.
        CacheDamagedError
            The file is damaged.
        """
        if max_bytes < 0:
            raise InvalidParameterError(
                f"the size to keep cannot be negative, got {max_bytes} bytes"
            )
        with self._lock, self._file_failures(maintenance=True):
            removed = self._prune_locked(self._connection(), max_bytes, target=max_bytes)
        if compact:
            self.compact()
        return removed

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

    def compact(self) -> bool:
        """Give the file's free pages (left by pruning or clearing) back to the disk.

        Until then later writes reuse them. A file made with
        ``auto_vacuum=INCREMENTAL`` is trimmed in place; any other is
        rewritten by ``VACUUM``, which needs free disk space about the size
        of the database for a while.

        Returns
        -------
        bool
            Whether the space is given back now. False when another process
            holds the database (waited for a few seconds) or the disk is too
            full to rewrite it: the file shrinks at a later compaction (or,
            once rewritten, when the last process closes it).

        Raises
        ------
        CacheDamagedError
            The file is damaged.
        """
        with self._lock, self._file_failures(maintenance=True):
            conn = self._connection()
            conn.commit()  # VACUUM cannot run inside a transaction
            conn.execute(f"PRAGMA busy_timeout={int(_COMPACT_WAIT_SECONDS * 1000)}")
            try:
                return self._give_space_back(conn)
            except sqlite3.OperationalError as exc:
                if not any(word in str(exc).lower() for word in _POSTPONED):
                    raise
                return False
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(_BUSY_SECONDS * 1000)}")
        raise AssertionError("unreachable: maintenance raises a failing file's error")

    @staticmethod
    def _give_space_back(conn: sqlite3.Connection) -> bool:
        (free_pages,) = conn.execute("PRAGMA freelist_count").fetchone()
        if free_pages:
            (auto_vacuum,) = conn.execute("PRAGMA auto_vacuum").fetchone()
            if auto_vacuum == _INCREMENTAL_VACUUM:
                # executescript runs the pragma to its end; execute frees one page.
                conn.executescript("PRAGMA incremental_vacuum;")
            else:
                conn.execute("VACUUM")
        # In WAL mode the file shrinks once the log is copied back into it.
        (busy, _, _) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def clear(self, ns: str | None = None) -> None:
        """Remove every entry (of one namespace, or all).

        Clearing all of a damaged file deletes it, with its ``-wal`` and
        ``-shm`` files (its entries cannot be removed one by one); the next
        use makes a new file.

        Raises
        ------
        CacheDamagedError
            The file is damaged and ``ns`` names one namespace.
        """
        try:
            with self._lock, self._file_failures(maintenance=True):
                conn = self._connection()
                with conn:
                    if ns is None:
                        conn.execute("DELETE FROM entries")
                    else:
                        conn.execute("DELETE FROM entries WHERE ns=?", (ns,))
        except CacheDamagedError:
            if ns is not None:
                raise
            self._delete_files()

    def _delete_files(self) -> None:
        with self._lock:
            self._drop_connection()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()
            self.usable = True  # the next use makes a new file
            _unusable_paths.discard(self.path)


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


_unusable_paths: set[Path] = set()


def resolve_store(cache: CacheSetting) -> SqliteStore | None:
    """Turn a user's cache setting into a store.

    ``True`` is the shared default store (none when ``GLASSTEXT_CACHE=off``),
    ``False``/``None`` no cache, a path a store in that file, and a
    :class:`SqliteStore` itself. A store whose file cannot be opened, or was
    found damaged, gives one
    :class:`~glasstext.exceptions.CacheUnavailableWarning` naming it, and no
    cache.
    """
    if cache is False or cache is None:
        return None
    if cache is True:
        if cache_disabled():
            return None
        store = default_store()
    elif isinstance(cache, SqliteStore):
        return cache
    else:
        store = SqliteStore(cache)
    return store if _usable(store) else None


def _usable(store: SqliteStore) -> bool:
    if store.path in _unusable_paths:
        return False
    try:
        store.check()
    except CacheDamagedError as exc:
        message = str(exc)
    except (sqlite3.Error, OSError) as exc:
        message = (
            f"cannot use the cache {store.path} ({exc}): running without a cache, so "
            "embeddings and LM outputs are recomputed. Set GLASSTEXT_HOME to a writable "
            "folder, or GLASSTEXT_CACHE=off to silence this."
        )
    else:
        return True
    _unusable_paths.add(store.path)
    warnings.warn(message, CacheUnavailableWarning, stacklevel=3)
    return False


class _TextKeyed:
    """One namespace of a store, keyed by text; claims for sharing work."""

    def __init__(self, store: SqliteStore, namespace: str) -> None:
        self.store = store
        self.namespace = namespace

    def claim(self, texts: Sequence[str]) -> list[str]:
        """Those ``texts`` no other live process is computing, now claimed by this one."""
        keys = {text_key(t): t for t in texts}
        granted = self.store.claim_many(self.namespace, list(keys))
        return [t for k, t in keys.items() if k in granted]

    def release(self, texts: Sequence[str]) -> None:
        """Drop this process's claims on ``texts``."""
        self.store.release(self.namespace, [text_key(t) for t in texts])


class EmbeddingCache(_TextKeyed):
    """Float32 vectors keyed by text, within one namespace of a :class:`SqliteStore`."""

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


class WriteBehind:
    """Stores an encoder's batches on a background thread while it computes the next.

    Writing a batch of vectors (and dropping its claims) took about a fifth
    as long as computing it (MiniLM n-grams, 2.9 s against 14.8 s); torch and
    SQLite both release the GIL, so the write overlaps the next batch's
    forward pass instead of adding to it. At most one write is in flight:
    memory stays bounded and a crash loses at most that batch and the one
    being computed. A failed write is raised by
    the next :meth:`put` or by :meth:`flush`.

    Use as a context manager; leaving it waits for the last write.
    """

    def __init__(self, cache: EmbeddingCache) -> None:
        self.cache = cache
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="glasstext-cache-writer")
        self._pending: Future[None] | None = None

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Queue ``vectors`` of ``texts`` to be stored, then their claims released."""
        self.flush()
        self._pending = self._pool.submit(self._store, list(texts), vectors)

    def _store(self, texts: list[str], vectors: np.ndarray) -> None:
        self.cache.put(texts, vectors)
        self.cache.release(texts)

    def flush(self) -> None:
        """Wait for the write in flight (raising its error, if any)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)


class JsonCache(_TextKeyed):
    """JSON-serialisable values keyed by text, within one namespace of a store.

    Used for LM outputs (generations, log-probabilities, expansions).
    """

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
