"""Mutated model folders (issue 31): loaded as the original, or refused in one line.

Saved folders of every model kind are mutated: bytes flipped, JSON fields
deleted, retyped, renamed, nested or swapped, arrays truncated, re-typed,
reshaped, renamed or dropped, files replaced by links. Each mutation is tried
as it is (the checksums should catch it) and re-signed, as a forger would do
it (``config_sha256``, ``arrays_sha256`` and ``files_sha256`` recomputed), so
the parsing and validation behind the checksums are reached too.

Every mutated folder either loads and reads exactly as the original
(predictions, probabilities, explanation, text export, report page), or
raises a :class:`~glasstext.exceptions.GlasstextError` with a one-line
message, at load or when read. A re-signed folder may legitimately hold other
numbers: it must then load and read without any other exception. Nothing
outside the folder is touched (the example's working folder, the glasstext
home and the current folder are compared before and after), and nothing
loads an encoder or a language model at prediction time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from glasstext import io  # noqa: E402
from glasstext.exceptions import GlasstextError  # noqa: E402
from glasstext.models.base import load_model, model_types  # noqa: E402
from models.test_auglinear import FakeEncoder  # noqa: E402
from synthetic import NEG, POS, planted_texts  # noqa: E402

FILLER = ["movie", "film", "plot", "the", "a", "is", "story", "2024", "x7"]
# Texts read by every loaded model: known n-grams, unseen words, words with digits.
TEXTS = [
    "a good movie",
    "the plot is dull and boring",
    "zebra quasar 1999",
    "film b52 story lovely",
    "awful",
]
# The encoder name saved with the fitted Aug-Linear models: it resolves nowhere.
FUZZ_ENCODER = "fuzz-encoder-never-loaded"
# Examples per property unless it says otherwise.
EXAMPLES = 100


def _fuzz_settings(max_examples: int = EXAMPLES) -> Any:
    """Deterministic examples (the same in CI every time), no deadline."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True)


# -- the original folders, fitted once --------------------------------------------------


class Original:
    """A saved folder and what its model reads out (printed short: hypothesis prints it)."""

    def __init__(self, kind: str, folder: Path, outputs: dict[str, Any]) -> None:
        self.kind = kind
        self.folder = folder
        self.outputs = outputs
        self.document = json.loads((folder / "model.json").read_text("utf-8"))
        self.arrays = sorted(_arrays_of(folder))
        self.files = sorted(
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
        )

    def __repr__(self) -> str:
        return f"Original({self.kind})"


