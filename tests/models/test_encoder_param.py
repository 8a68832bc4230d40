"""One ``encoder=`` value for every model: a name, a folder or an Encoder whose settings nest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from glasstext import (
    AugLinearClassifier,
    AugLinearRegressor,
    AugTreeClassifier,
    Encoder,
    ProtoLMClassifier,
)
from glasstext.exceptions import InvalidParameterError, ModelFileError
from synthetic import NEG, POS, planted_texts

MODELS = (AugLinearClassifier, AugLinearRegressor, AugTreeClassifier, ProtoLMClassifier)
FILLER = ["movie", "film", "plot", "acting", "the", "a", "is", "was", "and", "very", "story"]


def make_texts(n, seed=0):
    return planted_texts(n, [NEG, POS], [0, 1], FILLER, 4, seed)


def test_the_aug_linear_constructor_holds_at_most_fifteen_settings():
    assert len(AugLinearClassifier().get_params(deep=False)) <= 15
    assert len(AugLinearRegressor().get_params(deep=False)) <= 15


@pytest.mark.parametrize("cls", MODELS)
def test_nested_encoder_settings_work_on_a_default_model(cls):
    model = cls()
    assert model.encoder == "all-MiniLM-L6-v2"  # a name by default, never a shared object
    model.set_params(encoder__precision="int8", encoder__device="cpu")
    assert isinstance(model.encoder, Encoder)
    assert model.encoder.get_params()["model"] == "all-MiniLM-L6-v2"
    assert model.get_params()["encoder__precision"] == "int8"
    copy = clone(model)
    assert copy.encoder is not model.encoder
    assert copy.get_params()["encoder__precision"] == "int8"
    assert cls().encoder == "all-MiniLM-L6-v2"  # the default was not changed


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("keyword", ["precision", "n_threads", "cache"])
def test_a_moved_keyword_names_its_new_spelling(cls, keyword):
    with pytest.raises(TypeError) as caught:
        cls(**{keyword: 1})
    message = str(caught.value)
    assert message.startswith(f"{keyword}= moved into the encoder: {cls.__name__}(encoder=")
    assert f"Encoder('all-MiniLM-L6-v2', {keyword}=1)" in message and "\n" not in message


def test_the_moved_message_uses_the_given_encoder_name():
    with pytest.raises(TypeError, match=r"encoder=Encoder\('my-model', precision='int8'\)"):
        AugLinearClassifier("my-model", precision="int8")


def test_an_unknown_keyword_stays_pythons_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        AugLinearClassifier(nonsense=1)


def test_set_params_with_a_new_name_and_its_settings_at_once():
    model = AugLinearClassifier().set_params(encoder="other", encoder__batch_size=8)
    assert model.encoder.get_params()["model"] == "other"
    assert model.encoder.batch_size == 8


def test_grid_search_over_an_encoder_setting(tiny_bert_dir):
    X, y = make_texts(40)
    model = AugLinearClassifier(Encoder(str(tiny_bert_dir), cache=False), encoder_words=0, cv=2)
    search = GridSearchCV(model, {"encoder__precision": ["fp32", "bf16"]}, cv=2).fit(X, y)
    assert search.best_params_["encoder__precision"] in ("fp32", "bf16")
    assert model.encoder.precision == "auto"  # the searched model's encoder is untouched
    assert search.best_estimator_.encoder.precision == search.best_params_["encoder__precision"]


def test_an_encoders_settings_are_checked_before_any_work():
    with pytest.raises(InvalidParameterError, match="pooling"):
        AugLinearClassifier(Encoder(pooling="max")).fit(["good film", "bad film"], [1, 0])


def test_runtime_settings_are_not_saved_and_vector_settings_are(tiny_bert_dir, tmp_path):
    X, y = make_texts(40)
    encoder = Encoder(str(tiny_bert_dir), pooling="cls", precision="fp32", cache=False)
    model = AugLinearClassifier(encoder, encoder_words=0, cv=2).fit(X, y)
    path = model.save(tmp_path / "m")
    params = json.loads((path / "model.json").read_text())["config"]["params"]
    assert params["encoder"] == {"model": str(tiny_bert_dir), "pooling": "cls"}
    loaded = AugLinearClassifier.load(path)
    assert loaded.encoder.get_params() == Encoder(str(tiny_bert_dir), pooling="cls").get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    plain = AugLinearClassifier(Encoder(str(tiny_bert_dir), cache=False), encoder_words=0, cv=2)
    saved = plain.fit(X, y).save(tmp_path / "plain")
    assert AugLinearClassifier.load(saved).encoder == str(tiny_bert_dir)


def test_a_folder_of_the_earlier_api_loads():
    saved = {
        "encoder": "all-MiniLM-L6-v2",
        "precision": "int8",
        "batch_size": 64,
        "n_jobs": -1,
        "n_threads": 2,
        "device": "cuda",
        "cache": "/somewhere/else.sqlite",
        "executor": "ray",
        "phrase_weight": "cv",
        "embedding_norm": "none",
        "pooling": "cls",
        "layer": -1,
        "prefix": "",
        "min_count": 2,
    }
    model = AugLinearClassifier._from_saved_params(saved, "old")
    assert model.min_count == 2
    assert model.encoder.get_params() == Encoder(pooling="cls").get_params()
    default = {k: v for k, v in saved.items() if k != "pooling"}
    assert AugLinearClassifier._from_saved_params(default, "old").encoder == "all-MiniLM-L6-v2"


def test_a_folder_fit_with_unit_embeddings_is_refused():
    saved = {"encoder": "all-MiniLM-L6-v2", "embedding_norm": "unit"}
    with pytest.raises(ModelFileError, match="embedding_norm='unit'"):
        AugLinearClassifier._from_saved_params(saved, "old")


@pytest.mark.parametrize(
    "encoder",
    [
        {"pooling": "cls"},  # no model name
        {"model": "m", "device": "cuda"},  # a run-time setting is never read from a folder
        {"model": "m", "pooling": "max"},  # checked as fit checks it
    ],
)
def test_a_saved_encoder_mapping_is_checked(encoder):
    with pytest.raises(ModelFileError, match="invalid parameter"):
        AugLinearClassifier._from_saved_params({"encoder": encoder}, "bad")


def test_protolm_refuses_encoder_settings_it_does_not_use():
    model = ProtoLMClassifier(Encoder(pooling="cls"))
    with pytest.raises(InvalidParameterError, match="leave the encoder's pooling at the default"):
        model.fit(["good film", "bad film"] * 4, [1, 0] * 4)


def test_an_encoder_holding_a_store_clones_and_shares_it(tmp_path):
    from sklearn.base import clone

    from glasstext import AugLinearClassifier, Encoder
    from glasstext.backends.cache import SqliteStore
    from glasstext.backends.encoder import get_encoder

    store = SqliteStore(tmp_path / "c.sqlite")
    model = AugLinearClassifier(encoder=Encoder("all-MiniLM-L6-v2", cache=store))
    copy = clone(model)
    assert copy.encoder is not model.encoder and copy.encoder.cache is store
    assert get_encoder(model.encoder, batch_size=8).cache is store
