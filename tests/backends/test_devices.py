"""Devices: resolution, validation, precision per device, and CPU results unchanged.

Every device code path is exercised on the CPU: GPUs are simulated by
monkeypatching what torch reports (``torch.cuda.is_available``,
``device_count``, ``is_bf16_supported``, ``torch.backends.mps.is_available``).
Nothing here loads a model onto a GPU.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from glasstext import AugLinearClassifier, AugTreeClassifier, ProtoLMClassifier
from glasstext.backends import devices
from glasstext.backends.devices import (
    DeviceName,
    check_device,
    encoder_precision,
    lm_precision,
    resolve_device,
)
from glasstext.backends.encoder import Encoder, get_encoder
from glasstext.backends.lm import LocalCausalLM, get_lm
from glasstext.backends.runtime import resolve_precision
from glasstext.exceptions import InvalidParameterError
from glasstext.models.base import load_model
from synthetic import NEG, POS, planted_texts


def machine(monkeypatch, n_gpus=0, bf16=True, mps=False):
    """Make torch report ``n_gpus`` CUDA GPUs (and MPS) without touching a real one."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n_gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n_gpus)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.fixture
def cpu_only(monkeypatch):
    machine(monkeypatch, n_gpus=0)


# -- resolution and validation ----------------------------------------------------------


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    machine(monkeypatch, n_gpus=0)
    assert resolve_device("auto") == "cpu"
    machine(monkeypatch, n_gpus=0, mps=True)
    assert resolve_device("auto") == "mps"
    machine(monkeypatch, n_gpus=2, mps=True)
    assert resolve_device("auto") == "cuda:0"
    assert resolve_device() == "cuda:0"


def test_explicit_devices_resolve_when_present(monkeypatch):
    machine(monkeypatch, n_gpus=2, mps=True)
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("cuda") == "cuda:0"
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("mps") == "mps"


def test_cpu_needs_no_torch_query(monkeypatch):
    def boom():
        raise AssertionError("torch was asked about GPUs for device='cpu'")

    monkeypatch.setattr(torch.cuda, "is_available", boom)
    assert resolve_device("cpu") == "cpu"


def test_cuda_without_a_gpu_is_a_clear_error(cpu_only):
    for name in ("cuda", "cuda:0"):
        with pytest.raises(InvalidParameterError, match="no CUDA GPU is available"):
            resolve_device(name)


def test_a_gpu_index_beyond_the_visible_ones_is_named(monkeypatch):
    machine(monkeypatch, n_gpus=1)
    with pytest.raises(InvalidParameterError, match=r"'cuda:1'.*only 1 CUDA device.*cuda:0\)"):
        resolve_device("cuda:1")


def test_mps_when_absent_is_a_clear_error(cpu_only):
    with pytest.raises(InvalidParameterError, match="MPS backend is not available"):
        resolve_device("mps")


@pytest.mark.parametrize("bad", ["gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", " cpu", "", 0, None])
def test_misspelt_devices_are_refused_before_torch(bad):
    with pytest.raises(InvalidParameterError, match="device must be 'auto'"):
        check_device(bad)
    with pytest.raises(InvalidParameterError, match="device must be"):
        resolve_device(bad)
    assert not DeviceName().accepts(bad)


def test_device_errors_are_value_and_type_errors(cpu_only):
    with pytest.raises(ValueError):
        resolve_device("cuda")
    with pytest.raises(TypeError):
        resolve_device("tpu")


# -- precision per device ---------------------------------------------------------------


@pytest.mark.parametrize("setting", ["auto", "fp32", "bf16", "int8"])
def test_cpu_precision_is_unchanged(setting):
    assert encoder_precision(setting, "cpu") == resolve_precision(setting)


def test_gpu_precision_is_half_where_safe(monkeypatch):
    machine(monkeypatch, n_gpus=1, bf16=True)
    assert encoder_precision("auto", "cuda:0") == "bf16"
    assert lm_precision("auto", "cuda:0") == "bf16"
    machine(monkeypatch, n_gpus=1, bf16=False)  # e.g. a T4 or V100
    assert encoder_precision("auto", "cuda:0") == "fp16"
    assert lm_precision("auto", "cuda:0") == "fp32"  # fp16 overflows in some LMs
    assert encoder_precision("fp32", "cuda:0") == "fp32"
    assert encoder_precision("fp16", "cuda:0") == "fp16"
    assert encoder_precision("auto", "mps") == "fp32"
    assert lm_precision("auto", "mps") == "fp32"
    assert lm_precision("auto", "cpu") == "fp32"


