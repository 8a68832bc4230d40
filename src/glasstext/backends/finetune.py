"""Fine-tune an encoder on a labelled text set, on a CPU, into a local model folder.

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
from pathlib import Path
from typing import Any, Literal

import numpy as np

from glasstext.backends.registry import DEFAULT_ENCODER, resolve_model
from glasstext.backends.runtime import import_torch, progress_bar, torch_threads
from glasstext.backends.training import (
    EarlyStopping,
    adamw,
    freeze_lower_layers,
    length_batches,
    linear_warmup_schedule,
    load_trainable,
    pad_batch,
    pool_hidden,
    seeded,
    tokenize_texts,
    validation_split,
)
from glasstext.io import python_scalar
from glasstext.text import check_ngram_range, extract_ngrams
from glasstext.validation import check_documents, check_target

__all__ = ["HEAD_FILE", "INFO_FILE", "FinetunedModel", "finetune_encoder", "finetune_info"]

INFO_FILE = "glasstext_finetune.json"
HEAD_FILE = "glasstext_head.safetensors"
Task = Literal["classification", "regression"]
Pooling = Literal["mean", "cls", "last"]


def infer_task(y: Any) -> Task:
    """``"regression"`` for float targets that are not all whole numbers, else classification."""
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[np.isfinite(arr)]
        if finite.size and not np.all(finite == np.round(finite)):
            return "regression"
    return "classification"


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return float(value)


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
        The folder to write (replaced atomically if it exists).
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
    """
    texts = check_documents(X)
    chosen: Task = task if task is not None else infer_task(y)
    if chosen not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    target = check_target(y, len(texts), chosen)
    epochs = _check_positive_int("epochs", epochs)
    batch_size = _check_positive_int("batch_size", batch_size)
    max_length = _check_positive_int("max_length", max_length, 2)
    patience = _check_positive_int("patience", patience, 0)
    learning_rate = _check_rate("learning_rate", learning_rate)
    head_learning_rate = _check_rate("head_learning_rate", head_learning_rate)
    if not 0.0 <= warmup_ratio < 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {warmup_ratio}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if pooling not in ("mean", "cls", "last"):
        raise ValueError(f"pooling must be 'mean', 'cls' or 'last', got {pooling!r}")
    if head_init not in ("probe", "random"):
        raise ValueError(f"head_init must be 'probe' or 'random', got {head_init!r}")
    if output_dir is None or not os.fspath(output_dir):
        raise ValueError("output_dir must be a folder path")
    if not (isinstance(ngram_weight, int | float) and math.isfinite(ngram_weight)):
        raise ValueError(f"ngram_weight must be a finite number >= 0, got {ngram_weight!r}")
    if ngram_weight < 0:
        raise ValueError(f"ngram_weight must be a finite number >= 0, got {ngram_weight!r}")
    ngram_range = check_ngram_range(ngram_range)
    ngrams_per_text = _check_positive_int("ngrams_per_text", ngrams_per_text)

    settings = {
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
        "ngram_weight": float(ngram_weight),
        "ngram_range": list(ngram_range),
        "ngrams_per_text": ngrams_per_text,
        "seed": seed,
    }
    started = time.perf_counter()
    torch = import_torch()
    with torch_threads(n_threads), seeded(seed) as rng:
        tokenizer, net = load_trainable(encoder)
        n_frozen = freeze_lower_layers(net, freeze_layers)
        if chosen == "classification":
            classes, encoded = np.unique(target, return_inverse=True)
            labels = torch.as_tensor(encoded, dtype=torch.long)
            n_out = len(classes)
            center, scale = 0.0, 1.0
        else:
            classes = None
            center = float(target.mean())
            scale = float(target.std()) or 1.0
            labels = torch.as_tensor((target - center) / scale, dtype=torch.float32)
            n_out = 1
        parts = torch.nn.ModuleDict(
            {
                "encoder": net,
                "dropout": torch.nn.Dropout(dropout),
                "head": torch.nn.Linear(net.config.hidden_size, n_out),
            }
        )
        ids = tokenize_texts(tokenizer, texts, max_length)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        train_idx, val_idx = validation_split(
            target, validation_fraction, seed, stratify=chosen == "classification"
        )
        probe = None
        if head_init == "probe":
            probe = _probe_head(
                parts, tokenizer, ids, train_idx, target, chosen, pooling, center, scale
            )
        optimizer = adamw(
            [
                (net.named_parameters(), learning_rate),
                (parts["head"].named_parameters(), head_learning_rate),
            ],
            weight_decay,
        )
        steps_per_epoch = math.ceil(len(train_idx) / batch_size)
        total_steps = epochs * steps_per_epoch
        schedule = linear_warmup_schedule(optimizer, round(warmup_ratio * total_steps), total_steps)
        stopper = EarlyStopping(patience)
        history: list[dict[str, Any]] = []
        doc_ngrams = (
            [list(dict.fromkeys(extract_ngrams(t, ngram_range))) for t in texts]
            if ngram_weight > 0
            else []
        )

        def loss_of(outputs: Any, rows: np.ndarray) -> Any:
            wanted = labels[torch.as_tensor(rows)]
            if chosen == "classification":
                return torch.nn.functional.cross_entropy(outputs, wanted)
            return torch.nn.functional.mse_loss(outputs[:, 0], wanted)

        for epoch in range(1, epochs + 1):
            parts.train()
            batches = [train_idx[b] for b in length_batches(lengths[train_idx], batch_size, rng)]
            total_loss = 0.0
            bar = progress_bar(len(batches), f"fine-tuning {epoch}/{epochs}", progress, "batch")
            with bar:
                for rows in batches:
                    outputs = _head_outputs(parts, tokenizer, [ids[i] for i in rows], pooling)
                    loss = loss_of(outputs, rows)
                    if ngram_weight > 0:
                        picked = [
                            _sample(doc_ngrams[i], ngrams_per_text, rng) for i in rows.tolist()
                        ]
                        phrase_outputs = _ngram_outputs(
                            parts, tokenizer, picked, pooling, max_length
                        )
                        loss = loss + ngram_weight * loss_of(phrase_outputs, rows)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(parts.parameters(), 1.0)
                    optimizer.step()
                    schedule.step()
                    optimizer.zero_grad(set_to_none=True)
                    total_loss += float(loss.detach()) * len(rows)
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            record: dict[str, Any] = {
                "epoch": epoch,
                "train_loss": round(total_loss / max(1, len(train_idx)), 6),
            }
            stop = False
            if len(val_idx):
                outputs = _predict_outputs(parts, tokenizer, ids, val_idx, pooling, batch_size)
                with torch.inference_mode():
                    val_loss = float(loss_of(outputs, val_idx))
                record["validation_loss"] = round(val_loss, 6)
                record.update(_validation_metric(outputs, labels[torch.as_tensor(val_idx)], chosen))
                stop = stopper.update(val_loss, parts)
            history.append(record)
            if stop:
                break
        best_epoch = len(history)
        if stopper.restore(parts):
            best_epoch = stopper.best_step
    info = {
        "format": "glasstext-finetune",
        "base_model": os.fspath(encoder),
        "base_identity": resolve_model(encoder).identity,
        "task": chosen,
        "classes": [python_scalar(c) for c in classes] if classes is not None else None,
        "target_mean": center,
        "target_std": scale,
        "n_train": len(train_idx),
        "n_validation": len(val_idx),
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "history": history,
        "validation": history[best_epoch - 1] if history else {},
        "frozen_parameters": n_frozen,
        "probe_train_score": round(probe, 6) if probe is not None else None,
        "seconds": round(time.perf_counter() - started, 2),
        "settings": settings,
    }
    return _save_folder(Path(output_dir), tokenizer, net, parts["head"], info)


