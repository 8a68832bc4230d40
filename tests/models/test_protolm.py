"""Proto-LM on a tiny random BERT (seconds), plus a short MiniLM integration run."""

import json

import numpy as np
import pytest
from sklearn.base import clone

from glasstext import ProtoLMClassifier, finetune_encoder
from glasstext.explain import Attribution, comprehensiveness, sufficiency
from glasstext.explain.metrics import attention_attribution, attention_faithfulness
from glasstext.io import ModelFileError
from glasstext.models import load_model
from glasstext.models.protolm import ProtoExplanation, similarity_from_distance
from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "the", "a", "is", "was", "story"]


def make_texts(n=96, seed=0, classes=2):
    pools = [NEG, POS, ["acting", "story"]][:classes]
    return planted_texts(n, pools, ["neg", "pos", "neutral"], FILLER, 3, seed)


FAST = {
    "warmup_epochs": 1,
    "epochs": 4,
    "last_layer_epochs": 5,
    "patience": 3,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "head_learning_rate": 1e-2,
}


@pytest.fixture(scope="module")
def data():
    return make_texts()


@pytest.fixture(scope="module")
def fitted(tiny_bert_dir, data):
    X, y = data
    return ProtoLMClassifier(encoder=tiny_bert_dir, n_prototypes_per_class=3, **FAST).fit(X, y)


# -- fitting and prototypes ---------------------------------------------------------------


def test_learns_the_task_and_records_every_stage(fitted, data):
    X, y = data
    assert fitted.score(X, y) >= 0.9
    stages = [h["stage"] for h in fitted.history_]
    assert stages[0] == "warm-up" and "joint" in stages and stages[-1] == "last-layer"
    assert all("validation_accuracy" in h for h in fitted.history_)
    assert list(fitted.classes_) == ["neg", "pos"]
    assert fitted.fit_seconds_ > 0


def test_every_prototype_is_a_real_training_sentence_of_its_class(fitted, data):
    X, y = data
    assert len(fitted.prototypes_) == 6 == fitted.prototype_vectors_.shape[0]
    sentences = [p["sentence"] for p in fitted.prototypes_]
    assert len(set(sentences)) == 6  # distinct sentences
    for j, record in enumerate(fitted.prototypes_):
        i = record["train_index"]
        assert record["prototype"] == j
        assert X[i] == record["sentence"]
        assert y[i] == record["class"] == fitted.classes_[fitted.prototype_classes_[j]]
    # recomputed with the final encoder and attention: the same vectors
    recomputed = fitted.embed(sentences)
    np.testing.assert_allclose(recomputed, fitted.prototype_vectors_, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(fitted.prototype_vectors_, axis=1), 1.0, atol=1e-5)


def test_prediction_is_similarity_to_prototypes_through_the_last_layer(fitted, data):
    X, _ = data
    z = fitted.embed(X[:7]).astype(np.float64)
    d = np.clip(2 - 2 * z @ fitted.prototype_vectors_.T.astype(np.float64), 0, None)
    logits = similarity_from_distance(d) @ fitted.last_layer_.T
    np.testing.assert_allclose(fitted.logits(X[:7]), logits, rtol=1e-4, atol=1e-4)
    proba = fitted.predict_proba(X[:7])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.array_equal(fitted.predict(X[:7]), fitted.classes_[proba.argmax(axis=1)])
    diff = fitted.decision_function(X[:7])
    np.testing.assert_allclose(diff, logits[:, 1] - logits[:, 0], rtol=1e-4, atol=1e-4)


def test_last_layer_starts_protopnet_style(tiny_bert_dir, data):
    X, y = data
    model = ProtoLMClassifier(
        encoder=tiny_bert_dir, n_prototypes_per_class=2, **{**FAST, "last_layer_epochs": 0}
    ).fit(X, y)
    expected = np.array([[1.0, 1.0, -0.5, -0.5], [-0.5, -0.5, 1.0, 1.0]])
    np.testing.assert_array_equal(model.last_layer_, expected)


def test_seeded_training_is_repeatable(tiny_bert_dir, data):
    X, y = data
    settings = {**FAST, "epochs": 2, "last_layer_epochs": 2}
    a = ProtoLMClassifier(encoder=tiny_bert_dir, n_prototypes_per_class=2, **settings).fit(X, y)
    b = ProtoLMClassifier(encoder=tiny_bert_dir, n_prototypes_per_class=2, **settings).fit(X, y)
    np.testing.assert_array_equal(a.prototype_vectors_, b.prototype_vectors_)
    np.testing.assert_array_equal(a.last_layer_, b.last_layer_)
    assert a.prototypes_ == b.prototypes_ and a.history_ == b.history_
    np.testing.assert_array_equal(a.predict_proba(X[:10]), b.predict_proba(X[:10]))
    c = clone(a).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(a.prototype_vectors_, c.prototype_vectors_)


