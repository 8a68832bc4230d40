"""What a saved folder may decide (issue 31, items 7 and 8).

A folder's checksums catch accidents; a forger recomputes them. So a folder
never chooses run-time settings (cache, executor, device, whether to embed
unseen n-grams...), every saved parameter passes the checks ``fit`` runs,
unknown parameters are refused, and the learned state is checked on load:
each bad folder is refused in one line (exit code 2 on the command line)
rather than failing with a traceback later.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glasstext import AugLinearClassifier, AugTreeClassifier, AugTreeRegressor, Encoder, io
from glasstext.exceptions import ModelFileError
from glasstext.models import load_model
from models.test_auglinear import FakeEncoder
from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "the", "a", "is", "story"]


def _data() -> tuple[list[str], np.ndarray]:
    return planted_texts(60, [NEG, POS], ["neg", "pos"], FILLER, 4, 0)


def _forge(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Edit model.json as a forger would: change it, then recompute its checksum."""
    document = json.loads((folder / "model.json").read_text("utf-8"))
    change(document)
    document["config_sha256"] = io._config_digest(document)
    (folder / "model.json").write_text(json.dumps(document), "utf-8")
    return folder


def _forge_arrays(folder: Path, change: Callable[[dict[str, np.ndarray]], None]) -> Path:
    """Edit arrays.safetensors and re-sign both checksums."""
    from safetensors.numpy import load_file, save_file

    arrays = dict(load_file(str(folder / "arrays.safetensors")))
    change(arrays)
    save_file(arrays, str(folder / "arrays.safetensors"))
    digest = io._sha256(folder / "arrays.safetensors")
    return _forge(folder, lambda d: d.update(arrays_sha256=digest))


