"""Shared test set-up.

Tests use their own glasstext home (converted models, caches) inside the
repository, so they never read or write a user's cache, and a second test run
reuses the converted models of the first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_TEST_HOME = Path(__file__).resolve().parent.parent / ".cache" / "glasstext-test"
os.environ.setdefault("GLASSTEXT_HOME", str(_TEST_HOME))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def store(tmp_path: Path):
    """A fresh, empty cache store for one test."""
    from glasstext.backends.cache import SqliteStore

    s = SqliteStore(tmp_path / "cache.sqlite")
    yield s
    s.close()
