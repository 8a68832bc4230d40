"""Texts → embedding matrix, with pooling, length-sorted batching and a cache.

Any Hugging Face encoder (BERT-like) or causal LM can serve: a causal LM's
hidden states are pooled the same way, as the Aug-imodels paper did with its
larger LLMs. Every vector computed is stored in the persistent cache, keyed by
the model's identity and every setting that changes the vector, so a second
run over the same texts does no forward pass at all.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from glasstext.backends.cache import (
    CacheSetting,
    EmbeddingCache,
    WriteBehind,
    namespace_of,
    resolve_store,
)
from glasstext.backends.devices import (
    encoder_precision,
    is_cpu,
    resolve_device,
    to_device,
    to_numpy,
)
from glasstext.backends.extras import require_extra
from glasstext.backends.registry import (
    DEFAULT_ENCODER,
    ResolvedModel,
    load_errors,
    resolve_model,
)
from glasstext.backends.runtime import (
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
from glasstext.validation import check_texts

_WAIT_SECONDS = 0.5  # polling interval while another process computes our texts


class Encoder:
    """Embed texts with a transformer, pooled over real tokens.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        An offline alias, a hub id or a local folder (see
        :func:`glasstext.backends.registry.resolve_model`).
    pooling : {"mean", "cls", "last"}, default="mean"
        Mean over non-padding tokens, the first token, or the last real token
        (the natural choice for a causal LM).
    layer : int, default=-1
        Which hidden layer to pool (``-1`` is the last).
    prefix : str, default=""
        Text prepended to every input (e.g. an instruction for an LLM encoder).
    max_length : int, default=128
        Inputs are truncated to this many tokens.
    batch_size : int, default=256
        Texts per forward pass; texts are sorted by length first so a batch
        holds texts of similar length and little padding.
    precision : {"auto", "fp32", "bf16", "fp16", "int8"}, default="auto"
        ``"bf16"`` runs the model in bfloat16; on the CPU ``"auto"`` chooses
        it only on CPUs with native bf16 instructions (AVX-512 BF16, AMX),
        where it is faster at equal accuracy, and float32 elsewhere; on a
        CUDA GPU ``"auto"`` is bfloat16 where supported, else float16
        (``"fp16"``, GPU only); on MPS float32. ``"int8"`` runs the
        linear layers as dynamic int8 (per-channel weights; 8-bit activations
        on CPUs with AVX-512 VNNI, 7-bit elsewhere), the fastest on CPU and a
        little less exact (see :func:`glasstext.backends.runtime.quantize_int8`
        and benchmarks/results/embedding_speed.json). The precision in use is
        ``self.precision`` and is part of the cache key (with the int8
        activation width). Vectors are always returned as float32.
    normalize : bool, default=False
        Scale each vector to unit length.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs (see :func:`glasstext.backends.devices.resolve_device`):
        ``"auto"`` is a GPU when torch sees one, else the CPU. The device in
        use is ``self.device``. It is not part of the cache key (the
        precision is): a vector computed on a GPU is found on a CPU.
    n_threads : int or None, default=None
        torch threads to use while encoding (``None`` leaves torch's setting).
    progress : bool or None, default=None
        Show a progress bar; ``None`` shows one only on an interactive terminal.
    cache : bool, path or SqliteStore, default=True
        Where computed vectors are stored (``True``: the shared default cache).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_ENCODER,
        *,
        pooling: Pooling = "mean",
        layer: int = -1,
        prefix: str = "",
        max_length: int = 128,
        batch_size: int = 256,
        precision: PrecisionSetting = "auto",
        normalize: bool = False,
        n_threads: int | None = None,
        progress: bool | None = None,
        cache: CacheSetting = True,
        device: str = "auto",
    ) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be 'mean', 'cls' or 'last', got {pooling!r}")
        if batch_size < 1 or max_length < 1:
            raise ValueError("batch_size and max_length must be positive")
        require_extra("lm", "an encoder")  # before the model is resolved: no carrier advice
        self.model = model
        self.pooling = pooling
        self.layer = layer
        self.prefix = prefix
        self.max_length = max_length
        self.batch_size = batch_size
        self.device: str = resolve_device(device)
        self.precision: Precision = encoder_precision(precision, self.device)
        # Fixed here so the cache key and the loaded model always agree.
        self._int8_bits = int8_activation_bits() if self.precision == "int8" else None
        self.normalize = normalize
        self.n_threads = n_threads
        self.progress = progress
        self.resolved: ResolvedModel = resolve_model(model)
        store = resolve_store(cache)
        self._cache = EmbeddingCache(store, self.namespace) if store is not None else None
        self._net: Any = None
        self._tokenizer: Any = None
        self._attention: AttentionSwitch | None = None
        self.n_encoded = 0  # texts that went through a forward pass
        self.n_cache_hits = 0
        self.forward_seconds = 0.0  # wall time spent in forward passes

    # -- identity -----------------------------------------------------------
    @property
    def namespace(self) -> str:
        """Cache namespace: everything that determines a vector."""
        settings: dict[str, Any] = {
            "kind": "embedding",
            "model": self.resolved.identity,
            "pooling": self.pooling,
            "layer": self.layer,
            "prefix": self.prefix,
            "max_length": self.max_length,
            "precision": self.precision,
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
        net = AutoModel.from_pretrained(self.resolved.path, dtype=torch_dtype(self.precision))
        net.eval()
        if self.precision == "int8":
            net = quantize_int8(net, self._int8_bits)
        net = to_device(net, self.device)  # moved once, here
        self._tokenizer, self._net = tokenizer, net
        self._attention = AttentionSwitch(net, is_cpu(self.device))

    # -- encoding -----------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Vectors are written to the cache batch by batch as they are computed,
        so an interrupted run (even ``kill -9``) keeps what it finished, and a
        second process encoding the same texts at the same time computes only
        what the first has not claimed.

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
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
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
        inputs = to_device(dict(enc), self.device)
        if bool(enc["attention_mask"].all()):
            del inputs["attention_mask"]
        if self._attention is not None:
            self._attention.fit_to(int(enc["input_ids"].shape[1]))
        result = self._net(**inputs, output_hidden_states=want_layers)
        hidden = result.hidden_states[self.layer] if want_layers else result.last_hidden_state
        mask = to_device(enc["attention_mask"], self.device)
        pooled = pool_hidden(hidden.float(), mask, self.pooling)
        if self.normalize:
            pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return np.asarray(to_numpy(pooled))

    # -- hooks for executors (glasstext.backends.distributed) ----------------------
    def cached(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that have one (counted as hits)."""
        found = self._cache.get(list(texts)) if self._cache is not None else {}
        self.n_cache_hits += len(found)
        return found

    def store(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Commit vectors computed elsewhere (by a worker) to this encoder's cache."""
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
            from transformers import AutoTokenizer

            with load_errors(self.resolved):
                self._tokenizer = AutoTokenizer.from_pretrained(self.resolved.path)

    def worker_copy(self) -> Encoder:
        """The same encoder without a cache or a loaded model, cheap to ship to a worker."""
        return Encoder(
            self.model,
            pooling=self.pooling,
            layer=self.layer,
            prefix=self.prefix,
            max_length=self.max_length,
            batch_size=self.batch_size,
            precision=self.precision,
            normalize=self.normalize,
            n_threads=self.n_threads,
            progress=False,
            cache=False,
            device=self.device,
        )

    def __repr__(self) -> str:
        return (
            f"Encoder(model={os.fspath(self.model)!r}, pooling={self.pooling!r}, "
            f"precision={self.precision!r}, device={self.device!r})"
        )


@runtime_checkable
class TextEncoder(Protocol):
    """Anything that turns texts into a float matrix, one row per text."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as a ``(len(texts), dim)`` float32 array."""
        ...


_shared: dict[str, Encoder] = {}


def get_encoder(encoder: str | os.PathLike[str] | TextEncoder, **settings: Any) -> TextEncoder:
    """An encoder for a name, reusing a loaded one with the same settings.

    Methods call this rather than building encoders so a model is loaded once
    per process (per device and precision) however many estimators use it. An
    object that already has an ``encode`` method (an :class:`Encoder`, or a
    user's own) is used as is.
    """
    if not isinstance(encoder, str | os.PathLike):  # str has an .encode() of its own
        if not isinstance(encoder, TextEncoder):
            raise TypeError(
                f"encoder must be a model name, a folder or an object with .encode(), "
                f"got {type(encoder).__name__}"
            )
        return encoder
    name = os.fspath(encoder)
    # "auto" and the device it means share one loaded model
    settings = {**settings, "device": resolve_device(settings.get("device", "auto"))}
    # A local folder is keyed by its files too: a model re-saved (fine-tuned
    # again) into the same folder is loaded afresh, not served from memory.
    model_key = resolve_model(name).identity if Path(name).expanduser().is_dir() else name
    key = namespace_of(model=model_key, **settings)
    if key not in _shared:
        _shared[key] = Encoder(encoder, **settings)
    return _shared[key]