def test_precisions_a_device_cannot_run_are_refused():
    with pytest.raises(InvalidParameterError, match=r"int8.*CPU kernels"):
        encoder_precision("int8", "cuda:0")
    with pytest.raises(InvalidParameterError, match=r"fp16.*GPU only"):
        encoder_precision("fp16", "cpu")
    with pytest.raises(InvalidParameterError, match="precision"):
        lm_precision("int8", "cpu")


def test_to_device_leaves_cpu_tensors_alone():
    t = torch.ones(2)
    assert devices.to_device(t, "cpu") is t
    batch = {"input_ids": t}
    assert devices.to_device(batch, "cpu") is batch
    assert devices.fork_devices("cpu") == [] and devices.fork_devices("cuda:1") == [1]


# -- the encoder ------------------------------------------------------------------------


def test_encoder_cpu_and_auto_give_identical_vectors(tiny_bert_dir, cpu_only):
    texts = ["good film", "a dull and boring plot", "x"]
    on_cpu = Encoder(tiny_bert_dir, cache=False, precision="fp32", device="cpu")
    auto = Encoder(tiny_bert_dir, cache=False, precision="fp32", device="auto")
    np.testing.assert_array_equal(on_cpu.encode(texts), auto.encode(texts))
    assert on_cpu.device_ == auto.device_ == "cpu"
    assert auto.device == "auto"  # the setting stays as given


def test_the_cache_key_holds_the_precision_not_the_device(tiny_bert_dir, monkeypatch):
    machine(monkeypatch, n_gpus=1, bf16=True)
    gpu = Encoder(tiny_bert_dir, cache=False, precision="fp32", device="cuda")  # not loaded
    cpu = Encoder(tiny_bert_dir, cache=False, precision="fp32", device="cpu")
    assert gpu.namespace == cpu.namespace and gpu.device_ == "cuda:0"
    assert "cuda" not in gpu.namespace
    half = Encoder(tiny_bert_dir, cache=False, device="cuda")  # auto: bf16 on this GPU
    assert '"precision":"bf16"' in half.namespace and half.precision_ == "bf16"


def test_a_cpu_vector_is_a_cache_hit_for_a_gpu_encoder(tiny_bert_dir, store, monkeypatch):
    cpu = Encoder(tiny_bert_dir, cache=store, precision="fp32", device="cpu")
    want = cpu.encode(["good film", "bad plot"])
    machine(monkeypatch, n_gpus=1)
    gpu = Encoder(tiny_bert_dir, cache=store, precision="fp32", device="cuda:0")
    np.testing.assert_array_equal(gpu.encode(["good film", "bad plot"]), want)
    assert gpu.n_cache_hits == 2 and gpu.n_encoded == 0 and gpu._net is None


def test_encoder_device_errors_come_before_the_model_loads(tiny_bert_dir, cpu_only):
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        Encoder(tiny_bert_dir, device="cuda").encode(["good"])
    with pytest.raises(InvalidParameterError, match="device must be"):
        Encoder(tiny_bert_dir, device="gpu").encode(["good"])


def test_get_encoder_shares_one_model_for_auto_and_the_device_it_means(tiny_bert_dir, cpu_only):
    auto = get_encoder(tiny_bert_dir, precision="fp32", cache=False, device="auto")
    assert get_encoder(tiny_bert_dir, precision="fp32", cache=False, device="cpu") is auto
    assert get_encoder(tiny_bert_dir, precision="fp32", cache=False) is auto


# -- the local causal LM ----------------------------------------------------------------


