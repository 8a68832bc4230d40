import numpy as np
import pytest

from glasstext.backends.cache import SqliteStore
from glasstext.backends.encoder import Encoder, get_encoder


def _manual_mean_pool(folder, text):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    net = AutoModel.from_pretrained(folder).eval()
    with torch.inference_mode():
        out = net(**tok([text], return_tensors="pt")).last_hidden_state[0]
    return out.mean(0).numpy()


def test_mean_pooling_ignores_padding(tiny_bert_dir, store):
    enc = Encoder(tiny_bert_dir, cache=store, batch_size=8, precision="fp32")
    texts = ["good", "the movie was very very boring and dull", "bad film"]
    batched = enc.encode(texts)
    assert batched.dtype == np.float32 and batched.shape == (3, 16)
    for i, t in enumerate(texts):
        np.testing.assert_allclose(batched[i], _manual_mean_pool(tiny_bert_dir, t), atol=1e-5)


def test_order_is_preserved_and_duplicates_computed_once(tiny_bert_dir, store):
    enc = Encoder(tiny_bert_dir, cache=store, batch_size=2, precision="fp32")
    texts = ["a very long long long text", "b", "a very long long long text", "c d"]
    out = enc.encode(texts)
    np.testing.assert_array_equal(out[0], out[2])
    assert enc.n_encoded == 3
    single = Encoder(tiny_bert_dir, cache=False, precision="fp32").encode(["c d"])
    np.testing.assert_allclose(out[3], single[0], atol=1e-5)


def test_second_call_runs_no_forward_pass(tiny_bert_dir, tmp_path):
    path = tmp_path / "c.sqlite"
    first = Encoder(tiny_bert_dir, cache=SqliteStore(path))
    v1 = first.encode(["good movie", "bad plot"])
    again = Encoder(tiny_bert_dir, cache=SqliteStore(path))
    v2 = again.encode(["bad plot", "good movie"])
    assert again.n_encoded == 0 and again.n_cache_hits == 2
    assert again._net is None  # the model was never even loaded
    np.testing.assert_array_equal(v1[::-1], v2)


def test_settings_that_change_vectors_change_the_cache_key(tiny_bert_dir, store):
    mean = Encoder(tiny_bert_dir, cache=store)
    cls = Encoder(tiny_bert_dir, cache=store, pooling="cls")
    prefixed = Encoder(tiny_bert_dir, cache=store, prefix="the ")
    assert len({mean.namespace, cls.namespace, prefixed.namespace}) == 3
    a, b = mean.encode(["good film"]), cls.encode(["good film"])
    assert not np.allclose(a, b)
    assert cls.n_encoded == 1


def test_cls_and_last_pooling(tiny_bert_dir):
    text = "the plot was fun"
    cls = Encoder(tiny_bert_dir, pooling="cls", cache=False, precision="fp32").encode([text, "bad"])
    last = Encoder(tiny_bert_dir, pooling="last", cache=False, precision="fp32").encode(
        [text, "bad"]
    )
    alone_last = Encoder(tiny_bert_dir, pooling="last", cache=False, precision="fp32").encode(
        [text]
    )
    np.testing.assert_allclose(last[0], alone_last[0], atol=1e-5)
    assert not np.allclose(cls[0], last[0])


def test_bf16_is_close_to_fp32(tiny_bert_dir):
    texts = ["good movie", "the acting was terrible and boring"]
    fp32 = Encoder(tiny_bert_dir, cache=False, precision="fp32").encode(texts)
    bf16 = Encoder(tiny_bert_dir, cache=False, precision="bf16").encode(texts)
    cos = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert bf16.dtype == np.float32 and cos.min() > 0.99


def test_normalize(tiny_bert_dir):
    out = Encoder(tiny_bert_dir, cache=False, normalize=True).encode(["good", "bad film"])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_bad_inputs(tiny_bert_dir):
    enc = Encoder(tiny_bert_dir, cache=False)
    with pytest.raises(TypeError, match="single string"):
        enc.encode("good")
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType"):
        enc.encode(["good", None])
    assert enc.encode([]).shape == (0, 16)
    with pytest.raises(ValueError, match="pooling"):
        Encoder(tiny_bert_dir, pooling="max").encode(["good"])


def test_get_encoder_shares_instances_and_passes_objects_through(tiny_bert_dir):
    a = get_encoder(tiny_bert_dir, pooling="mean", cache=False)
    b = get_encoder(tiny_bert_dir, pooling="mean", cache=False)
    assert a is b
    assert get_encoder(a) is a


@pytest.mark.integration
def test_minilm_offline_alias_gives_sentence_embeddings(store):
    enc = Encoder("all-MiniLM-L6-v2", cache=store)
    v = enc.encode(["a wonderful film", "a marvelous movie", "tax forms are due in april"])
    assert v.shape == (3, 384)
    cos = v @ v.T / np.outer(np.linalg.norm(v, axis=1), np.linalg.norm(v, axis=1))
    assert cos[0, 1] > cos[0, 2] + 0.3


