"""The benchmark harness: run records, result files, intervals and sealed labels."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import harness


@pytest.fixture(autouse=True)
def fewer_resamples(monkeypatch):
    monkeypatch.setattr(harness, "N_RESAMPLES", 300)


def test_a_result_file_records_command_commit_and_machine(tmp_path):
    run = harness.Run(argv=["benchmarks/x.py", "--quick", "--out", "a b.json"])
    path = harness.write_result(tmp_path / "r.json", run, {"accuracy": {"rt": 0.5}})
    saved = json.loads(path.read_text())
    assert saved["command"] == "python benchmarks/x.py --quick --out 'a b.json'"
    assert len(saved["git_commit"]) == 40 and isinstance(saved["git_clean"], bool)
    assert saved["packages"]["numpy"] == np.__version__
    machine = saved["machine"]
    for key in ("cpu", "cores", "load_average_start", "load_average_end", "peak_rss_mb"):
        assert machine[key]
    assert machine["wall_seconds"] >= 0
    assert saved["accuracy"] == {"rt": 0.5}


def test_the_record_names_the_thread_variables_that_are_set(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    path = harness.write_result(tmp_path / "r.json", harness.Run(argv=["x.py"]), {})
    threads = json.loads(path.read_text())["machine"]["thread_environment"]
    assert threads["OMP_NUM_THREADS"] == "1"
    assert "MKL_NUM_THREADS" not in threads


def test_results_may_not_overwrite_the_record(tmp_path):
    with pytest.raises(ValueError, match="command"):
        harness.write_result(tmp_path / "r.json", harness.Run(), {"command": "forged"})
    assert not (tmp_path / "r.json").exists()


def test_a_non_finite_figure_writes_no_file(tmp_path):
    with pytest.raises(ValueError):
        harness.write_result(tmp_path / "r.json", harness.Run(), {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_accuracy_interval_brackets_the_value_and_narrows_with_more_texts():
    rng = np.random.default_rng(0)
    small_y = rng.integers(0, 2, 100)
    small = harness.accuracy(small_y, np.where(rng.random(100) < 0.8, small_y, 1 - small_y))
    large_y = rng.integers(0, 2, 4000)
    large = harness.accuracy(large_y, np.where(rng.random(4000) < 0.8, large_y, 1 - large_y))
    for r in (small, large):
        assert r["ci95"][0] <= r["value"] <= r["ci95"][1]
    assert np.diff(large["ci95"])[0] < np.diff(small["ci95"])[0] / 3


def test_identical_models_differ_within_noise():
    y = np.array([0, 1] * 50)
    pred = y.copy()
    pred[:10] = 1 - pred[:10]
    d = harness.paired_accuracy_difference(y, pred, pred)
    assert d["difference"] == 0 and d["within_noise"] and d["mcnemar_p"] == 1.0


def test_a_clearly_better_model_is_not_within_noise():
    y = np.array([0, 1] * 200)
    good, bad = y.copy(), y.copy()
    bad[:120] = 1 - bad[:120]
    d = harness.paired_accuracy_difference(y, good, bad)
    assert d["difference"] == pytest.approx(0.3)
    assert d["ci95"][0] > 0 and not d["within_noise"] and d["mcnemar_p"] < 1e-6


def test_mcnemar_counts_only_the_texts_where_the_models_differ():
    y = np.zeros(20, dtype=int)
    a = np.zeros(20, dtype=int)
    b = a.copy()
    b[:6] = 1  # A right and B wrong on 6 texts, never the other way round
    assert harness.mcnemar_p(y, a, b) == pytest.approx(2 * 0.5**6)


def test_auc_intervals_keep_every_class_in_each_resample():
    y = np.array([0] * 95 + [1] * 5)
    score = np.linspace(0, 1, 100)
    result = harness.auc(y, score)
    assert result["value"] == 1.0 and result["ci95"] == pytest.approx([1.0, 1.0])
    three = np.repeat([0, 1, 2], 30)
    informative = np.eye(3)[three] + np.random.default_rng(0).random((90, 3))
    noise = np.random.default_rng(1).random((90, 3))
    as_proba = [m / m.sum(axis=1, keepdims=True) for m in (informative, noise)]
    d = harness.paired_auc_difference(three, *as_proba)
    assert d["difference"] > 0.2 and not d["within_noise"]


def test_over_draws_gives_a_t_interval():
    result = harness.over_draws([0.70, 0.72, 0.74])
    assert result["mean"] == pytest.approx(0.72)
    assert result["ci95"][0] < 0.70 and result["ci95"][1] > 0.74  # t with 2 df is wide
    assert harness.over_draws([0.5])["ci95"] is None


def test_sealed_labels_refuse_every_read_until_unsealed():
    labels = harness.SealedLabels(["a", "b", "a"])
    for read in (np.asarray, len, list, lambda x: x[0], lambda x: np.mean(x == "a")):
        with pytest.raises(RuntimeError, match="before the selection"):
            read(labels)
    assert list(labels.unseal()) == ["a", "b", "a"]
    assert np.asarray(labels).tolist() == ["a", "b", "a"] and labels[1] == "b"


def test_rank_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.random(200) + 0.3 * y, 1)  # with ties
    assert harness.auc(y, score)["value"] == pytest.approx(roc_auc_score(y, score))
    y3 = rng.integers(0, 3, 200)
    proba = rng.dirichlet(np.ones(3), 200)
    multi = roc_auc_score(y3, proba, multi_class="ovr")
    assert harness.auc(y3, proba)["value"] == pytest.approx(multi)


def test_empty_cache_home_points_glasstext_at_a_new_empty_folder(monkeypatch):
    monkeypatch.setenv("GLASSTEXT_HOME", "/nonexistent")
    first = harness.empty_cache_home()
    assert harness.os.environ["GLASSTEXT_HOME"] == first
    assert Path(first).is_dir() and not any(Path(first).iterdir())
    assert harness.empty_cache_home() != first


def test_result_files_written_by_earlier_parts_leave_the_tree_clean(tmp_path, monkeypatch):
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "a.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(harness, "REPO", tmp_path)
    assert harness.git_state()["git_clean"] is True
    (tmp_path / "benchmarks" / "results" / "a.json").write_text('{"part": 1}')
    assert harness.git_state()["git_clean"] is True  # an output, not code
    (tmp_path / "code.py").write_text("x = 2\n")
    assert harness.git_state()["git_clean"] is False