def test_lm_cpu_and_auto_score_identically(tiny_lm_dir, cpu_only):
    pairs = [("The film was", " good"), ("The film was", " bad"), ("Hello", " world")]
    on_cpu = LocalCausalLM(tiny_lm_dir, cache=False, device="cpu")
    auto = LocalCausalLM(tiny_lm_dir, cache=False)
    assert on_cpu.device == auto.device == "cpu"
    assert on_cpu.precision == auto.precision == "fp32"  # as before devices existed
    prompts = [p for p, _ in pairs]
    conts = [c for _, c in pairs]
    np.testing.assert_array_equal(
        on_cpu.continuation_logprobs(prompts, conts), auto.continuation_logprobs(prompts, conts)
    )
    a = on_cpu.generate(["Once upon"], max_new_tokens=4, temperature=1.0, seed=3)
    b = auto.generate(["Once upon"], max_new_tokens=4, temperature=1.0, seed=3)
    assert a == b


def test_get_lm_keys_by_resolved_device_and_precision(tiny_lm_dir, cpu_only):
    auto = get_lm(tiny_lm_dir)
    assert get_lm(tiny_lm_dir, device="cpu") is auto
    assert get_lm(tiny_lm_dir, precision="fp32", device="cpu") is auto
    assert get_lm(tiny_lm_dir, precision="bf16") is not auto
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        get_lm(tiny_lm_dir, device="cuda")
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        LocalCausalLM(tiny_lm_dir, device="cuda:0")


def test_lm_on_a_gpu_keeps_its_cache_key(tiny_lm_dir, monkeypatch):
    cpu = LocalCausalLM(tiny_lm_dir, cache=False, device="cpu")
    machine(monkeypatch, n_gpus=1, bf16=True)
    gpu = LocalCausalLM(tiny_lm_dir, cache=False, precision="fp32", device="cuda")
    assert gpu.device == "cuda:0" and gpu._output_settings() == cpu._output_settings()
    assert LocalCausalLM(tiny_lm_dir, cache=False, device="cuda").precision == "bf16"


# -- estimators: results unchanged, device not saved -------------------------------------

FILLER = ["movie", "film", "plot", "acting", "the", "a", "is", "was", "and", "very", "story"]


def make_texts(n, seed=0):
    return planted_texts(n, [NEG, POS], [0, 1], FILLER, 4, seed)


def test_auglinear_cpu_and_auto_fit_the_same_table(tiny_bert_dir, cpu_only):
    X, y = make_texts(60)
    kw = {"cache": False, "precision": "fp32"}
    a = AugLinearClassifier(Encoder(str(tiny_bert_dir), **kw, device="cpu")).fit(X, y)
    b = AugLinearClassifier(Encoder(str(tiny_bert_dir), **kw)).fit(X, y)
    assert b.encoder.device == "auto"  # stored untouched, as scikit-learn wants
    np.testing.assert_array_equal(a.coef_table_, b.coef_table_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)


def test_saved_models_hold_no_device(tiny_bert_dir, store, tmp_path, cpu_only):
    X, y = make_texts(60)
    kw = {"cache": store, "precision": "fp32"}
    on_cpu = AugLinearClassifier(Encoder(str(tiny_bert_dir), **kw, device="cpu")).fit(X, y)
    auto = AugLinearClassifier(Encoder(str(tiny_bert_dir), **kw, device="auto")).fit(X, y)
    a, b = on_cpu.save(tmp_path / "a"), auto.save(tmp_path / "b")
    config_a = json.loads((a / "model.json").read_text())
    config_b = json.loads((b / "model.json").read_text())
    assert "device" not in config_a["config"]["params"]
    assert config_a == config_b  # the device changes nothing saved
    assert (a / "arrays.safetensors").read_bytes() == (b / "arrays.safetensors").read_bytes()
    loaded = load_model(a)
    assert loaded.encoder == str(tiny_bert_dir)  # the name: the device is a run-time setting
    np.testing.assert_array_equal(loaded.coef_table_, on_cpu.coef_table_)


def test_a_saved_device_is_ignored_on_load():
    params = AugLinearClassifier._params_from_saved({"device": "cuda:3", "min_count": 2})
    assert params == {"min_count": 2}


def test_estimators_take_and_check_a_device(cpu_only):
    for cls in (AugLinearClassifier, AugTreeClassifier, ProtoLMClassifier):
        assert cls().set_params(encoder__device="cuda:1").get_params()["encoder__device"] == (
            "cuda:1"
        )
    with pytest.raises(InvalidParameterError, match="device must be"):
        AugLinearClassifier(Encoder(device="gpu")).fit(["good film", "bad film"], [1, 0])
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        AugLinearClassifier(Encoder(device="cuda", cache=False)).fit(
            ["good film", "bad film"], [1, 0]
        )
    with pytest.raises(InvalidParameterError, match="device must be"):
        ProtoLMClassifier(Encoder(device="gpu")).fit(["good film", "bad film"], [1, 0])


