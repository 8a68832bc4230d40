"""Fine-tune an encoder on a labelled text set (CPU or GPU) into a local model folder.

:func:`finetune_encoder` trains a transformer with a pooled linear head
(classification: cross-entropy; regression: squared error on standardised
targets) and saves the *base encoder* with ``save_pretrained`` (safetensors
weights and the tokenizer). The folder is therefore an ordinary Hugging Face
model folder that every glasstext API taking an ``encoder`` accepts::

    folder = finetune_encoder(X, y, encoder="all-MiniLM-L6-v2", output_dir="rt-minilm")
    AugLinearClassifier(encoder=folder).fit(X, y)      # the Aug-imodels paper's best set-up

Next to the weights the folder holds ``glasstext_finetune.json`` (settings,
per-epoch history, validation metrics, timing) and
``glasstext_head.safetensors`` (the head), so :class:`FinetunedModel` can
predict with the fine-tuned classifier itself.

Pooling during training is the :class:`~glasstext.backends.encoder.Encoder`'s
(mean over real tokens by default), so the embeddings Aug-Linear later takes
from the folder are the ones the head was trained on.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from glasstext.backends.devices import resolve_device, to_device
from glasstext.backends.registry import DEFAULT_ENCODER, resolve_model
from glasstext.backends.runtime import import_torch, torch_threads
from glasstext.backends.training import (
    POOLINGS,
    Pooling,
    TrainedEpochs,
    adamw,
    freeze_lower_layers,
    length_batches,
    load_trainable,
    pad_batch,
    pool_hidden,
    seeded,
    tokenize_texts,
    train_epochs,
    validation_split,
)
from glasstext.exceptions import InvalidParameterError, ModelFileError
from glasstext.io import is_vacant, python_scalar, write_folder_atomically
from glasstext.text import check_ngram_range, extract_ngrams
from glasstext.validation import (
    Constraint,
    Interval,
    Options,
    check_documents,
    check_int,
    check_param,
    check_target,
    validate_params,
)

__all__ = [
    "HEAD_FILE",
    "INFO_FILE",
    "FinetunedModel",
    "check_output_dir",
    "finetune_encoder",
    "finetune_info",
]

INFO_FILE = "glasstext_finetune.json"
#: the "format" recorded in :data:`INFO_FILE`: marks a folder this module wrote
INFO_FORMAT = "glasstext-finetune"
HEAD_FILE = "glasstext_head.safetensors"
Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")

_POSITIVE = Interval(float, 0, None, closed="neither")
_FRACTION = Interval(float, 0, 1, closed="left")
#: What each setting accepts (checked before any model is loaded).
_SETTING_CONSTRAINTS: dict[str, list[Constraint]] = {
    "task": [Options(TASKS)],
    "epochs": [Interval(int, 1, None)],
    "batch_size": [Interval(int, 1, None)],
    "learning_rate": [_POSITIVE],
    "head_learning_rate": [_POSITIVE],
    "weight_decay": [Interval(float, 0, None)],
    "warmup_ratio": [_FRACTION],
    "max_length": [Interval(int, 2, None)],
    "pooling": [Options(POOLINGS)],
    "dropout": [_FRACTION],
    "head_init": [Options(("probe", "random"))],
    "validation_fraction": [_FRACTION],
    "patience": [Interval(int, 0, None)],
    "freeze_layers": [Interval(int, 0, None)],
    "ngram_weight": [Interval(float, 0, math.inf, closed="left")],  # finite
    "ngrams_per_text": [Interval(int, 1, None)],
    "seed": [Interval(int)],
}


def infer_task(y: Any) -> Task:
    """``"regression"`` for float targets that are not all whole numbers, else classification."""
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[np.isfinite(arr)]
        if finite.size and not np.all(finite == np.round(finite)):
            return "regression"
    return "classification"


@dataclass(frozen=True)
class _Settings:
    """The checked settings of one fine-tuning (recorded in the folder)."""

    task: Task
    epochs: int
    batch_size: int
    learning_rate: float
    head_learning_rate: float
    weight_decay: float
    warmup_ratio: float
    max_length: int
    pooling: Pooling
    dropout: float
    head_init: Literal["probe", "random"]
    validation_fraction: float
    patience: int
    freeze_layers: int
    ngram_weight: float
    ngram_range: tuple[int, int]
    ngrams_per_text: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in declaration order."""
        out = asdict(self)
        out["ngram_range"] = list(self.ngram_range)
        return out


