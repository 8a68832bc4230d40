"""scripts/gen_docs.py renders the result files as the benchmark scripts write them: scores
with their 95% intervals, paired differences, and a model that did not run named as such."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
assert spec is not None and spec.loader is not None
gen_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_docs)


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A copy of the committed results folder, which a test may alter."""
    folder = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", folder)
    monkeypatch.setattr(gen_docs, "RESULTS", folder)
    gen_docs.load.cache_clear()
    gen_docs.load_parts.cache_clear()
    yield folder
    gen_docs.load.cache_clear()
    gen_docs.load_parts.cache_clear()


def test_the_pages_show_the_intervals_of_the_files(results):
    pages = {path.name: text for path, text in gen_docs.outputs().items()}
    tree = pages["augtree.md"]
    assert "Aug-Tree embedding minus CART, AUC points, with the paired 95% interval" in tree
    assert "(bold: the paired 95% interval of the difference excludes 0)" in tree
    assert "default − TF-IDF, points" in pages["auglinear.md"]
    assert "test accuracy [95% interval]" in pages["protolm.md"]
    assert "→ `proxy_explanations_remote.json`" in pages["explanations.md"]
    assert "(Proto-LM − head: " in pages["README.md"]
    assert "## Surrogate fidelity" in pages["audit.md"]


def test_an_lm_that_did_not_run_is_named_and_left_out(results):
    path = results / "nl_explanations.json"
    nl = json.loads(path.read_text(encoding="utf-8"))
    name = sorted(nl["lms"])[-1]
    nl["lms"][name] = {"error": "RuntimeError: the model did not load"}
    path.write_text(json.dumps(nl), encoding="utf-8")
    pages = {p.name: text for p, text in gen_docs.outputs().items()}
    assert f"{name} did not run: RuntimeError" in pages["nl.md"]
    assert f"{name.removesuffix('-Instruct')} " not in pages["README.md"].split("SASC")[1][:200]