def _read_out(model: Any) -> dict[str, Any]:
    """Everything a user reads from a loaded model (the CLI's show, predict, explain, report)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out: dict[str, Any] = {"predict": model.predict(TEXTS)}
        if hasattr(model, "predict_proba"):
            out["predict_proba"] = model.predict_proba(TEXTS)
        out["explain"] = str(model.explain(TEXTS[0]))
        out["export_text"] = model.export_text()
        out["html"] = model.to_html(TEXTS[:2])
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        if isinstance(value, np.ndarray):
            if not np.array_equal(value, b[key]) or value.dtype != b[key].dtype:
                return False
        elif value != b[key]:
            return False
    return True


def _fitted_models(bert: Path) -> dict[str, Any]:
    """One small fitted model of every kind (fakes: under a second each)."""
    from glasstext import (
        AugLinearClassifier,
        AugLinearRegressor,
        AugTreeClassifier,
        AugTreeRegressor,
        ProtoLMClassifier,
    )

    X, labels = planted_texts(60, [NEG, POS], ["neg", "pos"], FILLER, 4, 0)
    X3, labels3 = planted_texts(60, [NEG, POS, ["story", "plot"]], [0, 1, 2], FILLER, 4, 1)
    numbers = np.array([1.0 if label == "pos" else -1.0 for label in labels])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "AugLinearClassifier": AugLinearClassifier(
                encoder=FakeEncoder(), cv=3, encoder_words=0, vocabulary=["good story"]
            ).fit(X, labels),
            "AugLinearClassifier-3": AugLinearClassifier(
                encoder=FakeEncoder(), cv=3, encoder_words=0, doc_pooling="mean", hybrid=False
            ).fit(X3, labels3),
            "AugLinearRegressor": AugLinearRegressor(
                encoder=FakeEncoder(), encoder_words=0, embedding_weight="idf"
            ).fit(X, numbers),
            "AugTreeClassifier": AugTreeClassifier(
                max_depth=3, expansion="none", n_estimators=2, random_state=0
            ).fit(X3, labels3),
            "AugTreeRegressor": AugTreeRegressor(max_depth=2, expansion="none").fit(X, numbers),
            "ProtoLMClassifier": ProtoLMClassifier(
                encoder=str(bert),
                n_prototypes_per_class=2,
                warmup_epochs=1,
                epochs=1,
                last_layer_epochs=2,
                batch_size=16,
            ).fit(X, labels),
        }
    for model in models.values():
        if isinstance(model.get_params().get("encoder"), FakeEncoder):
            model.set_params(encoder=FUZZ_ENCODER)  # a name, so the model can be saved
    return models


@pytest.fixture(scope="module")
def originals(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Original]:
    root = tmp_path_factory.mktemp("fuzz-originals")
    out = {}
    for kind, model in _fitted_models(tiny_bert_dir).items():
        out[kind] = Original(kind, model.save(root / kind), _read_out(model))
    return out


def _arrays_of(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "arrays.safetensors"))


#: Proto-LM's encoder folder, written and read by transformers.
ENCODER_FOLDER = "encoder/"
KINDS = [
    "AugLinearClassifier",
    "AugLinearClassifier-3",
    "AugLinearRegressor",
    "AugTreeClassifier",
    "AugTreeRegressor",
    "ProtoLMClassifier",
]

# -- signing (what a forger does after an edit) ------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_document(folder: Path) -> Any:
    try:
        return json.loads((folder / "model.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


_DEEP = "<deeply nested>"


def _write_document(folder: Path, document: Any, deep: tuple[int, Any] | None = None) -> None:
    """Write model.json; ``deep``: ``(depth, value)`` nested in lists where ``_DEEP`` stands
    (written as text: too deep for ``json.dumps``)."""
    text = json.dumps(document)
    if deep is not None:
        depth, value = deep
        text = text.replace(json.dumps(_DEEP), "[" * depth + json.dumps(value) + "]" * depth)
    (folder / "model.json").write_text(text, "utf-8")


def _sign(folder: Path) -> None:
    """Recompute every checksum of ``folder`` as a forger would (where the files allow it)."""
    document = _read_document(folder)
    if not isinstance(document, dict):
        return
    arrays = folder / "arrays.safetensors"
    if arrays.is_file():
        document["arrays_sha256"] = _sha256(arrays)
    if isinstance(document.get("files_sha256"), dict):
        document["files_sha256"] = {
            p.relative_to(folder).as_posix(): _sha256(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("model.json", "arrays.safetensors")
        }
    document["config_sha256"] = io._config_digest(document)
    _write_document(folder, document)


# -- mutations ---------------------------------------------------------------------------

Path_ = tuple[Any, ...]  # keys and indices into model.json


def _json_paths(value: Any, prefix: Path_ = (), depth: int = 0) -> list[Path_]:
    """Paths into a JSON document: every dict key, and the first, second and last list items."""
    if depth > 6:
        return []
    if isinstance(value, dict):
        keys: list[Any] = list(value)
    elif isinstance(value, list):
        keys = sorted({i for i in (0, 1, len(value) - 1) if 0 <= i < len(value)})
    else:
        return []
    paths = []
    for key in keys:
        paths.append((*prefix, key))
        paths.extend(_json_paths(value[key], (*prefix, key), depth + 1))
    return paths


def _parent(document: Any, path: Path_) -> Any:
    for key in path[:-1]:
        document = document[key]
    return document


# Values a field may be retyped to ("<ROOT>" becomes the example's working folder).
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    2**40,
    10**30,
    10**400,
    1.5,
    -2.5,
    float("nan"),
    float("inf"),
    "",
    "12",
    "embed",
    "rm -rf",
    "two\nlines",
    "ray",
    "cuda:7",
    "<ROOT>/planted.sqlite",
    "<ROOT>/planted-dir",
    "../outside",
    "/",
    [],
    [1],
    [1, 2],
    ["a", 1],
    [None],
    [[1, 2]],
    {},
    {"a": 1},
]


def _odd_value(index: int, root: Path) -> Any:
    value = ODD_VALUES[index]
    if isinstance(value, str):
        return value.replace("<ROOT>", str(root))
    return value


@dataclass(frozen=True)
class JsonEdit:
    """One edit of model.json: delete, retype, rename, nest or swap a field."""

    op: str
    path: Path_
    other: Path_ = ()
    value: int = 0  # index into ODD_VALUES, or the nesting depth

    def apply(self, folder: Path, root: Path) -> None:
        document = _read_document(folder)
        parent = _parent(document, self.path)
        key = self.path[-1]
        if self.op == "delete":
            del parent[key]
        elif self.op == "retype":
            parent[key] = _odd_value(self.value, root)
        elif self.op == "nest":
            deep = (self.value, parent[key])
            parent[key] = _DEEP
            _write_document(folder, document, deep)
            return
        elif self.op == "wrap":
            parent[key] = {"value": parent[key]}
        elif self.op == "rename" and isinstance(parent, dict):
            parent[f"{key}_" if self.value % 2 else str(key).upper()] = parent.pop(key)
        elif self.op == "rename":  # a list item: moved to the end
            parent.append(parent.pop(key))
        elif self.op == "swap":
            other_parent = _parent(document, self.other)
            other_key = self.other[-1]
            a, b = parent[key], other_parent[other_key]
            parent[key], other_parent[other_key] = b, a
        _write_document(folder, document)


@dataclass(frozen=True)
class ArrayEdit:
    """One edit of arrays.safetensors: truncate, re-type, reshape, drop, rename or add."""

    op: str
    name: str
    dtype: str = "float32"

    def apply(self, folder: Path, root: Path) -> None:
        from safetensors.numpy import save_file

        arrays = dict(_arrays_of(folder))
        value = arrays[self.name]
        if self.op == "truncate":
            arrays[self.name] = value[: max(len(value) - 1, 0)] if value.ndim else value
        elif self.op == "empty":
            arrays[self.name] = value[:0] if value.ndim else value.reshape(1)[:0]
        elif self.op == "retype":
            arrays[self.name] = value.astype(self.dtype)
        elif self.op == "flatten":
            arrays[self.name] = value.reshape(-1)
        elif self.op == "transpose":
            arrays[self.name] = np.ascontiguousarray(value.T)
        elif self.op == "add_axis":
            arrays[self.name] = value[None]
        elif self.op == "drop":
            del arrays[self.name]
        elif self.op == "rename":
            arrays[self.name + "_x"] = arrays.pop(self.name)
        elif self.op == "extra":
            arrays[self.name + "_extra"] = value
        save_file(arrays, str(folder / "arrays.safetensors"))


@dataclass(frozen=True)
class ByteFlip:
    """Bytes of one file XOR-ed (positions as fractions of the file's length)."""

    file: str
    positions: tuple[float, ...]
    mask: int

    def apply(self, folder: Path, root: Path) -> None:
        path = folder / self.file
        data = bytearray(path.read_bytes())
        if not data:
            return
        for fraction in self.positions:
            data[min(int(fraction * len(data)), len(data) - 1)] ^= self.mask
        path.write_bytes(bytes(data))


@dataclass(frozen=True)
class FileEdit:
    """A file (or the folder) replaced by a link, truncated, emptied or removed."""

    op: str
    file: str

    def apply(self, folder: Path, root: Path) -> None:
        path = folder / self.file if self.file else folder
        outside = root / "outside"
        outside.mkdir(exist_ok=True)
        if self.op == "link_to_copy":  # an identical copy outside the folder
            copy = outside / (path.name or "folder")
            if path.is_dir():
                shutil.copytree(path, copy)
                shutil.rmtree(path)
            else:
                shutil.copy2(path, copy)
                path.unlink()
            path.symlink_to(copy, target_is_directory=copy.is_dir())
        elif self.op == "link_to_missing":
            _remove(path)
            path.symlink_to(outside / "missing")
        elif self.op == "link_to_dir":
            _remove(path)
            path.symlink_to(outside, target_is_directory=True)
        elif self.op == "link_to_json":  # another file of the folder
            _remove(path)
            path.symlink_to(folder / "model.json")
        elif self.op == "empty" and path.is_file():
            path.write_bytes(b"")
        elif self.op == "truncate" and path.is_file():
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif self.op == "remove":
            _remove(path)
        elif self.op == "dir_instead":
            _remove(path)
            path.mkdir()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


Mutation = JsonEdit | ArrayEdit | ByteFlip | FileEdit


@st.composite
def json_edits(draw: Any, original: Original) -> JsonEdit:
    paths = _json_paths(original.document)
    path = draw(st.sampled_from(paths))
    op = draw(st.sampled_from(["delete", "retype", "retype", "rename", "nest", "wrap", "swap"]))
    if op == "swap":
        return JsonEdit(op, path, other=draw(st.sampled_from(paths)))
    if op == "nest":
        return JsonEdit(op, path, value=draw(st.sampled_from([1, 2, 40, 3000])))
    return JsonEdit(op, path, value=draw(st.integers(0, len(ODD_VALUES) - 1)))


@st.composite
def array_edits(draw: Any, original: Original) -> ArrayEdit:
    ops = ["truncate", "empty", "retype", "flatten", "transpose", "add_axis", "drop", "rename"]
    return ArrayEdit(
        draw(st.sampled_from([*ops, "extra"])),
        draw(st.sampled_from(original.arrays)),
        draw(st.sampled_from(["float32", "float64", "float16", "int64", "int32", "bool"])),
    )


def _own_files(original: Original) -> list[str]:
    """The files glasstext writes itself (Proto-LM's encoder folder is transformers')."""
    return [f for f in original.files if not f.startswith(ENCODER_FOLDER)]


def _encoder_files(original: Original) -> list[str]:
    return [f for f in original.files if f.startswith(ENCODER_FOLDER)]


@st.composite
def byte_flips(draw: Any, original: Original, files: Callable[[Original], list[str]]) -> ByteFlip:
    return ByteFlip(
        draw(st.sampled_from(files(original))),
        tuple(draw(st.lists(st.floats(0, 1), min_size=1, max_size=3))),
        draw(st.integers(1, 255)),
    )


@st.composite
def file_edits(draw: Any, original: Original, files: Callable[[Original], list[str]]) -> FileEdit:
    ops = ["link_to_copy", "link_to_missing", "link_to_dir", "link_to_json", "empty"]
    ops += ["truncate", "remove", "dir_instead"]
    return FileEdit(draw(st.sampled_from(ops)), draw(st.sampled_from(["", *files(original)])))


@st.composite
def encoder_file_edits(draw: Any, original: Original) -> ByteFlip | FileEdit:
    if draw(st.booleans()):
        return draw(byte_flips(original, _encoder_files))
    return draw(file_edits(original, _encoder_files))


# -- running one mutated folder ----------------------------------------------------------


def _snapshot(*roots: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under ``roots``: its kind, size and content digest (links: their target)."""
    seen = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                if path.is_symlink():
                    seen[str(path)] = ("link", 0, os.readlink(path))
                elif path.is_dir():
                    seen[str(path)] = ("dir", 0, "")
                else:
                    seen[str(path)] = ("file", path.stat().st_size, _sha256(path))
    return seen


def _no_encoder_at_prediction(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"a loaded model asked for an encoder or LM: {args!r:.200}")


@pytest.fixture(scope="module")
def guarded(originals: dict[str, Original]) -> Iterator[None]:
    """No encoder may be loaded by a table-only model once the originals are fitted."""
    import glasstext.models.auglinear as auglinear

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auglinear, "get_encoder", _no_encoder_at_prediction)
        yield


def _check(original: Original, mutation: Mutation, signed: bool) -> None:
    """Apply ``mutation`` to a copy of ``original``'s folder and check the outcome."""
    with tempfile.TemporaryDirectory(prefix="glasstext-fuzz-") as tmp:
        root = Path(tmp)
        work = root / "work"
        home = root / "home"
        work.mkdir()
        home.mkdir()
        folder = work / "model"
        shutil.copytree(original.folder, folder)
        try:
            mutation.apply(folder, root)
        except (KeyError, IndexError, TypeError, ValueError, FileNotFoundError):
            return  # the edit does not apply to this folder (e.g. a path already moved)
        if signed:
            _sign(folder)
        unchanged = _same_content(original, folder)
        before = _snapshot(root)
        outcome = _load_and_read(folder, root, home)
        after = _snapshot(root)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert not changed, f"{mutation} touched {sorted(changed)[:5]}"
        if unchanged:  # e.g. a checksum dropped, equal values swapped: nothing to refuse
            assert not isinstance(outcome, GlasstextError), f"{mutation}: {outcome}"
        if isinstance(outcome, GlasstextError):
            message = str(outcome)
            assert len(message.splitlines()) == 1, f"{mutation}: {message!r}"
        elif not signed:
            assert _same(outcome, original.outputs), f"{mutation} changed what the model reads"
        else:
            assert len(outcome["predict"]) == len(TEXTS)


def _same_content(original: Original, folder: Path) -> bool:
    """Whether ``folder`` holds what the original holds: the same files, no link, and
    model.json the same document (its own checksum dropped or still right)."""
    paths = [folder, *folder.rglob("*")]
    if any(p.is_symlink() for p in paths):
        return False
    files = sorted(p.relative_to(folder).as_posix() for p in paths if p.is_file())
    if files != original.files:
        return False
    if any(
        (folder / name).read_bytes() != (original.folder / name).read_bytes()
        for name in files
        if name != "model.json"
    ):
        return False
    document = _read_document(folder)
    if not isinstance(document, dict):
        return False
    expected = dict(original.document)
    expected_digest = expected.pop("config_sha256")
    if document.pop("config_sha256", expected_digest) != expected_digest:
        return False
    # compared as canonical text, as the checksum compares them (1 and true differ)
    return json.dumps(document, sort_keys=True) == json.dumps(expected, sort_keys=True)


def _load_and_read(folder: Path, root: Path, home: Path) -> dict[str, Any] | GlasstextError:
    """What the model in ``folder`` reads out, or the one error glasstext may raise."""
    old_cwd, old_home = Path.cwd(), os.environ.get("GLASSTEXT_HOME")
    os.chdir(root / "work")
    os.environ["GLASSTEXT_HOME"] = str(home)
    try:
        return _read_out(load_model(folder))
    except GlasstextError as exc:
        return exc
    finally:
        os.chdir(old_cwd)
        if old_home is None:
            del os.environ["GLASSTEXT_HOME"]
        else:
            os.environ["GLASSTEXT_HOME"] = old_home


def _property(
    strategy: Callable[[Original], st.SearchStrategy[Mutation]],
    max_examples: int = EXAMPLES,
    kinds: list[str] = KINDS,
) -> Callable[..., None]:
    """A test that draws a model kind, a mutation and signed/unsigned, and checks it."""

    @_fuzz_settings(max_examples)
    @given(data=st.data())
    def run(originals: dict[str, Original], guarded: None, data: Any) -> None:
        original = originals[data.draw(st.sampled_from(kinds), label="kind")]
        mutation = data.draw(strategy(original), label="mutation")
        signed = data.draw(st.booleans(), label="signed")
        _check(original, mutation, signed)

    return run


test_json_fields_deleted_retyped_renamed_nested_or_swapped = _property(json_edits, 600)
test_arrays_truncated_retyped_reshaped_or_renamed = _property(array_edits, 250)
test_bytes_flipped = _property(lambda o: byte_flips(o, _own_files), 200)
test_files_replaced_by_links_or_removed = _property(lambda o: file_edits(o, _own_files), 120)
test_protolm_encoder_files_flipped_or_replaced = _property(
    encoder_file_edits, 80, ["ProtoLMClassifier"]
)


def test_the_fuzzer_covers_every_built_in_model_kind(originals: dict[str, Original]) -> None:
    built_in = {n for n, c in model_types().items() if c.__module__.startswith("glasstext.")}
    assert {o.document["kind"] for o in originals.values()} == built_in


def test_originals_load_and_read_as_saved(originals: dict[str, Original], guarded: None) -> None:
    for original in originals.values():
        assert _same(_read_out(load_model(original.folder)), original.outputs), original.kind