def _params(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda document: change(document["config"]["params"])


def _refused(folder: Path, *words: str) -> str:
    """Loading ``folder`` raises a one-line ModelFileError naming it and ``words``."""
    with pytest.raises(ModelFileError) as info:
        load_model(folder)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert str(folder) in message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture(scope="module")
def linear_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = _data()
    model = AugLinearClassifier(encoder=FakeEncoder(), cv=3, encoder_words=0).fit(X, y)
    model.set_params(encoder="an-encoder-nobody-loads")
    return model.save(tmp_path_factory.mktemp("linear") / "model")


@pytest.fixture(scope="module")
def tree_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = _data()
    model = AugTreeClassifier(max_depth=3, expansion="none").fit(X, y)
    return model.save(tmp_path_factory.mktemp("tree") / "model")


@pytest.fixture
def linear(linear_folder: Path, tmp_path: Path) -> Path:
    """A copy of the saved Aug-Linear folder, free to forge."""
    import shutil

    return Path(shutil.copytree(linear_folder, tmp_path / "linear"))


@pytest.fixture
def tree(tree_folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(tree_folder, tmp_path / "tree"))


# -- item 7: run-time settings come from the caller, never from the folder -------------


def test_a_folder_cannot_choose_the_cache_or_make_prediction_embed(
    tiny_bert_dir: Path, tmp_path: Path, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = _data()
    model = AugLinearClassifier(encoder=Encoder(str(tiny_bert_dir), cache=store), encoder_words=0)
    folder = model.fit(X, y).save(tmp_path / "model")
    planted = tmp_path / "elsewhere" / "cache.sqlite"
    _forge(folder, _params(lambda p: p.update(cache=str(planted), unseen="embed")))
    loaded = load_model(folder)
    assert loaded.unseen == "backoff"  # the caller's default
    assert loaded.encoder == str(tiny_bert_dir)  # the name: the cache is the caller's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded.predict(["zebra quasar kumquat"])  # unseen n-grams: backed off, not embedded
    assert not planted.parent.exists()
    assert len(loaded.vocabulary_) == len(model.vocabulary_)
    # the caller opts in
    loaded.set_params(unseen="embed", encoder__cache=store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded.predict(["zebra quasar kumquat"])
    assert len(loaded.vocabulary_) > len(model.vocabulary_)


def test_saved_run_time_settings_are_ignored(linear: Path) -> None:
    odd = {
        "executor": "ray",
        "n_jobs": -1,
        "n_threads": 7,
        "device": "cuda:7",
        "precision": "int8",
        "batch_size": 3,
        "progress": True,
        "cache": "/somewhere/else.sqlite",
        "unseen": "embed",
    }
    _forge(linear, _params(lambda p: p.update(odd)))
    loaded = load_model(linear)
    assert (loaded.unseen, loaded.progress) == ("backoff", None)  # the caller's defaults
    assert isinstance(loaded.encoder, str)  # no run-time setting reaches the encoder


def test_run_time_settings_are_not_saved(linear: Path, tree: Path) -> None:
    run_time = {
        linear: {"unseen", "precision", "batch_size", "n_jobs", "n_threads", "cache", "executor"},
        tree: {"progress", "device"},
    }
    for folder, names in run_time.items():
        params = json.loads((folder / "model.json").read_text("utf-8"))["config"]["params"]
        assert not names & set(params)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ngram_range", "12"),
        ("ngram_range", [2, 1]),
        ("ngram_range", [1, float("inf")]),
        ("hybrid", "yes"),
        ("doc_pooling", "median"),
        ("min_count", 0),
        ("prefix", None),
    ],
)
def test_every_saved_parameter_is_checked_as_fit_checks_it(
    linear: Path, name: str, value: Any
) -> None:
    _forge(linear, _params(lambda p: p.update({name: value})))
    _refused(linear, name)


@pytest.mark.parametrize(
    ("name", "value"), [("max_depth", 0), ("token_pattern", "("), ("leaf_smoothing", -1)]
)
def test_every_saved_tree_parameter_is_checked(tree: Path, name: str, value: Any) -> None:
    _forge(tree, _params(lambda p: p.update({name: value})))
    _refused(tree, name)


def test_unknown_saved_parameters_are_refused(linear: Path, tree: Path) -> None:
    for folder in (linear, tree):
        _forge(folder, _params(lambda p: p.update(run_this="rm -rf /")))
        _refused(folder, "run_this")


@pytest.mark.parametrize(
    "removed", [{"selection": "both_halves"}, {"stop_words": None}, {"stop_words": []}]
)
def test_a_tree_saved_with_a_removed_option_at_today_s_behaviour_loads(
    tree: Path, removed: dict[str, Any]
) -> None:
    expected = load_model(tree).predict(["good film", "bad plot"])
    _forge(tree, _params(lambda p: p.update(removed)))
    loaded = load_model(tree)
    assert not set(removed) & set(loaded.get_params())
    np.testing.assert_array_equal(loaded.predict(["good film", "bad plot"]), expected)


@pytest.mark.parametrize(
    ("name", "value"),
    [("selection", "held_out"), ("selection", "train"), ("stop_words", "english")],
)
def test_a_tree_saved_with_a_removed_option_elsewhere_is_refused(
    tree: Path, name: str, value: Any
) -> None:
    _forge(tree, _params(lambda p: p.update({name: value})))
    _refused(tree, name, "no longer exists")


def test_saved_parameters_that_are_no_mapping_are_refused(tree: Path) -> None:
    _forge(tree, lambda d: d["config"].update(params=["max_depth", 3]))
    _refused(tree, "no parameters")


# -- item 8: the learned state is checked on load --------------------------------------


def test_a_vocabulary_of_ints_is_refused_in_one_line(linear: Path, capsys: Any) -> None:
    from glasstext.cli import main

    _forge(
        linear, lambda d: d["config"].update(vocabulary=list(range(len(d["config"]["vocabulary"]))))
    )
    _refused(linear, "vocabulary")
    assert main(["predict", str(linear), "a good movie"]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "vocabulary" in error


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda a: a.update(coef_table=a["coef_table"][:-1]), ["coef_table", "shape"]),
        (lambda a: a.update(coef_table=a["coef_table"].astype(np.float32)), ["float32"]),
        (lambda a: a.update(intercept=np.array([np.nan])), ["intercept", "finite"]),
        (lambda a: a.pop("phrase_table"), ["part"]),
        (lambda a: a.pop("left_table"), ["composition"]),
        (lambda a: a.update(shape_counts=a["shape_counts"][:2]), ["shape_counts"]),
        (lambda a: a.update(composition_intercept=np.zeros(3)), ["composition_intercept"]),
        (lambda a: a.update(extra=np.zeros(2)), ["extra"]),
    ],
)
def test_linear_arrays_must_fit_the_vocabulary(
    linear: Path, change: Callable[[dict[str, np.ndarray]], None], words: list[str]
) -> None:
    _forge_arrays(linear, change)
    _refused(linear, *words)


@pytest.mark.parametrize(
    ("key", "value", "word"),
    [
        ("vocabulary", ["good", "good"], "duplicates"),
        ("embedding_dim", 13, "coef"),
        ("reference_length", float("inf"), "reference_length"),
        ("n_training_ngrams", 10**6, "n_training_ngrams"),
        ("classes", ["neg", ["pos"]], "class"),
        ("classes", ["neg", 1], "kinds"),
        ("C", "0.1", "C"),
    ],
)
def test_linear_settings_are_checked(linear: Path, key: str, value: Any, word: str) -> None:
    _forge(linear, lambda d: d["config"].update({key: value}))
    _refused(linear, word)


