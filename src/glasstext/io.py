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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glasstext.exceptions import ModelFileError

FORMAT_VERSION = 1
_CONFIG = "model.json"
_ARRAYS = "arrays.safetensors"


__all__ = ["ModelFileError", "jsonable", "load_model", "python_scalar", "save_model", "saved_kind"]


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
) -> Path:
    """Write a model folder atomically.

    Parameters
    ----------
    path : str or path-like
        The folder to create or replace.
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
        it is part of the same atomic replacement. It must write no pickle.

    Returns
    -------
    Path
        The folder written.
    """
    from safetensors.numpy import save_file

    def write(tmp: Path) -> None:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp / _ARRAYS))
        document: dict[str, Any] = {
            "format": "glasstext-model",
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "arrays_sha256": _sha256(tmp / _ARRAYS),
            "config": config,
        }
        if write_extra is not None:
            write_extra(tmp)
            document["files_sha256"] = {
                f.relative_to(tmp).as_posix(): _sha256(f)
                for f in sorted(tmp.rglob("*"))
                if f.is_file() and f.name not in (_ARRAYS, _CONFIG)
            }
        # Digest what a reader will see: JSON turns tuples into lists, keys into strings.
        document = json.loads(json.dumps(document, ensure_ascii=False))
        document["config_sha256"] = _config_digest(document)
        (tmp / _CONFIG).write_text(json.dumps(document, indent=1, ensure_ascii=False), "utf-8")

    return write_folder_atomically(path, write)


def write_folder_atomically(
    path: str | os.PathLike[str], write: Callable[[Path], None], *, replace: bool = True
) -> Path:
    """Create or replace the folder ``path`` with what ``write`` puts in a temporary sibling.

    The sibling is moved into place only once ``write`` has returned, and the
    old folder survives until then, so a crash never leaves half a folder.
    Used for every saved model, every fine-tuned encoder folder and every
    converted carrier model.

    With ``replace=False`` an existing folder is kept: ``write`` is not called
    if ``path`` exists, and if another process publishes ``path`` while
    ``write`` runs, ours is discarded (a reader of theirs is never disturbed).
    """
    target = Path(path)
    if not replace and target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(tmp)
        _ordinary_permissions(tmp)
        if replace:
            _swap_into_place(tmp, target)
        else:
            _publish_new(tmp, target)
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
        not match their checksum, or the model is of another kind.
    """
    from safetensors.numpy import load_file

    folder = Path(path)
    config_path, arrays_path = folder / _CONFIG, folder / _ARRAYS
    if not folder.is_dir():
        raise ModelFileError(f"no saved model at {folder}: not a folder")
    for needed in (config_path, arrays_path):
        if not needed.is_file():
            raise ModelFileError(f"saved model at {folder} is incomplete: {needed.name} missing")
    try:
        document = json.loads(config_path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{config_path} is corrupt: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != "glasstext-model":
        raise ModelFileError(f"{config_path} is not a glasstext model file")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{folder} uses format version {document.get('format_version')}, "
            f"this glasstext reads version {FORMAT_VERSION}"
        )
    if document.get("kind") != kind:
        raise ModelFileError(f"{folder} holds a {document.get('kind')}, not a {kind}")
    if _sha256(arrays_path) != document.get("arrays_sha256"):
        raise ModelFileError(f"{arrays_path} is corrupt: its checksum does not match")
    _check_extra_files(folder, document.get("files_sha256"))
    if "config_sha256" in document and _config_digest(document) != document["config_sha256"]:
        raise ModelFileError(
            f"{config_path} has been modified or is corrupt: its checksum does not match "
            "(edit a model by fitting it again, not by changing model.json)"
        )
    try:
        arrays = load_file(str(arrays_path))
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{arrays_path} is unreadable: {exc}") from exc
    config = document.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_path} has no model configuration")
    return config, arrays


def _check_extra_files(folder: Path, expected: Any) -> None:
    """Verify the files a ``write_extra`` hook wrote (none: nothing to check)."""
    if expected is None:
        return
    if not isinstance(expected, dict):
        raise ModelFileError(f"{folder / _CONFIG} has a malformed file list")
    for relative, digest in expected.items():
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts:
            raise ModelFileError(f"{folder / _CONFIG} lists a file outside the model: {relative}")
        path = folder / relative
        if not path.is_file():
            raise ModelFileError(f"saved model at {folder} is incomplete: {relative} missing")
        if _sha256(path) != digest:
            raise ModelFileError(f"{path} is corrupt: its checksum does not match")


def saved_kind(path: str | os.PathLike[str]) -> str:
    """The class name recorded in a saved model folder (without loading arrays)."""
    config_path = Path(path) / _CONFIG
    if not config_path.is_file():
        raise ModelFileError(f"no saved model at {path}: {_CONFIG} missing")
    try:
        document = json.loads(config_path.read_text("utf-8"))
        return str(document["kind"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{config_path} is corrupt: {exc}") from exc


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