def _check_settings(values: dict[str, Any]) -> _Settings:
    """Check every setting against its constraint; numbers become plain ints and floats."""
    validate_params(values, _SETTING_CONSTRAINTS)
    plain = {
        name: allowed[0].kind(values[name]) if isinstance(allowed[0], Interval) else values[name]
        for name, allowed in _SETTING_CONSTRAINTS.items()
    }
    return _Settings(**plain, ngram_range=check_ngram_range(values["ngram_range"]))


def _choose_task(task: Any, y: Any) -> Task:
    """The task asked for, or the one the targets suggest (:func:`infer_task`)."""
    if task is None:
        return infer_task(y)
    checked: Task = check_param(task, [Options(TASKS)], "task")
    return checked


def check_output_dir(output_dir: Any) -> Path:
    """``output_dir`` as a path, refused before any work if it may not be written.

    Raises
    ------
    glasstext.exceptions.InvalidParameterError
        Not a path, or an empty one.
    glasstext.exceptions.ModelFileError
        A link, a file, or a folder holding anything but a fine-tuned encoder.
    """
    check_param(output_dir, ["path"], "output_dir")
    if not os.fspath(output_dir):
        raise InvalidParameterError("output_dir must be a folder path, got ''")
    folder = Path(output_dir)
    _check_replaceable(folder)
    return folder


def _check_replaceable(folder: Path) -> None:
    """Refuse an output folder whose replacement would remove anything but a fine-tuned encoder."""
    if not is_vacant(folder) and not _holds_finetuned_encoder(folder):
        raise ModelFileError(
            f"{folder} is not empty and holds no fine-tuned encoder: it is never replaced "
            "(choose a new or empty folder)"
        )


