"""Texts → embedding matrix, with pooling, length-sorted batching and a cache.

Any Hugging Face encoder (BERT-like) or causal LM can serve: a causal LM's
hidden states are pooled the same way, as the Aug-imodels paper did with its
larger LLMs. Every vector computed is stored in the persistent cache, keyed by
the model's identity and every setting that changes the vector, so a second
run over the same texts does no forward pass at all.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator, clone

from glasstext.backends.cache import (
    CacheSetting,
    EmbeddingCache,
    SqliteStore,
    WriteBehind,
    namespace_of,
    resolve_store,
)
from glasstext.backends.devices import (
    DeviceName,
    encoder_precision,
    is_cpu,
    resolve_device,
    to_device,
    to_numpy,
)
from glasstext.backends.distributed import ExecutorSetting, resolve_executor
from glasstext.backends.extras import require_extra
from glasstext.backends.registry import (
    DEFAULT_ENCODER,
    ResolvedModel,
    load_errors,
    resolve_model,
)
from glasstext.backends.runtime import (
    PRECISIONS,
    AttentionSwitch,
    Precision,
    PrecisionSetting,
    import_torch,
    int8_activation_bits,
    progress_bar,
    quantize_int8,
    show_progress,
    torch_dtype,
    torch_threads,
)
from glasstext.backends.training import POOLINGS, Pooling, pool_hidden
from glasstext.validation import (
    Constraint,
    HasMethods,
    Interval,
    Options,
    check_texts,
    validate_params,
)

_WAIT_SECONDS = 0.5  # polling interval while another process computes our texts


class Encoder(BaseEstimator):
    """Embed texts with a transformer, pooled over real tokens.

    A scikit-learn-style settings object: the constructor stores its
    arguments untouched and loads nothing (no torch, no model), so it is
    cheap to build, clone and hold in an estimator (``encoder=``). The model
    is resolved and loaded on first use (:meth:`encode`); the device and the
    precision in use are then ``device_`` and ``precision_``. Estimators
    share one loaded model per settings (:func:`get_encoder`), and nested
    settings work as in a scikit-learn pipeline:
    ``AugLinearClassifier().set_params(encoder__precision="int8")``.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        An offline alias, a hub id or a local folder (see
        :func:`glasstext.backends.registry.resolve_model`). MiniLM is the
        default: the encoder every Aug-Linear default was measured with,
        91.62 MB on disk (docs/benchmarks/auglinear.md).
    precision : {"auto", "fp32", "bf16", "fp16", "int8"}, default="auto"
        ``"auto"`` is bfloat16 on CPUs with native bf16 instructions (AVX-512
        BF16, AMX), float32 on other CPUs, bfloat16 (else float16) on a CUDA
        GPU and float32 on MPS. ``"int8"`` runs the linear layers as dynamic
        int8 (per-channel weights; 8-bit activations on CPUs with AVX-512
        VNNI, 7-bit elsewhere): the fastest on CPU, with vectors further from
        fp32's, so it is an explicit choice (see
        :func:`glasstext.backends.runtime.quantize_int8`). Speed and accuracy
        per precision: docs/benchmarks/auglinear.md, "Embedding speed".
        ``"fp16"`` is GPU only. Part of the cache key (with the int8
        activation width). Vectors are always returned as float32.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs (see :func:`glasstext.backends.devices.resolve_device`):
        ``"auto"`` is a GPU when torch sees one, else the CPU, so the same
        code runs on either. Not part of the cache key (the precision is):
        a vector computed on a GPU is found on a CPU.
    batch_size : int, default=256
        Texts per forward pass; texts are sorted by length first so a batch
        holds texts of similar length and little padding, which lets a large
        batch cost little.
    n_threads : int or None, default=None
        torch threads while encoding; ``None`` leaves torch's own setting,
        which uses every core.
    pooling : {"mean", "cls", "last"}, default="mean"
        Mean over non-padding tokens, the first token, or the last real token
        (the natural choice for a causal LM). The mean is how MiniLM was
        trained to pool.
    layer : int, default=-1
        Which hidden layer to pool (``-1``, the last, is the layer a sentence
        encoder is trained to output).
    prefix : str, default=""
        Text prepended to every input (e.g. an instruction for an LLM
        encoder); none, as MiniLM was trained without one.
    cache : bool, path or SqliteStore, default=True
        Where computed vectors are stored (``True``: the shared default
        cache): a second run over the same texts does no forward pass.
    executor : {None, "local", "ray"} or RayExecutor, default=None
        Where :meth:`encode` runs: this process (``None`` or ``"local"``), or
        Ray actors (``pip install glasstext[ray]``; see
        :class:`glasstext.backends.distributed.RayExecutor`). The vectors are
        the same either way; this process is the default, as it needs
        nothing installed or started.
    max_length : int, default=128
        Inputs are truncated to this many tokens (MiniLM's training length).
    normalize : bool, default=False
        Scale each vector to unit length; off, as unit-length n-gram vectors
        measured no better in Aug-Linear (docs/benchmarks/auglinear.md).
    progress : bool or None, default=None
        Show a progress bar; ``None`` shows one only on an interactive terminal.

    Attributes
    ----------
    device_ : str
        The device in use (set on first use).
    precision_ : {"fp32", "bf16", "fp16", "int8"}
        The precision in use (set on first use).
    n_encoded : int
        Texts that went through a forward pass.
    n_cache_hits : int
        Texts found in the cache.
    forward_seconds : float
        Wall time spent in forward passes.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "model": ["path"],
        "precision": [Options(PRECISIONS)],
        "device": [DeviceName()],
        "batch_size": [Interval(int, 1)],
        "n_threads": [None, Interval(int, 1)],
        "pooling": [Options(POOLINGS)],
        "layer": [Interval(int)],
        "prefix": [str],
        "cache": [None, "boolean", "path", SqliteStore],
        "executor": [None, Options(("local", "ray")), HasMethods(("embed", "map"))],
        "max_length": [Interval(int, 1)],
        "normalize": ["boolean"],
        "progress": [None, "boolean"],
    }

    # What first use builds; class-level defaults keep __init__ to the settings.
    _net: Any = None
    _tokenizer: Any = None
    _attention: AttentionSwitch | None = None
    _cache: EmbeddingCache | None = None
    _int8_bits: int | None = None
    _ready: bool = False
    n_encoded: int = 0
    n_cache_hits: int = 0
    forward_seconds: float = 0.0

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_ENCODER,
        *,
        precision: PrecisionSetting = "auto",
        device: str = "auto",
        batch_size: int = 256,
        n_threads: int | None = None,
        pooling: Pooling = "mean",
        layer: int = -1,
        prefix: str = "",
        cache: CacheSetting = True,
        executor: ExecutorSetting = None,
        max_length: int = 128,
        normalize: bool = False,
        progress: bool | None = None,
    ) -> None:
        self.model = model
        self.precision = precision
        self.device = device
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.pooling = pooling
        self.layer = layer
        self.prefix = prefix
        self.cache = cache
        self.executor = executor
        self.max_length = max_length
        self.normalize = normalize
        self.progress = progress

    # -- settings -----------------------------------------------------------
    def check_settings(self) -> None:
        """Check every setting against its declared constraints (no model loaded).

        Raises
        ------
        glasstext.exceptions.InvalidParameterError
            A setting of the wrong kind, e.g. ``pooling="max"``.
        """
        settings = {name: getattr(self, name) for name in self._parameter_constraints}
        validate_params(settings, self._parameter_constraints)

    def model_settings(self) -> dict[str, Any]:
        """The settings that change the vectors and differ from their defaults
        (what a saved model keeps beside the model name)."""
        defaults = {name: p.default for name, p in _ENCODER_PARAMETERS.items()}
        return {
            name: getattr(self, name)
            for name in MODEL_SETTINGS
            if getattr(self, name) != defaults[name]
        }

    def set_params(self, **params: Any) -> Encoder:
        """Change settings (scikit-learn's ``set_params``); a loaded model is let go."""
        super().set_params(**params)
        self._forget()
        return self

    def _forget(self) -> None:
        """Drop what first use built, so the next use follows the current settings."""
        built = ("_net", "_tokenizer", "_attention", "_cache", "_int8_bits", "_ready")
        for name in (*built, "device_", "precision_", "resolved_"):
            self.__dict__.pop(name, None)

    def _prepare(self) -> None:
        """Resolve the device, the precision, the model and the cache (once)."""
        if self._ready:
            return
        self.check_settings()
        require_extra("lm", "an encoder")  # before the model is resolved: no carrier advice
        self.device_: str = resolve_device(self.device)
        self.precision_: Precision = encoder_precision(self.precision, self.device_)
        # Fixed here so the cache key and the loaded model always agree.
        self._int8_bits = int8_activation_bits() if self.precision_ == "int8" else None
        self.resolved_: ResolvedModel = resolve_model(self.model)
        self._ready = True
        store = resolve_store(self.cache)
        self._cache = EmbeddingCache(store, self.namespace) if store is not None else None

    @property
    def resolved(self) -> ResolvedModel:
        """Where the model's files are and its identity (resolved on first use)."""
        self._prepare()
        return self.resolved_

    # -- identity -----------------------------------------------------------
    @property
    def namespace(self) -> str:
        """Cache namespace: everything that determines a vector."""
        self._prepare()
        settings: dict[str, Any] = {
            "kind": "embedding",
            "model": self.resolved_.identity,
            "pooling": self.pooling,
            "layer": self.layer,
            "prefix": self.prefix,
            "max_length": self.max_length,
            "precision": self.precision_,
            "normalize": self.normalize,
        }
        if self._int8_bits is not None:  # 7- and 8-bit activations give different vectors
            settings["int8_activation_bits"] = self._int8_bits
        return namespace_of(**settings)

    @property
    def dim(self) -> int:
        """Size of the vectors."""
        self._load()
        return int(self._net.config.hidden_size)

    # -- loading ------------------------------------------------------------
    def _load(self) -> None:
        if self._net is not None:
            return
        self._prepare()
        import_torch()
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        if not show_progress(self.progress):
            hf_logging.disable_progress_bar()  # its weight-loading bars, not ours
        self._load_tokenizer()  # once: word_list may have loaded it already
        tokenizer = self._tokenizer
        if tokenizer.pad_token is None:  # causal LMs often have none
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        net = AutoModel.from_pretrained(self.resolved_.path, dtype=torch_dtype(self.precision_))
        net.eval()
        if self.precision_ == "int8":
            net = quantize_int8(net, self._int8_bits)
        net = to_device(net, self.device_)  # moved once, here
        self._tokenizer, self._net = tokenizer, net
        self._attention = AttentionSwitch(net, is_cpu(self.device_))

    # -- encoding -----------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Vectors are written to the cache batch by batch as they are computed,
        so an interrupted run (even ``kill -9``) keeps what it finished, and a
        second process encoding the same texts at the same time computes only
        what the first has not claimed. With an ``executor`` the batches are
        computed by its workers and committed here.

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        numpy.ndarray of shape (len(texts), dim), float32
            Row ``i`` is the vector of ``texts[i]``; repeated texts are
            computed once.
        """
        items = check_texts(texts)
        executor = resolve_executor(self.executor)
        if executor is not None and items:
            return np.asarray(executor.embed(self, items), dtype=np.float32)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._prepare()
        unique = list(dict.fromkeys(items))
        found = self._cache.get(unique) if self._cache is not None else {}
        self.n_cache_hits += len(found)
        missing = [t for t in unique if t not in found]
        if missing:
            found.update(self._forward(missing))
        return np.stack([found[t] for t in items]).astype(np.float32, copy=False)

    def _forward(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors of ``texts``: computed in length-sorted batches, each committed."""
        self._load()
        torch = import_torch()

        started = time.perf_counter()
        # Tokenize once: the lengths order the batches, the ids fill them.
        todo, ids_of = self._length_sorted(texts)
        done: dict[str, np.ndarray] = {}
        bar = progress_bar(len(texts), "embedding", self.progress, "text")
        with torch_threads(self.n_threads), torch.inference_mode(), bar:
            try:
                with self._write_behind() as writer:
                    while todo:
                        waiting = self._encode_claimed(todo, ids_of, done, bar, writer)
                        if waiting and len(waiting) == len(todo):
                            time.sleep(_WAIT_SECONDS)  # all left is another process's
                        todo = waiting
            finally:
                if self._cache is not None:
                    self._cache.release(texts)  # claims of unfinished batches
        self.forward_seconds += time.perf_counter() - started
        return done

    def _write_behind(self) -> WriteBehind | contextlib.nullcontext[None]:
        return WriteBehind(self._cache) if self._cache is not None else contextlib.nullcontext()

    def _length_sorted(self, texts: list[str]) -> tuple[list[str], dict[str, list[int]]]:
        """``texts`` shortest first (in tokens; ties keep their order) and each one's ids."""
        token_ids = self._tokenizer(
            [self.prefix + t for t in texts],
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,  # the ids alone (25% faster); batches make masks
            return_token_type_ids=False,
        )["input_ids"]
        lengths = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        return [texts[i] for i in order], {texts[i]: token_ids[i] for i in order}

    def _encode_claimed(
        self,
        todo: list[str],
        ids_of: dict[str, list[int]],
        done: dict[str, np.ndarray],
        bar: Any,
        writer: WriteBehind | None,
    ) -> list[str]:
        """One pass over ``todo``: compute what this process can claim (``writer``
        stores each batch while the next is computed).

        Returns the texts another live process is computing (to wait for).
        """
        waiting: list[str] = []
        batches = [todo[s : s + self.batch_size] for s in range(0, len(todo), self.batch_size)]
        mine = self._take(batches[0], done, bar, waiting) if batches else []
        for k in range(len(batches)):
            vectors = self._embed_batch([ids_of[t] for t in mine]) if mine else None
            # Claim the next batch before queueing this one's write, so that the
            # write runs during the next forward pass instead of delaying the claim.
            upcoming = (
                self._take(batches[k + 1], done, bar, waiting) if k + 1 < len(batches) else []
            )
            if vectors is not None:
                if writer is not None:
                    writer.put(mine, vectors)  # committed during the next batch
                done.update(zip(mine, vectors, strict=True))
                self.n_encoded += len(mine)
                bar.update(len(mine))
            mine = upcoming
        return waiting

    def _take(
        self, batch: list[str], done: dict[str, np.ndarray], bar: Any, waiting: list[str]
    ) -> list[str]:
        """The texts of ``batch`` this process claimed and must compute.

        Those another process stored meanwhile go to ``done``; those another
        live process is still computing go to ``waiting``.
        """
        if self._cache is None:
            return batch
        # Claim first, then look: a text another process stored before
        # releasing its claim is found, one it is still on is skipped.
        claimed = set(self._cache.claim(batch))
        ready = self._cache.get(batch)
        done.update(ready)
        self.n_cache_hits += len(ready)
        bar.update(len(ready))
        waiting += [t for t in batch if t not in ready and t not in claimed]
        return [t for t in batch if t in claimed and t not in ready]

    def _embed_batch(self, token_ids: list[list[int]]) -> np.ndarray:
        enc = self._tokenizer.pad({"input_ids": token_ids}, padding=True, return_tensors="pt")
        want_layers = self.layer != -1
        # Batches are length-sorted, so most hold texts of one length: with no
        # padding the model needs no attention mask and skips building and
        # applying one (5-8% faster on short n-grams; same vectors).
        inputs = to_device(dict(enc), self.device_)
        if bool(enc["attention_mask"].all()):
            del inputs["attention_mask"]
        if self._attention is not None:
            self._attention.fit_to(int(enc["input_ids"].shape[1]))
        result = self._net(**inputs, output_hidden_states=want_layers)
        hidden = result.hidden_states[self.layer] if want_layers else result.last_hidden_state
        mask = to_device(enc["attention_mask"], self.device_)
        pooled = pool_hidden(hidden.float(), mask, self.pooling)
        if self.normalize:
            pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return np.asarray(to_numpy(pooled))

    # -- hooks for executors (glasstext.backends.distributed) ----------------------
    def cached(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that have one (counted as hits)."""
        self._prepare()
        found = self._cache.get(list(texts)) if self._cache is not None else {}
        self.n_cache_hits += len(found)
        return found

    def store(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Commit vectors computed elsewhere (by a worker) to this encoder's cache."""
        self._prepare()
        if self._cache is not None:
            self._cache.put(list(texts), vectors)
        self.n_encoded += len(texts)

    def plan_batches(self, texts: Sequence[str], batch_size: int | None = None) -> list[list[str]]:
        """``texts`` cut into the length-sorted batches :meth:`encode` would run."""
        if not texts:
            return []
        self._load_tokenizer()
        ordered, _ = self._length_sorted(list(texts))
        size = batch_size or self.batch_size
        return [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def word_list(self, limit: int) -> list[str]:
        """Up to ``limit`` whole words of the encoder's tokenizer vocabulary.

        A token counts when its text (word-start markers and spaces removed) is
        two or more letters; words come lowercased, in token-id order, once
        each. Subword continuations of WordPiece (``##ing``) are left out.
        Used to widen an n-gram table beyond the training texts' words.
        """
        self._load_tokenizer()
        tokenizer = self._tokenizer
        words: dict[str, None] = {}
        for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1]):
            if len(words) >= limit:
                break
            text = tokenizer.convert_tokens_to_string([token]).strip().lower()
            if len(text) >= 2 and text.isalpha():
                words[text] = None
        return list(words)

    def _load_tokenizer(self) -> None:
        if self._tokenizer is None:
            self._prepare()
            from transformers import AutoTokenizer

            with load_errors(self.resolved):
                self._tokenizer = AutoTokenizer.from_pretrained(self.resolved_.path)

    def worker_copy(self) -> Encoder:
        """The same encoder without a cache, an executor or a loaded model, cheap to
        ship to a worker (the device and precision as resolved here)."""
        self._prepare()
        return Encoder(
            self.model,
            precision=self.precision_,
            device=self.device_,
            batch_size=self.batch_size,
            n_threads=self.n_threads,
            pooling=self.pooling,
            layer=self.layer,
            prefix=self.prefix,
            cache=False,
            executor=None,
            max_length=self.max_length,
            normalize=self.normalize,
            progress=False,
        )


