"""A toy model on the model protocol, registered for one test at a time.

It exercises the generic ``glasstext fit NAME`` builder with every kind of
declared parameter (float and int intervals, options, flags on and off, a
tuple, a seed, threads, free text, an int-or-word), and save / load / show /
predict / explain through the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from glasstext.exceptions import LMServerError
from glasstext.models import base
from glasstext.models.base import GlassModel
from glasstext.results import ResultMixin
from glasstext.validation import Interval, Options


class ToyResult(ResultMixin):
    def __init__(self, text: str, words: list[str]) -> None:
        self.text, self.words = text, words

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        return {"text": self.text, "words": self.words if top is None else self.words[:top]}

    def __str__(self) -> str:
        return f"toy explanation of {self.text!r}"


class _Toy(GlassModel, BaseEstimator):
    _fitted_attribute = "value_"
    cli_name = "toy"
    cli_help = "a toy model for the CLI tests"
    cli_options: ClassVar[dict[str, str]] = {
        "alpha": "a float (100% toy)",
        "n_iter": "an int",
        "mode": "a choice",
        "shout": "a flag, off by default",
        "lower": "a flag, on by default",
        "ngram_range": "smallest and largest n",
        "random_state": "the seed",
        "n_threads": "threads",
        "lm": "a language model",
        "max_words": "an int or 'all'",
        "fail": "raise this error in fit",
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "alpha": [Interval(float, 0, None)],
        "n_iter": [Interval(int, 1)],
        "mode": [Options(("fast", "slow"))],
        "shout": ["boolean"],
        "lower": ["boolean"],
        "ngram_range": [tuple],
        "random_state": [None, Interval(int)],
        "n_threads": [None, Interval(int, 1)],
        "lm": [None, str],
        "max_words": [Interval(int, 1), Options(("all",)), None],
        "fail": [Options(("nothing", "lm", "user"))],
    }

    def __init__(
        self,
        alpha: float = 0.5,
        n_iter: int = 3,
        *,
        mode: str = "fast",
        shout: bool = False,
        lower: bool = True,
        ngram_range: tuple[int, int] = (1, 2),
        random_state: int | None = None,
        n_threads: int | None = None,
        lm: str | None = None,
        max_words: int | str | None = "all",
        fail: str = "nothing",
    ) -> None:
        self.alpha = alpha
        self.n_iter = n_iter
        self.mode = mode
        self.shout = shout
        self.lower = lower
        self.ngram_range = ngram_range
        self.random_state = random_state
        self.n_threads = n_threads
        self.lm = lm
        self.max_words = max_words
        self.fail = fail

    def fit(self, X: Any, y: Any) -> _Toy:
        self._validate_params()
        if self.fail == "lm":
            raise LMServerError("the toy server is down", url="http://127.0.0.1:1/v1")
        if self.fail == "user":
            raise ValueError("the toy refuses these texts")
        self._learn(np.asarray(y))
        return self

    def fit_notes(self, X_test: Any = None) -> list[str]:
        return [f"toy notes: {'no' if X_test is None else len(X_test)} test texts"]

    def export_text(self) -> str:
        return f"toy model with alpha={self.alpha}"

    def explain(self, text: str) -> ToyResult:
        return ToyResult(text, text.split())

    def _state_config(self) -> dict[str, Any]:
        return {}

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"value": np.atleast_1d(self.value_)}

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        self.value_ = arrays["value"][0]


class ToyClassifier(ClassifierMixin, _Toy):
    _task = "classification"

    def _learn(self, y: np.ndarray) -> None:
        self.classes_, counts = np.unique(y, return_counts=True)
        self.value_ = int(np.argmax(counts))

    def _state_config(self) -> dict[str, Any]:
        return {"classes": [str(c) for c in self.classes_]}

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        super()._restore_state(config, arrays, folder)
        self.classes_ = np.asarray(config["classes"])

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray([self.classes_[int(self.value_)]] * len(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, int(self.value_)] = 1.0
        return proba


class ToyRegressor(RegressorMixin, _Toy):
    _task = "regression"

    def _learn(self, y: np.ndarray) -> None:
        self.value_ = float(np.mean(y.astype(float)))

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.value_)


@pytest.fixture
def toy_model(monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    """Register the toy classifier and regressor for one test."""
    base.model_types()  # the built-in models first, so the registry is complete
    for cls in (ToyClassifier, ToyRegressor):
        monkeypatch.setitem(base._REGISTRY, cls.__name__, cls)
    return {"classification": ToyClassifier, "regression": ToyRegressor}


@pytest.fixture
def scores_csv(tmp_path: Path) -> Path:
    """Texts with numeric labels (a regression dataset)."""
    path = tmp_path / "scores.csv"
    path.write_text("text,label\n" + "".join(f"film number {i},{i / 4}\n" for i in range(20)))
    return path
