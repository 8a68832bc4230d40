"""Safe save and load of fitted models: JSON + safetensors, never pickle.

A saved model is a folder holding ``model.json`` (class, parameters, learned
metadata, checksums) and ``arrays.safetensors`` (every numeric array). Loading
runs no code from the files, needs neither torch nor the language model, and
checks the checksums so a truncated or edited file is reported instead of
silently giving wrong predictions. Saving writes a temporary folder and renames
it into place, so an interrupted save never destroys an earlier good copy.

Checksums: ``arrays_sha256`` covers the arrays, ``files_sha256`` any extra
files, and ``config_sha256`` the rest of ``model.json`` itself (kind, classes,
vocabulary, parameters, the other checksums). ``config_sha256`` was added
without changing the format version: folders saved before it still load (the
check applies when the field is present), and older glasstext versions read
new folders. It guards against accidental edits and corruption, not against a
deliberate forgery (which could drop the field).

Saved folders get ordinary permissions: what the user's umask gives a new
folder and new files (``tempfile.mkdtemp`` alone would make them private).

What a save may replace (:func:`check_save_target`): nothing, an empty folder,
or, with ``overwrite=True``, a folder holding a saved glasstext model and
nothing else. Any other folder is never removed. What a load reads: only
files inside the folder, never through a symbolic link (a model folder holds
none), and in its sub-folders only files its checksums list.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import reprlib
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from glasstext.exceptions import ModelFileError

FORMAT_VERSION = 1
MODEL_FORMAT = "glasstext-model"
_CONFIG = "model.json"
_ARRAYS = "arrays.safetensors"


__all__ = [
    "ModelFileError",
    "check_save_target",
    "is_vacant",
    "jsonable",
    "load_model",
    "python_scalar",
    "save_model",
    "saved_kind",
    "write_folder_atomically",
]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _config_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the document without its own checksum, in a canonical form."""
    body = {k: v for k, v in document.items() if k != "config_sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, brief)
    os.umask(mask)
    return mask


def _ordinary_permissions(folder: Path) -> None:
    """Give ``folder`` and everything in it the modes the umask gives new files."""
    mask = _umask()
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o777 & ~mask)
        else:
            executable = path.stat().st_mode & 0o111
            path.chmod((0o666 | executable) & ~mask)


def save_model(
    path: str | os.PathLike[str],
    kind: str,
    config: dict[str, Any],
    arrays: dict[str, np.ndarray],
    write_extra: Callable[[Path], None] | None = None,
    *,
    overwrite: bool = False,
    kinds: Collection[str] | None = None,
) -> Path:
    """Write a model folder atomically.

    Parameters
    ----------
    path : str or path-like
        The folder to create, or to replace (see ``overwrite``).
    kind : str
        The model's class name, checked on load.
    config : dict
        JSON-serialisable parameters and metadata.
    arrays : dict of str to numpy.ndarray
        Numeric arrays (stored with safetensors).
    write_extra : callable, optional
        Called with the (temporary) folder before it is moved into place, to
        write further files, such as a fine-tuned encoder saved with
        ``save_pretrained`` in a sub-folder. Every file it writes is
        checksummed in ``model.json`` and verified by :func:`load_model`, and
        it is part of the same atomic replacement. It must write no pickle
        and no symbolic link.
    overwrite : bool, default=False
        Replace a saved model already at ``path``. A folder that holds
        anything else is never replaced (see :func:`check_save_target`).
    kinds : collection of str, optional
        The model kinds a replaced folder may hold (default: any).

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ModelFileError
        ``path`` may not be replaced (checked before anything is written, and
        again just before the swap), or ``write_extra`` wrote a symbolic link.
    """
    from safetensors.numpy import save_file

    def write(tmp: Path) -> None:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp / _ARRAYS))
        document: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "arrays_sha256": _sha256(tmp / _ARRAYS),
            "config": config,
        }
        if write_extra is not None:
            write_extra(tmp)
            document["files_sha256"] = _extra_file_digests(tmp)
        # Digest what a reader will see: JSON turns tuples into lists, keys into strings.
        document = json.loads(json.dumps(document, ensure_ascii=False))
        document["config_sha256"] = _config_digest(document)
        (tmp / _CONFIG).write_text(json.dumps(document, indent=1, ensure_ascii=False), "utf-8")

    def check(target: Path) -> None:
        check_save_target(target, overwrite=overwrite, kinds=kinds)

    return write_folder_atomically(path, write, check=check)