def _holds_finetuned_encoder(folder: Path) -> bool:
    """Whether ``folder`` was written by :func:`finetune_encoder` (its record, no link)."""
    info = folder / INFO_FILE
    if info.is_symlink() or not info.is_file():
        return False
    try:
        record = json.loads(info.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(record, dict) and record.get("format") == INFO_FORMAT


def finetune_encoder(
    X: Any,
    y: Any,
    encoder: str | os.PathLike[str] = DEFAULT_ENCODER,
    *,
    output_dir: str | os.PathLike[str],
    task: Task | None = None,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    head_learning_rate: float = 1e-3,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    max_length: int = 128,
    pooling: Pooling = "mean",
    dropout: float = 0.1,
    head_init: Literal["probe", "random"] = "probe",
    validation_fraction: float = 0.1,
    patience: int = 1,
    freeze_layers: int = 0,
    ngram_weight: float = 0.0,
    ngram_range: tuple[int, int] = (1, 2),
    ngrams_per_text: int = 8,
    seed: int = 0,
    n_threads: int | None = None,
    progress: bool | None = None,
    device: str = "auto",
) -> Path:
    """Fine-tune an encoder with a pooled linear head and save it as a model folder.

    Parameters
    ----------
    X : sequence of str
        Training texts.
    y : array-like
        Class labels, or numeric targets for regression.
    encoder : str or path-like, default="all-MiniLM-L6-v2"
        The model to start from: an offline alias, a hub id or a folder.
    output_dir : str or path-like
        The folder to write: a new or empty one, or one an earlier
        fine-tuning wrote (replaced atomically). Any other folder is never
        replaced: it is refused before training.
    task : {"classification", "regression"}, optional
        Default: regression for float targets that are not all whole
        numbers, classification otherwise.
    epochs : int, default=3
        Passes over the training part (fewer if early stopping ends sooner).
    batch_size : int, default=32
        Texts per step; texts of similar length are batched together.
    learning_rate : float, default=5e-5
        Peak learning rate of the encoder (AdamW).
    head_learning_rate : float, default=1e-3
        Peak learning rate of the freshly initialised head.
    weight_decay : float, default=0.01
        AdamW weight decay (not applied to biases and normalisation weights).
    warmup_ratio : float, default=0.1
        Share of the steps over which the learning rate rises linearly; it
        then falls linearly to zero at the last step.
    max_length : int, default=128
        Texts are truncated to this many tokens.
    pooling : {"mean", "cls", "last"}, default="mean"
        How token states become one vector; use the same setting with
        :class:`~glasstext.backends.encoder.Encoder` (mean is its default).
    dropout : float, default=0.1
        Dropout on the pooled vector before the head.
    head_init : {"probe", "random"}, default="probe"
        ``"probe"`` starts the head at a linear probe of the frozen encoder
        (logistic or ridge regression on the pooled vectors of the training
        texts; one extra forward pass), then fine-tunes everything (LP-FT):
        it learns from the first step even on small data, and changes the
        pretrained features less. ``"random"``: the usual random head.
    validation_fraction : float, default=0.1
        Share of the texts held out (stratified for classification, seeded)
        to measure the validation loss after every epoch. The weights of the
        epoch with the lowest validation loss are saved. ``0`` trains on
        everything and keeps the last epoch.
    patience : int, default=1
        Epochs without a lower validation loss before training stops.
    freeze_layers : int, default=0
        Freeze the embeddings and this many of the lowest transformer layers.
    ngram_weight : float, default=0.0
        Weight of an optional second objective for encoders meant for
        Aug-Linear: the same head also classifies each text from the mean
        embedding of up to ``ngrams_per_text`` of its n-grams, each embedded
        *alone*, as Aug-Linear embeds them (the n-grams are sampled afresh
        each step, seeded). It teaches the encoder to put the task into the
        embeddings of isolated phrases; each step costs about three times as
        much. ``0``: the standard objective only.
    ngram_range : (int, int), default=(1, 2)
        N-gram lengths for ``ngram_weight`` (glasstext's tokenizer, as Aug-Linear).
    ngrams_per_text : int, default=8
        N-grams sampled per text and step for ``ngram_weight``.
    seed : int, default=0
        Seeds the head's initialisation, dropout, the validation split and
        the order of the batches; the same seed gives the same weights.
    n_threads : int, optional
        torch threads during training.
    progress : bool, optional
        Show a progress bar (default: only on a terminal).
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where training runs (``"auto"``: a GPU when torch sees one), in
        float32 everywhere. The folder written is the same on any device
        (up to the device's arithmetic) and records no device.

    Returns
    -------
    pathlib.Path
        ``output_dir``: load it with ``Encoder(folder)``,
        ``AugLinearClassifier(encoder=folder)``, ``ProtoLMClassifier(encoder=folder)``,
        transformers' ``AutoModel.from_pretrained(folder)``, or
        :class:`FinetunedModel` for the fine-tuned classifier's own predictions.

    Raises
    ------
    TypeError, ValueError
        Bad texts or labels (empty, not strings, NaN labels, one class,
        different lengths) or bad settings.
    glasstext.exceptions.ModelFileError
        ``output_dir`` is a link, a file, or a folder holding anything but a
        fine-tuned encoder.
    """
    texts = check_documents(X)
    chosen = _choose_task(task, y)
    target = check_target(y, len(texts), chosen)
    settings = _check_settings(
        {
            "task": chosen,
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "head_learning_rate": head_learning_rate,
            "weight_decay": weight_decay,
            "warmup_ratio": warmup_ratio,
            "max_length": max_length,
            "pooling": pooling,
            "dropout": dropout,
            "head_init": head_init,
            "validation_fraction": validation_fraction,
            "patience": patience,
            "freeze_layers": freeze_layers,
            "ngram_weight": ngram_weight,
            "ngram_range": ngram_range,
            "ngrams_per_text": ngrams_per_text,
            "seed": seed,
        }
    )
    folder = check_output_dir(output_dir)
    where = resolve_device(device)
    started = time.perf_counter()
    with torch_threads(n_threads), seeded(settings.seed, where) as rng:
        tokenizer, net = load_trainable(encoder, where)
        n_frozen = freeze_lower_layers(net, settings.freeze_layers)
        objective = _Objective.of(target, chosen)
        # the head is initialised on the CPU (same numbers on every device), then moved
        parts = to_device(_model_parts(net, objective.n_outputs, settings.dropout), where)
        ids = tokenize_texts(tokenizer, texts, settings.max_length)
        train_idx, val_idx = validation_split(
            target, settings.validation_fraction, settings.seed, stratify=chosen == "classification"
        )
        run = _Finetuning(parts, tokenizer, ids, objective, settings, rng)
        probe = run.probe_head(target, train_idx) if settings.head_init == "probe" else None
        trained = run.train(texts, train_idx, val_idx, progress)
    info = _folder_info(
        encoder,
        objective,
        settings,
        trained,
        n_train=len(train_idx),
        n_validation=len(val_idx),
        frozen_parameters=n_frozen,
        probe_train_score=probe,
        seconds=time.perf_counter() - started,
    )
    return _save_folder(folder, tokenizer, net, parts["head"], info)


# -- the pieces of one fine-tuning ---------------------------------------------------------


@dataclass
class _Objective:
    """What the head learns: class indices (cross-entropy) or standardised targets (MSE)."""

    task: Task
    labels: Any  # tensor: class indices, or (target - center) / scale
    classes: np.ndarray | None = None
    center: float = 0.0
    scale: float = 1.0

    @classmethod
    def of(cls, target: np.ndarray, task: Task) -> _Objective:
        torch = import_torch()
        if task == "classification":
            classes, encoded = np.unique(target, return_inverse=True)
            return cls(task, torch.as_tensor(encoded, dtype=torch.long), classes)
        center = float(target.mean())
        scale = float(target.std()) or 1.0
        labels = torch.as_tensor((target - center) / scale, dtype=torch.float32)
        return cls(task, labels, None, center, scale)

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.classes is not None else 1

    def loss(self, outputs: Any, rows: np.ndarray) -> Any:
        """Cross-entropy or squared error of the head outputs for ``rows``."""
        torch = import_torch()
        wanted = self.labels[torch.as_tensor(rows)].to(outputs.device)
        if self.task == "classification":
            return torch.nn.functional.cross_entropy(outputs, wanted)
        return torch.nn.functional.mse_loss(outputs[:, 0], wanted)

    def metrics(self, outputs: Any, rows: np.ndarray) -> dict[str, float]:
        """Accuracy (classification) or R² (standardised regression) of ``rows``."""
        torch = import_torch()
        wanted = self.labels[torch.as_tensor(rows)].to(outputs.device)
        if self.task == "classification":
            return {"validation_accuracy": float((outputs.argmax(1) == wanted).float().mean())}
        residual = float(((outputs[:, 0] - wanted) ** 2).sum())
        total = float(((wanted - wanted.mean()) ** 2).sum()) or 1.0
        return {"validation_r2": 1.0 - residual / total}

    def describe(self) -> dict[str, Any]:
        """The folder's record of the task, its classes and the target scaling."""
        classes = self.classes
        return {
            "task": self.task,
            "classes": [python_scalar(c) for c in classes] if classes is not None else None,
            "target_mean": self.center,
            "target_std": self.scale,
        }


def _folder_info(
    encoder: str | os.PathLike[str],
    objective: _Objective,
    settings: _Settings,
    trained: TrainedEpochs,
    *,
    n_train: int,
    n_validation: int,
    frozen_parameters: int,
    probe_train_score: float | None,
    seconds: float,
) -> dict[str, Any]:
    """What the folder records (:data:`INFO_FILE`): the base model, the run and its metrics."""
    history = trained.history
    probe = probe_train_score
    return {
        "format": INFO_FORMAT,
        "base_model": os.fspath(encoder),
        "base_identity": resolve_model(encoder).identity,
        **objective.describe(),
        "n_train": n_train,
        "n_validation": n_validation,
        "epochs_run": len(history),
        "best_epoch": trained.best_epoch,
        "history": history,
        "validation": history[trained.best_epoch - 1] if history else {},
        "frozen_parameters": frozen_parameters,
        "probe_train_score": round(probe, 6) if probe is not None else None,
        "seconds": round(seconds, 2),
        "settings": settings.to_dict(),
    }


def _model_parts(net: Any, n_outputs: int, dropout: float) -> Any:
    """The encoder with dropout and a fresh linear head on its pooled vector."""
    torch = import_torch()
    return torch.nn.ModuleDict(
        {
            "encoder": net,
            "dropout": torch.nn.Dropout(dropout),
            "head": torch.nn.Linear(net.config.hidden_size, n_outputs),
        }
    )


@dataclass
class _Finetuning:
    """One fine-tuning run: the model parts, the tokenized texts and what they learn."""

    parts: Any
    tokenizer: Any
    ids: list[list[int]]
    objective: _Objective
    settings: _Settings
    rng: np.random.Generator

    def probe_head(self, target: np.ndarray, rows: np.ndarray) -> float:
        """Start the head at a linear probe of the frozen encoder (LP-FT); returns its fit score.

        Logistic regression (classification) or ridge regression (standardised
        targets) on the pooled vectors of the training texts, one forward pass
        without gradients. Fine-tuning from a fitted head instead of a random one
        learns from the first step, even with few steps, and distorts the
        pretrained features less (Kumar et al., ICLR 2022).
        """
        torch = import_torch()
        features = _predict_outputs(
            self.parts, self.tokenizer, self.ids, rows, self.settings.pooling, 64, features=True
        )
        X = features.numpy().astype(np.float64)
        coef, intercept, score = _linear_probe(X, target, rows, self.objective)
        head = self.parts["head"]
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
            head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
        return score

    def train(
        self, texts: list[str], train_idx: np.ndarray, val_idx: np.ndarray, progress: bool | None
    ) -> TrainedEpochs:
        """AdamW with warm-up over encoder and head, early stopping on the validation loss."""
        s = self.settings
        optimizer = adamw(
            [
                (self.parts["encoder"].named_parameters(), s.learning_rate),
                (self.parts["head"].named_parameters(), s.head_learning_rate),
            ],
            s.weight_decay,
        )
        doc_ngrams = (
            [list(dict.fromkeys(extract_ngrams(t, s.ngram_range))) for t in texts]
            if s.ngram_weight > 0
            else []
        )

        def step(rows: np.ndarray) -> tuple[Any, dict[str, float]]:
            loss = self.loss(rows, doc_ngrams)
            return loss, {"train_loss": float(loss.detach())}

        lengths = np.fromiter((len(self.ids[i]) for i in train_idx), np.int64, len(train_idx))
        return train_epochs(
            step,
            module=self.parts,
            optimizer=optimizer,
            rows=train_idx,
            n_epochs=s.epochs,
            batch_size=s.batch_size,
            rng=self.rng,
            lengths=lengths,
            warmup_ratio=s.warmup_ratio,
            validate=(lambda: self.validate(val_idx)) if len(val_idx) else None,
            patience=s.patience,
            description="fine-tuning",
            progress=progress,
        )

    def loss(self, rows: np.ndarray, doc_ngrams: list[list[str]]) -> Any:
        """The batch loss: on the texts, plus (``ngram_weight``) on sampled n-grams of them."""
        s = self.settings
        token_ids = [self.ids[i] for i in rows]
        loss = self.objective.loss(
            _head_outputs(self.parts, self.tokenizer, token_ids, s.pooling), rows
        )
        if s.ngram_weight > 0:
            picked = [_sample(doc_ngrams[i], s.ngrams_per_text, self.rng) for i in rows.tolist()]
            phrases = _ngram_outputs(self.parts, self.tokenizer, picked, s.pooling, s.max_length)
            loss = loss + s.ngram_weight * self.objective.loss(phrases, rows)
        return loss

    def validate(self, rows: np.ndarray) -> dict[str, float]:
        """Validation loss and accuracy (or R²) of the current weights."""
        torch = import_torch()
        s = self.settings
        outputs = _predict_outputs(
            self.parts, self.tokenizer, self.ids, rows, s.pooling, s.batch_size
        )
        with torch.inference_mode():
            loss = float(self.objective.loss(outputs, rows))
        return {"validation_loss": loss, **self.objective.metrics(outputs, rows)}


def _head_outputs(
    parts: Any, tokenizer: Any, token_ids: list[list[int]], pooling: str, features: bool = False
) -> Any:
    """Head outputs of a batch (or, with ``features``, the pooled vectors)."""
    batch = pad_batch(tokenizer, token_ids, _device_of(parts))
    hidden = parts["encoder"](**batch).last_hidden_state
    pooled = pool_hidden(hidden, batch["attention_mask"], pooling)
    return pooled if features else parts["head"](parts["dropout"](pooled))


def _linear_probe(
    X: np.ndarray, target: np.ndarray, rows: np.ndarray, objective: _Objective
) -> tuple[np.ndarray, np.ndarray, float]:
    """Head weights, bias and training score of a linear model on pooled vectors ``X``.

    Logistic regression (a binary decision split over two logits) or ridge
    regression on the standardised targets.
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    from glasstext.backends.runtime import blas_threads

    with blas_threads(1):
        if objective.task == "classification":
            _, encoded = np.unique(target, return_inverse=True)
            clf = LogisticRegression(C=1.0, max_iter=2000).fit(X, encoded[rows])
            coef, intercept = clf.coef_, clf.intercept_
            if coef.shape[0] == 1:  # binary: split the one decision over two logits
                coef = np.vstack([-coef / 2, coef / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            return coef, intercept, float(clf.score(X, encoded[rows]))
        wanted = (target[rows] - objective.center) / objective.scale
        reg = Ridge(alpha=1.0).fit(X, wanted)
        return reg.coef_[None, :], np.atleast_1d(reg.intercept_), float(reg.score(X, wanted))


def _sample(items: list[str], k: int, rng: np.random.Generator) -> list[str]:
    if len(items) <= k:
        return items
    return [items[i] for i in sorted(rng.choice(len(items), size=k, replace=False).tolist())]


def _ngram_outputs(
    parts: Any, tokenizer: Any, picked: list[list[str]], pooling: str, max_length: int
) -> Any:
    """Head outputs on the mean embedding of each text's n-grams, each embedded alone."""
    torch = import_torch()
    device = _device_of(parts)
    phrases = sorted({g for grams in picked for g in grams})
    column = {g: j for j, g in enumerate(phrases)}
    weights = torch.zeros(len(picked), max(1, len(phrases)))
    for row, grams in enumerate(picked):
        for g in grams:
            weights[row, column[g]] += 1.0 / len(grams)
    weights = to_device(weights, device)
    if not phrases:  # no words at all: a zero vector
        zeros = to_device(torch.zeros(len(picked), parts["head"].in_features), device)
        return parts["head"](zeros)
    batch = pad_batch(tokenizer, tokenize_texts(tokenizer, phrases, max_length), device)
    hidden = parts["encoder"](**batch).last_hidden_state
    embedded = pool_hidden(hidden, batch["attention_mask"], pooling)
    return parts["head"](parts["dropout"](weights @ embedded))


def _predict_outputs(
    parts: Any,
    tokenizer: Any,
    ids: Sequence[list[int]],
    rows: np.ndarray,
    pooling: str,
    batch_size: int,
    features: bool = False,
) -> Any:
    """Head outputs (or pooled vectors) of ``rows`` in that order; eval mode, no gradient."""
    torch = import_torch()
    was_training = parts.training
    parts.eval()
    lengths = np.fromiter((len(ids[i]) for i in rows), dtype=np.int64, count=len(rows))
    out = None
    with torch.inference_mode():
        for batch in length_batches(lengths, batch_size):
            values = _head_outputs(
                parts, tokenizer, [ids[rows[i]] for i in batch], pooling, features
            )
            if out is None:
                out = torch.empty((len(rows), values.shape[1]), dtype=values.dtype)
            out[torch.as_tensor(batch)] = values.cpu()  # gathered on the CPU
    parts.train(was_training)
    return out


def _device_of(module: Any) -> str:
    """The device a module's weights are on (``"cpu"``, ``"cuda:0"``...)."""
    return str(next(module.parameters()).device)


def _save_folder(target: Path, tokenizer: Any, net: Any, head: Any, info: dict[str, Any]) -> Path:
    """Write the folder in a temporary sibling and swap it into place."""
    from safetensors.numpy import save_file

    def write(tmp: Path) -> None:
        net.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        state = {k: v.detach().cpu().numpy() for k, v in head.state_dict().items()}
        save_file(state, str(tmp / HEAD_FILE))
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False), "utf-8")

    return write_folder_atomically(target, write, check=_check_replaceable)


