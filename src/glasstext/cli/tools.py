"""``demo``, ``models``, ``datasets``, ``cache``: the tour, listings and the cache."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from glasstext.cli.common import add_encoder, add_out
from glasstext.exceptions import CacheDamagedError, InvalidParameterError

if TYPE_CHECKING:
    from glasstext.backends.cache import SqliteStore

DEMO_TRAIN = 4000  # glasstext.demo.DEMO_TRAIN (not imported: the parser stays light)
# The most --max-mb takes: a petabyte, beyond any disk, and the byte count stays exact.
_MAX_MB, _MAX_MB_TEXT = 1e9, "1e9"

__all__ = ["add_cache", "add_datasets", "add_demo", "add_models"]


def add_demo(parser: argparse.ArgumentParser) -> None:
    """``glasstext demo``."""
    parser.add_argument(
        "--full",
        action="store_true",
        help="the long tour (15-25 min): adds Aug-Tree with SmolLM2 expansions, SASC, "
        "a prompt search and a short Proto-LM fit to the default tour (about 3 min)",
    )
    parser.add_argument(
        "--n-train",
        type=int,
        default=DEMO_TRAIN,
        help="training rows per dataset (0: all; the default keeps the first run short)",
    )
    parser.add_argument("--n-test", type=int, default=None, help="test rows (default: all)")
    add_encoder(parser, "encoder of the Aug-Linear model: alias, hub id or folder")
    add_out(parser, "also save the fitted Aug-Linear model to this folder (new or empty)")
    parser.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from glasstext.demo import run_demo
    from glasstext.models.base import check_save_target

    if args.out:
        # before the tour, which saves (and replaces) its own model at the end
        check_save_target(args.out, overwrite=True)
    run_demo(
        n_train=args.n_train or None,
        n_test=args.n_test,
        encoder=args.encoder,
        out=args.out,
        full=args.full,
    )
    return 0


def add_models(parser: argparse.ArgumentParser) -> None:
    """``glasstext models``."""
    parser.set_defaults(run=_run_models)


def _run_models(args: argparse.Namespace) -> int:
    from glasstext.backends.registry import available_aliases, carrier_status

    for alias in available_aliases():
        print(f"{alias:<24} {carrier_status(alias)}")
    return 0


def add_datasets(parser: argparse.ArgumentParser) -> None:
    """``glasstext datasets``."""
    parser.set_defaults(run=_run_datasets)


def _run_datasets(args: argparse.Namespace) -> int:
    from glasstext import datasets

    for name in datasets.available():
        print(name)
    return 0


def add_cache(parser: argparse.ArgumentParser) -> None:
    """``glasstext cache info|prune|clear``."""
    parser.add_argument("action", choices=["info", "prune", "clear"], help="what to do")
    parser.add_argument(
        "--max-mb",
        type=size_in_mb,
        default=None,
        metavar="MB",
        help=f"with prune: the size to keep, in MB (0 to {_MAX_MB_TEXT})",
    )
    parser.set_defaults(run=_run_cache)


def size_in_mb(value: str) -> float:
    """``--max-mb``: a finite size in MB, from 0 to ``_MAX_MB``."""
    try:
        size = float(value)
    except ValueError:
        size = math.nan
    if not 0 <= size <= _MAX_MB:  # also refuses NaN and infinities
        raise argparse.ArgumentTypeError(
            f"expected a size in MB from 0 to {_MAX_MB_TEXT}, got {value!r}"
        )
    return size


def _run_cache(args: argparse.Namespace) -> int:
    from glasstext.backends.cache import cache_disabled, default_store

    if args.action == "prune" and args.max_mb is None:
        raise InvalidParameterError("cache prune needs --max-mb (the size to keep, in MB)")
    if cache_disabled():
        print("the cache is turned off (GLASSTEXT_CACHE)")
    store = default_store()
    if args.action == "clear":
        _clear(store)
    else:
        _open(store)
        if args.action == "prune":
            _prune(store, args.max_mb)
    _print_info(store)
    return 0


def _open(store: SqliteStore) -> None:
    """Open the cache now; a damaged file raises CacheDamagedError (it names ``cache clear``)."""
    try:
        store.check()
    except (sqlite3.Error, OSError) as exc:
        raise ValueError(
            f"cannot open the cache {store.path} ({exc}): set GLASSTEXT_HOME to a writable folder"
        ) from exc


def _clear(store: SqliteStore) -> None:
    with contextlib.suppress(CacheDamagedError):  # clear deletes a damaged file
        _open(store)
    store.clear()
    _compact(store)


def _prune(store: SqliteStore, max_mb: float) -> None:
    removed = store.prune(int(max_mb * 1024**2), compact=False)
    print(f"removed {removed} entries")
    _compact(store)


def _compact(store: SqliteStore) -> None:
    if not store.compact():
        print(
            f"note: {store.path} keeps its free space for now (another process holds it, or "
            "the disk lacks room to rewrite it): new entries reuse it, and a later prune "
            "gives it back"
        )


def _print_info(store: SqliteStore) -> None:
    from glasstext.backends.cache import default_home

    stats = store.stats()
    models = default_home() / "models"
    mb = 1024**2
    print(
        f"{store.path}: {stats.entries} entries, {stats.bytes / mb:.1f} MB of values, "
        f"{store.disk_bytes() / mb:.1f} MB on disk"
    )
    print(f"{models}: {_folder_bytes(models) / mb:.1f} MB of converted models")


def _folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total
