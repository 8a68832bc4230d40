"""Aug-Linear on corpora whose dense intermediates do not fit in memory.

:meth:`AugLinearClassifier.fit` holds every document's n-gram list, the float64
embedding matrix and the dense ``documents x dim`` design matrix in memory, and
fits a cross-validated logistic regression on it: right for up to some
hundred thousand documents, several times the memory beyond. :func:`fit_large`
fits the same model (the same vocabulary, the same hybrid table of
``embedding part + phrase part`` per n-gram, predicted the same way) with
memory bounded by the number of distinct n-grams and a chunk, not by the
number of documents:

1. the texts are streamed once to count n-grams (``min_count`` cut);
2. the vocabulary is embedded chunk by chunk into a float16 file on disk;
3. the texts are streamed again into a sparse count matrix (int32, float32);
4. document vectors are computed chunk by chunk (only the embedding rows a
   chunk uses are read) and written to disk, with their mean and spread;
5. a linear model is trained by stochastic gradient descent, a few passes
   over the chunks (log loss for a classifier; squared loss on the
   standardised target for a regressor), on the standardised document
   vectors beside the idf-weighted counts, and folded back into the table.

The solver differs from ``fit``'s (SGD with a fixed ``alpha`` instead of a
cross-validated L-BFGS or ridge fit), so the table is close to, not equal to,
``fit``'s on the same data.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from glasstext.backends.distributed import embed_to_file
from glasstext.models.auglinear import (
    AugLinearClassifier,
    AugLinearRegressor,
    _idf,
    fit_composition,
)
from glasstext.text import NgramVocabulary, check_ngram_range, ngrams_of_tokens, tokenize
from glasstext.validation import check_target

__all__ = ["fit_large"]

Texts = Sequence[str] | Callable[[], Iterable[str]]
Model = AugLinearClassifier | AugLinearRegressor


def _stream(texts: Texts) -> Iterable[str]:
    return texts() if callable(texts) else texts


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _counts(
    vocab: NgramVocabulary, texts: Iterable[str], ngram_range: tuple[int, int], chunk_size: int
) -> sp.csr_matrix:
    """The document x n-gram count matrix, built a chunk of documents at a time."""
    parts = []
    for chunk in _chunks(texts, chunk_size):
        docs = [ngrams_of_tokens(tokenize(t), ngram_range) for t in chunk]
        part, _ = vocab.count_matrix(docs, dtype=np.float32)
        part.indices = part.indices.astype(np.int32)
        part.indptr = part.indptr.astype(np.int64)
        parts.append(part)
    return sp.vstack(parts, format="csr", dtype=np.float32)


def _doc_vectors(
    counts: sp.csr_matrix, embeddings: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """Summed embeddings of documents ``start:stop``, reading only the rows they use."""
    rows = counts[start:stop]
    used, local = np.unique(rows.indices, return_inverse=True)
    sub = sp.csr_matrix((rows.data, local.astype(np.int32), rows.indptr), (stop - start, len(used)))
    return np.asarray(sub @ np.asarray(embeddings[used], dtype=np.float32), dtype=np.float32)


def fit_large(
    model: Model,
    texts: Texts,
    y: Any,
    *,
    chunk_size: int = 20_000,
    epochs: int = 3,
    alpha: float = 1e-6,
    workdir: str | os.PathLike[str] | None = None,
) -> Model:
    """Fit ``model`` (its encoder, whose ``executor`` embeds the vocabulary, n-gram
    range, ``min_count``, ``hybrid``, ``random_state``) with bounded memory.

    The document vector is the sum of the n-gram embeddings (``doc_pooling``
    ``"auto"`` is taken as ``"sum"``; ``"mean"`` is refused).

    Parameters
    ----------
    model : AugLinearClassifier or AugLinearRegressor
        An unfitted model whose settings are used; returned fitted.
    texts : sequence of str, or a callable returning a fresh iterable of str
        The corpus; a callable (e.g. one reading a file line by line) is
        called once per pass, so the corpus never needs to be in memory.
    y : array-like of shape (n_documents,)
        Labels (a classifier) or numeric targets (a regressor).
    chunk_size : int, default=20000
        Documents per chunk (memory grows with it, not with the corpus).
    epochs : int, default=3
        SGD passes over the corpus.
    alpha : float, default=1e-6
        L2 regularisation of the SGD fit.
    workdir : path or None, default=None
        Where the float16 embeddings and document vectors are written (a
        temporary folder, removed afterwards, when ``None``).

    Returns
    -------
    AugLinearClassifier or AugLinearRegressor
        ``model``, fitted.
    """
    model._validate_params()
    ngram_range = check_ngram_range(model.ngram_range)
    if model.doc_pooling in ("sqrt", "mean"):  # "auto" is taken as the sum: one pass, no choice
        raise ValueError(
            f"fit_large sums n-gram embeddings; doc_pooling={model.doc_pooling!r} is not supported"
        )
    if model.embedding_weight != "none":
        raise ValueError("fit_large sums unweighted n-gram embeddings; use embedding_weight='none'")
    labels = np.asarray(y)
    clock = _Clock()
    vocab = NgramVocabulary.from_texts(_stream(texts), ngram_range, model.min_count)
    if len(vocab) == 0:
        raise ValueError("the training texts contain no words to build n-grams from")
    n_training = len(vocab)
    vocab.add(model._backoff_entries(vocab))
    clock.lap("count")
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        path = Path(folder) / "embeddings.f16"
        encoder = model._get_encoder()
        embeddings = embed_to_file(encoder, vocab.ngrams, path)
        clock.lap("embed")
        counts = _counts(vocab, _stream(texts), ngram_range, chunk_size)
        clock.lap("count_matrix")
        if counts.shape[0] != len(labels):
            raise ValueError(f"{counts.shape[0]} texts but {len(labels)} labels")
        labels = check_target(labels, counts.shape[0], model._task)
        weights, intercept, phrase_table = _sgd_fit(
            model, counts, embeddings, labels, chunk_size, epochs, alpha, Path(folder)
        )
        model.coef_ = weights
        table = np.zeros((len(vocab), weights.shape[0]))
        for start in range(0, len(vocab), chunk_size):
            block = np.asarray(embeddings[start : start + chunk_size], dtype=np.float64)
            table[start : start + chunk_size] = block @ weights.T
        composition = (
            fit_composition(embeddings, vocab, model.random_state) if model.compose else None
        )
        model._set_composition(composition, embeddings, chunk_size)
        model.embedding_dim_ = embeddings.shape[1]
        del embeddings
        clock.lap("linear_fit")
    model.vocabulary_ = vocab
    model.intercept_ = intercept
    model.embedding_table_ = table
    model.phrase_table_ = phrase_table
    model.coef_table_ = table + phrase_table
    model.n_ngrams_embedded_ = len(vocab)
    model.n_training_ngrams_ = n_training
    model.doc_pooling_, model.reference_length_ = "sum", 1.0
    model.training_length_ = float(max(np.median(np.asarray(counts.sum(axis=1)).ravel()), 1.0))
    model.unseen_weight_ = 1.0  # embedding_weight="none": every embedding as it is
    model._set_word_shapes()
    model.fit_seconds_ = clock.laps  # wall time of each step
    return model


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def _sgd_fit(
    model: Model,
    counts: sp.csr_matrix,
    embeddings: np.ndarray,
    labels: np.ndarray,
    chunk_size: int,
    epochs: int,
    alpha: float,
    folder: Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SGD on [standardised document vectors, idf * counts (hybrid)], folded back."""
    n_docs, dim = counts.shape[0], embeddings.shape[1]
    starts = range(0, n_docs, chunk_size)
    total, squares = np.zeros(dim), np.zeros(dim)
    vectors_file = folder / "doc_vectors.f32"
    with open(vectors_file, "wb") as out:  # computed once, read back per epoch
        for start in starts:
            block = _doc_vectors(counts, embeddings, start, min(start + chunk_size, n_docs))
            total += block.sum(axis=0, dtype=np.float64)
            squares += np.square(block, dtype=np.float64).sum(axis=0)
            out.write(block.tobytes())
    mean = total / n_docs
    scale = np.sqrt(np.maximum(squares / n_docs - mean**2, 0.0))
    scale[scale == 0] = 1.0
    weight = 1.0 if model.hybrid else 0.0
    phrase_scale = weight * _idf(counts)
    learner = _Learner(model, labels, alpha)
    with open(vectors_file, "rb") as source:
        for _ in range(epochs):
            for start in starts:
                stop = min(start + chunk_size, n_docs)
                source.seek(start * dim * 4)
                block = np.fromfile(source, np.float32, (stop - start) * dim).reshape(-1, dim)
                design: Any = (block - mean) / scale
                if weight:
                    phrase = counts[start:stop] @ sp.diags(phrase_scale)
                    design = sp.hstack([sp.csr_matrix(design), phrase], format="csr")
                learner.partial_fit(design, start, stop)
    coef, intercept = learner.coef_intercept()
    weights_on_sum = coef[:, :dim] / scale
    if weight:
        phrase_table = (coef[:, dim:] * phrase_scale).T
    else:
        phrase_table = np.zeros((counts.shape[1], coef.shape[0]))
    model.phrase_weight_ = weight
    model.alpha_ = alpha
    if isinstance(model, AugLinearClassifier):
        model.C_ = 1.0 / (alpha * n_docs)  # the same L2 strength in LogisticRegression's terms
    return weights_on_sum, intercept - weights_on_sum @ mean, phrase_table