def finetune_info(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings and metrics :func:`finetune_encoder` recorded in ``folder``.

    Raises
    ------
    FileNotFoundError
        The folder holds no ``glasstext_finetune.json``.
    """
    path = Path(folder) / INFO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a folder written by finetune_encoder")
    info: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return info


class FinetunedModel:
    """The fine-tuned classifier or regressor itself: encoder, pooling and head.

    Parameters
    ----------
    folder : str or path-like
        A folder written by :func:`finetune_encoder`.
    batch_size : int, default=64
    n_threads : int, optional
        torch threads while predicting.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs (resolved when it is first loaded).

    Attributes
    ----------
    info : dict
        What :func:`finetune_info` returns.
    classes_ : numpy.ndarray or None
        Class labels (classification).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        batch_size: int = 64,
        n_threads: int | None = None,
        device: str = "auto",
    ) -> None:
        from safetensors.numpy import load_file

        self.folder = Path(folder)
        self.info = finetune_info(folder)
        self.batch_size = check_int(batch_size, "batch_size")
        self.n_threads = n_threads
        self.device = device
        head_path = self.folder / HEAD_FILE
        if not head_path.is_file():
            raise FileNotFoundError(f"{folder} holds no {HEAD_FILE}")
        self._head_state = load_file(str(head_path))
        classes = self.info.get("classes")
        self.classes_ = np.asarray(classes) if classes is not None else None
        self._parts: Any = None
        self._tokenizer: Any = None

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return str(self.info["task"])

    def _load(self) -> None:
        if self._parts is not None:
            return
        torch = import_torch()
        where = resolve_device(self.device)
        tokenizer, net = load_trainable(self.folder, where)
        weight = torch.as_tensor(self._head_state["weight"])
        head = torch.nn.Linear(weight.shape[1], weight.shape[0])
        head.load_state_dict({k: torch.as_tensor(v) for k, v in self._head_state.items()})
        parts = torch.nn.ModuleDict(
            {"encoder": net, "dropout": torch.nn.Dropout(0.0), "head": head}
        )
        self._parts = to_device(parts, where).eval()
        self._tokenizer = tokenizer

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw head outputs: class logits ``(n, n_classes)``, or predictions for regression."""
        texts = check_documents(X)
        self._load()
        settings = self.info["settings"]
        ids = tokenize_texts(self._tokenizer, texts, int(settings["max_length"]))
        with torch_threads(self.n_threads):
            out = _predict_outputs(
                self._parts,
                self._tokenizer,
                ids,
                np.arange(len(ids)),
                str(settings["pooling"]),
                self.batch_size,
            )
        values = out.numpy().astype(np.float64)
        if self.task == "regression":
            return values[:, 0] * float(self.info["target_std"]) + float(self.info["target_mean"])
        return values

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (softmax of the logits), columns in ``classes_`` order."""
        if self.task != "classification":
            raise ValueError("predict_proba needs a classification model")
        from scipy.special import softmax

        return np.asarray(softmax(self.decision_function(X), axis=1))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted classes or values."""
        values = self.decision_function(X)
        if self.task == "regression":
            return values
        assert self.classes_ is not None
        return np.asarray(self.classes_[values.argmax(axis=1)])

    def score(self, X: Any, y: Any) -> float:
        """Accuracy (classification) or R² (regression)."""
        pred = self.predict(X)
        truth = np.asarray(y)
        if self.task == "classification":
            return float(np.mean(pred == truth))
        total = float(((truth - truth.mean()) ** 2).sum()) or 1.0
        return 1.0 - float(((pred - truth) ** 2).sum()) / total

    def __repr__(self) -> str:
        return f"FinetunedModel({os.fspath(self.folder)!r}, task={self.task!r})"