def test_protolm_cpu_and_auto_train_the_same_model(tiny_bert_dir, cpu_only, tmp_path):
    X, y = planted_texts(48, [NEG, POS], ["neg", "pos"], FILLER, 3, 0)
    fast = {
        "n_prototypes_per_class": 2,
        "warmup_epochs": 1,
        "epochs": 1,
        "last_layer_epochs": 2,
        "batch_size": 16,
    }
    a = ProtoLMClassifier(Encoder(tiny_bert_dir, n_threads=1, device="cpu"), **fast).fit(X, y)
    b = ProtoLMClassifier(Encoder(tiny_bert_dir, n_threads=1), **fast).fit(X, y)
    np.testing.assert_array_equal(a.prototype_vectors_, b.prototype_vectors_)
    np.testing.assert_array_equal(a.predict_proba(X[:5]), b.predict_proba(X[:5]))
    path = b.save(tmp_path / "proto")
    assert "device" not in json.loads((path / "model.json").read_text())["config"]["params"]
    loaded = ProtoLMClassifier.load(path)
    np.testing.assert_allclose(loaded.predict_proba(X[:5]), b.predict_proba(X[:5]), atol=1e-6)
    loaded.set_params(encoder__device="cuda")
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        loaded.predict(X[:2])


def test_finetune_cpu_and_auto_write_the_same_weights(tiny_bert_dir, cpu_only, tmp_path):
    from safetensors.numpy import load_file

    from glasstext import finetune_encoder
    from glasstext.backends.finetune import FinetunedModel

    X, y = make_texts(40)
    fast = {"epochs": 1, "batch_size": 16, "n_threads": 1, "encoder": tiny_bert_dir}
    a = finetune_encoder(X, y, output_dir=tmp_path / "a", device="cpu", **fast)
    b = finetune_encoder(X, y, output_dir=tmp_path / "b", **fast)
    wa, wb = (load_file(str(p / "model.safetensors")) for p in (a, b))
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert "device" not in (a / "glasstext_finetune.json").read_text()
    np.testing.assert_array_equal(
        FinetunedModel(a, device="cpu").decision_function(X[:4]),
        FinetunedModel(b).decision_function(X[:4]),
    )
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        finetune_encoder(X, y, output_dir=tmp_path / "c", device="cuda", **fast)


# -- the command line ---------------------------------------------------------------------


def _subcommand(parser, *names):
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize(
    "path",
    [
        ("fit", "auglinear"),
        ("fit", "augtree"),
        ("fit", "protolm"),
        ("finetune",),
        ("explain-llm",),
        ("summarize",),
        ("explain-module",),
        ("explain-dataset",),
    ],
)
def test_every_command_running_a_model_takes_device(path):
    from glasstext.cli import build_parser

    parser = _subcommand(build_parser(full=True), *path)
    (action,) = [a for a in parser._actions if "--device" in a.option_strings]
    assert action.default == "auto" and action.dest in ("device", "encoder__device")
    assert "cuda:N" in action.help and "auto" in action.help
    assert action.type("cuda:1") == "cuda:1"
    with pytest.raises(argparse.ArgumentTypeError, match="expected 'auto'"):
        action.type("gpu")


def test_fit_device_flag_reaches_the_model(tmp_path, train_csv, monkeypatch):
    from glasstext.cli import build_parser

    parser = build_parser("fit")
    args = parser.parse_args(
        ["fit", "auglinear", "--train", str(train_csv), "--out", str(tmp_path / "m")]
    )
    assert args.encoder__device == "auto"
    args = parser.parse_args(
        ["fit", "auglinear", "--train", "t.csv", "--out", str(tmp_path / "m"), "--device", "cpu"]
    )
    assert args.encoder__device == "cpu" and "encoder__device" in args.fit_options


def test_a_misspelt_device_flag_fails_at_parsing(capsys):
    from glasstext.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["finetune", "--dataset", "sst2", "--out", "x", "--device", "gpu"])
    assert exc.value.code == 2
    assert "--device" in capsys.readouterr().err
