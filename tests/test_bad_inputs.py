"""The bad-input table of issue 14, one test per row: each now gets a clear
message (or a correct result) instead of a traceback or a silent wrong answer.
"""

from __future__ import annotations

import io as stdio
import json
import sys
import warnings

import numpy as np
import pytest

from glasstext.cli import main
from glasstext.exceptions import (
    CacheUnavailableWarning,
    ModelFileError,
    NoWordsWarning,
    UnknownModelError,
)

TRAIN = [
    "good movie",
    "great fun film",
    "a lovely story",
    "bad movie",
    "awful boring film",
    "a dull story",
    "fine and fun",
    "bad and dull",
] * 3
LABELS = ["pos", "pos", "pos", "neg", "neg", "neg", "pos", "neg"] * 3


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def fitted(tiny_bert_dir, tmp_path):
    from glasstext.backends.encoder import Encoder
    from glasstext.models import AugLinearClassifier

    model = AugLinearClassifier(
        encoder=Encoder(str(tiny_bert_dir), cache=tmp_path / "c.sqlite"), cv=2
    )
    return model.fit(TRAIN, LABELS)


def _fit_args(train_csv, out, *extra):
    return ["fit", "auglinear", "--train", str(train_csv), "--out", str(out), *extra]


# -- tracebacks instead of messages ----------------------------------------------------------


def test_misspelt_encoder_name(train_csv, tmp_path, home, capsys):
    code = main(_fit_args(train_csv, tmp_path / "m", "--encoder", "all-MiniLM-L6-v3"))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "Did you mean 'all-MiniLM-L6-v2'" in err and "all-mpnet-base-v2" in err
    assert "only these packaged models and local folders work" in err


def test_misspelt_lm_name(monkeypatch):
    from glasstext.backends.lm import get_lm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnknownModelError, match="Did you mean 'SmolLM2-135M-Instruct'"):
        get_lm("smollm2").generate(["hello"])


def test_missing_local_folder(train_csv, tmp_path, home, capsys):
    missing = tmp_path / "my-models" / "encoder"
    assert main(_fit_args(train_csv, tmp_path / "m", "--encoder", str(missing))) == 2
    err = capsys.readouterr().err
    assert f"no model folder at {missing}" in err and "Repo id" not in err


def test_unusable_cache_folder(tiny_bert_dir, tmp_path, monkeypatch):
    from glasstext.backends.encoder import Encoder

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # GLASSTEXT_HOME under a file: unusable even for root
    monkeypatch.setenv("GLASSTEXT_HOME", str(blocker / "home"))
    with pytest.warns(CacheUnavailableWarning, match="GLASSTEXT_CACHE=off") as caught:
        vectors = Encoder(tiny_bert_dir).encode(["good movie"])
    assert str(blocker) in str(caught[0].message)
    assert vectors.shape == (1, 16)  # the work goes on, without a cache


def test_cache_can_be_turned_off(tiny_bert_dir, tmp_path, monkeypatch):
    from glasstext.backends.encoder import Encoder

    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GLASSTEXT_CACHE", "off")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheUnavailableWarning)
        Encoder(tiny_bert_dir).encode(["good movie"])
    assert not (tmp_path / "home" / "cache.sqlite").exists()


def test_unwritable_out_fails_before_the_work(train_csv, tmp_path, capsys, monkeypatch):
    from glasstext.models import AugLinearClassifier

    def never(*args, **kwargs):
        raise AssertionError("fit ran although --out cannot be written")

    monkeypatch.setattr(AugLinearClassifier, "fit", never)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(_fit_args(train_csv, blocker / "model"))
    assert exit_.value.code == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_closed_pipe_still_saves_the_model(train_csv, tiny_bert_dir, tmp_path, home, monkeypatch):
    class ClosedPipe(stdio.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())  # `glasstext fit ... | head -0`
    out = tmp_path / "m"
    code = main(_fit_args(train_csv, out, "--encoder", str(tiny_bert_dir)))
    monkeypatch.undo()
    assert code == 141  # quiet, as a shell reports a closed pipe
    assert (out / "model.json").is_file()


def test_predict_out_creates_missing_folders(fitted, tmp_path, capsys):
    model_dir = fitted.save(tmp_path / "m")
    dest = tmp_path / "new" / "deeper" / "predictions.jsonl"
    assert main(["predict", str(model_dir), "good movie", "--out", str(dest)]) == 0
    assert json.loads(dest.read_text())["text"] == "good movie"


