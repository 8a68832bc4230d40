"""Training pieces shared by encoder fine-tuning and Proto-LM (CPU or GPU).

Everything a small training loop needs, once: loading a transformer
in float32 for training, tokenizing with a maximum length, batches of texts
of similar length (little padding, so fewer wasted FLOPs), seeded shuffling
that repeats exactly, a seeded validation split, AdamW with the usual
no-decay groups, a linear warm-up and decay schedule, early stopping that
keeps the best weights, freezing of lower layers, and a progress bar that
appears only on a terminal. :func:`train_epochs` is the one training loop
built from these pieces; fine-tuning and every Proto-LM stage supply only
their loss, their parameters and their validation.

Randomness is confined: :func:`seeded` forks torch's global generator, so a
seeded fit neither depends on nor changes the random state of the caller.

Devices: :func:`load_trainable` puts the model on a device once; batches are
built on the CPU and :func:`pad_batch` moves them there. Training runs in
float32 on every device (no half precision: gradients and AdamW state need
the range).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from glasstext.backends.devices import fork_devices, to_device
from glasstext.backends.registry import resolve_model
from glasstext.backends.runtime import import_torch, progress_bar

__all__ = [
    "POOLINGS",
    "EarlyStopping",
    "Pooling",
    "TrainedEpochs",
    "adamw",
    "freeze_lower_layers",
    "layer_modules",
    "length_batches",
    "linear_warmup_schedule",
    "load_trainable",
    "pad_batch",
    "pool_hidden",
    "seeded",
    "tokenize_texts",
    "train_epochs",
    "validation_split",
]

Pooling = Literal["mean", "cls", "last"]
#: The pooling settings :func:`pool_hidden` knows.
POOLINGS: tuple[Pooling, ...] = ("mean", "cls", "last")


def load_trainable(model: Any, device: str = "cpu") -> tuple[Any, Any]:
    """Load a tokenizer and a float32 base model (``AutoModel``) for training.

    Parameters
    ----------
    model : str or path-like
        An offline alias, a hub id or a local folder
        (:func:`~glasstext.backends.registry.resolve_model`).
    device : str, default="cpu"
        A resolved device (:func:`~glasstext.backends.devices.resolve_device`);
        the model is moved there once.

    Returns
    -------
    (tokenizer, model)
        The tokenizer pads on the right (a causal LM's end-of-text token
        becomes its padding token when it has none).
    """
    import_torch()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    resolved = resolve_model(model)
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(resolved.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    import torch

    net = AutoModel.from_pretrained(resolved.path, dtype=torch.float32)
    return tokenizer, to_device(net, device)


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_length`` tokens (special tokens included)."""
    if max_length < 2:
        raise ValueError(f"max_length must be >= 2, got {max_length}")
    if not texts:
        return []
    ids: list[list[int]] = tokenizer(list(texts), truncation=True, max_length=max_length)[
        "input_ids"
    ]
    return ids


def pad_batch(
    tokenizer: Any, token_ids: Sequence[Sequence[int]], device: str = "cpu"
) -> dict[str, Any]:
    """A padded batch: ``input_ids`` and ``attention_mask`` tensors, on ``device``."""
    enc = tokenizer.pad({"input_ids": list(token_ids)}, padding=True, return_tensors="pt")
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    return dict(to_device(batch, device))


