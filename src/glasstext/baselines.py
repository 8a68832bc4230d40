"""Reference models that glasstext's interpretable models are compared with.

Used by the demo and the benchmarks, so that every comparison in the README
is made against the same baselines, fit the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from glasstext.backends.runtime import blas_threads
from glasstext.text import tokenize


def _logistic_cv(random_state: int = 0) -> LogisticRegressionCV:
    folds = StratifiedKFold(5, shuffle=True, random_state=random_state)
    return LogisticRegressionCV(Cs=10, cv=folds, max_iter=3000, scoring="accuracy")


def _fit(model: Any, X: Any, y: Sequence[Any]) -> Any:
    with blas_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.9 default notices
        return model.fit(X, y)


def tfidf_logistic(X: Sequence[str], y: Any, ngram_range: tuple[int, int] = (1, 2)) -> Pipeline:
    """TF-IDF of word n-grams + logistic regression with C chosen by 5-fold CV."""
    vec = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, ngram_range=ngram_range)
    return _fit(make_pipeline(vec, _logistic_cv()), list(X), y)


def bag_of_ngrams_logistic(
    X: Sequence[str], y: Any, ngram_range: tuple[int, int] = (1, 2)
) -> Pipeline:
    """Binary bag of word n-grams + logistic regression with C chosen by 5-fold CV."""
    vec = CountVectorizer(
        tokenizer=tokenize, token_pattern=None, ngram_range=ngram_range, binary=True
    )
    return _fit(make_pipeline(vec, _logistic_cv()), list(X), y)


class SentenceEmbeddingLogistic:
    """Whole-text embedding (same encoder, mean pooling) + logistic regression.

    The black-box counterpart of Aug-Linear: the encoder reads the whole text,
    so it sees word order and context, but its prediction does not decompose
    into phrases and every prediction needs the encoder.
    """

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder

    def fit(self, X: Sequence[str], y: Any) -> SentenceEmbeddingLogistic:
        """Embed ``X`` and fit the logistic regression."""
        self.model_ = _fit(
            make_pipeline(StandardScaler(), _logistic_cv()), self.encoder.encode(list(X)), y
        )
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Predicted classes."""
        return np.asarray(self.model_.predict(self.encoder.encode(list(X))))

    def score(self, X: Sequence[str], y: Any) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
