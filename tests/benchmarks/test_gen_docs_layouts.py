"""scripts/gen_docs.py renders the layout the current benchmark scripts write, and still the
old layout of the committed files it has adapters for.

The current layout is made here from the committed files (each score given an interval,
each difference a paired interval), so the test needs no benchmark run: it checks that
every page renders from it and shows the intervals, and that the adapters leave a file
of the current layout as it is.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
assert spec is not None and spec.loader is not None
gen_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_docs)

RECORD = {
    "command": "python benchmarks/x.py",
    "git_commit": "0" * 40,
    "git_clean": True,
    "packages": {"python": "3.11"},
    "machine": {"cores": 2},
}


def score(x: Any) -> Any:
    """A bare float as a score of the current layout (an interval made up around it)."""
    if isinstance(x, dict) or x is None:
        return x
    return {"value": x, "ci95": [x - 0.02, x + 0.02]}


def difference(x: float) -> dict[str, Any]:
    low, high = x - 0.01, x + 0.01
    return {"difference": x, "ci95": [low, high], "within_noise": low <= 0 <= high}


def current_protolm(old: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in old.items() if k not in ("date", "machine", "total_seconds")}
    for key in gen_docs.PROTOLM_ACCURACIES:
        data[key] = score(data[key])
    data["protolm_minus_finetuned_linear"] = difference(data["protolm_minus_finetuned_linear"])
    data["auglinear_finetuned_minus_base"] = difference(
        data["auglinear_finetuned_accuracy"]["value"] - data["auglinear_base_accuracy"]["value"]
    )
    return {**RECORD, **data}


def current_proxy(old: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keep = ("benchmark", "versions", "settings", "definitions", "screening_precision")
    data = {k: old[k] for k in keep} | {
        "operating_points": [r for r in old["operating_points"] if "n_texts" not in r],
        "oracle_meeting_target": [],
        "screening_recall": old["screening_recall"],
        "calibration": old["calibration"],
        "learned_proxy": old["learned_proxy"],
        "methods": old["methods"],
        "notes": [],
    }
    remote = {**RECORD, "benchmark": "proxy_explanations_remote", **old["remote_path"]}
    remote["untouched_server_requests"] = None  # run with --remote-baseline-requests 0
    return {**RECORD, **data}, remote


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A results folder: the committed files, the ones being rerun in the current layout."""
    folder = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", folder)

    def read(name: str) -> dict[str, Any]:
        return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))

    def write(name: str, data: dict[str, Any]) -> None:
        (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")

    write("protolm", current_protolm(read("protolm")))
    proxy, remote = current_proxy(read("proxy_explanations"))
    write("proxy_explanations", proxy)
    write("proxy_explanations_remote", remote)
    nl = read("nl_explanations")
    nl["lms"]["gemma-3-270m"] = {"error": "RuntimeError: the model did not load"}
    write("nl_explanations", {**RECORD, **{k: nl[k] for k in ("benchmark", "settings", "lms")}})

    monkeypatch.setattr(gen_docs, "RESULTS", folder)
    gen_docs.load.cache_clear()
    gen_docs.load_parts.cache_clear()
    yield folder
    gen_docs.load.cache_clear()
    gen_docs.load_parts.cache_clear()


def test_the_pages_render_the_current_layout_with_its_intervals(results):
    pages = {path.name: text for path, text in gen_docs.outputs().items()}

    tree = pages["augtree.md"]
    assert "Aug-Tree embedding minus CART, AUC points, with the paired 95% interval" in tree
    assert "embedding − forest, AUC points" in tree
    assert "## Full training splits" in tree and "full splits:" in tree
    assert "(bold: the paired 95% interval of the difference excludes 0)" in tree

    aug = pages["auglinear.md"]
    assert "## Two more held-out sets" in aug and "(Clinton or Trump), 4,833 / 1,611" not in aug
    assert "default − TF-IDF, points" in aug

    proto = pages["protolm.md"]
    assert "test accuracy [95% interval]" in proto and "], within noise" in proto

    explanations = pages["explanations.md"]
    assert "→ `proxy_explanations_remote.json`" in explanations
    assert "as llama-cpp-python ships it" not in explanations  # no untouched-server figure
    assert "**Met with a screen on the largest task**" in explanations  # from proxy_scale

    nl = pages["nl.md"]
    assert "gemma-3-270m did not run: RuntimeError" in nl
    assert "| planted concept | SmolLM2-135M-Instruct |\n" in nl

    readme = pages["README.md"]
    assert "(Proto-LM − head: " in readme and "(paired 95% intervals)" in readme
    assert "SmolLM2-135M 7 / 10 |" in readme


def test_the_adapters_leave_the_current_layout_as_it_is(results):
    for name, adapt in (("protolm", gen_docs._old_layout_protolm),):
        data = gen_docs.load(name)
        assert adapt(data) == data, name
    remote, where = gen_docs._old_layout_proxy_remote()
    assert where == "`proxy_explanations_remote.json`" and "latency" in remote


def test_the_adapters_give_the_old_layout_the_current_shape():
    gen_docs.load.cache_clear()
    try:
        proto = gen_docs._old_layout_protolm(gen_docs.load("protolm"))
        assert proto["protolm_accuracy"]["ci95"] is None
        assert gen_docs.score_cell(proto["protolm_accuracy"]) == "0.845"
    finally:
        gen_docs.load.cache_clear()
