"""Work survives a crash, and two processes share it (issue 14).

A child process encodes texts with the tiny test model, slowed down so the test
can kill it (SIGKILL, like ``kill -9``) mid-way; a rerun must compute only the
texts whose batch had not finished.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from glasstext.backends.cache import SqliteStore
from glasstext.backends.encoder import Encoder

N_TEXTS, BATCH = 48, 4

_CHILD = """
import json, sys, time
from glasstext.backends.cache import SqliteStore
from glasstext.backends.encoder import Encoder

folder, path, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
texts = json.loads(sys.argv[4])
enc = Encoder(folder, cache=SqliteStore(path), batch_size=int(sys.argv[5]), precision="fp32",
              progress=False)
embed = enc._embed_batch

def slow(ids):
    time.sleep(delay)
    out = embed(ids)
    print("batch", flush=True)
    return out

enc._embed_batch = slow
enc.encode(texts)
print(json.dumps({"encoded": enc.n_encoded, "hits": enc.n_cache_hits}), flush=True)
"""


def _texts() -> list[str]:
    words = ["good", "bad", "movie", "film", "plot", "fun", "dull", "great"]
    return [
        f"{words[i % 8]} {words[(i // 8) % 8]} {'very ' * (i % 5)}story" for i in range(N_TEXTS)
    ]


def _child(folder, path, delay: float, batch: int = BATCH) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(folder),
            str(path),
            str(delay),
            json.dumps(_texts()),
            str(batch),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_encoding_keeps_its_finished_batches(tiny_bert_dir, tmp_path):
    path = tmp_path / "cache.sqlite"
    proc = _child(tiny_bert_dir, path, delay=0.05)
    finished = 0
    assert proc.stdout is not None
    while finished < 5:  # let five batches finish, then kill -9 mid-run
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "child ended early"
        finished += line.startswith("batch")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    stored = SqliteStore(path).stats().entries
    # Batches before the last reported one were committed (that one may be in flight).
    assert BATCH * 4 <= stored < N_TEXTS

    rerun = Encoder(tiny_bert_dir, cache=SqliteStore(path), batch_size=BATCH, precision="fp32")
    rerun.encode(_texts())
    assert rerun.n_encoded == N_TEXTS - stored  # only the unfinished work is recomputed
    assert rerun.n_cache_hits == stored


def test_two_processes_share_the_work(tiny_bert_dir, tmp_path):
    path = tmp_path / "cache.sqlite"
    SqliteStore(path).check()  # create the file first: both children start on equal terms
    procs = [_child(tiny_bert_dir, path, delay=0.05) for _ in range(2)]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    # Every text computed exactly once between the two of them.
    assert sum(r["encoded"] for r in reports) == N_TEXTS
    assert SqliteStore(path).stats().entries == N_TEXTS


def test_claims_of_a_dead_process_are_taken_over(tmp_path):
    store = SqliteStore(tmp_path / "c.sqlite")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = __import__("socket").gethostname()
    with store._connection() as conn:
        conn.execute(
            "INSERT INTO claims VALUES (?, ?, ?, ?)",
            ("ns", b"k", f"{host}:{dead.pid}", time.time() + 900),
        )
    assert store.claim_many("ns", [b"k"]) == {b"k"}


def test_a_live_claim_is_respected_and_released(tmp_path):
    path = tmp_path / "c.sqlite"
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from glasstext.backends.cache import SqliteStore\n"
            "s = SqliteStore(sys.argv[1]); print(sorted(s.claim_many('ns', [b'a'])), flush=True)\n"
            "sys.stdin.readline(); s.release('ns', [b'a'])\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline().strip() == "[b'a']"
    store = SqliteStore(path)
    assert store.claim_many("ns", [b"a", b"b"]) == {b"b"}
    other.stdin.write("\n")
    other.stdin.flush()
    other.wait(timeout=60)
    assert store.claim_many("ns", [b"a"]) == {b"a"}


class _FailingLM:
    """A language model whose generation dies after ``limit`` prompts."""

    @staticmethod
    def make(store, limit: int):
        from glasstext.backends.lm_base import LanguageModel

        class Failing(LanguageModel):
            def __init__(self) -> None:
                super().__init__(cache=store)
                self.done = 0

            @property
            def identity(self) -> str:
                return "failing-test-lm"

            def _output_settings(self):
                return {}

            def _generate_uncached(self, prompts, request):
                if self.done + len(prompts) > limit:
                    raise KeyboardInterrupt  # the user's Ctrl-C, mid-run
                self.done += len(prompts)
                return [p.upper() for p in prompts]

            def _continuation_logprobs_uncached(self, pairs, chat):
                return [0.0 for _ in pairs]

        return Failing()


def test_lm_outputs_are_committed_chunk_by_chunk(store):
    from glasstext.backends import lm_base

    prompts = [f"prompt {i:03d}" for i in range(3 * lm_base._COMMIT_CHUNK)]
    with pytest.raises(KeyboardInterrupt):
        _FailingLM.make(store, limit=2 * lm_base._COMMIT_CHUNK).generate(prompts)
    assert store.stats().entries == 2 * lm_base._COMMIT_CHUNK  # two chunks kept

    rerun = _FailingLM.make(store, limit=10**6)
    assert rerun.generate(prompts) == [p.upper() for p in prompts]
    assert rerun.n_generate_calls == lm_base._COMMIT_CHUNK  # only the lost chunk
    assert rerun.n_cache_hits == 2 * lm_base._COMMIT_CHUNK
