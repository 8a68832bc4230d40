"""io.save_model's write_extra hook: extra files in the same atomic, checksummed save."""

import json

import numpy as np
import pytest

from glasstext.io import ModelFileError, load_model, save_model


def write_two_files(folder):
    (folder / "sub").mkdir()
    (folder / "sub" / "weights.bin").write_bytes(b"\x00\x01\x02")
    (folder / "notes.txt").write_text("hello")


def test_extra_files_are_saved_and_checksummed(tmp_path):
    path = save_model(tmp_path / "m", "Kind", {"a": 1}, {"x": np.arange(3.0)}, write_two_files)
    document = json.loads((path / "model.json").read_text())
    assert set(document["files_sha256"]) == {"sub/weights.bin", "notes.txt"}
    config, arrays = load_model(path, "Kind")
    assert config == {"a": 1} and arrays["x"].tolist() == [0.0, 1.0, 2.0]
    (path / "notes.txt").write_text("edited")
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path, "Kind")
    (path / "notes.txt").unlink()
    with pytest.raises(ModelFileError, match=r"notes\.txt missing"):
        load_model(path, "Kind")


def test_a_failing_hook_leaves_the_old_model_in_place(tmp_path):
    path = save_model(tmp_path / "m", "Kind", {"v": 1}, {"x": np.zeros(1)})

    def broken(folder):
        (folder / "half").write_text("...")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_model(path, "Kind", {"v": 2}, {"x": np.zeros(1)}, broken, overwrite=True)
    assert load_model(path, "Kind")[0] == {"v": 1}
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_listed_files_outside_the_model_are_refused(tmp_path):
    path = save_model(tmp_path / "m", "Kind", {}, {"x": np.zeros(1)}, write_two_files)
    document = json.loads((path / "model.json").read_text())
    document["files_sha256"]["../outside"] = "0" * 64
    (path / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="outside the model"):
        load_model(path, "Kind")


def test_models_without_extra_files_load_as_before(tmp_path):
    path = save_model(tmp_path / "m", "Kind", {}, {"x": np.zeros(1)})
    assert "files_sha256" not in json.loads((path / "model.json").read_text())
    load_model(path, "Kind")


def test_jsonable_gives_strict_json_values():
    import json
    import math

    import numpy as np

    from glasstext.io import jsonable

    assert jsonable(np.float32(0.5)) == 0.5 and type(jsonable(np.int64(3))) is int
    assert jsonable(np.array([[1.0, np.nan], [np.inf, 2.0]])) == [[1.0, None], [None, 2.0]]
    assert jsonable(float("nan")) is None and jsonable("text") == "text"
    assert json.loads(
        json.dumps(jsonable((np.float64(-math.inf), np.bool_(True))), allow_nan=False)
    ) == [None, True]
