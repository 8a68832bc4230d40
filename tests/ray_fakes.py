"""Tiny encoders and scorers that Ray can ship to its workers (importable by name)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from glasstext.backends.encoder import Encoder


class HashEncoder:
    """Deterministic 8-d vectors from a hash of each text (no model)."""

    def encode(self, texts):
        rows = [
            np.frombuffer(hashlib.blake2b(t.encode(), digest_size=32).digest(), np.uint8)[:8]
            for t in texts
        ]
        return (np.asarray(rows, dtype=np.float32) - 128.0) / 64.0


class DyingEncoder(Encoder):
    """A real encoder whose worker process dies once, on its first batch.

    The marker file records the death, so the restarted actor (and the retried
    batch) go through.
    """

    def __init__(self, *args, marker: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.marker = marker

    def worker_copy(self):
        copy = super().worker_copy()
        copy.__class__ = DyingEncoder
        copy.marker = self.marker
        return copy

    def _embed_batch(self, token_ids):
        if not Path(self.marker).exists():
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)  # a killed worker: no cleanup, no exception
        return super()._embed_batch(token_ids)


def word_count_proba(texts):
    """Two-class probabilities from the share of the word 'good' (a module-level scorer)."""
    out = []
    for t in texts:
        words = t.split()
        p = (1 + sum(w == "good" for w in words)) / (2 + len(words))
        out.append([1 - p, p])
    return np.asarray(out)


class Doubler:
    """Doubles every item of a batch (checks ordering, no model)."""

    def double(self, items):
        return [2 * i for i in items]
