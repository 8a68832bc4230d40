"""Encoder fine-tuning on CPU and the shared training pieces (tiny BERT: seconds)."""

import json
import warnings

import numpy as np
import pytest

from glasstext import AugLinearClassifier, finetune_encoder
from glasstext.backends.encoder import Encoder, get_encoder
from glasstext.backends.finetune import (
    HEAD_FILE,
    INFO_FILE,
    FinetunedModel,
    finetune_info,
    infer_task,
)
from glasstext.backends.registry import resolve_model
from glasstext.backends.training import (
    EarlyStopping,
    freeze_lower_layers,
    length_batches,
    linear_warmup_schedule,
    load_trainable,
    validation_split,
)
from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "the", "a", "is", "was", "story"]


def make_texts(n=80, seed=0):
    return planted_texts(n, [NEG, POS], ["neg", "pos"], FILLER, 3, seed)


FAST = {
    "epochs": 6,
    "patience": 3,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "head_learning_rate": 1e-2,
    "n_threads": 1,
}


@pytest.fixture(scope="module")
def data():
    return make_texts()


@pytest.fixture(scope="module")
def tuned(tiny_bert_dir, data, tmp_path_factory):
    X, y = data
    folder = tmp_path_factory.mktemp("ft") / "tuned"
    return finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=folder, **FAST)


# -- the folder ----------------------------------------------------------------------


def test_returns_a_model_folder_with_settings_and_metrics(tuned, data):
    names = {p.name for p in tuned.iterdir()}
    assert {"config.json", "model.safetensors", INFO_FILE, HEAD_FILE} <= names
    assert not [n for n in names if n.endswith((".bin", ".pkl", ".pt"))]  # no pickle
    info = finetune_info(tuned)
    assert info == json.loads((tuned / INFO_FILE).read_text())
    assert info["task"] == "classification" and info["classes"] == ["neg", "pos"]
    assert info["n_train"] + info["n_validation"] == len(data[0])
    assert info["n_validation"] == 8  # validation_fraction=0.1, stratified
    assert 1 <= info["best_epoch"] <= info["epochs_run"] <= 6
    assert "validation_accuracy" in info["validation"]
    assert info["settings"]["max_length"] == 128 and info["settings"]["seed"] == 0


def test_the_fine_tuned_classifier_learned_the_task(tuned, data):
    X, y = data
    model = FinetunedModel(tuned)
    assert model.score(X, y) >= 0.9
    proba = model.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert set(model.predict(X[:10])) <= {"neg", "pos"}


def test_every_api_taking_an_encoder_accepts_the_folder(tuned, data, store):
    X, y = data
    assert resolve_model(tuned).path == str(tuned.resolve())
    enc = Encoder(tuned, cache=store, precision="fp32")
    vectors = enc.encode(["good movie", "bad film"])
    assert vectors.shape == (2, 16) and np.isfinite(vectors).all()
    model = AugLinearClassifier(encoder=Encoder(tuned, cache=store, precision="fp32")).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.score(X, y) >= 0.9


def test_fine_tuning_changes_the_encoder(tiny_bert_dir, tuned, store):
    base = Encoder(tiny_bert_dir, cache=store, precision="fp32").encode(["good movie"])
    after = Encoder(tuned, cache=store, precision="fp32").encode(["good movie"])
    assert not np.allclose(base, after)


def test_mean_pooling_matches_the_encoder(tuned, store):
    """The head was trained on the Encoder's own (default, mean) pooling."""
    import torch

    tokenizer, net = load_trainable(tuned)
    batch = tokenizer(["good fun movie"], return_tensors="pt")
    with torch.inference_mode():
        hidden = net.eval()(**batch).last_hidden_state
    manual = hidden.mean(dim=1)[0].numpy()
    encoded = Encoder(tuned, cache=store, precision="fp32").encode(["good fun movie"])[0]
    np.testing.assert_allclose(encoded, manual, atol=1e-5)


def test_seeded_training_is_repeatable(tiny_bert_dir, data, tmp_path):
    X, y = data
    a = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "a", **FAST)
    b = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "b", **FAST)
    c = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "c", seed=1, **FAST)
    from safetensors.numpy import load_file

    wa, wb, wc = (load_file(str(p / "model.safetensors")) for p in (a, b, c))
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key])
    assert any(not np.array_equal(wa[k], wc[k]) for k in wa)
    assert finetune_info(a)["history"] == finetune_info(b)["history"]