def test_fit_does_not_touch_the_global_torch_seed(tiny_bert_dir, data):
    import torch

    X, y = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    model = ProtoLMClassifier(encoder=tiny_bert_dir, n_prototypes_per_class=1, **FAST)
    model.set_params(epochs=1).fit(X[:40], y[:40])
    assert torch.equal(torch.rand(3), expected)


def test_multiclass_with_diversity_and_frozen_layers(tiny_bert_dir):
    X, y = make_texts(120, classes=3)
    model = ProtoLMClassifier(
        encoder=tiny_bert_dir,
        n_prototypes_per_class=2,
        diversity_weight=0.1,
        freeze_layers=1,
        **FAST,
    ).fit(X, y)
    assert model.last_layer_.shape == (3, 6)
    assert "diversity" in model.history_[0]
    assert model.decision_function(X[:4]).shape == (4, 3)
    assert sorted({p["class"] for p in model.prototypes_}) == ["neg", "neutral", "pos"]
    assert model.score(X, y) > 0.5


def test_no_validation_split(tiny_bert_dir, data):
    X, y = data
    model = ProtoLMClassifier(
        encoder=tiny_bert_dir,
        n_prototypes_per_class=1,
        validation_fraction=0.0,
        **{**FAST, "epochs": 1, "last_layer_epochs": 1},
    ).fit(X, y)
    assert all("validation_loss" not in h for h in model.history_)


def test_a_fine_tuned_folder_is_an_encoder_too(tiny_bert_dir, data, tmp_path):
    X, y = data
    folder = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "ft", epochs=1)
    model = ProtoLMClassifier(encoder=folder, n_prototypes_per_class=1, **FAST).fit(X, y)
    assert model.score(X, y) > 0.5


# -- explanations ---------------------------------------------------------------------------


def test_explain_contributions_add_up_to_the_logits(fitted, data):
    X, _ = data
    e = fitted.explain(X[1], k=3)
    assert isinstance(e, ProtoExplanation)
    assert e.contributions.shape == (6, 2) and e.similarities.shape == (6,)
    np.testing.assert_allclose(e.contributions.sum(axis=0), e.logits, rtol=1e-12)
    np.testing.assert_allclose(e.logits, fitted.logits([X[1]])[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        e.contributions, (fitted.last_layer_ * e.similarities[None, :]).T, rtol=1e-6
    )
    assert e.prediction == fitted.predict([X[1]])[0]
    assert len(e.prototypes) == 3
    sims = [m.similarity for m in e.prototypes]
    assert sims == sorted(sims, reverse=True) and sims[0] == pytest.approx(e.similarities.max())
    for m in e.prototypes:
        record = fitted.prototypes_[m.prototype]
        assert m.sentence == record["sentence"] and m.label == record["class"]
        assert m.train_index == record["train_index"]
        np.testing.assert_allclose(m.contributions, e.contributions[m.prototype])
    text = str(e)
    assert "most similar training sentences" in text and e.prototypes[0].sentence in text
    json.dumps(e.to_dict())  # JSON-ready


def test_a_training_sentence_is_most_similar_to_its_own_prototype(fitted):
    record = fitted.prototypes_[4]
    e = fitted.explain(record["sentence"], k=1)
    assert e.prototypes[0].prototype == 4
    assert e.prototypes[0].distance == pytest.approx(0.0, abs=1e-5)


def test_attention_masks_padding_and_sums_to_one(fitted):
    e = fitted.explain("good movie", k=1)
    tokens = [t for t, _ in e.tokens]
    assert tokens == ["[CLS]", "good", "movie", "[SEP]"]  # no padding tokens
    assert sum(w for _, w in e.tokens) == pytest.approx(1.0, abs=1e-6)
    assert [w for w, _ in e.words] == ["good", "movie"]
    # padding in a batch changes nothing: a short text alone and beside a long one
    alone = fitted.embed(["good movie"])
    batched = fitted.embed(["good movie", "the film was really very very boring and dull"])[0]
    np.testing.assert_allclose(alone[0], batched, atol=1e-5)


def test_attention_attribution_feeds_the_shared_metrics(fitted):
    text = "the movie was good and fun"
    a = attention_attribution(fitted, text)
    assert isinstance(a, Attribution) and a.method == "attention"
    assert a.words == ("the", "movie", "was", "good", "and", "fun")
    assert a.explained_class == int(np.argmax(fitted.predict_proba([text])[0]))
    assert (a.scores >= 0).all() and a.scores.sum() <= 1.0 + 1e-9
    c = comprehensiveness(a, fitted)
    s = sufficiency(a, fitted)
    assert np.isfinite(c) and np.isfinite(s)


def test_attention_faithfulness_against_lime(fitted, data):
    X, _ = data
    result = attention_faithfulness(fitted, X[:4], lime_samples=50, seed=0)
    assert result.n_texts == 4 and len(result.per_text) == 4
    for name in ("attention", "lime", "random"):
        figures = getattr(result, name)
        assert set(figures) == {"comprehensiveness", "sufficiency"}
        assert all(np.isfinite(v) for v in figures.values())
    assert result.model_calls > 0
    again = attention_faithfulness(fitted, X[:4], lime_samples=50, seed=0)
    assert again.to_dict()["lime"] == result.to_dict()["lime"]
    json.dumps(result.to_dict(per_text=True))


def test_export_text_lists_the_prototypes(fitted):
    text = fitted.export_text()
    assert "class 'neg':" in text and "class 'pos':" in text
    assert all(p["sentence"] in text for p in fitted.prototypes_)


# -- persistence --------------------------------------------------------------------------


def test_save_and_load_predict_identically(fitted, data, tmp_path):
    X, _ = data
    path = fitted.save(tmp_path / "proto")
    files = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert {"model.json", "arrays.safetensors", "encoder/model.safetensors"} <= files
    assert not [f for f in files if f.endswith((".bin", ".pkl", ".pt", ".pth"))]
    loaded = ProtoLMClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.prototype_vectors_, fitted.prototype_vectors_)
    assert loaded.prototypes_ == fitted.prototypes_
    assert loaded.get_params() == {**fitted.get_params(), "encoder": str(fitted.encoder)}
    e1, e2 = fitted.explain(X[0]), loaded.explain(X[0])
    np.testing.assert_array_equal(e1.contributions, e2.contributions)
    assert type(load_model(path)) is ProtoLMClassifier


