"""Every benchmark runs end to end in --quick mode and writes a file of its full schema.

Each script of ``benchmarks/catalog.py`` is run as a subprocess with ``--quick
--out <tmp>`` (and each further quick check it declares); the file must hold the
run record (command, commit, clean tree, packages, machine) and exactly the
top-level keys the script declares (its ``SCHEMA``), and, once the committed
result file has been regenerated under the run-record rules, the same keys as
that file. The figures are not checked.

``benchmarks/peer/imodelsx_auglinear.py`` is not here: it is the helper
``auglinear.py`` runs inside the imodelsX virtual environment (a separate
install of the peer and its dependencies), not a benchmark writing a result file.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import catalog
import harness

BENCHMARKS = harness.REPO / "benchmarks"

TIMEOUT = 600  # seconds: a hung script fails instead of stalling the suite
RECORD = {"command", "git_commit", "git_clean", "packages", "machine"}
MACHINE = {
    "cpu",
    "cores",
    "platform",
    "load_average_start",
    "load_average_end",
    "peak_rss_mb",
    "wall_seconds",
    "thread_environment",
}

CASES = [
    pytest.param(bench, args, schema, id=f"{bench.name}{''.join(' ' + a for a in args)}")
    for bench in catalog.BENCHMARKS
    for args, schema in ((bench.quick, bench.schema), *bench.extra)
]


def declared(script: Path, name: str, required: bool = True) -> tuple[str, ...]:
    """The literal tuple ``name = (...)`` at the top level of ``script`` (read, not run);
    ``()`` for an optional one the script does not declare."""
    for node in ast.parse(script.read_text("utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return tuple(ast.literal_eval(node.value))
    if not required:
        return ()
    raise AssertionError(f"{script.name} declares no {name}")


def missing(bench: catalog.Benchmark) -> str | None:
    """Why this machine cannot run the benchmark's quick check, or None."""
    if bench.quick_skip:
        return bench.quick_skip
    if bench.name == "scale" and importlib.util.find_spec("ray") is None:
        return "the ray extra is not installed"
    return None


def test_every_script_is_in_the_catalog():
    scripts = {p.stem for p in BENCHMARKS.glob("*.py")} - {"harness", "catalog"}
    assert scripts == {b.script for b in catalog.BENCHMARKS}


def test_make_bench_lists_every_benchmark_with_its_time():
    listing = catalog.listing()
    for bench in catalog.BENCHMARKS:
        assert f"bench-{bench.name} " in listing and f"~{bench.minutes:>4} min" in listing


@pytest.mark.integration
@pytest.mark.parametrize(("bench", "args", "schema"), CASES)
def test_quick_run_writes_a_file_of_the_full_schema(bench, args, schema, tmp_path):
    reason = missing(bench)
    if reason:
        pytest.skip(reason)
    script = BENCHMARKS / f"{bench.script}.py"
    out = tmp_path / "result.json"
    env = {**os.environ, "GLASSTEXT_HOME": str(tmp_path / "home")}  # no shared cache
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    data = json.loads(out.read_text("utf-8"))

    assert set(data) >= RECORD
    assert data["command"].startswith(f"python benchmarks/{bench.script}.py --quick")
    assert isinstance(data["git_clean"], bool) and len(data["git_commit"]) == 40
    assert data["packages"]["glasstext"]
    assert set(data["machine"]) == MACHINE
    assert set(data) - RECORD == set(declared(script, schema))

    committed = harness.RESULTS / f"{bench.script}.json"
    if not args and len(bench.runs) == 1 and committed.is_file():
        kept = json.loads(committed.read_text("utf-8"))
        if "git_commit" in kept:  # regenerated under the run-record rules
            # A full run may add the keys its script declares as full-run only (PEER_KEYS:
            # the comparison with a peer library that --quick skips).
            full_only = set(declared(script, "PEER_KEYS", required=False))
            assert set(kept) - full_only == set(data)
