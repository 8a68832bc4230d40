"""auglinear_accuracy.py chooses ``auglinear_selected`` on training texts only.

The real ``evaluate`` / ``select_variant`` of the benchmark run here with cheap
models in place of the Aug-Linear variants, and with the test labels sealed
(``harness.SealedLabels``): the selection must finish without reading them, a
selection that peeks must fail, and the labels are read once the choice is made.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import harness

auglinear_accuracy = pytest.importorskip("auglinear_accuracy")


@pytest.fixture(autouse=True)
def fewer_resamples(monkeypatch):
    monkeypatch.setattr(harness, "N_RESAMPLES", 200)


def majority(X, y):
    """A model predicting the majority class of its training labels."""
    value = np.bincount(np.asarray(y)).argmax()

    class Majority:
        def predict(self, texts):
            return np.full(len(texts), value)

    return Majority()


def keyword(X, y):
    """A model that reads the texts: class 1 exactly when 'good' is in the text."""

    class Keyword:
        def predict(self, texts):
            return np.array([int("good" in t) for t in texts])

    return Keyword()


def data(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = [("good film" if label else "bad film") + f" {i}" for i, label in enumerate(y)]
    return X, y


def methods():
    return {
        "tfidf_lr": majority,
        "bag_of_ngrams_lr": majority,
        "sentence_embedding_lr": majority,
        "auglinear_default": majority,
        "auglinear_pure": keyword,
    }


def test_selection_reads_no_test_label_and_picks_on_validation():
    X_train, y_train = data(200, 0)
    X_test, y_test = data(100, 1)
    sealed = harness.SealedLabels(y_test)
    report = auglinear_accuracy.evaluate(
        methods(), ["auglinear_default", "auglinear_pure"], X_train, y_train, X_test, sealed
    )
    assert report["selection"]["selected"] == "auglinear_pure"
    assert set(report["selection"]["validation_accuracy"]) == {
        "auglinear_default",
        "auglinear_pure",
    }
    selected = report["methods"]["auglinear_selected"]["accuracy"]
    assert selected["value"] == 1.0
    assert report["differences"]["selected_minus_default"]["difference"] > 0
    assert "oracle" in report["oracle_best_on_test"]["note"]


def test_test_labels_cannot_be_read_before_the_selection_is_done():
    X_train, y_train = data(200, 0)
    X_test, y_test = data(100, 1)
    sealed = harness.SealedLabels(y_test)
    with pytest.raises(RuntimeError, match="before the selection"):
        np.asarray(sealed)
    with pytest.raises(RuntimeError, match="before the selection"):
        len(sealed)

    def peeking(X, y):  # a candidate whose fit looks at the test labels
        np.mean(np.asarray(sealed))
        return keyword(X, y)

    with pytest.raises(RuntimeError, match="before the selection"):
        auglinear_accuracy.evaluate(
            {**methods(), "auglinear_pure": peeking},
            ["auglinear_default", "auglinear_pure"],
            X_train,
            y_train,
            X_test,
            sealed,
        )


def test_a_selection_rule_that_scores_on_test_fails(monkeypatch):
    X_train, y_train = data(200, 0)
    X_test, y_test = data(100, 1)
    sealed = harness.SealedLabels(y_test)

    def on_test(candidates, X, y):  # what the old auglinear_best did
        scores = {
            name: np.mean(np.asarray(factory(X, y).predict(X_test)) == sealed)
            for name, factory in candidates.items()
        }
        return {"selected": max(scores, key=scores.get)}

    monkeypatch.setattr(auglinear_accuracy, "select_variant", on_test)
    with pytest.raises(RuntimeError, match="before the selection"):
        auglinear_accuracy.evaluate(
            methods(), ["auglinear_default", "auglinear_pure"], X_train, y_train, X_test, sealed
        )


def test_the_validation_split_comes_from_the_training_texts_only():
    X_train, y_train = data(100, 0)
    X_fit, X_val, _, y_val = auglinear_accuracy.carve_validation(X_train, y_train)
    assert sorted(X_fit + X_val) == sorted(X_train)
    assert len(X_val) == 20 and set(np.unique(y_val)) == {0, 1}


def test_the_docs_aggregate_reads_the_part_files_by_role(tmp_path):
    def part(name: str, role: str) -> dict:
        acc = {"value": 0.8, "ci95": [0.7, 0.9]}
        return {
            "command": f"python benchmarks/auglinear_accuracy.py --part {name}",
            "git_commit": "0" * 40,
            "git_clean": True,
            "part": name,
            "role": role,
            "methods": {"tfidf_lr": {"accuracy": acc}, "auglinear_default": {"accuracy": acc}},
            "selection": {"selected": "auglinear_default"},
            "differences": {},
        }

    for name, role in (("sms_spam", "development"), ("trec_questions", "evaluation_only")):
        (tmp_path / f"{name}.json").write_text(json.dumps(part(name, role)))
    table = auglinear_accuracy.aggregate(tmp_path)
    assert list(table["development"]) == ["sms_spam"]
    assert list(table["evaluation_only"]) == ["trec_questions"]
    assert table["files"]["sms_spam"]["git_clean"] is True
