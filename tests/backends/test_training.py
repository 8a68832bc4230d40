"""The one training loop (train_epochs) and the one pooling function (pool_hidden)."""

import numpy as np
import pytest

from glasstext import finetune_encoder
from glasstext.backends.training import pool_hidden, seeded, train_epochs

torch = pytest.importorskip("torch")


def _problem(n=40, seed=0):
    """A linear regression a one-weight model learns in a few epochs."""
    g = np.random.default_rng(seed)
    x = torch.as_tensor(g.normal(size=(n, 1)), dtype=torch.float32)
    y = 3.0 * x[:, 0]
    return x, y


def _fit(n_epochs=5, seed=0, **loop):
    x, y = _problem()
    with seeded(seed) as rng:
        model = torch.nn.Sequential(torch.nn.Dropout(0.0), torch.nn.Linear(1, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

        def step(rows):
            index = torch.as_tensor(rows)
            loss = torch.nn.functional.mse_loss(model(x[index])[:, 0], y[index])
            return loss, {"loss": float(loss.detach()), "rows": float(len(rows))}

        trained = train_epochs(
            step,
            module=model,
            optimizer=optimizer,
            rows=np.arange(30),
            n_epochs=n_epochs,
            batch_size=8,
            rng=rng,
            progress=False,
            **loop,
        )
    return model, trained


def test_records_every_epoch_with_averaged_figures():
    _, trained = _fit(record={"stage": "demo"})
    assert [h["epoch"] for h in trained.history] == [1, 2, 3, 4, 5]
    assert all(list(h)[:2] == ["stage", "epoch"] and h["stage"] == "demo" for h in trained.history)
    # batch figures are weighted by batch size: 30 rows in batches of 8, 8, 8, 6
    assert trained.history[0]["rows"] == round((3 * 8 * 8 + 6 * 6) / 30, 6)
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]
    assert trained.best_epoch == 5  # no validation: the last epoch's weights


def test_the_same_seed_gives_the_same_training():
    a, ta = _fit(seed=3)
    b, tb = _fit(seed=3)
    _, tc = _fit(seed=4)
    assert ta.history == tb.history
    assert torch.equal(a[1].weight, b[1].weight)
    assert ta.history != tc.history


def test_early_stopping_restores_the_best_epoch():
    losses = iter([0.5, 0.3, 0.4, 0.35, 0.2])
    weights = []
    x, y = _problem()
    with seeded(0) as rng:
        model = torch.nn.Sequential(torch.nn.Dropout(0.0), torch.nn.Linear(1, 1))

        def validate():
            weights.append(float(model[1].weight.detach()))
            return {"validation_loss": next(losses), "validation_accuracy": 0.1234567}

        def step(rows):
            index = torch.as_tensor(rows)
            loss = torch.nn.functional.mse_loss(model(x[index])[:, 0], y[index])
            return loss, {"loss": float(loss.detach())}

        trained = train_epochs(
            step,
            module=model,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            rows=np.arange(30),
            n_epochs=5,
            batch_size=8,
            rng=rng,
            validate=validate,
            patience=1,
            progress=False,
        )
    assert len(trained.history) == 4  # worse twice after epoch 2: stopped
    assert trained.best_epoch == 2
    assert float(model[1].weight.detach()) == weights[1]  # epoch 2's weights restored
    assert trained.history[0]["validation_accuracy"] == 0.123457  # rounded to 6 decimals


def test_validation_without_patience_runs_every_epoch():
    losses = iter([0.1, 0.9, 0.9, 0.9, 0.9])
    _, trained = _fit(validate=lambda: {"validation_loss": next(losses)}, patience=None)
    assert len(trained.history) == 5 and trained.best_epoch == 5
    assert trained.history[1]["validation_loss"] == 0.9


def test_frozen_parts_stay_in_evaluation_mode():
    seen = []
    x, y = _problem()
    with seeded(0) as rng:
        model = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(1, 1))

        def step(rows):
            seen.append((model.training, model[0].training))
            index = torch.as_tensor(rows)
            loss = torch.nn.functional.mse_loss(model(x[index])[:, 0], y[index])
            return loss, {}

        train_epochs(
            step,
            module=model,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            rows=np.arange(30),
            n_epochs=2,
            batch_size=8,
            rng=rng,
            frozen=(model[0],),
            progress=False,
        )
    assert set(seen) == {(True, False)}


def test_warmup_ratio_schedules_the_learning_rate():
    rates = []
    x, y = _problem()
    with seeded(0) as rng:
        model = torch.nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)

        def step(rows):
            rates.append(optimizer.param_groups[0]["lr"])
            index = torch.as_tensor(rows)
            return torch.nn.functional.mse_loss(model(x[index])[:, 0], y[index]), {}

        train_epochs(
            step,
            module=model,
            optimizer=optimizer,
            rows=np.arange(32),
            n_epochs=2,
            batch_size=8,
            rng=rng,
            warmup_ratio=0.25,
            progress=False,
        )
    assert len(rates) == 8  # 2 epochs of 4 steps; 2 warm-up steps
    assert rates[0] < rates[1] < rates[2] and rates[2] > rates[5] > rates[7] > 0


def test_length_batches_group_similar_lengths():
    got = []
    with seeded(0) as rng:
        model = torch.nn.Linear(1, 1)

        def step(rows):
            got.append(sorted(rows.tolist()))
            return model.weight.sum() * 0.0, {}

        train_epochs(
            step,
            module=model,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            rows=np.arange(100, 116),
            lengths=np.array([1] * 8 + [50] * 8),
            n_epochs=1,
            batch_size=8,
            rng=rng,
            progress=False,
        )
    assert sorted(got) == [list(range(100, 108)), list(range(108, 116))]


# -- pooling -----------------------------------------------------------------------


def test_pool_hidden():
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).view(2, 3, 2)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    torch.testing.assert_close(pool_hidden(hidden, mask, "cls"), hidden[:, 0])
    torch.testing.assert_close(pool_hidden(hidden, mask, "last"), hidden[[0, 1], [2, 1]])
    expected = torch.stack([hidden[0].mean(0), hidden[1, :2].mean(0)])
    torch.testing.assert_close(pool_hidden(hidden, mask, "mean"), expected)
    with pytest.raises(ValueError, match="pooling"):
        pool_hidden(hidden, mask, "max")


# -- fine-tuning settings are checked before any model is loaded ------------------------


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"learning_rate": 0}, r"learning_rate must be a number > 0"),
        ({"head_learning_rate": True}, "head_learning_rate"),
        ({"epochs": 1.5}, "epochs must be an int"),
        ({"patience": -1}, "patience"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ({"warmup_ratio": -0.1}, "warmup_ratio"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"ngram_weight": float("inf")}, "ngram_weight"),
        ({"ngrams_per_text": 0}, "ngrams_per_text"),
        ({"seed": "zero"}, "seed"),
        ({"output_dir": ""}, "output_dir"),
    ],
)
def test_bad_finetune_settings_fail_before_loading(tmp_path, setting, match):
    settings = {"output_dir": tmp_path / "x", **setting}
    with pytest.raises(ValueError, match=match):  # no such model: settings fail first
        finetune_encoder(["good", "bad"], [1, 0], encoder=tmp_path / "no-model", **settings)
