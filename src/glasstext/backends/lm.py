"""The local causal language model (transformers) and :func:`get_lm`.

:class:`LocalCausalLM` implements :class:`~glasstext.backends.lm_base.LanguageModel`
(the interface, its caching and usage counters live in
:mod:`glasstext.backends.lm_base`) by running a Hugging Face model in this
process. :func:`get_lm` gives the shared model for a name: a local model, or
one of a registered backend such as ``"openai:MODEL"``
(see :func:`~glasstext.backends.lm_base.register_lm_backend`).

The names of :mod:`glasstext.backends.lm_base` (``LanguageModel``,
``GenerationRequest``, ``TextScores``, ``usage_delta``...) are re-exported
here too, for callers that import them from this module.

Sampling
--------
Sampling is made independent of batching: each prompt draws its noise from its
own random generator, seeded from ``(seed, prompt)``, and the sample is the
arg-max of the scaled logits plus Gumbel noise (an exact sample from the
softmax). A prompt therefore gets the same sample whatever else is in its batch,
which is what makes caching per prompt sound.

Tokenization at the prompt/continuation boundary
------------------------------------------------
:meth:`LocalCausalLM.continuation_logprobs` tokenizes the prompt and the
continuation *separately* and concatenates the token ids. Then the prompt is
the same token sequence for every continuation, and a continuation (a label
word) is the same token sequence after every prompt, so the scores of competing
continuations are conditioned on exactly the same context and are comparable;
and every single-token continuation of a prompt is scored from one forward pass.
The price: where the tokenizer would have merged text across the boundary, the
concatenation is not the canonical tokenization. Put the separating space at the
start of the continuation (``" positive"``), not at the end of the prompt.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import secrets
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from glasstext.backends.cache import SqliteStore
from glasstext.backends.devices import lm_precision, resolve_device, to_device
from glasstext.backends.extras import require_extra
from glasstext.backends.lm_base import (
    LM_BACKENDS,
    GenerationRequest,
    LanguageModel,
    TextScores,
    lm_backend_for,
    register_lm_backend,
    truncate_at_stop,
    usage_delta,
)
from glasstext.backends.redaction import redact_spec
from glasstext.backends.registry import (
    DEFAULT_GENERATOR,
    ResolvedModel,
    load_errors,
    resolve_model,
)
from glasstext.backends.runtime import (
    Precision,
    import_torch,
    progress_bar,
    torch_dtype,
    torch_threads,
)
from glasstext.validation import check_int

__all__ = [
    "LM_BACKENDS",
    "GenerationRequest",
    "LanguageModel",
    "LocalCausalLM",
    "TextScores",
    "get_lm",
    "register_lm_backend",
    "release_models",
    "truncate_at_stop",
    "usage_delta",
]

Tensor = Any  # torch.Tensor; torch is imported only when a model is used

# Largest number of logit values (batch x kept positions x vocabulary) held at
# once by a scoring forward pass; log-softmax doubles it. 2**25 floats = 128 MB.
_LOGIT_BUDGET = 2**25


# -- the local (transformers) implementation -------------------------------------------


@dataclass
class _Loaded:
    """A loaded model and its tokenizer, shared by every LM object that uses them."""

    model: Any
    tokenizer: Any
    has_logits_to_keep: bool


_LOADED: dict[tuple[str, str, str], _Loaded] = {}
_SHARED_LMS: dict[tuple[str, ...], LanguageModel] = {}


def _load_weights(resolved: ResolvedModel, precision: Precision, device: str = "cpu") -> _Loaded:
    """Load (once per identity, precision and device) a causal LM and its tokenizer."""
    key = (resolved.identity, precision, device)
    loaded = _LOADED.get(key)
    if loaded is None:
        dtype = torch_dtype(precision)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        with load_errors(resolved):  # a misspelt name or an empty folder: a message
            tokenizer = AutoTokenizer.from_pretrained(resolved.path)
            model = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=dtype)
        model = to_device(model, device).eval()  # moved once, here
        takes_keep = "logits_to_keep" in inspect.signature(model.forward).parameters
        loaded = _LOADED[key] = _Loaded(model, tokenizer, takes_keep)
    return loaded


def release_models() -> None:
    """Forget the loaded models and the shared LM objects of :func:`get_lm`.

    Their memory is freed once no other reference remains: a
    :class:`LocalCausalLM` that already loaded a model keeps using it.
    """
    _LOADED.clear()
    _SHARED_LMS.clear()


@dataclass
class _ScoringUnit:
    """One token sequence fed to the model and the token runs predicted at its end.

    A target of length ``m`` is scored at the last ``m`` positions: position
    ``j`` predicts the token after it. All continuations of a prompt that share
    everything but their last token share a unit, so every single-token label
    of a prompt is scored from one forward pass.
    """

    context: tuple[int, ...]
    targets: list[tuple[int, ...]] = field(default_factory=list)

    @property
    def n_keep(self) -> int:
        return max(len(t) for t in self.targets)


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int, torch: Any) -> tuple[Tensor, Tensor]:
    """Left-padded ids and the attention mask of a batch of token sequences."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids, mask