class _Learner:
    """The SGD model of a classifier (log loss) or a regressor (squared loss).

    A regressor learns the standardised target (SGD's step sizes assume a
    target of unit scale) and its weights are scaled back afterwards.
    """

    def __init__(self, model: Model, labels: np.ndarray, alpha: float) -> None:
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        self.sgd: Any
        self.target: np.ndarray
        if isinstance(model, AugLinearRegressor):
            self.center = float(labels.mean())
            self.spread = float(labels.std()) or 1.0
            self.target = (labels - self.center) / self.spread
            self.sgd = SGDRegressor(alpha=alpha, random_state=model.random_state)
            self.classes: np.ndarray | None = None
        else:
            model.classes_, self.target = np.unique(labels, return_inverse=True)
            self.classes = np.arange(len(model.classes_))
            self.sgd = SGDClassifier(loss="log_loss", alpha=alpha, random_state=model.random_state)

    def partial_fit(self, design: Any, start: int, stop: int) -> None:
        if self.classes is None:
            self.sgd.partial_fit(design, self.target[start:stop])
        else:
            self.sgd.partial_fit(design, self.target[start:stop], classes=self.classes)

    def coef_intercept(self) -> tuple[np.ndarray, np.ndarray]:
        """``(coef (n_outputs, n_features), intercept (n_outputs,))`` on the original scale."""
        coef = np.atleast_2d(self.sgd.coef_)
        intercept = np.atleast_1d(self.sgd.intercept_).astype(np.float64)
        if self.classes is None:
            return coef * self.spread, intercept * self.spread + self.center
        return coef, intercept