def length_batches(
    lengths: Sequence[int] | np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
    pool_batches: int = 50,
) -> list[np.ndarray]:
    """Batches of indices whose texts have similar lengths.

    Parameters
    ----------
    lengths : sequence of int
        Token count of each text.
    batch_size : int
    rng : numpy.random.Generator, optional
        Without one (inference), texts are sorted by length and cut into
        consecutive batches. With one (training), texts are shuffled, sorted
        by length within pools of ``pool_batches * batch_size`` texts, cut
        into batches, and the batches are shuffled: little padding, yet a
        different, seeded order each epoch.
    pool_batches : int, default=50

    Returns
    -------
    list of numpy.ndarray
        Every index appears in exactly one batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    lengths = np.asarray(lengths, dtype=np.int64)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    perm = rng.permutation(len(lengths))
    pool = max(1, pool_batches) * batch_size
    batches: list[np.ndarray] = []
    for start in range(0, len(perm), pool):
        chunk = perm[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def validation_split(
    y: np.ndarray, fraction: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / validation indices.

    ``fraction=0`` (or too few samples for one validation text) gives an
    empty validation set. A stratified split keeps class proportions; when a
    class is too small for that, the split falls back to a plain seeded one.
    """
    n = len(y)
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction}")
    n_val = math.floor(fraction * n)
    everything = np.arange(n)
    if n_val < 1 or n - n_val < 1:
        return everything, np.zeros(0, dtype=np.int64)
    if stratify:
        from sklearn.model_selection import train_test_split

        try:
            train, val = train_test_split(
                everything, test_size=n_val, random_state=seed, stratify=y
            )
            return np.sort(train), np.sort(val)
        except ValueError:  # a class too small to stratify
            pass
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def pool_hidden(hidden: Any, mask: Any, pooling: str) -> Any:
    """One vector per text from its token states: the pooling of every glasstext encoder.

    :class:`~glasstext.backends.encoder.Encoder` embeds with it and fine-tuning
    trains through it, so a fine-tuned head sees the vectors Aug-Linear later
    takes from the same folder.

    Parameters
    ----------
    hidden : torch.Tensor of shape (batch, tokens, dim)
    mask : torch.Tensor of shape (batch, tokens)
        The attention mask (1 for real tokens, right padding).
    pooling : {"mean", "cls", "last"}
        ``"mean"`` over real tokens, ``"cls"`` the first token, ``"last"``
        the last real token (the natural choice for a causal LM).

    Returns
    -------
    torch.Tensor of shape (batch, dim)
    """
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "last":
        last = mask.sum(dim=1) - 1  # right padding: the last real token
        return hidden[range(hidden.shape[0]), last]
    if pooling != "mean":
        raise ValueError(f"pooling must be 'mean', 'cls' or 'last', got {pooling!r}")
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


_LAYER_PATHS = (
    "encoder.layer",  # BERT, RoBERTa, MPNet, ELECTRA
    "transformer.layer",  # DistilBERT
    "layers",  # Llama, Gemma, Qwen, Mistral (base models)
    "h",  # GPT-2
    "encoder.layers",
)


def layer_modules(net: Any) -> list[Any]:
    """The transformer blocks of a base model, bottom first.

    Raises
    ------
    ValueError
        The architecture is not one of the known layouts.
    """
    for path in _LAYER_PATHS:
        obj = net
        for name in path.split("."):
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if obj is not None and hasattr(obj, "__len__") and len(obj) > 0:
            return list(obj)
    raise ValueError(f"cannot find the layers of a {type(net).__name__} to freeze")


def freeze_lower_layers(net: Any, n_layers: int) -> int:
    """Freeze the embeddings and the ``n_layers`` lowest transformer blocks.

    Returns the number of parameters frozen. ``n_layers=0`` freezes nothing;
    more layers than the model has is an error.
    """
    if n_layers < 0:
        raise ValueError(f"freeze_layers must be >= 0, got {n_layers}")
    if n_layers == 0:
        return 0
    layers = layer_modules(net)
    if n_layers > len(layers):
        raise ValueError(f"freeze_layers={n_layers} but the model has {len(layers)} layers")
    embeddings = getattr(net, "embeddings", None)
    if embeddings is None:
        embeddings = net.get_input_embeddings()
    frozen = 0
    for module in [embeddings, *layers[:n_layers]]:
        for p in module.parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen


def adamw(groups: Iterable[tuple[Iterable[tuple[str, Any]], float]], weight_decay: float) -> Any:
    """AdamW over named parameter groups with their learning rates.

    Biases and normalisation weights get no weight decay; frozen parameters
    are left out.
    """
    torch = import_torch()
    param_groups: list[dict[str, Any]] = []
    for named, lr in groups:
        decay: list[Any] = []
        no_decay: list[Any] = []
        for name, p in named:
            if not p.requires_grad:
                continue
            skip = name.endswith("bias") or "norm" in name.lower() or p.ndim < 2
            (no_decay if skip else decay).append(p)
        if decay:
            param_groups.append({"params": decay, "lr": lr, "weight_decay": weight_decay})
        if no_decay:
            param_groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    if not param_groups:
        raise ValueError("nothing to train: every parameter is frozen")
    return torch.optim.AdamW(param_groups)


def linear_warmup_schedule(optimizer: Any, warmup_steps: int, total_steps: int) -> Any:
    """Learning rate rising linearly for ``warmup_steps``, then falling linearly to 0."""
    torch = import_torch()
    total = max(1, total_steps)
    warm = max(0, min(warmup_steps, total))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        return max(0.0, (total - step) / max(1, total - warm))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class EarlyStopping:
    """Keep the weights of the best evaluation; stop after ``patience`` worse ones.

    Parameters
    ----------
    patience : int
        Evaluations without improvement tolerated before stopping.
    min_delta : float, default=0.0
        A score must beat the best by more than this to count.

    Attributes
    ----------
    best : float
        Best (lowest) score so far (``inf`` before the first).
    best_step : int
        The evaluation (from 1) that gave it.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.best_step = 0
        self.n_steps = 0
        self._bad = 0
        self._state: dict[str, Any] | None = None

    def update(self, score: float, module: Any) -> bool:
        """Record an evaluation (lower is better); return whether to stop."""
        self.n_steps += 1
        if score < self.best - self.min_delta:
            self.best, self.best_step, self._bad = score, self.n_steps, 0
            self._state = copy.deepcopy(module.state_dict())
            return False
        self._bad += 1
        return self._bad > self.patience

    def restore(self, module: Any) -> bool:
        """Load the best weights into ``module``; False when none were recorded."""
        if self._state is None:
            return False
        module.load_state_dict(self._state)
        return True


@contextlib.contextmanager
def seeded(seed: int, device: str = "cpu") -> Iterator[np.random.Generator]:
    """Seed torch inside the block without touching the caller's random state.

    Yields a numpy generator from the same seed (for shuffling and sampling).
    On a CUDA ``device`` that GPU's generator is forked too (dropout there
    draws from it).
    """
    torch = import_torch()
    with torch.random.fork_rng(devices=fork_devices(device)):
        torch.manual_seed(seed)
        yield np.random.default_rng(seed)


# -- the training loop ---------------------------------------------------------------

#: A training step: the rows of one batch -> (loss tensor, figures to average
#: over the epoch, e.g. ``{"loss": ..., "cross_entropy": ...}``).
TrainStep = Callable[[np.ndarray], tuple[Any, dict[str, float]]]
#: A validation: figures of the current weights, ``"validation_loss"`` among them.
Validate = Callable[[], dict[str, float]]


@dataclass
class TrainedEpochs:
    """What :func:`train_epochs` did.

    Attributes
    ----------
    history : list of dict
        One record per epoch run: the fixed ``record`` entries, ``"epoch"``,
        the step figures averaged over the training rows, and the validation
        figures; every figure rounded to 6 decimals.
    best_epoch : int
        The epoch whose weights the module holds now: the best validated one
        when early stopping restored it, else the last one run.
    """

    history: list[dict[str, Any]]
    best_epoch: int


def train_epochs(
    step: TrainStep,
    *,
    module: Any,
    optimizer: Any,
    rows: np.ndarray,
    n_epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    lengths: np.ndarray | None = None,
    warmup_ratio: float | None = None,
    validate: Validate | None = None,
    patience: int | None = None,
    clip_norm: float | None = 1.0,
    frozen: Sequence[Any] = (),
    record: dict[str, Any] | None = None,
    description: str = "training",
    progress: bool | None = None,
) -> TrainedEpochs:
    """Train ``module`` for up to ``n_epochs`` passes over ``rows``: the one training loop.

    Each epoch cuts ``rows`` into seeded batches of similar length
    (:func:`length_batches`), and for each batch calls ``step``,
    back-propagates its loss, clips the gradients, and steps the optimizer
    (and the warm-up schedule). After the epoch, ``validate`` (if any) scores
    the weights; with ``patience``, training stops after that many epochs
    without a lower validation loss, and the best weights are restored.

    Parameters
    ----------
    step : callable
        ``step(batch_rows) -> (loss, figures)``; the figures (floats) are
        averaged over the epoch's rows, weighted by batch size.
    module : torch.nn.Module
        What is trained: put in training mode each epoch, its gradients
        clipped, its best state kept by early stopping.
    optimizer : torch.optim.Optimizer
    rows : numpy.ndarray
        The training rows (indices the step understands).
    n_epochs, batch_size : int
    rng : numpy.random.Generator
        Shuffles the batches (seeded: the same generator state gives the same order).
    lengths : numpy.ndarray, optional
        Token count of each of ``rows`` (texts of similar length are batched
        together); ``None``: rows cost the same, batches are plain shuffles.
    warmup_ratio : float, optional
        With a value, the learning rate rises linearly over this share of
        all steps, then falls linearly to 0 (:func:`linear_warmup_schedule`);
        ``None`` keeps the optimizer's rates.
    validate : callable, optional
        ``validate() -> figures`` with ``"validation_loss"``, after every epoch.
    patience : int, optional
        Early stopping (needs ``validate``); ``None`` runs every epoch.
    clip_norm : float or None, default=1.0
        Gradient-norm clipping of ``module``'s parameters.
    frozen : sequence of torch.nn.Module
        Parts of ``module`` kept in evaluation mode (no dropout) while training.
    record : dict, optional
        Entries that start every history record (e.g. ``{"stage": "joint"}``).
    description : str
        Progress-bar label (the epoch is appended).
    progress : bool, optional
        Progress bars (default: only on a terminal).

    Returns
    -------
    TrainedEpochs
    """
    schedule = None
    if warmup_ratio is not None:
        total = n_epochs * math.ceil(len(rows) / batch_size)
        schedule = linear_warmup_schedule(optimizer, round(warmup_ratio * total), total)
    stopper = EarlyStopping(patience) if patience is not None else None
    costs = np.zeros(len(rows), dtype=np.int64) if lengths is None else np.asarray(lengths)
    history: list[dict[str, Any]] = []
    for epoch in range(1, n_epochs + 1):
        module.train()
        for part in frozen:
            part.eval()
        batches = [rows[b] for b in length_batches(costs, batch_size, rng)]
        bar = progress_bar(len(batches), f"{description} {epoch}/{n_epochs}", progress, "batch")
        with bar:
            sums = _run_epoch(step, batches, module, optimizer, schedule, clip_norm, bar)
        entry: dict[str, Any] = {**(record or {}), "epoch": epoch}
        entry.update({k: round(v / max(1, len(rows)), 6) for k, v in sums.items()})
        stop = False
        if validate is not None:
            figures = validate()
            entry.update({k: round(v, 6) for k, v in figures.items()})
            if stopper is not None:
                stop = stopper.update(figures["validation_loss"], module)
        history.append(entry)
        if stop:
            break
    best_epoch = len(history)
    if stopper is not None and stopper.restore(module):
        best_epoch = stopper.best_step
    return TrainedEpochs(history, best_epoch)


def _run_epoch(
    step: TrainStep,
    batches: list[np.ndarray],
    module: Any,
    optimizer: Any,
    schedule: Any,
    clip_norm: float | None,
    bar: Any,
) -> dict[str, float]:
    """One pass: a step per batch; returns the step figures summed, weighted by batch size."""
    torch = import_torch()
    sums: dict[str, float] = {}
    for rows in batches:
        loss, figures = step(rows)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(module.parameters(), clip_norm)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        optimizer.zero_grad(set_to_none=True)
        for key, value in figures.items():
            sums[key] = sums.get(key, 0.0) + value * len(rows)
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
    return sums