def test_refitting_into_the_same_folder_reloads_the_encoder(tiny_bert_dir, data, tmp_path):
    X, y = data
    folder = tmp_path / "same"
    finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=folder, epochs=1)
    first = get_encoder(folder, cache=False, precision="fp32")
    finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=folder, epochs=1, seed=5)
    second = get_encoder(folder, cache=False, precision="fp32")
    assert first is not second  # new weights, not the model loaded before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_regression(tiny_bert_dir, tmp_path):
    X, _ = make_texts(60)
    y = np.array([2.5 if any(w in t.split() for w in POS) else -1.5 for t in X])
    y = y + np.linspace(0, 0.1, len(y))
    settings = {**FAST, "epochs": 15, "patience": 20, "batch_size": 8}
    folder = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "reg", **settings)
    info = finetune_info(folder)
    assert info["task"] == "regression" and info["classes"] is None
    assert "validation_r2" in info["validation"]
    model = FinetunedModel(folder)
    assert model.score(X, y) > 0.5
    assert abs(float(np.mean(model.predict(X))) - float(np.mean(y))) < 1.0  # de-standardised
    with pytest.raises(ValueError, match="classification"):
        model.predict_proba(X[:2])


def test_ngram_objective_for_aug_linear(tiny_bert_dir, tmp_path, data, store):
    X, y = data
    settings = {**FAST, "ngram_weight": 1.0, "ngrams_per_text": 3}
    a = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "a", **settings)
    b = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "b", **settings)
    info = finetune_info(a)
    assert info["settings"]["ngram_weight"] == 1.0 and info["settings"]["ngram_range"] == [1, 2]
    assert info["history"] == finetune_info(b)["history"]  # the sampling is seeded too
    plain = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "p", **FAST)
    assert info["history"] != finetune_info(plain)["history"]
    model = AugLinearClassifier(encoder=Encoder(a, cache=store, precision="fp32")).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.score(X, y) >= 0.9
    with pytest.raises(ValueError, match="ngram_weight"):
        finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "x", ngram_weight=-1)
    with pytest.raises(ValueError, match="ngram_range"):
        finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "x", ngram_range=(2, 1))


def test_the_head_starts_at_a_linear_probe(tiny_bert_dir, tmp_path, data):
    X, y = data
    probed = finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "p", epochs=1)
    random = finetune_encoder(
        X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "r", epochs=1, head_init="random"
    )
    info = finetune_info(probed)
    assert info["settings"]["head_init"] == "probe" and 0.5 < info["probe_train_score"] <= 1.0
    assert finetune_info(random)["probe_train_score"] is None
    # one short epoch: the probed head already separates the classes, the random one less so
    assert FinetunedModel(probed).score(X, y) >= FinetunedModel(random).score(X, y)


def test_frozen_layers_do_not_move(tiny_bert_dir, tmp_path, data):
    from safetensors.numpy import load_file

    X, y = data
    folder = finetune_encoder(
        X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "f", freeze_layers=1, epochs=1
    )
    assert finetune_info(folder)["frozen_parameters"] > 0
    before = load_file(str(tiny_bert_dir / "model.safetensors"))
    after = load_file(str(folder / "model.safetensors"))
    assert before.keys() == after.keys()
    for key in after:
        moved = not np.array_equal(before[key], after[key])
        frozen = "embeddings." in key or ".layer.0." in key
        assert moved != frozen or "pooler" in key, key