def test_a_tree_with_short_sample_counts_is_refused(
    tree: Path, tmp_path: Path, capsys: Any
) -> None:
    from glasstext.cli import main

    _forge(tree, lambda d: d["config"]["trees"][0]["n_samples"].pop())
    _refused(tree, "tree")
    assert main(["report", str(tree), "--out", str(tmp_path / "report.html")]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "tree" in error


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (lambda t: t.update(gain=[*t["gain"][:-1], "high"]), "gain"),
        (lambda t: t.update(left=[*t["left"][:-1], 0.5]), "child"),
        (lambda t: t.update(keyword=[3] * len(t["keyword"])), "keyword"),
        (lambda t: t.update(phrases=[[1]] * len(t["phrases"])), "phrase"),
        (lambda t: t["right"].__setitem__(0, -1), "one child"),
        (lambda t: t.pop("left"), "left"),
        (lambda t: t["n_samples"].__setitem__(0, 10**400), "sample count"),
        (lambda t: t["n_samples"].__setitem__(0, t["n_samples"][0] + 1), "add up"),
        (lambda t: t.update(left=t["right"], right=t["left"]), None),  # a mirror: still a tree
    ],
)
def test_tree_node_lists_are_checked(
    tree: Path, change: Callable[[dict], None], word: str | None
) -> None:
    _forge(tree, lambda d: change(d["config"]["trees"][0]))
    if word is None:
        assert load_model(tree).export_text()
    else:
        _refused(tree, word)


def test_a_tree_listing_a_child_before_its_node_is_refused(tree: Path) -> None:
    def move_a_split_last(t: dict[str, Any]) -> None:
        """The same tree, its first split below the root listed after its children."""
        moved = next(i for i in range(1, len(t["left"])) if t["left"][i] >= 0)
        order = [i for i in range(len(t["left"])) if i != moved] + [moved]
        where = {old: new for new, old in enumerate(order)}
        for name in ("keyword", "phrases", "n_samples", "gain"):
            t[name] = [t[name][i] for i in order]
        for name in ("left", "right"):
            t[name] = [where.get(t[name][i], -1) for i in order]

    _forge(tree, lambda d: move_a_split_last(d["config"]["trees"][0]))
    _refused(tree, "before its node")


def test_a_deep_tree_prints_and_predicts(tree: Path) -> None:
    depth = 1200  # deeper than Python's recursion limit
    chain = {name: [] for name in ("left", "right", "keyword", "phrases", "n_samples", "gain")}
    for k in range(depth):  # node 2k asks for word k; "yes" is a leaf, "no" goes on
        chain["left"] += [2 * k + 2, -1]
        chain["right"] += [2 * k + 1, -1]
        chain["keyword"] += [f"w{k}", ""]
        chain["phrases"] += [[f"w{k}"], []]
        chain["n_samples"] += [depth - k + 1, 1]
        chain["gain"] += [0.0, 0.0]
    for name, last in (("left", -1), ("right", -1), ("keyword", ""), ("phrases", [])):
        chain[name].append(last)
    chain["n_samples"].append(1)
    chain["gain"].append(0.0)
    n_nodes = 2 * depth + 1

    def deepen(document: dict[str, Any]) -> None:
        document["config"]["trees"] = [chain]
        document["config"]["params"]["max_depth"] = depth

    _forge_arrays(tree, lambda a: a.clear() or a.update(value_0=np.full((n_nodes, 2), 0.5)))
    _forge(tree, deepen)
    loaded = load_model(tree)
    assert loaded.export_text().count("predict") == depth + 1
    assert list(loaded.predict(["w0", "nothing"])) == ["neg", "neg"]


def test_tree_node_values_must_fit_the_nodes(tree: Path) -> None:
    _forge_arrays(tree, lambda a: a.update(value_0=a["value_0"][:-1]))
    _refused(tree, "tree")
    _forge_arrays(tree, lambda a: a.update(value_1=a["value_0"]))
    _refused(tree, "value")


def test_a_tree_deeper_than_its_max_depth_is_refused(tree: Path) -> None:
    _forge(tree, _params(lambda p: p.update(max_depth=1)))
    _refused(tree, "max_depth")


def test_a_regressor_tree_holds_one_value_per_node(tmp_path: Path) -> None:
    X, y = _data()
    model = AugTreeClassifier(max_depth=2, expansion="none").fit(X, y)
    folder = model.save(tmp_path / "tree")
    _forge(folder, lambda d: d.update(kind="AugTreeRegressor"))
    _forge(folder, lambda d: d["config"].pop("classes"))
    with pytest.raises(ModelFileError, match="one value"):
        AugTreeRegressor.load(folder)