@pytest.mark.integration
def test_causal_lm_serves_as_encoder(store):
    enc = Encoder("SmolLM2-135M-Instruct", cache=store, pooling="mean")
    v = enc.encode(["great", "terrible movie"])
    assert v.shape == (2, 576) and np.isfinite(v).all()


def test_precision_auto_follows_the_cpu(tiny_bert_dir, monkeypatch):
    from glasstext.backends import runtime

    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    bf16 = Encoder(tiny_bert_dir, cache=False)
    assert '"precision":"bf16"' in bf16.namespace and bf16.precision_ == "bf16"
    assert bf16.precision == "auto"  # the setting stays as given
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    fp32 = Encoder(tiny_bert_dir, cache=False)
    assert '"precision":"fp32"' in fp32.namespace
    assert fp32.precision_ == "fp32"
    with pytest.raises(ValueError, match="precision"):
        Encoder(tiny_bert_dir, precision="fp16").encode(["good"])


def _cosines(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_int8_quantizes_the_linear_layers_and_stays_close_to_fp32(tiny_bert_dir):
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    texts = ["good movie", "the acting was terrible and boring", "a", "fun"]
    fp32 = Encoder(tiny_bert_dir, cache=False, precision="fp32").encode(texts)
    enc = Encoder(tiny_bert_dir, cache=False, precision="int8")
    int8 = enc.encode(texts)
    assert enc.precision_ == "int8" and int8.dtype == np.float32 and int8.shape == fp32.shape
    layers = list(enc._net.modules())
    assert any(isinstance(m, DynamicLinear) for m in layers)
    assert not any(type(m) is torch.nn.Linear for m in layers)
    assert _cosines(fp32, int8).min() > 0.95
    assert not np.array_equal(fp32, int8)  # really a different computation


def test_int8_without_vnni_keeps_torchs_7_bit_activations(tiny_bert_dir, monkeypatch):
    from glasstext.backends import runtime

    texts = ["good movie", "the acting was terrible and boring"]
    monkeypatch.setattr(runtime, "cpu_has_vnni", lambda: True)
    eight = Encoder(tiny_bert_dir, cache=False, precision="int8")
    v8 = eight.encode(texts)
    monkeypatch.setattr(runtime, "cpu_has_vnni", lambda: False)
    seven = Encoder(tiny_bert_dir, cache=False, precision="int8")
    v7 = seven.encode(texts)
    assert runtime.int8_activation_bits() == 7
    assert '"int8_activation_bits":7' in seven.namespace
    assert seven.namespace != eight.namespace  # different vectors, different cache entries
    assert not np.array_equal(v7, v8)


def test_each_precision_has_its_own_cache_entries(tiny_bert_dir, store):
    namespaces = {
        p: Encoder(tiny_bert_dir, cache=store, precision=p).namespace
        for p in ("fp32", "bf16", "int8")
    }
    assert len(set(namespaces.values())) == 3
    assert '"precision":"int8"' in namespaces["int8"]
    assert "int8_activation_bits" not in namespaces["fp32"]  # existing entries stay valid
    fp32 = Encoder(tiny_bert_dir, cache=store, precision="fp32")
    fp32.encode(["good film"])
    int8 = Encoder(tiny_bert_dir, cache=store, precision="int8")
    int8.encode(["good film"])
    assert int8.n_cache_hits == 0 and int8.n_encoded == 1  # never served the fp32 vector
    again = Encoder(tiny_bert_dir, cache=store, precision="int8")
    again.encode(["good film"])
    assert again.n_cache_hits == 1 and again._net is None


def test_get_encoder_keeps_precisions_apart(tiny_bert_dir):
    fp32 = get_encoder(tiny_bert_dir, precision="fp32", cache=False)
    int8 = get_encoder(tiny_bert_dir, precision="int8", cache=False)
    assert fp32 is not int8
    assert int8.precision == "int8" and "int8" in int8.namespace
    assert get_encoder(tiny_bert_dir, precision="int8", cache=False) is int8


def test_resolve_precision_accepts_int8_only_when_asked():
    from glasstext.backends.runtime import resolve_precision

    assert resolve_precision("int8") == "int8"
    assert resolve_precision("auto") in ("fp32", "bf16")
    with pytest.raises(ValueError, match="'int8'"):
        resolve_precision("int4")


def test_unpadded_batches_give_the_padded_vectors(tiny_bert_dir):
    # Texts of one token length run without an attention mask; the vectors must
    # be those of the same texts in a padded batch.
    same_length = ["good film", "bad plot", "dull cast"]
    enc = Encoder(tiny_bert_dir, cache=False, precision="fp32", batch_size=3)
    alone = enc.encode(same_length)
    mixed = Encoder(tiny_bert_dir, cache=False, precision="fp32", batch_size=8).encode(
        [*same_length, "a much longer text than the others here"]
    )
    lengths = {len(x) for x in enc._tokenizer(same_length)["input_ids"]}
    assert len(lengths) == 1
    np.testing.assert_allclose(alone, mixed[:3], atol=1e-5)


def test_short_batches_run_eager_attention_with_the_same_vectors(tiny_bert_dir):
    # n-gram batches (<= SHORT_INPUT_TOKENS tokens) switch the model to plain
    # matmul attention, long batches back to sdpa; the vectors are sdpa's.
    from glasstext.backends.runtime import SHORT_INPUT_TOKENS

    short = ["good film", "a bad plot twist"]
    long = [" ".join(["word"] * (SHORT_INPUT_TOKENS + 4))]
    enc = Encoder(tiny_bert_dir, cache=False, precision="fp32", batch_size=2)
    used = []
    enc._load()
    original = enc._net.set_attn_implementation
    enc._net.set_attn_implementation = lambda name: (used.append(name), original(name))[1]
    vectors = enc.encode(short + long)
    assert used == ["eager", "sdpa"]
    for text, vector in zip(short + long, vectors, strict=True):
        np.testing.assert_allclose(vector, _manual_mean_pool(tiny_bert_dir, text), atol=1e-5)


def test_attention_is_left_alone_off_the_cpu(tiny_bert_dir):
    from glasstext.backends.runtime import AttentionSwitch

    enc = Encoder(tiny_bert_dir, cache=False, precision="fp32")
    enc._load()
    switch = AttentionSwitch(enc._net, on_cpu=False)
    switch.fit_to(3)
    assert enc._net.config._attn_implementation == "sdpa"


@pytest.mark.integration
def test_minilm_int8_embeddings_are_close_to_fp32():
    texts = [
        "good",
        "not good",
        "a wonderful film",
        "the worst",
        "boring",
        "thrilling touching",
        "tax forms",
        "it's",
        "the plot",
        "a marvelous movie",
    ]
    fp32 = Encoder("all-MiniLM-L6-v2", cache=False, precision="fp32").encode(texts)
    int8 = Encoder("all-MiniLM-L6-v2", cache=False, precision="int8").encode(texts)
    cos = _cosines(fp32, int8)
    assert cos.mean() > 0.98 and cos.min() > 0.93


def test_word_list_gives_whole_lowercase_words_in_token_order(tiny_bert_dir):
    enc = Encoder(tiny_bert_dir, cache=False)
    words = enc.word_list(10_000)
    assert words and len(words) == len(set(words))
    assert all(w.isalpha() and w == w.lower() and len(w) >= 2 for w in words)
    assert not any(w.startswith("#") for w in words)
    assert enc.word_list(3) == words[:3]


def test_constructing_an_encoder_loads_nothing_and_checks_nothing():
    import subprocess
    import sys

    code = (
        "import sys; from glasstext import Encoder; "
        "e = Encoder('no-such-model', precision='int8', pooling='max'); "
        "assert e.get_params()['pooling'] == 'max'; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_encoder_is_a_scikit_learn_settings_object():
    from sklearn.base import clone

    from glasstext import Encoder as PublicEncoder

    assert PublicEncoder is Encoder
    enc = Encoder("all-MiniLM-L6-v2", precision="int8", batch_size=64)
    copy = clone(enc)
    assert copy is not enc and copy.get_params() == enc.get_params()
    assert enc.set_params(precision="bf16") is enc and enc.precision == "bf16"
    assert Encoder(pooling="cls", layer=3, batch_size=8).model_settings() == {
        "pooling": "cls",
        "layer": 3,
    }
    with pytest.raises(ValueError, match="batch_size"):
        Encoder(batch_size=0).check_settings()


def test_get_encoder_shares_one_loaded_copy_per_settings(tiny_bert_dir):
    spec = Encoder(tiny_bert_dir, cache=False, precision="fp32")
    loaded = get_encoder(spec)
    assert loaded is not spec and loaded.get_params()["precision"] == "fp32"
    assert get_encoder(Encoder(tiny_bert_dir, cache=False, precision="fp32")) is loaded
    assert get_encoder(tiny_bert_dir, cache=False, precision="fp32") is loaded
    assert get_encoder(spec, batch_size=3) is not loaded
    loaded.encode(["good"])
    assert spec._net is None  # the user's object never carries the model


def test_set_params_lets_a_loaded_model_go(tiny_bert_dir):
    enc = Encoder(tiny_bert_dir, cache=False, precision="fp32")
    enc.encode(["good film"])
    assert enc._net is not None
    enc.set_params(pooling="cls")
    assert enc._net is None and '"pooling":"cls"' in enc.namespace
