"""scripts/gen_docs.py renders the layout the current benchmark scripts write, and still the
old layout of the committed files it has adapters for.

The current layout is made here from the committed files (each score given an interval,
each difference a paired interval), so the test needs no benchmark run: it checks that
every page renders from it and shows the intervals, and that the adapters leave a file
of the current layout as it is.
"""

from __future__ import annotations

import copy
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


def current_augtree(old: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(old)
    for entry in data["datasets"].values():
        for size in ("subset_2000", "full"):
            for rows in entry.get(size, {}).get("by_depth", {}).values():
                cart = rows["cart"]["auc"]
                for method, row in rows.items():
                    if method not in ("cart", "cart_constrained"):
                        row["auc_minus_cart"] = difference(row["auc"] - cart)
                for row in rows.values():
                    row.update(auc=score(row["auc"]), accuracy=score(row["accuracy"]))
            bag = entry.get(size, {}).get("bagging")
            if bag:
                forest = bag["random_forest"]["auc"]
                for k in ("bagged_none", "bagged_embedding"):
                    bag[k]["auc_minus_random_forest"] = difference(bag[k]["auc"] - forest)
                for k in ("random_forest", "bagged_none", "bagged_embedding"):
                    bag[k].update(auc=score(bag[k]["auc"]), accuracy=score(bag[k]["accuracy"]))
    data.pop("summary_full")  # a run without the full splits
    return {**RECORD, **data}


def current_factors(old: dict[str, Any]) -> dict[str, Any]:
    datasets = {
        name: {
            depth: {
                setting: {"auc": score(auc)}
                | (
                    {"minus_sklearn_defaults": difference(auc - row["sklearn_defaults"])}
                    if setting != "sklearn_defaults"
                    else {}
                )
                for setting, auc in row.items()
            }
            for depth, row in by_depth.items()
        }
        for name, by_depth in old.items()
        if isinstance(by_depth, dict)
    }
    return {**RECORD, "benchmark": "augtree_factors", "quick": False, "depths": [2, 3, 5]} | {
        "datasets": datasets
    }


def current_orange(old: dict[str, Any]) -> dict[str, Any]:
    datasets = copy.deepcopy(old["datasets"])
    datasets.pop("election_tweets")  # measured elsewhere now
    for d in datasets.values():
        d["accuracy"] = {m: score(a) for m, a in d["accuracy"].items()}
        for key in ("default_minus_tfidf", "default_minus_sentence_embedding"):
            d[key] = difference(d[key]) | {"mcnemar_p": 0.5}
    return {**RECORD, "benchmark": "auglinear_heldout_orange", "split": old["split"]} | {
        "encoder": old["encoder"],
        "quick": False,
        "datasets": datasets,
    }


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

    write("augtree", current_augtree(read("augtree")))
    write("augtree_factors", current_factors(read("augtree_factors")))
    write("auglinear_heldout_orange", current_orange(read("auglinear_heldout_orange")))
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
    assert "## Full training splits" in tree and "full splits:" not in tree  # no summary_full
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
    for name, adapt in (
        ("augtree", gen_docs._old_layout_augtree),
        ("augtree_factors", gen_docs._old_layout_augtree_factors),
        ("auglinear_heldout_orange", gen_docs._old_layout_auglinear_heldout_orange),
        ("protolm", gen_docs._old_layout_protolm),
    ):
        data = gen_docs.load(name)
        assert adapt(data) == data, name
    remote, where = gen_docs._old_layout_proxy_remote()
    assert where == "`proxy_explanations_remote.json`" and "latency" in remote


def test_the_adapters_give_the_old_layout_the_current_shape():
    gen_docs.load.cache_clear()
    try:
        factors = gen_docs._old_layout_augtree_factors(gen_docs.load("augtree_factors"))
        row = factors["datasets"]["sms_spam"]["2"]["stop_word_ngrams_dropped"]
        assert row["auc"] == {"value": 0.6703, "ci95": None}
        assert row["minus_sklearn_defaults"]["difference"] == pytest.approx(0.6703 - 0.7981)
        proto = gen_docs._old_layout_protolm(gen_docs.load("protolm"))
        assert proto["protolm_accuracy"]["ci95"] is None
        assert gen_docs.score_cell(proto["protolm_accuracy"]) == "0.845"
    finally:
        gen_docs.load.cache_clear()