# -- words: a token pattern's matches never break the n-gram index ---------------------


@pytest.mark.parametrize("pattern", [r"[`\W_]+", r"(\w)(\w)?", r"\w+ \w+", r"x*"])
def test_any_token_pattern_gives_words_without_spaces(pattern: str) -> None:
    from glasstext.text import PhraseMatcher, tokenize

    words = tokenize("a good, good movie\tx", pattern=pattern)
    assert all(w and not any(c.isspace() for c in w) for w in words)
    matcher = PhraseMatcher(["good movie", "a"], pattern=pattern)
    assert matcher.matrix(["a good, good movie\tx", "nothing"]).shape == (2, 2)


def test_an_infinite_ngram_bound_is_a_clear_error() -> None:
    from glasstext.text import check_ngram_range

    with pytest.raises(ValueError, match="ngram_range must be a pair"):
        check_ngram_range((1, float("inf")))


# -- Proto-LM -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proto_folder(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from glasstext import ProtoLMClassifier

    X, y = _data()
    fast = {"warmup_epochs": 1, "epochs": 1, "last_layer_epochs": 2, "batch_size": 16}
    model = ProtoLMClassifier(Encoder(str(tiny_bert_dir), n_threads=1), 2, **fast).fit(X, y)
    return model.save(tmp_path_factory.mktemp("proto") / "model")


@pytest.fixture
def proto(proto_folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(proto_folder, tmp_path / "proto"))


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (_params(lambda p: p.update(max_length=2**40)), "max_length"),
        (_params(lambda p: p.update(n_threads=4, progress=True)), None),  # run-time: ignored
        (lambda d: d["config"]["prototypes"][0].pop("sentence"), "sentence"),
        (lambda d: d["config"]["prototypes"].pop(), "prototype"),
        (lambda d: d["config"]["history"][0].update(validation_accuracy="0.9"), "history"),
        (lambda d: d["config"].update(classes=["neg", None]), "class"),
        (lambda d: d["config"].update(fit_seconds=[1]), "fit_seconds"),
    ],
)
def test_protolm_parameters_and_records_are_checked(
    proto: Path, change: Callable[[dict[str, Any]], None], word: str | None
) -> None:
    _forge(proto, change)
    if word is None:
        loaded = load_model(proto)
        assert loaded.progress is None and isinstance(loaded.encoder, str)
    else:
        _refused(proto, word)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (lambda a: a.update({"prototypes.vectors": a["prototypes.vectors"][:, :-1]}), "shape"),
        (
            lambda a: a.update({"last_layer.weight": a["last_layer.weight"].astype(np.float64)}),
            "float64",
        ),
        (lambda a: a.pop("attention.0.bias"), "missing"),
    ],
)
def test_protolm_arrays_must_fit_the_network(
    proto: Path, change: Callable[[dict[str, np.ndarray]], None], word: str
) -> None:
    _forge_arrays(proto, change)
    _refused(proto, word)


@pytest.mark.parametrize(
    ("edit", "word"),
    [
        (lambda c: c.update(num_hidden_layers=c["num_hidden_layers"] + 1), "missing"),
        (lambda c: c.update(intermediate_size=c["intermediate_size"] + 8), "loadable encoder"),
        (lambda c: c.update(model_type="no-such-architecture"), "loadable encoder"),
    ],
)
def test_protolm_encoder_config_edited_and_re_signed_is_refused(
    proto: Path, edit: Callable[[dict[str, Any]], None], word: str
) -> None:
    config_path = proto / "encoder" / "config.json"
    config = json.loads(config_path.read_text("utf-8"))
    edit(config)
    config_path.write_text(json.dumps(config), "utf-8")
    digest = io._sha256(config_path)
    _forge(proto, lambda d: d["files_sha256"].update({"encoder/config.json": digest}))
    _refused(proto, word)


def test_a_server_url_s_credentials_are_not_saved(tmp_path: Path) -> None:
    from glasstext import AugTreeClassifier

    X, y = _data()
    spec = "openai:m@http://user:PASS@127.0.0.1:9/v1?api_key=KEY"
    tree = AugTreeClassifier(max_depth=1, expansion="none", lm=spec).fit(X, y)
    folder = tree.save(tmp_path / "tree")
    text = (folder / "model.json").read_text("utf-8")
    assert "PASS" not in text and "KEY" not in text
    assert load_model(folder).lm == "openai:m@http://***@127.0.0.1:9/v1?api_key=***"
