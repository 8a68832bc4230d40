"""Aug-Linear with bounded memory: streamed counting, float16 embeddings on disk, SGD."""

from __future__ import annotations

import numpy as np
import pytest

import ray_fakes
from glasstext.backends.distributed import embed_to_file
from glasstext.models import AugLinearClassifier, AugLinearRegressor
from glasstext.models.auglinear_large import fit_large
from glasstext.text import NgramVocabulary, extract_ngrams

TEXTS = ["good fun film", "bad dull plot", "good acting and fun", "dull and bad acting"] * 30
LABELS = np.array([1, 0, 1, 0] * 30)


def test_streamed_vocabulary_is_the_in_memory_one():
    for min_count in (1, 2, 40):
        streamed = NgramVocabulary.from_texts(iter(TEXTS[:7]), (1, 2), min_count)
        docs = [extract_ngrams(t, (1, 2)) for t in TEXTS[:7]]
        assert streamed.ngrams == NgramVocabulary.from_documents(docs, min_count).ngrams


def test_embed_to_file_is_float16_of_the_vectors(tmp_path):
    texts = [f"w{i}" for i in range(10)]
    got = embed_to_file(ray_fakes.HashEncoder(), texts, tmp_path / "e.f16", chunk_size=3)
    assert got.dtype == np.float16 and got.shape == (10, 8)
    want = ray_fakes.HashEncoder().encode(texts).astype(np.float16)
    np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize("hybrid", [True, False])
def test_fit_large_learns_and_predicts_like_a_fitted_model(tmp_path, hybrid):
    model = AugLinearClassifier(ray_fakes.HashEncoder(), (1, 2), hybrid=hybrid)
    fit_large(model, lambda: iter(TEXTS), LABELS, chunk_size=25, epochs=5, workdir=tmp_path)
    assert (
        model.vocabulary_.ngrams
        == AugLinearClassifier(ray_fakes.HashEncoder(), (1, 2))
        .fit(TEXTS, LABELS)
        .vocabulary_.ngrams
    )
    assert (model.predict(TEXTS) == LABELS).mean() == 1.0
    assert set(model.fit_seconds_) == {"count", "embed", "count_matrix", "linear_fit"}
    assert list(tmp_path.iterdir()) == []  # the on-disk intermediates are removed
    model.set_params(encoder="all-MiniLM-L6-v2")  # saveable: the table needs no encoder
    model.save(tmp_path / "m")
    again = AugLinearClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(again.coef_table_, model.coef_table_)


def test_fit_large_folds_the_composition_chunk_by_chunk(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20)]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(80)]
    labels = np.arange(80) % 2
    model = AugLinearClassifier(ray_fakes.HashEncoder(), (1, 2))
    fit_large(model, texts, labels, chunk_size=7, epochs=2, workdir=tmp_path)
    assert model.composition_ is not None
    # The tables hold the map of every row's (float16) embedding, whatever the chunks.
    vectors = ray_fakes.HashEncoder().encode(model.vocabulary_.ngrams).astype(np.float16)
    left, right = model._composition_values(vectors.astype(np.float64))
    np.testing.assert_allclose(model.left_table_, left, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.right_table_, right, rtol=1e-9, atol=1e-12)


def test_fit_large_checks_lengths():
    with pytest.raises(ValueError, match="labels"):
        fit_large(AugLinearClassifier(ray_fakes.HashEncoder()), TEXTS, LABELS[:5])


def test_fit_large_refuses_mean_pooling_before_any_work():
    model = AugLinearClassifier(ray_fakes.HashEncoder(), doc_pooling="mean")
    with pytest.raises(ValueError, match="doc_pooling"):
        fit_large(model, TEXTS, LABELS)


def test_fit_large_refuses_weighted_embeddings_before_any_work():
    model = AugLinearClassifier(ray_fakes.HashEncoder(), embedding_weight="idf")
    with pytest.raises(ValueError, match="embedding_weight"):
        fit_large(model, TEXTS, LABELS)


@pytest.mark.parametrize("hybrid", [True, False])
def test_fit_large_regressor_learns_the_target_on_its_scale(tmp_path, hybrid):
    target = 40.0 + 10.0 * LABELS  # far from zero mean and unit scale: SGD sees it standardised
    model = AugLinearRegressor(ray_fakes.HashEncoder(), (1, 2), hybrid=hybrid)
    fit_large(model, TEXTS, target, chunk_size=25, epochs=5, workdir=tmp_path)
    predicted = model.predict(TEXTS)
    assert np.abs(predicted - target).max() < 2.5  # each within a quarter of the gap
    assert not hasattr(model, "classes_") and model.alpha_ == 1e-6
    assert model.coef_table_.shape == (len(model.vocabulary_), 1)
    in_memory = AugLinearRegressor(ray_fakes.HashEncoder(), (1, 2), hybrid=hybrid).fit(
        TEXTS, target
    )
    assert model.vocabulary_.ngrams == in_memory.vocabulary_.ngrams
    assert np.corrcoef(predicted, in_memory.predict(TEXTS))[0, 1] > 0.95
    model.set_params(encoder="all-MiniLM-L6-v2")
    model.save(tmp_path / "m")
    np.testing.assert_allclose(AugLinearRegressor.load(tmp_path / "m").predict(TEXTS), predicted)


def test_fit_large_regressor_checks_the_target():
    with pytest.raises(ValueError, match="numbers"):
        fit_large(AugLinearRegressor(ray_fakes.HashEncoder()), TEXTS, ["a"] * 120)