def _row_seed(seed: int, prompt: str) -> int:
    """A 63-bit seed for one prompt's sampling noise."""
    digest = hashlib.blake2b(f"{seed}\x00{prompt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


class _GumbelSampler:
    """Logits processor that turns greedy decoding into per-row seeded sampling.

    ``argmax(logits / T + Gumbel noise)`` is an exact sample of
    ``softmax(logits / T)``. Each row draws its noise from its own generator,
    so its samples do not depend on the other rows of the batch.
    """

    def __init__(self, temperature: float, row_seeds: Sequence[int], torch: Any) -> None:
        self.temperature = temperature
        self.torch = torch
        self.generators = [torch.Generator().manual_seed(s) for s in row_seeds]

    def __call__(self, input_ids: Tensor, scores: Tensor) -> Tensor:
        torch = self.torch
        scaled = scores.float() / self.temperature
        # Drawn on the CPU whatever the device: the same seed gives the same sample.
        noise = torch.empty(scaled.shape, dtype=scaled.dtype)
        for row, generator in enumerate(self.generators):
            exponential = torch.empty(scaled.shape[1]).exponential_(generator=generator)
            noise[row] = -torch.log(exponential)
        return scaled + to_device(noise, str(scaled.device))


class _StopOnStrings:
    """Stopping criterion: a row is done once its new text contains a stop string."""

    def __init__(self, tokenizer: Any, stop: Sequence[str], prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.prompt_width = prompt_width

    def __call__(self, input_ids: Tensor, scores: Tensor, **kwargs: Any) -> Tensor:
        texts = self.tokenizer.batch_decode(
            input_ids[:, self.prompt_width :], skip_special_tokens=True
        )
        done = [any(s in text for s in self.stop) for text in texts]
        return input_ids.new_tensor(done, dtype=bool)


def _batches(order: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), size):
        yield list(order[start : start + size])


class LocalCausalLM(LanguageModel):
    """A causal LM run in this process with transformers.

    The model is resolved and loaded on first use (torch and transformers are
    imported only then) and its weights are shared with every other
    :class:`LocalCausalLM` of the same model and precision.

    Parameters
    ----------
    model : str or path-like, default="SmolLM2-135M-Instruct"
        An offline alias, a hub id or a local folder (see
        :func:`~glasstext.backends.registry.resolve_model`).
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Weights and activations dtype; log-softmax is always taken in fp32.
        ``"auto"`` is fp32 on the CPU and MPS, bf16 on CUDA GPUs that support
        it (see :func:`~glasstext.backends.devices.lm_precision`). The
        precision in use is ``self.precision`` (part of the cache key).
    n_threads : int or None, default=None
        Torch threads used around this model's work (``None``: leave as is).
    batch_size : int, default=16
        Sequences per forward pass or per generation batch.
    max_length : int or None, default=None
        Most tokens fed to the model per sequence (``None``: the model's
        context size). Longer prompts lose their *beginning*, with a warning.
    progress : bool or None, default=None
        Show progress bars; ``None`` shows them on an interactive terminal.
    cache : bool or SqliteStore, default=True
        Where results are cached (see :class:`LanguageModel`).
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs (:func:`~glasstext.backends.devices.resolve_device`);
        the device in use is ``self.device``. Not part of the cache key.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_GENERATOR,
        precision: str = "auto",
        n_threads: int | None = None,
        batch_size: int = 16,
        max_length: int | None = None,
        progress: bool | None = None,
        cache: bool | SqliteStore = True,
        device: str = "auto",
    ) -> None:
        super().__init__(cache=cache)
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
        require_extra("lm", "a local language model")  # before the model is resolved
        self.device: str = resolve_device(device)
        if n_threads is not None:
            check_int(n_threads, "n_threads")
        check_int(batch_size, "batch_size")
        if max_length is not None:
            check_int(max_length, "max_length", minimum=2)
        self.model_name = os.fspath(model)
        self.precision: Precision = lm_precision(precision, self.device)
        self.n_threads = n_threads
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress
        self._resolved: ResolvedModel | None = None
        self._loaded: _Loaded | None = None

    def __repr__(self) -> str:
        state = "loaded" if self._loaded is not None else "not loaded"
        return (
            f"LocalCausalLM({redact_spec(self.model_name)!r}, precision={self.precision!r}, "
            f"device={self.device!r}, {state})"
        )

    # -- resolution and loading ------------------------------------------------------
    @property
    def resolved(self) -> ResolvedModel:
        """Where the model lives (resolving converts an offline carrier once)."""
        if self._resolved is None:
            self._resolved = resolve_model(self.model_name)
        return self._resolved

    @property
    def identity(self) -> str:
        return self.resolved.identity

    def _output_settings(self) -> dict[str, Any]:
        return {"precision": self.precision, "max_length": self.max_length}

    def load(self) -> LocalCausalLM:
        """Load the model now rather than on first use; returns ``self``."""
        if self._loaded is None:
            self._loaded = _load_weights(self.resolved, self.precision, self.device)
        return self

    @property
    def model(self) -> Any:
        """The transformers model (loaded on access)."""
        return self.load()._require_loaded().model

    @property
    def tokenizer(self) -> Any:
        """The tokenizer (loaded on access)."""
        return self.load()._require_loaded().tokenizer

    def _require_loaded(self) -> _Loaded:
        if self._loaded is None:
            raise RuntimeError("the model is not loaded")
        return self._loaded

    @property
    def context_length(self) -> int:
        """Most tokens fed to the model per sequence."""
        if self.max_length is not None:
            return self.max_length
        limit = getattr(self.model.config, "max_position_embeddings", None)
        return int(limit) if limit else 2048

    # -- tokenization ---------------------------------------------------------------
    def _has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def _encode_prompts(self, prompts: Sequence[str], chat: bool) -> list[list[int]]:
        """Token ids of prompts, chat-wrapped if asked for and possible.

        A chat template writes its own special tokens, so the rendered text is
        tokenized without adding more; a raw prompt gets the tokenizer's usual
        special tokens (Gemma's beginning-of-sequence token, say). An empty
        result starts with the start token, so there is something to predict from.
        """
        tokenizer = self.tokenizer
        if chat and self._has_chat_template():
            texts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                )
                for p in prompts
            ]
            encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        else:
            encoded = tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
        start = self._start_ids()
        return [list(ids) if len(ids) else list(start) for ids in encoded]

    def _encode_plain(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [
            list(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        ]

    def _start_ids(self) -> list[int]:
        tokenizer = self.tokenizer
        for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
            if token_id is not None:
                return [int(token_id)]
        raise ValueError("the tokenizer has no beginning- or end-of-sequence token to start from")

    def _pad_id(self) -> int:
        tokenizer = self.tokenizer
        for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
            if token_id is not None:
                return int(token_id)
        return 0  # pragma: no cover - the loop always returns

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for value in (self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id):
            for token_id in value if isinstance(value, list | tuple) else [value]:
                if token_id is not None and int(token_id) not in ids:
                    ids.append(int(token_id))
        return ids

    def _truncate_left(self, ids: list[int], keep_at_least: int = 1) -> list[int]:
        limit = self.context_length
        if keep_at_least > limit:
            raise ValueError(
                f"a continuation of {keep_at_least} tokens does not fit in max_length={limit}"
            )
        return ids if len(ids) <= limit else ids[len(ids) - limit :]

    @staticmethod
    def _warn_truncated(n: int, limit: int) -> None:
        if n:
            warnings.warn(
                f"{n} input(s) longer than {limit} tokens lost their beginning",
                stacklevel=2,
            )

    # -- progress and threads -----------------------------------------------------
    def _progress_bar(self, total: int, desc: str) -> Any:
        return progress_bar(total, desc, self.progress, "text")

    # -- generation ------------------------------------------------------------------
    def _generate_uncached(self, prompts: list[str], request: GenerationRequest) -> list[str]:
        encoded = self._encode_prompts(prompts, request.chat)
        limit = self.context_length
        self._warn_truncated(sum(len(ids) > limit for ids in encoded), limit)
        encoded = [self._truncate_left(ids) for ids in encoded]
        seeds = self._sampling_seeds(prompts, request)
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        results = [""] * len(prompts)
        torch = import_torch()
        with (
            torch_threads(self.n_threads),
            torch.inference_mode(),
            self._progress_bar(len(prompts), "LM generate") as bar,
        ):
            for batch in _batches(order, self.batch_size):
                rows = [encoded[i] for i in batch]
                row_seeds = [seeds[i] for i in batch] if seeds else []
                texts = self._generate_batch(rows, request, row_seeds)
                for i, text in zip(batch, texts, strict=True):
                    results[i] = text
                bar.update(len(batch))
        return results

    @staticmethod
    def _sampling_seeds(prompts: Sequence[str], request: GenerationRequest) -> list[int]:
        if request.greedy:
            return []
        if request.seed is None:
            return [secrets.randbits(63) for _ in prompts]
        return [_row_seed(request.seed, p) for p in prompts]

    def _generate_batch(
        self, rows: list[list[int]], request: GenerationRequest, row_seeds: list[int]
    ) -> list[str]:
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        torch = import_torch()
        pad_id = self._pad_id()
        ids, mask = _left_pad(rows, pad_id, torch)
        ids, mask = to_device(ids, self.device), to_device(mask, self.device)
        config = GenerationConfig(
            max_new_tokens=request.max_new_tokens,
            do_sample=False,
            eos_token_id=self._eos_ids(),
            pad_token_id=pad_id,
        )
        processors = LogitsProcessorList()
        if row_seeds:
            processors.append(_GumbelSampler(request.temperature, row_seeds, torch))
        criteria = StoppingCriteriaList()
        if request.stop:
            criteria.append(_StopOnStrings(self.tokenizer, request.stop, ids.shape[1]))
        output = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            generation_config=config,
            logits_processor=processors,
            stopping_criteria=criteria,
        )
        new_tokens = output[:, ids.shape[1] :]
        self._usage.n_generated_tokens += self._count_new_tokens(new_tokens, pad_id)
        texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return [truncate_at_stop(t, request.stop).strip() for t in texts]

    def _count_new_tokens(self, new_tokens: Tensor, pad_id: int) -> int:
        """Tokens generated: everything up to and including each row's end token."""
        finished = new_tokens.new_zeros(new_tokens.shape, dtype=bool)
        for token_id in {*self._eos_ids(), pad_id}:
            finished |= new_tokens == token_id
        # A position counts if no end token came strictly before it.
        ended_before = finished.long().cumsum(dim=1) - finished.long()
        return int((ended_before == 0).sum())

    # -- scoring ----------------------------------------------------------------------
    def _continuation_logprobs_uncached(
        self, pairs: list[tuple[str, str]], chat: bool
    ) -> list[float]:
        prompts = list(dict.fromkeys(p for p, _ in pairs))
        continuations = list(dict.fromkeys(c for _, c in pairs))
        wrapped = chat and self._has_chat_template()
        if not wrapped and any(p.endswith((" ", "\t")) for p in prompts):
            warnings.warn(
                "a prompt ends with a space: prompt and continuation are tokenized "
                "separately, so put the space at the start of the continuation instead",
                stacklevel=2,
            )
        prompt_ids = dict(zip(prompts, self._encode_prompts(prompts, chat), strict=True))
        cont_ids = dict(zip(continuations, self._encode_plain(continuations), strict=True))
        sequences = [(prompt_ids[p], cont_ids[c]) for p, c in pairs]
        return [total for total, _ in self._score_sequences(sequences)]

    def _score_texts_uncached(self, texts: list[str]) -> list[tuple[float, int]]:
        start = self._start_ids()
        sequences = [(start, ids) for ids in self._encode_plain(texts)]
        return self._score_sequences(sequences)

    def _score_sequences(
        self, sequences: Sequence[tuple[list[int], list[int]]]
    ) -> list[tuple[float, int]]:
        """``(sum of log-probabilities, length)`` of each target after its context."""
        units, where = self._build_units(sequences)
        scores = self._run_units(units)
        return [
            (0.0, 0) if loc is None else (scores[loc[0]][loc[1]], len(target))
            for loc, (_, target) in zip(where, sequences, strict=True)
        ]

    def _build_units(
        self, sequences: Sequence[tuple[list[int], list[int]]]
    ) -> tuple[list[_ScoringUnit], list[tuple[int, int] | None]]:
        """Group (context, target) sequences into distinct forward passes.

        Returns the units and, per sequence, ``(unit index, target index)``
        (``None`` for an empty target, whose log-probability is 0).
        """
        units: list[_ScoringUnit] = []
        index: dict[tuple[int, ...], int] = {}
        where: list[tuple[int, int] | None] = []
        n_truncated = 0
        for context, target in sequences:
            if not target:
                where.append(None)
                continue
            full = context + target[:-1]
            kept = self._truncate_left(full, keep_at_least=len(target))
            n_truncated += len(kept) < len(full)
            key = tuple(kept)
            if key not in index:
                index[key] = len(units)
                units.append(_ScoringUnit(key))
            unit = units[index[key]]
            unit.targets.append(tuple(target))
            where.append((index[key], len(unit.targets) - 1))
        self._warn_truncated(n_truncated, self.context_length)
        return units, where

    def _plan_batches(self, units: Sequence[_ScoringUnit]) -> list[list[int]]:
        """Batches of unit indices, longest first, bounded in size and logit memory."""
        vocab = self._vocab_size()
        order = sorted(range(len(units)), key=lambda i: -len(units[i].context))
        batches: list[list[int]] = []
        current: list[int] = []
        keep = 0
        for i in order:
            new_keep = max(keep, units[i].n_keep)
            too_big = (len(current) + 1) * new_keep * vocab > _LOGIT_BUDGET
            if current and (len(current) == self.batch_size or too_big):
                batches.append(current)
                current, new_keep = [], units[i].n_keep
            current.append(i)
            keep = new_keep
        if current:
            batches.append(current)
        return batches

    def _vocab_size(self) -> int:
        head = self.model.get_output_embeddings()
        if head is not None and hasattr(head, "weight"):
            return int(head.weight.shape[0])
        return int(self.model.config.get_text_config().vocab_size)

    def _run_units(self, units: list[_ScoringUnit]) -> list[list[float]]:
        """Summed log-probabilities of every target of every unit."""
        results: list[list[float]] = [[] for _ in units]
        if not units:
            return results
        torch = import_torch()
        batches = self._plan_batches(units)
        with (
            torch_threads(self.n_threads),
            torch.inference_mode(),
            self._progress_bar(len(units), "LM scoring") as bar,
        ):
            for batch in batches:
                scored = self._forward_batch([units[i] for i in batch])
                for i, values in zip(batch, scored, strict=True):
                    results[i] = values
                bar.update(len(batch))
        return results

    def _forward_batch(self, units: list[_ScoringUnit]) -> list[list[float]]:
        """One forward pass over left-padded contexts; log-probs of their targets."""
        torch = import_torch()
        loaded = self._require_loaded()
        ids, mask = _left_pad([u.context for u in units], self._pad_id(), torch)
        # Left padding: positions count real tokens only, as without padding.
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        keep = max(u.n_keep for u in units)
        kwargs: dict[str, Any] = to_device(
            {"input_ids": ids, "attention_mask": mask, "position_ids": positions}, self.device
        )
        if loaded.has_logits_to_keep:
            kwargs["logits_to_keep"] = keep
        logits = loaded.model(**kwargs, use_cache=False).logits[:, -keep:, :]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        self._usage.n_forward_texts += len(units)
        self._usage.n_forward_batches += 1
        return [self._gather_targets(logprobs[row], unit, torch) for row, unit in enumerate(units)]

    @staticmethod
    def _gather_targets(logprobs: Tensor, unit: _ScoringUnit, torch: Any) -> list[float]:
        """Sum, per target, the log-probabilities of its tokens at the last positions."""
        values = []
        for target in unit.targets:
            rows = logprobs[logprobs.shape[0] - len(target) :]
            index = torch.tensor(target, dtype=torch.long, device=logprobs.device).unsqueeze(1)
            # summed in float64 on the CPU (MPS has no float64)
            values.append(float(rows.gather(1, index).cpu().double().sum()))
        return values


# -- shared instances ------------------------------------------------------------


def get_lm(
    model: str | os.PathLike[str] | LanguageModel | None = None,
    *,
    precision: str = "auto",
    device: str = "auto",
) -> LanguageModel:
    """The shared language model for a name (or the given instance itself).

    Methods call this so that two of them asking for the same model and
    precision use one object: one load, one set of usage counters.

    Parameters
    ----------
    model : str, path-like, LanguageModel or None, default=None
        A model name for :class:`LocalCausalLM` (``None``: the default
        generator); a name with a registered backend prefix, e.g.
        ``"openai:MODEL"`` or ``"openai:MODEL@BASE_URL"`` for an
        :class:`~glasstext.backends.openai_compat.OpenAICompatibleLM` with
        default settings (see
        :func:`~glasstext.backends.lm_base.register_lm_backend`); or a ready
        instance, returned unchanged.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Precision of a newly created local model (ignored for a server);
        ``"auto"`` is fp32 on the CPU (see :class:`LocalCausalLM`).
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where a newly created local model runs (ignored for a server); the
        shared model is kept per resolved device and precision.

    Returns
    -------
    LanguageModel
    """
    if isinstance(model, LanguageModel):
        return model
    if isinstance(model, str) and (factory := lm_backend_for(model)) is not None:
        # Another backend: the name holds all its settings; precision does not apply.
        remote = _SHARED_LMS.get((model, "backend"))
        if remote is None:
            remote = _SHARED_LMS[(model, "backend")] = factory(model)
        return remote
    name = DEFAULT_GENERATOR if model is None else os.fspath(model)
    where = resolve_device(device)
    key = (name, lm_precision(precision, where), where)
    lm = _SHARED_LMS.get(key)
    if lm is None:
        lm = _SHARED_LMS[key] = LocalCausalLM(name, precision=key[1], device=where)
    return lm
