"""Saving never removes what is not a saved model; loading reads only the model's own,
checksummed, unlinked files; a malformed model.json is one line of error (issue 31)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from glasstext import Encoder, io
from glasstext.exceptions import ModelFileError
from glasstext.models.base import load_model
from synthetic import NEG, POS, planted_texts


def _one_line(info: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.fixture(scope="module")
def tree():
    from glasstext import AugTreeClassifier

    X, y = planted_texts(40, [NEG, POS], ["neg", "pos"], ["movie", "film", "the", "a"], 3)
    return AugTreeClassifier(max_depth=2, expansion="none").fit(X, y)


def _user_folder(path: Path) -> Path:
    (path / "chapters").mkdir(parents=True)
    (path / "thesis.txt").write_text("years of work")
    (path / "chapters" / "one.txt").write_text("chapter one")
    return path


def _assert_untouched(path: Path) -> None:
    assert (path / "thesis.txt").read_text() == "years of work"
    assert (path / "chapters" / "one.txt").read_text() == "chapter one"
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers


# -- saving: what may be replaced ---------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_is_no_model_is_never_replaced(tree, tmp_path, overwrite):
    folder = _user_folder(tmp_path / "mine")
    with pytest.raises(ModelFileError, match="holds no glasstext model") as info:
        tree.save(folder, overwrite=overwrite)
    assert "never replaced" in _one_line(info)
    _assert_untouched(folder)


def test_a_saved_model_is_replaced_only_with_overwrite(tree, tmp_path):
    path = tree.save(tmp_path / "m")
    with pytest.raises(ModelFileError, match=r"overwrite=True \(--overwrite") as info:
        tree.save(path)
    _one_line(info)
    assert tree.save(path, overwrite=True) == path
    assert type(load_model(path)).__name__ == "AugTreeClassifier"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_empty_folder_is_used(tree, tmp_path):
    (tmp_path / "empty").mkdir()
    load_model(tree.save(tmp_path / "empty"))


def test_a_model_folder_holding_other_files_is_never_replaced(tree, tmp_path):
    path = tree.save(tmp_path / "m")
    (path / "notes.txt").write_text("mine")
    with pytest.raises(ModelFileError, match=r"notes\.txt") as info:
        tree.save(path, overwrite=True)
    assert "never replaced" in _one_line(info)
    assert (path / "notes.txt").read_text() == "mine"


def test_a_folder_of_an_unknown_kind_is_never_replaced(tree, tmp_path):
    path = io.save_model(tmp_path / "m", "NoSuchModel", {}, {"x": np.zeros(1)})
    with pytest.raises(ModelFileError, match="holds no glasstext model"):
        tree.save(path, overwrite=True)
    assert io.load_model(path, "NoSuchModel")[0] == {}


def test_a_file_or_a_link_at_the_path_is_refused(tree, tmp_path):
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ModelFileError, match="not a folder"):
        tree.save(tmp_path / "file", overwrite=True)
    real = tree.save(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ModelFileError, match="symbolic link") as info:
        tree.save(link, overwrite=True)
    _one_line(info)
    assert link.is_symlink() and (tmp_path / "file").read_text() == "mine"
    load_model(real)


def test_a_folder_filled_while_the_model_is_written_is_kept(tmp_path):
    target = tmp_path / "m"

    def meanwhile(folder: Path) -> None:  # another program fills the target during the save
        _user_folder(target)

    with pytest.raises(ModelFileError, match="never replaced"):
        io.save_model(target, "Kind", {}, {"x": np.zeros(1)}, meanwhile)
    _assert_untouched(target)


def test_saving_refuses_a_link_among_the_written_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not the model's")

    def linking(folder: Path) -> None:
        (folder / "sub").mkdir()
        (folder / "sub" / "data").symlink_to(secret)

    with pytest.raises(ModelFileError, match="symbolic link") as info:
        io.save_model(tmp_path / "m", "Kind", {}, {"x": np.zeros(1)}, linking)
    _one_line(info)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt"]


def test_a_nested_file_named_like_the_model_files_is_checksummed(tmp_path):
    def nested(folder: Path) -> None:
        (folder / "sub").mkdir()
        (folder / "sub" / "model.json").write_text("{}")

    path = io.save_model(tmp_path / "m", "Kind", {}, {"x": np.zeros(1)}, nested)
    assert "sub/model.json" in json.loads((path / "model.json").read_text())["files_sha256"]
    io.load_model(path, "Kind")


def test_a_finetuned_encoder_folder_never_replaces_other_folders(tiny_bert_dir, tmp_path):
    from glasstext import finetune_encoder
    from glasstext.backends.finetune import finetune_info

    folder = _user_folder(tmp_path / "mine")
    X, y = ["good film", "bad film", "fine movie", "dull movie"] * 3, [1, 0, 1, 0] * 3
    settings = {"epochs": 1, "validation_fraction": 0, "head_init": "random", "max_length": 8}
    with pytest.raises(ModelFileError, match="holds no fine-tuned encoder") as info:
        finetune_encoder(X, y, tiny_bert_dir, output_dir=folder, **settings)
    _one_line(info)
    _assert_untouched(folder)
    out = finetune_encoder(X, y, tiny_bert_dir, output_dir=tmp_path / "ft", **settings)
    finetune_encoder(X, y, tiny_bert_dir, output_dir=out, seed=1, **settings)  # replaced
    assert finetune_info(out)["settings"]["seed"] == 1


# -- loading: links and files outside the checksums ------------------------------------


def _with_extra_files(folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "weights.safetensors").write_bytes(b"\x00\x01\x02")


@pytest.fixture
def saved(tmp_path):
    return io.save_model(tmp_path / "m", "Kind", {"a": 1}, {"x": np.zeros(2)}, _with_extra_files)


@pytest.mark.parametrize("name", ["model.json", "arrays.safetensors", "sub/weights.safetensors"])
def test_a_model_file_that_is_a_link_is_refused(saved, tmp_path, name):
    real = tmp_path / "elsewhere"
    (saved / name).rename(real)
    (saved / name).symlink_to(real)
    with pytest.raises(ModelFileError, match="symbolic link") as info:
        io.load_model(saved, "Kind")
    _one_line(info)


def test_a_linked_sub_folder_is_refused(saved, tmp_path):
    shutil.move(saved / "sub", tmp_path / "outside")
    (saved / "sub").symlink_to(tmp_path / "outside")
    with pytest.raises(ModelFileError, match="symbolic link"):
        io.load_model(saved, "Kind")


def test_an_unlisted_file_in_a_sub_folder_is_refused(saved):
    (saved / "sub" / "pytorch_model.bin").write_bytes(b"a pickle")
    with pytest.raises(ModelFileError, match="not listed") as info:
        io.load_model(saved, "Kind")
    assert "pytorch_model.bin" in _one_line(info)


def test_a_model_reached_through_a_link_to_its_folder_loads(saved, tmp_path):
    (tmp_path / "latest").symlink_to(saved)
    assert io.load_model(tmp_path / "latest", "Kind")[0] == {"a": 1}


# -- malformed model.json: one line, never a traceback ----------------------------------

DEEP = "[" * 3000 + "]" * 3000
MALFORMED = {
    "nested 3000 deep": DEEP,
    "config nested 3000 deep": '{"format": "glasstext-model", "format_version": 1, '
    f'"kind": "AugTreeClassifier", "config": {DEEP}}}',
    "a list": '["glasstext-model"]',
    "a number": "3",
    "a string": '"AugTreeClassifier"',
    "null": "null",
    "no format": '{"kind": "AugTreeClassifier"}',
    "a numeric kind": '{"format": "glasstext-model", "kind": 5}',
    "a list kind": '{"format": "glasstext-model", "kind": ["AugTreeClassifier"]}',
    "a kind with a newline": '{"format": "glasstext-model", "kind": "Aug\\nTree"}',
    "a huge integer": '{"format": "glasstext-model", "kind": "X", "n": ' + "9" * 5000 + "}",
    "not UTF-8": b"\xff\xfe{",
}


@pytest.mark.parametrize("document", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_model_json_is_one_line_of_error(tree, tmp_path, document):
    path = tree.save(tmp_path / "m")
    if isinstance(document, bytes):
        (path / "model.json").write_bytes(document)
    else:
        (path / "model.json").write_text(document)
    for load in (io.saved_kind, load_model):
        with pytest.raises(ModelFileError) as info:
            load(path)
        _one_line(info)


def test_a_deep_configuration_is_refused_when_its_digest_is_taken(saved, monkeypatch):
    def too_deep(document):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(io, "_config_digest", too_deep)
    with pytest.raises(ModelFileError, match="nested too deeply") as info:
        io.load_model(saved, "Kind")
    _one_line(info)


# -- Proto-LM: its encoder comes from its own folder, as safetensors ---------------------


@pytest.fixture(scope="module")
def proto_folder(tiny_bert_dir, tmp_path_factory):
    from glasstext import ProtoLMClassifier

    X, y = planted_texts(24, [NEG, POS], ["neg", "pos"], ["movie", "film", "the", "a"], 3)
    fast = {"warmup_epochs": 1, "epochs": 1, "last_layer_epochs": 1, "batch_size": 16}
    model = ProtoLMClassifier(Encoder(tiny_bert_dir, n_threads=1), 1, **fast).fit(X, y)
    return model.save(tmp_path_factory.mktemp("proto") / "proto")


@pytest.fixture
def proto(proto_folder, tmp_path):
    return Path(shutil.copytree(proto_folder, tmp_path / "proto"))


def _forge(folder: Path, change) -> None:
    """Edit model.json as a deliberate forgery would: its own checksum dropped."""
    document = json.loads((folder / "model.json").read_text("utf-8"))
    change(document)
    document.pop("config_sha256", None)
    (folder / "model.json").write_text(json.dumps(document), "utf-8")


def _list_file(folder: Path, relative: str) -> None:
    digest = io._sha256(folder / relative)
    _forge(folder, lambda d: d["files_sha256"].update({relative: digest}))


def _load_proto(folder: Path) -> str:
    from glasstext import ProtoLMClassifier

    with pytest.raises(ModelFileError) as info:
        ProtoLMClassifier.load(folder)
    return _one_line(info)


def test_the_saved_proto_lm_loads(proto):
    assert type(load_model(proto)).__name__ == "ProtoLMClassifier"


@pytest.mark.parametrize("where", ["absolute", "../outside", ".", ""])
def test_an_encoder_folder_outside_the_model_is_refused(proto, tmp_path, where):
    outside = Path(shutil.copytree(proto / "encoder", tmp_path / "outside"))
    name = str(outside) if where == "absolute" else where
    _forge(proto, lambda d: d["config"].update(encoder_folder=name))
    assert "encoder folder" in _load_proto(proto)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "training_args.pt", "state.pkl"])
def test_pickle_weights_beside_the_encoder_are_refused(proto, name):
    (proto / "encoder" / name).write_bytes(b"a pickle")
    _list_file(proto, f"encoder/{name}")
    assert name in _load_proto(proto)


def test_an_encoder_without_safetensors_weights_is_refused(proto):
    (proto / "encoder" / "model.safetensors").unlink()
    _forge(proto, lambda d: d["files_sha256"].pop("encoder/model.safetensors"))
    assert "model.safetensors" in _load_proto(proto)


def test_an_encoder_linked_from_outside_is_refused(proto, tmp_path):
    shutil.move(proto / "encoder", tmp_path / "outside")
    (proto / "encoder").symlink_to(tmp_path / "outside")
    assert "symbolic link" in _load_proto(proto)


def test_the_encoder_loads_with_safetensors_only(proto, monkeypatch):
    from transformers import AutoModel

    calls = []
    original = AutoModel.from_pretrained

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(AutoModel, "from_pretrained", recording)
    load_model(proto)
    assert calls and all(c.get("use_safetensors") is True for c in calls)
