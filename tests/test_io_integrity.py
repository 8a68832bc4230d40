"""Integrity of saved models: config checksum, structure checks, permissions (issue 14)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from glasstext import io
from glasstext.exceptions import ModelFileError


def _save(path):
    return io.save_model(
        path, "Kind", {"classes": ["neg", "pos"], "vocabulary": {"good": 0}}, {"w": np.ones(3)}
    )


def _edit(folder, change):
    config = folder / "model.json"
    document = json.loads(config.read_text("utf-8"))
    change(document)
    config.write_text(json.dumps(document), "utf-8")


def test_an_edited_configuration_is_refused_naming_the_file(tmp_path):
    folder = _save(tmp_path / "m")
    _edit(folder, lambda d: d["config"].update(classes=["pos", "neg"]))  # flips predictions
    with pytest.raises(ModelFileError, match=r"model\.json has been modified"):
        io.load_model(folder, "Kind")


def test_a_folder_saved_before_the_config_checksum_still_loads(tmp_path):
    folder = _save(tmp_path / "m")
    _edit(folder, lambda d: d.pop("config_sha256"))
    config, arrays = io.load_model(folder, "Kind")
    assert config["classes"] == ["neg", "pos"]
    np.testing.assert_array_equal(arrays["w"], np.ones(3))


def test_tuples_and_integer_keys_survive_the_checksum(tmp_path):
    folder = io.save_model(tmp_path / "m", "Kind", {"t": (1, 2), "k": {3: "a", 10: "b"}}, {})
    config, _ = io.load_model(folder, "Kind")
    assert config == {"t": [1, 2], "k": {"3": "a", "10": "b"}}


def test_saved_folders_get_ordinary_permissions(tmp_path):
    mask = io._umask()
    folder = _save(tmp_path / "m")
    assert folder.stat().st_mode & 0o777 == 0o777 & ~mask
    for name in ("model.json", "arrays.safetensors"):
        assert (folder / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_stricter_umask_is_respected(tmp_path):
    old = os.umask(0o077)
    try:
        folder = _save(tmp_path / "m")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_tree_whose_child_points_back_to_the_root_is_refused():
    from glasstext.models.augtree import TreeStructure

    good = {
        "left": [1, -1, -1],
        "right": [2, -1, -1],
        "keyword": ["a", "", ""],
        "phrases": [["a"], [], []],
        "n_samples": [4, 2, 2],
        "gain": [0.5, 0.0, 0.0],
    }
    TreeStructure.from_config(good, np.zeros((3, 2)))
    for left, right in (([1, 0, -1], [2, -1, -1]), ([1, 2, -1], [2, -1, -1])):
        cyclic = {**good, "left": left, "right": right}
        with pytest.raises(ValueError, match="do not form a tree"):
            TreeStructure.from_config(cyclic, np.zeros((3, 2)))
    detached = {**good, "left": [-1, 2, -1], "right": [-1, -1, 1]}  # a loop off the root
    with pytest.raises(ValueError, match="do not form a tree"):
        TreeStructure.from_config(detached, np.zeros((3, 2)))


@pytest.mark.parametrize("classes", [["a"], ["a", "a"], [["a", "b"]]])
def test_a_broken_class_list_is_refused(classes):
    from glasstext.models.base import _check_classes

    with pytest.raises(ValueError, match="class list"):
        _check_classes(np.asarray(classes))