def test_every_out_is_checked_and_gets_its_folders(tmp_path):
    import argparse

    from glasstext.cli.common import output_file, writable_path

    assert writable_path(str(tmp_path / "x" / "y.html")) == str(tmp_path / "x" / "y.html")
    blocker = tmp_path / "f"
    blocker.write_text("")
    with pytest.raises(argparse.ArgumentTypeError, match="is a file"):
        writable_path(str(blocker / "y.html"))
    path = output_file(tmp_path / "a" / "b" / "explanation.html")  # what explain-llm --out uses
    assert path.parent.is_dir()


# -- silent wrong answers --------------------------------------------------------------------


def test_swapped_classes_in_model_json(fitted, tmp_path):
    folder = fitted.save(tmp_path / "m")
    document = json.loads((folder / "model.json").read_text())
    document["config"]["classes"] = document["config"]["classes"][::-1]
    (folder / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=r"model\.json has been modified"):
        type(fitted).load(folder)


def test_tree_child_pointing_back_to_the_root():
    from glasstext.models.augtree import TreeStructure

    config = {
        "left": [1, -1, -1],
        "right": [2, 0, -1],
        "keyword": ["a", "b", ""],
        "phrases": [["a"], ["b"], []],
        "n_samples": [4, 2, 2],
        "gain": [0.5, 0.1, 0],
    }
    with pytest.raises(ValueError, match="do not form a tree"):
        TreeStructure.from_config(config, np.zeros((3, 2)))


def test_predict_on_a_dataframe(fitted):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"review": ["good movie", "bad film"]})
    with pytest.raises(TypeError, match=r"DataFrame with columns 'review'.*df\['review'\]"):
        fitted.predict(frame)
    with pytest.raises(TypeError, match="DataFrame"):
        fitted.explain(frame)
    assert list(fitted.predict(frame["review"])) == list(fitted.predict(["good movie", "bad film"]))


def test_emoji_only_text_warns(fitted):
    with pytest.warns(NoWordsWarning, match="no words") as caught:
        fitted.predict(["good movie", "😀🎬 !!!"])
    assert caught[0].filename == __file__  # pointed at the caller's line


def test_continuous_labels_for_a_classifier(tiny_bert_dir, tmp_path):
    from glasstext.backends.encoder import Encoder
    from glasstext.models import AugLinearClassifier

    y = np.linspace(0.1, 3.7, len(TRAIN))
    model = AugLinearClassifier(encoder=Encoder(str(tiny_bert_dir), cache=False))
    with pytest.raises(ValueError, match=r"continuous numbers .* use the regressor"):
        model.fit(TRAIN, y)


def test_cache_prune_with_a_negative_size(home, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cache", "prune", "--max-mb", "-5"])
    assert exit_.value.code == 2
    assert "argument --max-mb: expected a size in MB from 0" in capsys.readouterr().err


def test_cache_info_reports_disk_use_and_converted_models(home, capsys):
    from glasstext.backends.cache import SqliteStore

    store = SqliteStore(home / "cache.sqlite")
    store.put_many("ns", [(bytes([i]), b"x" * 4096) for i in range(64)])
    store.close()
    (home / "models" / "some-model").mkdir(parents=True)
    (home / "models" / "some-model" / "weights.bin").write_bytes(b"0" * 3 * 1024**2)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "64 entries" in out and "MB on disk" in out
    assert "3.0 MB of converted models" in out


def test_cache_command_on_an_unusable_folder(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "f"
    blocker.write_text("")
    monkeypatch.setenv("GLASSTEXT_HOME", str(blocker / "home"))
    assert main(["cache", "info"]) == 2
    assert f"cannot open the cache {blocker}" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["a \ud800 film", "\udfff", "fine \ud83d", "\ude00\ud83d"])
def test_a_lone_surrogate_is_refused_with_where_it_is(text):
    """Such a text could be tokenized but never cached, saved or sent: refused up front."""
    from explorer_models import fitted_augtree
    from glasstext.exceptions import InvalidParameterError
    from glasstext.validation import check_texts

    at = next(i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff")
    expected = rf"texts\[1\] holds a lone surrogate \(U\+{ord(text[at]):04X}\) at character {at}"
    with pytest.raises(InvalidParameterError, match=expected):
        check_texts(["fine", text])
    with pytest.raises(ValueError, match="X\\[0\\] holds a lone surrogate"):
        fitted_augtree().predict([text])
    assert check_texts(["a \U0001f600 film"]) == ["a \U0001f600 film"]  # a pair decoded is fine