def _head_outputs(
    parts: Any, tokenizer: Any, token_ids: list[list[int]], pooling: str, features: bool = False
) -> Any:
    """Head outputs of a batch (or, with ``features``, the pooled vectors)."""
    batch = pad_batch(tokenizer, token_ids)
    hidden = parts["encoder"](**batch).last_hidden_state
    pooled = pool_hidden(hidden, batch["attention_mask"], pooling)
    return pooled if features else parts["head"](parts["dropout"](pooled))


def _probe_head(
    parts: Any,
    tokenizer: Any,
    ids: list[list[int]],
    rows: np.ndarray,
    target: np.ndarray,
    task: str,
    pooling: str,
    center: float,
    scale: float,
) -> float:
    """Start the head at a linear probe of the frozen encoder (LP-FT); returns its fit score.

    Logistic regression (classification) or ridge regression (standardised
    targets) on the pooled vectors of the training texts, one forward pass
    without gradients. Fine-tuning from a fitted head instead of a random one
    learns from the first step, even with few steps, and distorts the
    pretrained features less (Kumar et al., ICLR 2022).
    """
    torch = import_torch()
    from sklearn.linear_model import LogisticRegression, Ridge

    from glasstext.backends.runtime import blas_threads

    features = _predict_outputs(parts, tokenizer, ids, rows, pooling, 64, features=True)
    X = features.numpy().astype(np.float64)
    head = parts["head"]
    with blas_threads(1):
        if task == "classification":
            _, encoded = np.unique(target, return_inverse=True)
            clf = LogisticRegression(C=1.0, max_iter=2000).fit(X, encoded[rows])
            coef, intercept = clf.coef_, clf.intercept_
            if coef.shape[0] == 1:  # binary: split the one decision over two logits
                coef = np.vstack([-coef / 2, coef / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            score = float(clf.score(X, encoded[rows]))
        else:
            wanted = (target[rows] - center) / scale
            reg = Ridge(alpha=1.0).fit(X, wanted)
            coef, intercept = reg.coef_[None, :], np.atleast_1d(reg.intercept_)
            score = float(reg.score(X, wanted))
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
    return score


def _sample(items: list[str], k: int, rng: np.random.Generator) -> list[str]:
    if len(items) <= k:
        return items
    return [items[i] for i in sorted(rng.choice(len(items), size=k, replace=False).tolist())]


def _ngram_outputs(
    parts: Any, tokenizer: Any, picked: list[list[str]], pooling: str, max_length: int
) -> Any:
    """Head outputs on the mean embedding of each text's n-grams, each embedded alone."""
    torch = import_torch()
    phrases = sorted({g for grams in picked for g in grams})
    column = {g: j for j, g in enumerate(phrases)}
    weights = torch.zeros(len(picked), max(1, len(phrases)))
    for row, grams in enumerate(picked):
        for g in grams:
            weights[row, column[g]] += 1.0 / len(grams)
    if not phrases:  # no words at all: a zero vector
        return parts["head"](torch.zeros(len(picked), parts["head"].in_features))
    batch = pad_batch(tokenizer, tokenize_texts(tokenizer, phrases, max_length))
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
            out[torch.as_tensor(batch)] = values
    parts.train(was_training)
    return out


def _validation_metric(outputs: Any, wanted: Any, task: str) -> dict[str, float]:
    if task == "classification":
        accuracy = float((outputs.argmax(1) == wanted).float().mean())
        return {"validation_accuracy": round(accuracy, 6)}
    residual = float(((outputs[:, 0] - wanted) ** 2).sum())
    total = float(((wanted - wanted.mean()) ** 2).sum()) or 1.0
    return {"validation_r2": round(1.0 - residual / total, 6)}


def _save_folder(target: Path, tokenizer: Any, net: Any, head: Any, info: dict[str, Any]) -> Path:
    """Write the folder in a temporary sibling and swap it into place."""
    from safetensors.numpy import save_file

    from glasstext.io import write_folder_atomically

    def write(tmp: Path) -> None:
        net.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        state = {k: v.detach().cpu().numpy() for k, v in head.state_dict().items()}
        save_file(state, str(tmp / HEAD_FILE))
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False), "utf-8")

    return write_folder_atomically(target, write)


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

    Attributes
    ----------
    info : dict
        What :func:`finetune_info` returns.
    classes_ : numpy.ndarray or None
        Class labels (classification).
    """

    def __init__(
        self, folder: str | os.PathLike[str], *, batch_size: int = 64, n_threads: int | None = None
    ) -> None:
        from safetensors.numpy import load_file

        self.folder = Path(folder)
        self.info = finetune_info(folder)
        self.batch_size = _check_positive_int("batch_size", batch_size)
        self.n_threads = n_threads
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
        tokenizer, net = load_trainable(self.folder)
        weight = torch.as_tensor(self._head_state["weight"])
        head = torch.nn.Linear(weight.shape[1], weight.shape[0])
        head.load_state_dict({k: torch.as_tensor(v) for k, v in self._head_state.items()})
        self._parts = torch.nn.ModuleDict(
            {"encoder": net, "dropout": torch.nn.Dropout(0.0), "head": head}
        ).eval()
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
        logits = self.decision_function(X)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

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