def test_a_tampered_encoder_file_is_reported(fitted, tmp_path):
    path = fitted.save(tmp_path / "proto")
    weights = path / "encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        ProtoLMClassifier.load(path)
    (path / "encoder" / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        ProtoLMClassifier.load(path)


def test_other_model_kinds_are_refused(tmp_path):
    from glasstext.io import save_model

    save_model(tmp_path / "other", "AugLinearClassifier", {}, {"x": np.zeros(1)})
    with pytest.raises(ModelFileError, match="not a ProtoLMClassifier"):
        ProtoLMClassifier.load(tmp_path / "other")


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        ([], [], ValueError, "empty"),
        ("good movie", [1], TypeError, "single string"),
        (["good", 3], [1, 0], TypeError, "expected str"),
        (["good", "bad"], [1, 1], ValueError, "single class"),
        (["good", "bad", "fun"], [1, 0], ValueError, "labels"),
        (["good", "bad"], [1.0, np.nan], ValueError, "NaN"),
        (["good", ""], [1, 0], ValueError, "blank"),
        (["good", "bad", "good"], [1, 0, 1], ValueError, "distinct training text"),
    ],
)
def test_bad_inputs_get_clear_errors(tiny_bert_dir, X, y, error, match):
    model = ProtoLMClassifier(encoder=tiny_bert_dir, n_prototypes_per_class=2)
    with pytest.raises(error, match=match):
        model.fit(X, y)


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"n_prototypes_per_class": 0}, "n_prototypes_per_class"),
        ({"epochs": -1}, "epochs"),
        ({"max_length": 1}, "max_length"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"cluster_weight": -1.0}, "cluster_weight"),
        ({"separation_margin": 5.0}, "separation_margin"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"encoder": 42}, "encoder must be"),
    ],
)
def test_bad_settings_get_clear_errors(tiny_bert_dir, data, setting, match):
    X, y = data
    params = {"encoder": tiny_bert_dir, **setting}
    with pytest.raises((ValueError, TypeError), match=match):
        ProtoLMClassifier(**params).fit(X, y)


def test_unfitted_and_bad_prediction_inputs(fitted, tiny_bert_dir):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ProtoLMClassifier(encoder=tiny_bert_dir).predict(["good"])
    with pytest.raises(TypeError, match="single string"):
        fitted.predict("good movie")
    with pytest.raises(ValueError, match="empty"):
        fitted.explain("   ")
    with pytest.raises(ValueError, match="k must be"):
        fitted.explain("good", k=0)


# -- the real encoder -----------------------------------------------------------------------


@pytest.mark.integration
def test_rotten_tomatoes_with_minilm(tmp_path):
    from glasstext.datasets import load

    ds = load("rotten_tomatoes").subset(400, 200)
    model = ProtoLMClassifier(
        n_prototypes_per_class=3,
        max_length=48,
        epochs=2,
        learning_rate=1e-4,
        progress=False,
    ).fit(ds.X_train, ds.y_train)
    assert model.score(ds.X_test, ds.y_test) > 0.6
    sentences = [p["sentence"] for p in model.prototypes_]
    np.testing.assert_allclose(model.embed(sentences), model.prototype_vectors_, atol=1e-5)
    e = model.explain(ds.X_test[0])
    np.testing.assert_allclose(e.contributions.sum(axis=0), e.logits)
    path = model.save(tmp_path / "rt-proto")
    loaded = ProtoLMClassifier.load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(ds.X_test[:20]), model.predict_proba(ds.X_test[:20])
    )