def _extra_file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in ``folder`` but its own model.json and arrays.

    A link is refused rather than followed: a loader would refuse the folder.
    """
    digests = {}
    for relative, entry in _entries(folder):
        if entry.is_symlink():
            raise ModelFileError(
                f"the model's files include a symbolic link ({_printable(relative)}): "
                "a saved model holds no links"
            )
        if entry.is_file() and relative not in (_ARRAYS, _CONFIG):
            digests[relative] = _sha256(entry)
    return dict(sorted(digests.items()))


def _entries(folder: Path) -> list[tuple[str, Path]]:
    """Every file, folder and link under ``folder`` with its relative path; links not followed."""
    found = []
    for root, dirs, files in os.walk(folder):  # os.walk descends into no linked folder
        for name in [*dirs, *files]:
            entry = Path(root) / name
            found.append((entry.relative_to(folder).as_posix(), entry))
    return found


def is_vacant(path: str | os.PathLike[str]) -> bool:
    """Whether nothing is at ``path`` or it is an empty folder.

    Raises
    ------
    ModelFileError
        ``path`` is a symbolic link (never followed by a save) or a file.
    """
    target = Path(path)
    if target.is_symlink():
        raise ModelFileError(
            f"{target} is a symbolic link: give the folder itself (links are not followed)"
        )
    if not target.exists():
        return True
    if not target.is_dir():
        raise ModelFileError(f"{target} exists and is not a folder")
    return not any(target.iterdir())


def check_save_target(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    kinds: Collection[str] | None = None,
) -> Path:
    """Refuse to save a model where the save would remove anything but a saved model.

    A model may be saved where nothing is, in an empty folder, and, with
    ``overwrite``, over a folder holding a saved model of one of ``kinds``
    and nothing else (its ``model.json``, arrays and listed files).

    Parameters
    ----------
    path : str or path-like
        The folder to write.
    overwrite : bool, default=False
        Whether a saved model at ``path`` may be replaced.
    kinds : collection of str, optional
        The model kinds a replaced folder may hold (default: any).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ModelFileError
        ``path`` is a link, a file, a folder holding no saved model, a saved
        model beside other files, or a saved model and ``overwrite`` is False.
    """
    target = Path(path)
    if is_vacant(target):
        return target
    own_files = _saved_model_files(target, kinds)
    if own_files is None:
        raise ModelFileError(
            f"{target} is not empty and holds no glasstext model: it is never replaced "
            "(choose a new or empty folder)"
        )
    other = next((rel for rel, e in _entries(target) if _is_other(rel, e, own_files)), None)
    if other is not None:
        raise ModelFileError(
            f"{target} holds a saved model and other files ({_printable(other)}): "
            "it is never replaced (move them out or choose another folder)"
        )
    if not overwrite:
        raise ModelFileError(
            f"{target} already holds a saved model: pass overwrite=True "
            "(--overwrite on the command line) to replace it"
        )
    return target


def _saved_model_files(folder: Path, kinds: Collection[str] | None) -> set[str] | None:
    """The files of the saved model in ``folder``; None if it holds none (of ``kinds``)."""
    config_path = folder / _CONFIG
    if config_path.is_symlink() or not config_path.is_file():
        return None
    try:
        document = _read_document(config_path)
    except ModelFileError:
        return None
    kind, listed = document.get("kind"), document.get("files_sha256", {})
    if not isinstance(kind, str) or (kinds is not None and kind not in kinds):
        return None
    if not isinstance(listed, dict):
        return None
    return {_CONFIG, _ARRAYS, *(str(name) for name in listed)}


def _is_other(relative: str, entry: Path, own_files: set[str]) -> bool:
    """Whether a folder entry is no part of the saved model (its folders are)."""
    if entry.is_symlink():
        return True
    return not entry.is_dir() and relative not in own_files


def write_folder_atomically(
    path: str | os.PathLike[str],
    write: Callable[[Path], None],
    *,
    replace: bool = True,
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Create or replace the folder ``path`` with what ``write`` puts in a temporary sibling.

    The sibling is moved into place only once ``write`` has returned, and the
    old folder survives until then, so a crash never leaves half a folder.
    Used for every saved model, every fine-tuned encoder folder and every
    converted carrier model.

    With ``replace=False`` an existing folder is kept: ``write`` is not called
    if ``path`` exists, and if another process publishes ``path`` while
    ``write`` runs, ours is discarded (a reader of theirs is never disturbed).

    ``check`` is called with ``path`` before ``write`` and again just before
    the swap (the folder may change meanwhile); it raises to refuse the
    replacement, e.g. :func:`check_save_target`. A link at ``path`` is never
    replaced.
    """
    target = Path(path)
    if not replace and target.exists():
        return target
    if check is not None:
        check(target)
    place = target.absolute()  # "." has no name and no parent of its own to write beside
    place.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{place.name}-", dir=place.parent))
    try:
        write(tmp)
        _ordinary_permissions(tmp)
        if replace:
            if check is not None:
                check(target)
            _swap_into_place(tmp, place)
        else:
            _publish_new(tmp, place)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _publish_new(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target`` unless ``target`` appeared meanwhile (then keep it)."""
    try:
        os.replace(new, target)
    except OSError:
        if not target.exists():
            raise


def _swap_into_place(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``; the old copy survives until the new one is in."""
    if target.is_symlink():
        raise ModelFileError(
            f"{target} is a symbolic link: give the folder itself (links are not followed)"
        )
    if target.exists() and not target.is_dir():
        raise ModelFileError(f"{target} exists and is not a folder")
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_model(
    path: str | os.PathLike[str], kind: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a model folder written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        The folder or a file is missing, the JSON is unreadable, the arrays do
        not match their checksum, the model is of another kind, the folder
        holds a symbolic link, or one of its sub-folders a file its checksums
        do not list.
    """
    from safetensors.numpy import load_file

    folder = Path(path)
    config_path, arrays_path = folder / _CONFIG, folder / _ARRAYS
    if not folder.is_dir():
        raise ModelFileError(f"no saved model at {folder}: not a folder")
    for needed in (config_path, arrays_path):
        if not needed.is_file():
            raise ModelFileError(f"saved model at {folder} is incomplete: {needed.name} missing")
    document = _read_document(config_path)
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{folder} uses format version {_shown(document.get('format_version'))}, "
            f"this glasstext reads version {FORMAT_VERSION}"
        )
    if document.get("kind") != kind:
        raise ModelFileError(f"{folder} holds a {_kind_shown(document.get('kind'))}, not a {kind}")
    listed = _listed_files(folder, document.get("files_sha256"))
    _check_folder_contents(folder, listed)
    if _sha256(arrays_path) != document.get("arrays_sha256"):
        raise ModelFileError(f"{arrays_path} is corrupt: its checksum does not match")
    _check_extra_files(folder, listed)
    if (
        "config_sha256" in document
        and _digest_of(config_path, document) != document["config_sha256"]
    ):
        raise ModelFileError(
            f"{config_path} has been modified or is corrupt: its checksum does not match "
            "(edit a model by fitting it again, not by changing model.json)"
        )
    try:
        arrays = load_file(str(arrays_path))
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{arrays_path} is unreadable: {_one_line(exc)}") from exc
    config = document.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_path} has no model configuration")
    return config, arrays


def _read_document(config_path: Path) -> dict[str, Any]:
    """``model.json`` of a saved model as a dict; anything else refused in one line."""
    if config_path.is_symlink():
        raise ModelFileError(f"{config_path} is a symbolic link: a saved model holds no links")
    try:
        document = json.loads(config_path.read_text("utf-8"))
    except RecursionError:
        raise ModelFileError(f"{config_path} is corrupt: it is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, a too-long integer
        raise ModelFileError(f"{config_path} is corrupt: {_one_line(exc)}") from exc
    if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{config_path} is not a glasstext model file")
    return document


def _digest_of(config_path: Path, document: dict[str, Any]) -> str:
    """:func:`_config_digest`, a document too deeply nested to serialise refused in one line."""
    try:
        return _config_digest(document)
    except RecursionError:
        raise ModelFileError(f"{config_path} is corrupt: it is nested too deeply") from None


def _listed_files(folder: Path, expected: Any) -> dict[str, str]:
    """The files ``files_sha256`` lists with their digests, each a plain path inside the folder."""
    if expected is None:
        return {}
    if not isinstance(expected, dict) or not all(
        isinstance(k, str) and k.isprintable() and isinstance(v, str) for k, v in expected.items()
    ):
        raise ModelFileError(f"{folder / _CONFIG} has a malformed file list")
    for relative in expected:
        parts = Path(relative).parts
        if not parts or Path(relative).is_absolute() or ".." in parts:
            raise ModelFileError(
                f"{folder / _CONFIG} lists a file outside the model: {_shown(relative)}"
            )
    return expected


def _check_folder_contents(folder: Path, listed: dict[str, str]) -> None:
    """Refuse a link anywhere in the folder, and an unlisted file in a sub-folder.

    Code reads files from sub-folders (a saved encoder): each must be one the
    checksums cover. The folder itself may be reached through a link.
    """
    for relative, entry in _entries(folder):
        if entry.is_symlink():
            raise ModelFileError(
                f"{folder / _printable(relative)} is a symbolic link: a saved model holds no links"
            )
        if "/" in relative and relative not in listed and not entry.is_dir():
            raise ModelFileError(
                f"{folder / _printable(relative)} is not listed in {folder / _CONFIG}: "
                "a saved model's sub-folders hold only the files it saved"
            )


def _check_extra_files(folder: Path, listed: dict[str, str]) -> None:
    """Verify the files a ``write_extra`` hook wrote (none: nothing to check)."""
    root = folder.resolve()
    for relative, digest in listed.items():
        path = folder / relative
        if not path.is_file():
            raise ModelFileError(f"saved model at {folder} is incomplete: {relative} missing")
        if not path.resolve().is_relative_to(root):
            raise ModelFileError(f"{folder / _CONFIG} lists a file outside the model: {relative}")
        if _sha256(path) != digest:
            raise ModelFileError(f"{path} is corrupt: its checksum does not match")


def saved_kind(path: str | os.PathLike[str]) -> str:
    """The class name recorded in a saved model folder (without loading arrays).

    Raises
    ------
    ModelFileError
        No ``model.json``, or one that is not a glasstext model file naming a class.
    """
    config_path = Path(path) / _CONFIG
    if not config_path.is_file():
        raise ModelFileError(f"no saved model at {path}: {_CONFIG} missing")
    kind = _read_document(config_path).get("kind")
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ModelFileError(f"{config_path} names no model class (kind: {_shown(kind)})")
    return kind


def _shown(value: Any) -> str:
    """A value from a file, short and on one line, for an error message."""
    return reprlib.repr(value)


def _printable(name: str) -> str:
    """A file name from a folder for a message: as it is, or quoted if it holds a line break."""
    return name if name.isprintable() else repr(name)


def _kind_shown(kind: Any) -> str:
    """A recorded kind for a message: a class name as it is, anything else as :func:`_shown`."""
    return kind if isinstance(kind, str) and kind.isidentifier() else _shown(kind)


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most 300 characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def python_scalar(value: Any) -> Any:
    """A numpy scalar as the plain Python value (for readable printing and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def jsonable(value: Any) -> Any:
    """A value ready for strict JSON: numpy scalars and arrays as Python values and
    lists, and a non-finite float (NaN, infinity) as ``None``."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    value = python_scalar(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