_ENCODER_PARAMETERS = inspect.signature(Encoder.__init__).parameters
#: The settings that change the vectors, so a saved model keeps them with the
#: model's name; the others say where and how the work runs.
MODEL_SETTINGS = ("pooling", "layer", "prefix", "max_length", "normalize")


@runtime_checkable
class TextEncoder(Protocol):
    """Anything that turns texts into a float matrix, one row per text."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as a ``(len(texts), dim)`` float32 array."""
        ...


_shared: dict[str, Encoder] = {}

EncoderSetting = str | os.PathLike[str] | TextEncoder


def get_encoder(encoder: EncoderSetting, **settings: Any) -> TextEncoder:
    """An encoder for a name or an :class:`Encoder`, reusing a loaded one with the
    same settings.

    Methods call this rather than building encoders so a model is loaded once
    per process (per device and precision) however many estimators use it.
    An :class:`Encoder` stands for its settings (``settings`` override them):
    the loaded encoder is a copy of it shared by every equal one, so the
    object a user holds (and clones, and changes with ``set_params``) never
    carries a loaded model. Any other object with an ``encode`` method (a
    user's own) is used as it is.
    """
    spec = _encoder_spec(encoder, settings)
    if spec is None:
        return cast(TextEncoder, encoder)
    spec.check_settings()
    params = spec.get_params()
    # "auto" and the device it means share one loaded model
    params["device"] = resolve_device(params["device"])
    name = os.fspath(params["model"])
    # A local folder is keyed by its files too: a model re-saved (fine-tuned
    # again) into the same folder is loaded afresh, not served from memory.
    model_key = resolve_model(name).identity if Path(name).expanduser().is_dir() else name
    key = namespace_of(**{**params, "model": model_key})
    if key not in _shared:
        _shared[key] = Encoder(**params)
    return _shared[key]


def _encoder_spec(encoder: Any, settings: dict[str, Any]) -> Encoder | None:
    """The :class:`Encoder` that ``encoder`` with ``settings`` stands for; None for
    another object with ``encode``."""
    if isinstance(encoder, Encoder):
        return clone(encoder).set_params(**settings) if settings else encoder
    if isinstance(encoder, str | os.PathLike):  # str has an .encode() of its own
        return Encoder(encoder, **settings)
    if not isinstance(encoder, TextEncoder):
        raise TypeError(
            f"encoder must be a model name, a folder, an Encoder or an object with "
            f".encode(), got {type(encoder).__name__}"
        )
    return None
