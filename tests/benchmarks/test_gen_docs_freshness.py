"""scripts/gen_docs.py refuses a result file older than the code its benchmark imports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
assert spec is not None and spec.loader is not None
gen_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_docs)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(gen_docs, "RESULTS", tmp_path)
    return tmp_path


def write(path: Path, **record) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": "x", **record}), encoding="utf-8")


def test_the_sources_a_benchmark_measures_are_those_it_imports():
    sources = gen_docs.measured_sources(ROOT / "benchmarks" / "text_ngrams.py")
    assert "src/glasstext/text.py" in sources and "src/glasstext/datasets.py" in sources
    assert "src/glasstext/models/augtree.py" not in sources


def test_a_file_measured_before_the_last_change_to_its_code_is_stale(results):
    sources = gen_docs.measured_sources(ROOT / "benchmarks" / "text_ngrams.py")
    # the parent of the latest commit that changed code (not only docstrings) they hold
    for commit in git("log", "--format=%H", "--", *sources).split():
        before = git("rev-parse", f"{commit}~1")
        changed = gen_docs._changed_since(before, sources)
        if any(not gen_docs._same_code(before, path) for path in changed):
            break
    write(results / "text_ngrams.json", git_commit=before)
    (problem,) = gen_docs.freshness_problems()
    assert "text_ngrams.json" in problem and "rerun benchmarks/text_ngrams.py" in problem


def test_a_file_measured_at_the_last_change_or_later_is_fresh(results):
    write(results / "text_ngrams.json", git_commit=git("rev-parse", "HEAD"))
    # a part file is checked against the script named by its folder
    write(results / "auglinear_accuracy" / "sms_spam.json", git_commit=git("rev-parse", "HEAD"))
    assert gen_docs.freshness_problems() == []


def test_docstrings_and_comments_are_not_code():
    a = 'def f(x):\n    """Add one."""\n    return x + 1  # why\n'
    b = 'def f(x):\n    """Add one to x (measured: 3 s)."""\n    # a comment\n    return x + 1\n'
    assert gen_docs._code_only(a) == gen_docs._code_only(b)
    assert gen_docs._code_only(a) != gen_docs._code_only(a.replace("x + 1", "x + 2"))
    c = 'class C:\n    """Doc."""\n'  # a body of its docstring alone
    assert gen_docs._code_only(c) == gen_docs._code_only('class C:\n    """Other."""\n')


def test_a_commit_outside_the_history_is_refused(results):
    write(results / "text_ngrams.json", git_commit="0" * 40)
    (problem,) = gen_docs.freshness_problems()
    assert "not in this history" in problem


def test_files_without_a_run_record_pass_unless_strict(results):
    write(results / "text_ngrams.json")
    assert gen_docs.freshness_problems() == []
    (problem,) = gen_docs.freshness_problems(strict=True)
    assert "not yet regenerated under the new rules" in problem


def test_a_recorded_file_whose_script_is_gone_is_refused(results):
    write(results / "auglinear_parallel_folds.json", git_commit=git("rev-parse", "HEAD"))
    (problem,) = gen_docs.freshness_problems()
    assert "no benchmark script writes it" in problem


def test_the_committed_results_pass_the_default_check():
    assert gen_docs.freshness_problems() == []