def test_max_length_is_respected(tiny_bert_dir, tmp_path, data):
    X, y = data
    folder = finetune_encoder(
        X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "m", epochs=1, max_length=4
    )
    assert finetune_info(folder)["settings"]["max_length"] == 4
    long = " ".join(["good"] * 200)  # longer than the model's 64 positions: truncated
    assert FinetunedModel(folder).predict([long]).shape == (1,)


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        ([], [], ValueError, "empty"),
        ("good movie", [1], TypeError, "single string"),
        (["good", None], [1, 0], TypeError, "expected str"),
        (["good", "bad"], [1, 1], ValueError, "single class"),
        (["good", "bad"], [1], ValueError, "labels"),
        (["good", "bad"], [1.0, np.nan], ValueError, "NaN"),
        (["good", "  "], [1, 0], ValueError, "blank"),
    ],
)
def test_bad_inputs_get_clear_errors(tiny_bert_dir, tmp_path, X, y, error, match):
    with pytest.raises(error, match=match):
        finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_length": 1}, "max_length"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"freeze_layers": 9}, "freeze_layers"),
        ({"task": "ranking"}, "task"),
        ({"pooling": "max"}, "pooling"),
        ({"head_init": "zeros"}, "head_init"),
    ],
)
def test_bad_settings_get_clear_errors(tiny_bert_dir, tmp_path, data, setting, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        finetune_encoder(X, y, encoder=tiny_bert_dir, output_dir=tmp_path / "x", **setting)


def test_infer_task():
    assert infer_task(np.array([0, 1, 1])) == "classification"
    assert infer_task(np.array([0.0, 1.0])) == "classification"
    assert infer_task(np.array([0.5, 1.25])) == "regression"
    assert infer_task(["a", "b"]) == "classification"


# -- shared training pieces ---------------------------------------------------------------


def test_length_batches_cover_every_index_once_and_repeat_with_a_seed():
    lengths = np.random.default_rng(0).integers(1, 50, size=203)
    ordered = length_batches(lengths, 16)
    assert sorted(np.concatenate(ordered).tolist()) == list(range(203))
    assert all(np.all(np.diff(lengths[b]) >= 0) for b in ordered)
    a = length_batches(lengths, 16, np.random.default_rng(3), pool_batches=4)
    b = length_batches(lengths, 16, np.random.default_rng(3), pool_batches=4)
    c = length_batches(lengths, 16, np.random.default_rng(4), pool_batches=4)
    assert sorted(np.concatenate(a).tolist()) == list(range(203))
    assert all(np.array_equal(x, z) for x, z in zip(a, b, strict=True))
    assert not all(np.array_equal(x, z) for x, z in zip(a, c, strict=True))
    spread = np.mean([np.ptp(lengths[x]) for x in a])
    assert spread < np.ptp(lengths) / 2  # similar lengths batched together


def test_validation_split_is_seeded_and_stratified():
    y = np.array([0] * 30 + [1] * 10)
    train, val = validation_split(y, 0.25, seed=0, stratify=True)
    assert len(val) == 10 and sorted(np.concatenate([train, val]).tolist()) == list(range(40))
    assert np.bincount(y[val]).tolist() == [8, 2]
    again = validation_split(y, 0.25, seed=0, stratify=True)
    assert np.array_equal(val, again[1])
    none = validation_split(y, 0.0, seed=0, stratify=True)
    assert len(none[1]) == 0 and len(none[0]) == 40
    tiny = validation_split(np.array([0, 1, 1]), 0.5, seed=0, stratify=True)  # too small: plain
    assert len(tiny[1]) == 1


def test_early_stopping_keeps_the_best_weights():
    import torch

    layer = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    assert not stopper.update(0.5, layer)
    with torch.no_grad():
        layer.weight.fill_(2.0)
    assert not stopper.update(0.7, layer)  # worse once: within patience
    assert stopper.update(0.6, layer)  # worse twice: stop
    assert stopper.restore(layer) and stopper.best_step == 1
    assert layer.weight[0, 0].item() == 1.0


def test_linear_warmup_schedule_rises_then_falls():
    import torch

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    schedule = linear_warmup_schedule(opt, 2, 6)
    rates = []
    for _ in range(6):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.step()
    assert rates[0] < rates[1] < rates[2] and rates[2] > rates[3] > rates[5] > 0


def test_freeze_lower_layers(tiny_bert_dir):
    _, net = load_trainable(tiny_bert_dir)
    frozen = freeze_lower_layers(net, 1)
    assert frozen > 0
    assert not any(p.requires_grad for p in net.embeddings.parameters())
    assert not any(p.requires_grad for p in net.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in net.encoder.layer[1].parameters())
    with pytest.raises(ValueError, match="layers"):
        freeze_lower_layers(net, 3)


# -- the real encoder ------------------------------------------------------------------------


@pytest.mark.integration
def test_minilm_fine_tuned_on_rotten_tomatoes_serves_aug_linear(tmp_path):
    from glasstext.backends.cache import SqliteStore
    from glasstext.datasets import load

    ds = load("rotten_tomatoes").subset(300, 200)
    folder = finetune_encoder(
        ds.X_train,
        ds.y_train,
        output_dir=tmp_path / "rt-minilm",
        epochs=1,
        max_length=48,
        progress=False,
    )
    info = finetune_info(folder)
    assert info["epochs_run"] == 1 and info["n_validation"] == 30
    assert FinetunedModel(folder).score(ds.X_test, ds.y_test) > 0.6
    store = SqliteStore(tmp_path / "c.sqlite")
    model = AugLinearClassifier(encoder=Encoder(folder, cache=store), progress=False)
    model.fit(ds.X_train, ds.y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.score(ds.X_test, ds.y_test) > 0.55  # 300 snippets: above chance
