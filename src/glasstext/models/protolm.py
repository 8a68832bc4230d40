"""Proto-LM: a transformer classifier whose every decision reads "this text is like these texts".

Proto-LM (Xie, Vosoughi & Hassanpour, "Proto-LM: A Prototypical Network-Based
Framework for Built-in Interpretability in Large Language Models", Findings of
EMNLP 2023) puts a prototype layer on top of a language model::

    tokens --encoder--> h_1..h_T --token attention--> z = Σ_t a_t h_t / ||·||
    d_j = ||z - p_j||²                     (one prototype p_j per row, unit length)
    s_j = log((d_j + 1) / (d_j + 1e-4))     (ProtoPNet's similarity: large when close)
    logits = W s                           (no bias: logits are exactly Σ_j W[:, j] s_j)

Training pulls each text toward the prototypes of its class and away from
the others. After training, every prototype is **projected** onto its nearest
training text of its class, so each one *is* a training sentence and an
explanation names real sentences with their share of each class logit.

What is fixed with respect to the public code (see ``docs/protolm.md``):

- prototypes are projected onto training texts (the public code never does,
  so its prototypes are vectors nobody can read), and ``explain`` retrieves
  the sentences;
- padding is masked in the token attention (the public code lets padding
  tokens take attention weight);
- the cluster and separation costs are applied to *distances*, with the signs
  of ProtoPNet (the public code applies them to similarities, which pushes a
  text away from its own class's prototypes), and the separation cost is
  bounded by a margin so it cannot run away;
- it runs on a CPU (no hard-coded CUDA), seeded and repeatable.
"""

from __future__ import annotations

import math
import os
import reprlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from glasstext.backends.devices import resolve_device, to_device, to_numpy
from glasstext.backends.encoder import Encoder
from glasstext.backends.registry import DEFAULT_ENCODER
from glasstext.backends.runtime import import_torch, torch_threads
from glasstext.backends.training import (
    adamw,
    freeze_lower_layers,
    length_batches,
    load_trainable,
    pad_batch,
    seeded,
    tokenize_texts,
    train_epochs,
    validation_split,
)
from glasstext.exceptions import InvalidParameterError, ModelFileError
from glasstext.io import python_scalar as _plain
from glasstext.models.base import GlassModel, register_model
from glasstext.models.saved_state import (
    check_array,
    check_class_list,
    check_number,
    check_records,
)
from glasstext.results import ResultMixin
from glasstext.text import tokenize_with_spans
from glasstext.validation import Constraint, Interval, check_documents, check_target

__all__ = [
    "ProtoExplanation",
    "ProtoLMClassifier",
    "PrototypeMatch",
]

#: The largest ``max_length`` accepted: more tokens than any encoder reads, and few
#: enough for the tokenizers' integers.
_MAX_TOKENS = 1 << 20
#: ProtoPNet's epsilon in the log similarity.
SIMILARITY_EPS = 1e-4
_ENCODER_FOLDER = "encoder"
#: weights of the loss terms: finite and not negative
_FINITE_NON_NEGATIVE = Interval(float, 0.0, math.inf, closed="left")


def similarity_from_distance(distance: np.ndarray) -> np.ndarray:
    """ProtoPNet's similarity ``log((d + 1) / (d + 1e-4))`` of squared distances."""
    d = np.asarray(distance, dtype=np.float64)
    return np.asarray(np.log((d + 1.0) / (d + SIMILARITY_EPS)))


# -- explanations ------------------------------------------------------------------


@dataclass
class PrototypeMatch(ResultMixin):
    """One prototype's part in a prediction.

    Attributes
    ----------
    prototype : int
        Row of the prototype (in ``prototypes_``).
    sentence : str
        The training text the prototype was projected onto.
    label : Any
        The prototype's class.
    train_index : int
        Position of ``sentence`` in the texts given to ``fit``.
    similarity : float
        ``log((d + 1) / (d + 1e-4))`` of the squared distance ``d``.
    distance : float
        Squared Euclidean distance between the unit-length embeddings.
    contributions : numpy.ndarray of shape (n_classes,)
        ``W[c, prototype] * similarity``: what this prototype adds to each class logit.
    """

    prototype: int
    sentence: str
    label: Any
    train_index: int
    similarity: float
    distance: float
    contributions: np.ndarray

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (``top`` is ignored: a match has no ranked list)."""
        return {
            "prototype": self.prototype,
            "sentence": self.sentence,
            "label": _plain(self.label),
            "train_index": self.train_index,
            "similarity": float(self.similarity),
            "distance": float(self.distance),
            "contributions": [float(v) for v in self.contributions],
        }

    def __str__(self) -> str:
        return (
            f"prototype #{self.prototype} [{_plain(self.label)}] similarity "
            f"{self.similarity:.3f}: {self.sentence[:70]!r}"
        )


@dataclass
class ProtoExplanation(ResultMixin):
    """A Proto-LM prediction: the training sentences it resembles and the words it read.

    ``logits == contributions.sum(axis=0)`` holds to float precision (the
    last layer has no bias): every class logit is the sum of the prototypes'
    contributions.

    Attributes
    ----------
    text : str
    prediction : Any
        The predicted class.
    classes : list
        Class labels, in logit order.
    logits : numpy.ndarray of shape (n_classes,)
    probabilities : numpy.ndarray of shape (n_classes,)
    prototypes : list of PrototypeMatch
        The ``k`` most similar prototypes, most similar first.
    similarities : numpy.ndarray of shape (n_prototypes,)
        Similarity to every prototype.
    contributions : numpy.ndarray of shape (n_prototypes, n_classes)
        Every prototype's contribution to every class logit.
    tokens : list of (str, float)
        The model's tokens (special tokens included) and their attention weights (sum 1).
    words : list of (str, float)
        The text's words and the attention on their tokens (special tokens' share left out).
    """

    text: str
    prediction: Any
    classes: list[Any]
    logits: np.ndarray
    probabilities: np.ndarray
    prototypes: list[PrototypeMatch]
    similarities: np.ndarray
    contributions: np.ndarray
    tokens: list[tuple[str, float]] = field(default_factory=list)
    words: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-ready dictionary (``top`` limits the words listed)."""
        words = sorted(self.words, key=lambda p: -p[1])[:top] if top else self.words
        return {
            "text": self.text,
            "prediction": _plain(self.prediction),
            "classes": [_plain(c) for c in self.classes],
            "logits": [float(v) for v in self.logits],
            "probabilities": [float(v) for v in self.probabilities],
            "prototypes": [p.to_dict() for p in self.prototypes],
            "words": [[w, float(a)] for w, a in words],
            "tokens": [[t, float(a)] for t, a in self.tokens],
        }

    def __str__(self) -> str:
        pred = self.classes.index(self.prediction) if self.prediction in self.classes else 0
        prob = float(self.probabilities[pred])
        lines = [f"prediction: {self.prediction!r} (p={prob:.3f})   text: {self.text[:80]!r}"]
        lines.append("  most similar training sentences (similarity, share of the logit):")
        for m in self.prototypes:
            share = float(m.contributions[pred])
            lines.append(
                f"    [{_plain(m.label)}] {m.similarity:6.3f} {share:+7.3f}  {m.sentence[:70]!r}"
            )
        others = float(self.contributions[:, pred].sum()) - sum(
            float(m.contributions[pred]) for m in self.prototypes
        )
        if len(self.prototypes) < len(self.similarities):
            lines.append(f"    ... other prototypes {others:+.3f}")
        logits = ", ".join(
            f"{_plain(c)}: {float(v):+.3f}" for c, v in zip(self.classes, self.logits, strict=True)
        )
        lines.append(f"  logits (sums of the contributions): {logits}")
        if self.words:
            top = sorted(self.words, key=lambda p: -p[1])[:8]
            lines.append("  attention: " + ", ".join(f"{w} {a:.2f}" for w, a in top))
        return "\n".join(lines)


# -- the network (plain torch modules in a ModuleDict) -----------------------------------


def _build_parts(net: Any, n_classes: int, n_per_class: int, attention_dim: int) -> Any:
    """encoder + token attention + prototypes + last layer, initialised ProtoPNet-style."""
    torch = import_torch()
    hidden = int(net.config.hidden_size)
    n_prototypes = n_classes * n_per_class
    attention = torch.nn.Sequential(
        torch.nn.Linear(hidden, attention_dim),
        torch.nn.Tanh(),
        torch.nn.Linear(attention_dim, 1, bias=False),
    )
    torch.nn.init.zeros_(attention[2].weight)  # uniform attention at first: mean pooling
    last_layer = torch.nn.Linear(n_prototypes, n_classes, bias=False)
    identity = torch.zeros(n_classes, n_prototypes)
    identity[torch.arange(n_prototypes) // n_per_class, torch.arange(n_prototypes)] = 1.0
    with torch.no_grad():
        last_layer.weight.copy_(identity - 0.5 * (1.0 - identity))  # +1 own class, -0.5 others
    prototypes = torch.nn.ParameterDict(
        {"vectors": torch.nn.Parameter(torch.randn(n_prototypes, hidden) * 0.01)}
    )
    return torch.nn.ModuleDict(
        {
            "encoder": net,
            "attention": attention,
            "prototypes": prototypes,
            "last_layer": last_layer,
        }
    )


def _hidden(parts: Any, batch: dict[str, Any]) -> Any:
    return parts["encoder"](**batch).last_hidden_state


def _pool(parts: Any, hidden: Any, mask: Any) -> tuple[Any, Any]:
    """Token attention with padding masked → unit-length text vectors, and the weights."""
    torch = import_torch()
    scores = parts["attention"](hidden).squeeze(-1)
    scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=1) * mask.to(scores.dtype)
    weights = weights / weights.sum(dim=1, keepdim=True)
    pooled = (weights.unsqueeze(-1) * hidden).sum(dim=1)
    return torch.nn.functional.normalize(pooled, dim=1), weights


def _prototype_vectors(parts: Any) -> Any:
    torch = import_torch()
    return torch.nn.functional.normalize(parts["prototypes"]["vectors"], dim=1)


def _distances(z: Any, prototypes: Any) -> Any:
    """Squared distances between unit vectors: ``2 - 2 cos``, in [0, 4]."""
    return (2.0 - 2.0 * z @ prototypes.T).clamp_min(0.0)


def _similarities(d: Any) -> Any:
    torch = import_torch()
    return torch.log((d + 1.0) / (d + SIMILARITY_EPS))


# -- the estimator ---------------------------------------------------------------------


@register_model
class ProtoLMClassifier(GlassModel, ClassifierMixin, BaseEstimator):
    """Proto-LM: a fine-tuned transformer that classifies by similarity to training sentences.

    Parameters
    ----------
    encoder : str, path-like or Encoder, default="all-MiniLM-L6-v2"
        The transformer to fine-tune: an offline alias, a hub id or a local
        folder (for example one written by
        :func:`~glasstext.backends.finetune.finetune_encoder`), or a
        :class:`glasstext.Encoder` of one, whose ``device`` (where the
        transformer trains and predicts; ``"auto"``: a GPU when torch sees
        one, else the CPU) and ``n_threads`` (torch threads) Proto-LM uses;
        it trains and predicts in float32 with its own batches and token
        attention, whatever the encoder's precision, batch size or pooling.
        Its settings nest: ``set_params(encoder__device="cpu")`` works on a
        name too. MiniLM: the encoder Proto-LM was measured with
        (docs/benchmarks/protolm.md). The device is a run-time setting: a
        saved folder keeps the encoder's name only.
    n_prototypes_per_class : int, default=5
        Prototypes of each class; after fitting each is a training text of
        its class (distinct texts: each class needs at least this many).
        Five is the setting the Proto-LM benchmark measured (docs/benchmarks/protolm.md).
    max_length : int, default=128
        Texts are truncated to this many tokens (at most 2**20). 128 keeps
        whole sentences; the benchmark's short review snippets ran with 64.
    batch_size : int, default=32
        Training batch size; the benchmark's setting.
    warmup_epochs : int, default=1
        Stage 1: the encoder is frozen; the token attention and the
        prototypes are trained.
    epochs : int, default=3
        Stage 2 (joint): encoder, attention and prototypes are trained
        together, with early stopping on the validation split. Three is the
        benchmark's setting.
    last_layer_epochs : int, default=20
        Stage 4, after the projection (stage 3): only the last layer is
        trained, on similarities computed once (cheap), with a learning rate
        ten times ``head_learning_rate``.
    learning_rate : float, default=5e-5
        Peak learning rate of the encoder in stage 2 (linear warm-up over
        the first 10% of its steps, then linear decay). A usual rate for
        fine-tuning a small BERT; the benchmark ran 1e-4, and no other rate
        has been compared.
    head_learning_rate : float, default=1e-3
        Learning rate of the attention and prototypes (stages 1-2); the
        last layer (stage 4) uses ten times this.
    weight_decay : float, default=0.01
    attention_dim : int, default=128
        Width of the token-attention layer ``v·tanh(W h_t + b)``.
    cluster_weight : float, default=0.8
        Weight of the cluster cost: mean over texts of the squared distance
        to the nearest prototype of the text's own class (pulls texts
        toward their class's prototypes). ProtoPNet's value.
    separation_weight : float, default=0.08
        Weight of the separation cost, *subtracted*: mean over texts of
        ``min(distance to the nearest other-class prototype, separation_margin)``
        (pushes texts away from other classes' prototypes). ProtoPNet's value.
    separation_margin : float, default=1.0
        The bound on the separation distance (squared distance between unit
        vectors, so in [0, 4]; 1.0 is a cosine of 0.5): once a text is that
        far from every other class's prototypes, separation stops pushing,
        so the term cannot run away. The diversity term uses the same margin.
    diversity_weight : float, default=0.0
        Optional: weight of the mean over same-class prototype pairs of
        ``max(0, separation_margin - distance)``, which keeps a class's
        prototypes apart (so they project onto different kinds of sentences).
        Off by default: it has not been measured to help.
    l1_weight : float, default=1e-4
        Stage 4: L1 penalty on the last layer's weights from each prototype
        to the classes other than its own (ProtoPNet's value), so each
        prototype mainly votes for its own class.
    validation_fraction : float, default=0.1
        Share of the texts held out (stratified, seeded) for early stopping
        on the validation cross-entropy in stages 2 and 4.
    patience : int, default=1
        Epochs without a lower validation loss before a stage stops.
    freeze_layers : int, default=0
        Keep the embeddings and this many lowest transformer layers frozen
        throughout.
    random_state : int or None, default=0
        Seeds prototype initialisation, dropout, the split and the batch
        order; the same seed gives the same model. ``None``: a fresh seed.
    progress : bool, optional
        Progress bars; by default only on a terminal, so logs stay clean.

    Attributes
    ----------
    classes_ : numpy.ndarray
    prototypes_ : list of dict
        One per prototype: ``{"prototype", "sentence", "class", "train_index"}``.
    prototype_vectors_ : numpy.ndarray of shape (n_prototypes, hidden_size)
        Unit-length; row ``j`` equals ``embed([prototypes_[j]["sentence"]])[0]``.
    prototype_classes_ : numpy.ndarray of shape (n_prototypes,)
        Class index of each prototype.
    last_layer_ : numpy.ndarray of shape (n_classes, n_prototypes)
        Logits are ``last_layer_ @ similarities``.
    history_ : list of dict
        Losses and validation figures per stage and epoch.
    fit_seconds_ : float

    Examples
    --------
    >>> model = ProtoLMClassifier(n_prototypes_per_class=5).fit(texts, labels)  # doctest: +SKIP
    >>> print(model.explain("a gorgeous, witty film"))  # doctest: +SKIP
    """

    _task = "classification"
    _fitted_attribute = "prototype_vectors_"
    _runtime_params: ClassVar[frozenset[str]] = frozenset({"progress"})
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        # a name, a folder or an Encoder of one: Proto-LM fine-tunes the transformer itself
        "encoder": ["path", Encoder],
        "n_prototypes_per_class": [Interval(int, 1)],
        "max_length": [Interval(int, 2, _MAX_TOKENS)],
        "batch_size": [Interval(int, 1)],
        "warmup_epochs": [Interval(int, 0)],
        "epochs": [Interval(int, 0)],
        "last_layer_epochs": [Interval(int, 0)],
        "learning_rate": [Interval(float, 0.0, closed="neither")],
        "head_learning_rate": [Interval(float, 0.0, closed="neither")],
        "weight_decay": [_FINITE_NON_NEGATIVE],
        "attention_dim": [Interval(int, 1)],
        "cluster_weight": [_FINITE_NON_NEGATIVE],
        "separation_weight": [_FINITE_NON_NEGATIVE],
        # a squared distance between unit vectors
        "separation_margin": [Interval(float, 0.0, 4.0, closed="right")],
        "diversity_weight": [_FINITE_NON_NEGATIVE],
        "l1_weight": [_FINITE_NON_NEGATIVE],
        "validation_fraction": [Interval(float, 0.0, 1.0, closed="left")],
        "patience": [Interval(int, 0)],
        "freeze_layers": [Interval(int, 0)],
        "random_state": [None, Interval(int)],
        "progress": [None, "boolean"],
    }
    cli_name = "protolm"
    cli_help = "Proto-LM: a transformer that classifies by similar training sentences"
    cli_options: ClassVar[dict[str, str]] = {
        "encoder": "alias, hub id or folder",
        "n_prototypes_per_class": "prototypes of each class (each becomes a training text)",
        "epochs": "joint training epochs (encoder, attention, prototypes)",
        "batch_size": "texts per training batch",
        "learning_rate": "encoder's peak rate",
        "max_length": "tokens kept per text",
        "freeze_layers": "lowest layers kept frozen",
        "validation_fraction": "share of the texts held out for early stopping",
        "patience": "epochs without improvement",
        "warmup_epochs": "encoder frozen",
        "last_layer_epochs": "after projection",
        "random_state": "seed of initialisation, dropout, split and batch order",
    }
    cli_encoder_options = ("device", "n_threads")

    def __init__(
        self,
        encoder: str | os.PathLike[str] = DEFAULT_ENCODER,
        n_prototypes_per_class: int = 5,
        *,
        max_length: int = 128,
        batch_size: int = 32,
        warmup_epochs: int = 1,
        epochs: int = 3,
        last_layer_epochs: int = 20,
        learning_rate: float = 5e-5,
        head_learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        attention_dim: int = 128,
        cluster_weight: float = 0.8,
        separation_weight: float = 0.08,
        separation_margin: float = 1.0,
        diversity_weight: float = 0.0,
        l1_weight: float = 1e-4,
        validation_fraction: float = 0.1,
        patience: int = 1,
        freeze_layers: int = 0,
        random_state: int | None = 0,
        progress: bool | None = None,
    ) -> None:
        self.encoder = encoder
        self.n_prototypes_per_class = n_prototypes_per_class
        self.max_length = max_length
        self.batch_size = batch_size
        self.warmup_epochs = warmup_epochs
        self.epochs = epochs
        self.last_layer_epochs = last_layer_epochs
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.attention_dim = attention_dim
        self.cluster_weight = cluster_weight
        self.separation_weight = separation_weight
        self.separation_margin = separation_margin
        self.diversity_weight = diversity_weight
        self.l1_weight = l1_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.freeze_layers = freeze_layers
        self.random_state = random_state
        self.progress = progress

    # -- checks ------------------------------------------------------------------------
    def _check_settings(self) -> None:
        """The declared constraints, then what they cannot say (an empty encoder name,
        encoder settings Proto-LM does not use)."""
        self._validate_params()
        if not self._encoder_name():
            raise InvalidParameterError("encoder must be a model name or a folder, got ''")
        unused = self.encoder.model_settings() if isinstance(self.encoder, Encoder) else {}
        if unused:
            raise InvalidParameterError(
                f"Proto-LM pools with its own token attention and truncates at max_length: "
                f"leave the encoder's {', '.join(unused)} at the default"
            )

    def _encoder_name(self) -> str:
        """The encoder's model name or folder."""
        model = self.encoder.model if isinstance(self.encoder, Encoder) else self.encoder
        return os.fspath(model)

    def _encoder_setting(self, name: str) -> Any:
        """One of the encoder's settings (its default for an encoder given by name)."""
        encoder = self.encoder if isinstance(self.encoder, Encoder) else Encoder()
        return encoder.get_params()[name]

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> ProtoLMClassifier:
        """Train in four stages: warm-up, joint training, projection, last layer.

        Parameters
        ----------
        X : sequence of str
            Training texts.
        y : array-like
            Class labels (at least two classes).

        Returns
        -------
        self

        Raises
        ------
        TypeError, ValueError
            Bad texts or labels (empty, not strings, NaN labels, a single
            class, different lengths), bad settings, or a class with fewer
            distinct texts than ``n_prototypes_per_class``.
        """
        self._check_settings()
        texts = check_documents(X)
        target = check_target(y, len(texts), "classification")
        classes, encoded = np.unique(target, return_inverse=True)
        k = int(self.n_prototypes_per_class)
        distinct = [
            len({texts[i] for i in np.flatnonzero(encoded == c)}) for c in range(len(classes))
        ]
        rare = [c for c in np.argsort(distinct, kind="stable") if distinct[c] < k]
        if rare:
            fewest = distinct[rare[0]]
            others = f" ({len(rare) - 1} other class(es) too)" if len(rare) > 1 else ""
            raise ValueError(
                f"class {_plain(classes[rare[0]])!r} has {fewest} distinct training text(s), "
                f"fewer than n_prototypes_per_class={k}{others}: every prototype becomes a "
                f"distinct training text of its class. Set n_prototypes_per_class to at most "
                f"{fewest}, or merge or drop the rarest classes"
            )
        seed = (
            int(self.random_state)
            if self.random_state is not None
            else int(np.random.SeedSequence().generate_state(1)[0])
        )
        started = time.perf_counter()
        torch = import_torch()
        where = resolve_device(self._encoder_setting("device"), "encoder__device")
        with torch_threads(self._encoder_setting("n_threads")), seeded(seed, where) as rng:
            tokenizer, net = load_trainable(self._encoder_name(), where)
            freeze_lower_layers(net, int(self.freeze_layers))
            # initialised on the CPU (the same numbers on every device), then moved
            parts = to_device(_build_parts(net, len(classes), k, int(self.attention_dim)), where)
            ids = tokenize_texts(tokenizer, texts, int(self.max_length))
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            train_idx, val_idx = validation_split(
                encoded, float(self.validation_fraction), seed, stratify=True
            )
            labels = to_device(torch.as_tensor(encoded, dtype=torch.long), where)
            run = _Run(self, parts, tokenizer, ids, lengths, labels, train_idx, val_idx, rng)
            run.initialise_prototypes(texts, encoded, k)
            run.warm_up()
            run.joint()
            embeddings = run.embed_rows(np.arange(len(texts)))
            records = run.project(texts, encoded, embeddings, classes)
            run.last_layer(embeddings)
        self._set_fitted(parts, tokenizer, classes, records, run.history)
        self._parts_device = where
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _set_fitted(
        self,
        parts: Any,
        tokenizer: Any,
        classes: np.ndarray,
        records: list[dict[str, Any]],
        history: list[dict[str, Any]],
    ) -> None:
        parts.eval()
        self._parts = parts
        self._tokenizer = tokenizer
        self.classes_ = classes
        self.prototypes_ = records
        k = int(self.n_prototypes_per_class)
        self.prototype_classes_ = np.repeat(np.arange(len(classes)), k)
        self.prototype_vectors_ = to_numpy(_prototype_vectors(parts)).copy()
        self.last_layer_ = to_numpy(parts["last_layer"].weight).copy()
        self.history_ = history

    # -- prediction ------------------------------------------------------------------
    def _on_device(self) -> str:
        """Move the network where the encoder's ``device`` says (once; a loaded model
        starts on the CPU)."""
        where = resolve_device(self._encoder_setting("device"), "encoder__device")
        if getattr(self, "_parts_device", "cpu") != where:
            self._parts = self._parts.to(where)
        self._parts_device = where
        return where

    def _forward_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unit-length embeddings and logits of ``texts``, in order."""
        check_is_fitted(self, "prototype_vectors_")
        torch = import_torch()
        where = self._on_device()
        parts, tokenizer = self._parts, self._tokenizer
        ids = tokenize_texts(tokenizer, list(texts), int(self.max_length))
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        z_out = np.empty((len(ids), self.prototype_vectors_.shape[1]), dtype=np.float32)
        logits_out = np.empty((len(ids), len(self.classes_)), dtype=np.float32)
        parts.eval()
        with torch_threads(self._encoder_setting("n_threads")), torch.inference_mode():
            protos = _prototype_vectors(parts)
            for rows in length_batches(lengths, max(64, int(self.batch_size))):
                batch = pad_batch(tokenizer, [ids[i] for i in rows], where)
                z, _ = _pool(parts, _hidden(parts, batch), batch["attention_mask"])
                logits = parts["last_layer"](_similarities(_distances(z, protos)))
                z_out[rows] = to_numpy(z)
                logits_out[rows] = to_numpy(logits)
        return z_out, logits_out

    def embed(self, X: Any) -> np.ndarray:
        """The unit-length, attention-pooled vectors the prototypes are compared with."""
        return self._forward_texts(check_documents(X))[0]

    def logits(self, X: Any) -> np.ndarray:
        """Class logits, shape ``(n_texts, n_classes)``: ``last_layer_ @ similarities``."""
        return self._forward_texts(check_documents(X))[1].astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Logit difference (binary: positive class minus the other), or the logits."""
        logits = self.logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (softmax of the logits), columns in ``classes_`` order."""
        return np.asarray(softmax(self.logits(X), axis=1))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each text."""
        winners = self.logits(X).argmax(axis=1)
        return np.asarray(self.classes_[winners])

    # -- reading the model -------------------------------------------------------------
    def explain(self, text: str, k: int = 5) -> ProtoExplanation:
        """The prototypes (training sentences) behind the prediction for ``text``.

        Parameters
        ----------
        text : str
        k : int, default=5
            Prototypes listed, most similar first (``contributions`` and
            ``similarities`` always cover all of them).

        Returns
        -------
        ProtoExplanation
            ``logits == contributions.sum(axis=0)``.
        """
        check_is_fitted(self, "prototype_vectors_")
        (text,) = check_documents([text], "text")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        z, weights, token_ids, offsets = self._attend(text)
        d = np.clip(2.0 - 2.0 * (self.prototype_vectors_.astype(np.float64) @ z), 0.0, None)
        sims = similarity_from_distance(d)
        contributions = (self.last_layer_.astype(np.float64) * sims[None, :]).T
        logits = contributions.sum(axis=0)
        probs = softmax(logits)
        pred = int(np.argmax(logits))
        order = np.argsort(-sims, kind="stable")[: min(k, len(sims))]
        matches = [
            PrototypeMatch(
                prototype=int(j),
                sentence=str(self.prototypes_[j]["sentence"]),
                label=self.classes_[self.prototype_classes_[j]],
                train_index=int(self.prototypes_[j]["train_index"]),
                similarity=float(sims[j]),
                distance=float(d[j]),
                contributions=contributions[j].copy(),
            )
            for j in order
        ]
        tokens = self._tokenizer.convert_ids_to_tokens(token_ids)
        return ProtoExplanation(
            text=text,
            prediction=_plain(self.classes_[pred]),
            classes=[_plain(c) for c in self.classes_],
            logits=logits,
            probabilities=probs,
            prototypes=matches,
            similarities=sims,
            contributions=contributions,
            tokens=[(str(t), float(w)) for t, w in zip(tokens, weights, strict=True)],
            words=self._word_weights(text, weights, offsets),
        )

    def _attend(self, text: str) -> tuple[np.ndarray, np.ndarray, list[int], list[Any] | None]:
        """One text's embedding, token attention, token ids and character offsets."""
        torch = import_torch()
        tokenizer = self._tokenizer
        kwargs: dict[str, Any] = {"truncation": True, "max_length": int(self.max_length)}
        offsets = None
        if getattr(tokenizer, "is_fast", False):
            enc = tokenizer(text, return_offsets_mapping=True, **kwargs)
            offsets = [tuple(o) for o in enc["offset_mapping"]]
        else:
            enc = tokenizer(text, **kwargs)
        token_ids = list(enc["input_ids"])
        where = self._on_device()
        self._parts.eval()
        with torch_threads(self._encoder_setting("n_threads")), torch.inference_mode():
            batch = pad_batch(tokenizer, [token_ids], where)
            z, weights = _pool(self._parts, _hidden(self._parts, batch), batch["attention_mask"])
        return (
            to_numpy(z[0]).astype(np.float64),
            to_numpy(weights[0]).astype(np.float64),
            token_ids,
            offsets,
        )

    def _word_weights(
        self, text: str, weights: np.ndarray, offsets: list[Any] | None
    ) -> list[tuple[str, float]]:
        """Attention summed over the tokens of each word (empty without offsets)."""
        if offsets is None:
            return []
        # the words of the project's one tokenizer, as explainers see them (original case)
        words = tokenize_with_spans(text, lowercase=False)
        if not words:
            raise ValueError(f"text has no words to explain: {text[:60]!r}")
        totals = np.zeros(len(words))
        starts = np.array([w.start for w in words])
        ends = np.array([w.end for w in words])
        for (s, e), w in zip(offsets, weights, strict=True):
            if e <= s:
                continue
            hit = np.flatnonzero((starts < e) & (ends > s))
            if hit.size:
                totals[hit] += w / hit.size
        return [(text[w.start : w.end], float(t)) for w, t in zip(words, totals, strict=True)]

    def export_text(self, max_chars: int = 90) -> str:
        """The prototypes as text: each class's training sentences and weights."""
        check_is_fitted(self, "prototype_vectors_")
        lines = [
            f"Proto-LM: {len(self.prototypes_)} prototypes, each a training sentence "
            f"(encoder {self._encoder_name()})"
        ]
        for c, label in enumerate(self.classes_):
            lines.append(f"class {_plain(label)!r}:")
            for j in np.flatnonzero(self.prototype_classes_ == c):
                rec = self.prototypes_[j]
                lines.append(
                    f"  #{j:<3} weight {float(self.last_layer_[c, j]):+.3f}  "
                    f"[train {rec['train_index']}] {rec['sentence'][:max_chars]!r}"
                )
        return "\n".join(lines)

    def fit_notes(self, X_test: Any = None) -> list[str]:
        """The validation accuracy of each warm-up and joint epoch, then the prototypes."""
        check_is_fitted(self, "prototype_vectors_")
        epochs = [
            f"  {record['stage']} {record['epoch']}: "
            f"validation accuracy {record['validation_accuracy']:.4f}"
            for record in self.history_
            if record["stage"] != "last-layer" and "validation_accuracy" in record
        ]
        return [*epochs, self.export_text()]

    # -- persistence: JSON, safetensors and the fine-tuned encoder (no pickle) -----------
    def _state_config(self) -> dict[str, Any]:
        return {
            "classes": [_plain(c) for c in self.classes_],
            "prototypes": self.prototypes_,
            "history": self.history_,
            "fit_seconds": self.fit_seconds_,
            "encoder_folder": _ENCODER_FOLDER,
        }

    def _state_arrays(self) -> dict[str, np.ndarray]:
        # the encoder is saved with save_pretrained in its own folder (_extra_files)
        return {
            key: to_numpy(value).copy()
            for key, value in self._parts.state_dict().items()
            if not key.startswith("encoder.")
        }

    def _extra_files(self) -> Callable[[Path], None]:
        """Writes the encoder and tokenizer into ``encoder/`` (safetensors and JSON),
        in the same atomic, checksummed write as the rest."""
        parts, tokenizer = self._parts, self._tokenizer

        def write_encoder(folder: Path) -> None:
            target = folder / _ENCODER_FOLDER
            parts["encoder"].save_pretrained(target)
            tokenizer.save_pretrained(target)

        return write_encoder

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:
        classes = check_class_list(config["classes"])
        records = check_records(config["prototypes"], "the prototypes", _PROTOTYPE_RECORD)
        if len(records) != len(classes) * int(self.n_prototypes_per_class):
            raise ModelFileError(f"{folder} is corrupt: prototype records and vectors differ")
        if any(record["train_index"] < 0 for record in records):
            raise ValueError("a prototype's train_index is negative")
        history = _checked_history(config.get("history", []))
        fit_seconds = check_number(config.get("fit_seconds", 0.0), "fit_seconds", low=0.0)
        tokenizer, net = _load_saved_encoder(_saved_encoder_dir(folder, config["encoder_folder"]))
        parts = _build_parts(
            net, len(classes), int(self.n_prototypes_per_class), int(self.attention_dim)
        )
        _load_head(parts, arrays)
        self._set_fitted(parts, tokenizer, classes, records, [])
        self._parts_device = "cpu"  # loaded on the CPU; moved on first use (_on_device)
        self.history_ = history
        self.fit_seconds_ = fit_seconds


#: What every saved prototype record holds (the explanation and report read them).
_PROTOTYPE_RECORD: dict[str, type | tuple[type, ...]] = {"sentence": str, "train_index": int}


def _checked_history(history: Any) -> list[dict[str, Any]]:
    """The saved training history: records of a stage, an epoch and numbers (NaN allowed:
    a diverged epoch's loss is a fact of the fit)."""
    check_records(history, "the training history", {"stage": str, "epoch": int})
    for record in history:
        for key, value in record.items():
            if key != "stage" and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"the training history's {key!r:.40} is a {type(value).__name__}")
    return history


def _load_head(parts: Any, arrays: dict[str, np.ndarray]) -> None:
    """Load the saved attention, prototypes and last layer into ``parts`` (the encoder is
    loaded from its folder), each array of the shape and type the network has."""
    torch = import_torch()
    expected = {
        name: tensor
        for name, tensor in parts.state_dict().items()
        if not name.startswith("encoder.")
    }
    if set(arrays) != set(expected):
        missing, unexpected = (
            sorted(set(expected) - set(arrays)),
            sorted(set(arrays) - set(expected)),
        )
        raise ValueError(f"arrays do not match: missing {missing[:3]}, unexpected {unexpected[:3]}")
    for name, tensor in expected.items():
        dtype = str(tensor.dtype).removeprefix("torch.")
        check_array(arrays, name, tuple(tensor.shape), np.dtype(dtype))
    state = {name: torch.as_tensor(value) for name, value in arrays.items()}
    parts.load_state_dict(state, strict=False)


# -- the saved encoder: a sub-folder of the model, safetensors weights only -------------

#: weight files transformers would unpickle: a saved model never loads them
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def _saved_encoder_dir(folder: Path, name: Any) -> Path:
    """The folder of a saved model's encoder, refused unless it is a plain sub-folder
    holding ``model.safetensors`` and no pickle weights.

    :func:`glasstext.io.load_model` has already checked that the model folder
    holds no link and that every file of its sub-folders is checksummed.
    """
    config_path = folder / "model.json"
    relative = Path(name) if isinstance(name, str) else None
    if relative is None or not relative.parts or relative.is_absolute() or ".." in relative.parts:
        raise ModelFileError(
            f"{config_path} names an encoder folder outside the model: {reprlib.repr(name)}"
        )
    encoder_dir = folder / relative
    if not encoder_dir.is_dir():
        raise ModelFileError(
            f"saved model at {folder} is incomplete: its encoder folder "
            f"{reprlib.repr(name)} is missing"
        )
    if not encoder_dir.resolve().is_relative_to(folder.resolve()):
        raise ModelFileError(f"{config_path} names an encoder folder outside the model: {name}")
    pickled = sorted(f.name for f in encoder_dir.rglob("*") if f.suffix.lower() in _PICKLE_SUFFIXES)
    if pickled:
        raise ModelFileError(
            f"{encoder_dir} holds pickle weights ({pickled[0]}): a saved model loads "
            "safetensors only"
        )
    if not (encoder_dir / "model.safetensors").is_file():
        raise ModelFileError(
            f"{encoder_dir} holds no model.safetensors: a saved model loads safetensors only"
        )
    return encoder_dir


def _load_saved_encoder(encoder_dir: Path) -> tuple[Any, Any]:
    """The tokenizer and float32 encoder saved in ``encoder_dir``, on the CPU.

    As :func:`~glasstext.backends.training.load_trainable`, but from this
    folder only (no hub) and from safetensors only (never a pickle).
    """
    import_torch()
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # The files are checksummed, but a forger can re-sign edited ones: whatever
    # transformers, tokenizers or safetensors raise on them is a corrupt folder.
    try:
        tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
        net, info = AutoModel.from_pretrained(
            encoder_dir,
            dtype=torch.float32,
            use_safetensors=True,
            local_files_only=True,
            output_loading_info=True,
        )
    except Exception as exc:  # three libraries' error types, none of them ours
        raise ModelFileError(
            f"{encoder_dir} does not hold a loadable encoder: {_first_line(exc)}"
        ) from exc
    _check_loaded_weights(encoder_dir, info)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer, net


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _check_loaded_weights(encoder_dir: Path, info: dict[str, Any]) -> None:
    """Refuse an encoder whose weights file lacks or misshapes tensors its config needs:
    transformers would fill them with random values and predict differently."""
    problems = [
        f"{len(info.get(key) or [])} {what}"
        for key, what in (("missing_keys", "missing"), ("mismatched_keys", "misshaped"))
        if info.get(key)
    ]
    if problems:
        raise ModelFileError(
            f"{encoder_dir} does not match its config: {' and '.join(problems)} weight tensors"
        )


# -- training stages -----------------------------------------------------------------


class _Run:
    """The state of one fit, stage by stage (kept out of the estimator's attributes)."""

    def __init__(
        self,
        model: ProtoLMClassifier,
        parts: Any,
        tokenizer: Any,
        ids: list[list[int]],
        lengths: np.ndarray,
        labels: Any,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        torch = import_torch()
        self.m = model
        self.parts = parts
        self.tokenizer = tokenizer
        self.ids = ids
        self.lengths = lengths
        self.labels = labels
        self.train_idx = train_idx
        self.val_idx = val_idx
        self.rng = rng
        self.history: list[dict[str, Any]] = []
        self.device = str(parts["last_layer"].weight.device)
        n_classes = parts["last_layer"].weight.shape[0]
        n_prototypes = parts["last_layer"].weight.shape[1]
        k = n_prototypes // n_classes
        identity = torch.zeros(n_prototypes, n_classes)
        identity[torch.arange(n_prototypes), torch.arange(n_prototypes) // k] = 1.0
        self.identity = to_device(identity, self.device)
        self.batch_size = int(model.batch_size)

    # embedding ------------------------------------------------------------------------
    def embed_rows(self, rows: np.ndarray) -> np.ndarray:
        """Unit-length embeddings of the given texts in eval mode (no gradient)."""
        torch = import_torch()
        parts = self.parts
        was_training = parts.training
        parts.eval()
        out = np.empty((len(rows), parts["prototypes"]["vectors"].shape[1]), dtype=np.float32)
        with torch.inference_mode():
            for batch_rows in length_batches(self.lengths[rows], max(64, self.batch_size)):
                batch = pad_batch(
                    self.tokenizer, [self.ids[rows[i]] for i in batch_rows], self.device
                )
                z, _ = _pool(parts, _hidden(parts, batch), batch["attention_mask"])
                out[batch_rows] = to_numpy(z)
        parts.train(was_training)
        return out

    def initialise_prototypes(self, texts: list[str], encoded: np.ndarray, k: int) -> None:
        """Start each prototype at the embedding of a random training text of its class."""
        torch = import_torch()
        chosen = []
        for c in range(self.identity.shape[1]):
            pool = self.train_idx[encoded[self.train_idx] == c]
            if len(pool) == 0:
                pool = np.flatnonzero(encoded == c)
            distinct = list({texts[i]: i for i in pool}.values())
            replace = len(distinct) < k
            chosen.extend(self.rng.choice(distinct, size=k, replace=replace).tolist())
        vectors = self.embed_rows(np.asarray(chosen, dtype=np.int64))
        with torch.no_grad():
            self.parts["prototypes"]["vectors"].copy_(torch.as_tensor(vectors))

    # losses ---------------------------------------------------------------------------
    def losses(self, z: Any, rows: np.ndarray) -> tuple[Any, dict[str, float]]:
        """Cross-entropy + cluster − bounded separation (+ diversity) of a batch."""
        torch = import_torch()
        m = self.m
        protos = _prototype_vectors(self.parts)
        d = _distances(z, protos)
        logits = self.parts["last_layer"](_similarities(d))
        y = self.labels[torch.as_tensor(rows)]
        ce = torch.nn.functional.cross_entropy(logits, y)
        own = self.identity[:, y].T.bool()  # (batch, n_prototypes)
        far = torch.full_like(d, 8.0)  # above any squared distance between unit vectors
        cluster = torch.where(own, d, far).min(dim=1).values.mean()
        nearest_other = torch.where(own, far, d).min(dim=1).values
        separation = nearest_other.clamp(max=float(m.separation_margin)).mean()
        total = ce + float(m.cluster_weight) * cluster - float(m.separation_weight) * separation
        parts = {
            "cross_entropy": float(ce.detach()),
            "cluster": float(cluster.detach()),
            "separation": float(separation.detach()),
        }
        if m.diversity_weight > 0:
            diversity = self.diversity(protos)
            total = total + float(m.diversity_weight) * diversity
            parts["diversity"] = float(diversity.detach())
        return total, parts

    def diversity(self, protos: Any) -> Any:
        """Mean over same-class prototype pairs of ``max(0, margin - distance)``."""
        torch = import_torch()
        n_classes = self.identity.shape[1]
        k = protos.shape[0] // n_classes
        if k < 2:
            return protos.sum() * 0.0
        grouped = protos.view(n_classes, k, -1)
        d = (2.0 - 2.0 * grouped @ grouped.transpose(1, 2)).clamp_min(0.0)
        upper = torch.triu(torch.ones(k, k, dtype=torch.bool, device=protos.device), diagonal=1)
        return torch.relu(float(self.m.separation_margin) - d[:, upper]).mean()

    def validation_loss(self) -> dict[str, float]:
        """Cross-entropy and accuracy on the validation texts."""
        torch = import_torch()
        z = to_device(torch.as_tensor(self.embed_rows(self.val_idx)), self.device)
        with torch.inference_mode():
            logits = self.parts["last_layer"](
                _similarities(_distances(z, _prototype_vectors(self.parts)))
            )
        return self._scores(logits)

    def _scores(self, logits: Any) -> dict[str, float]:
        """Validation cross-entropy and accuracy of the validation texts' logits."""
        torch = import_torch()
        y = self.labels[torch.as_tensor(self.val_idx)]
        ce = float(torch.nn.functional.cross_entropy(logits, y))
        acc = float((logits.argmax(1) == y).float().mean())
        return {"validation_loss": ce, "validation_accuracy": acc}

    # stages -----------------------------------------------------------------------------
    def _text_epochs(
        self, stage: str, n_epochs: int, optimizer: Any, train_encoder: bool, **loop: Any
    ) -> None:
        """Stages 1-2: epochs over the training texts with the prototype losses.

        ``loop`` passes the stage's warm-up and early stopping to
        :func:`~glasstext.backends.training.train_epochs`.
        """
        torch = import_torch()
        parts = self.parts

        def step(rows: np.ndarray) -> tuple[Any, dict[str, float]]:
            batch = pad_batch(self.tokenizer, [self.ids[i] for i in rows], self.device)
            with torch.set_grad_enabled(train_encoder):  # a frozen encoder keeps no graph
                hidden = _hidden(parts, batch)
            z, _ = _pool(parts, hidden, batch["attention_mask"])
            loss, terms = self.losses(z, rows)
            return loss, {**terms, "loss": float(loss.detach())}

        trained = train_epochs(
            step,
            module=parts,
            optimizer=optimizer,
            rows=self.train_idx,
            n_epochs=n_epochs,
            batch_size=self.batch_size,
            rng=self.rng,
            lengths=self.lengths[self.train_idx],
            validate=self.validation_loss if len(self.val_idx) else None,
            frozen=() if train_encoder else (parts["encoder"],),
            record={"stage": stage},
            description=f"Proto-LM {stage}",
            progress=self.m.progress,
            **loop,
        )
        self.history.extend(trained.history)

    def _head_parameters(self) -> list[tuple[str, Any]]:
        return [
            *(("attention." + n, p) for n, p in self.parts["attention"].named_parameters()),
            *(("prototypes." + n, p) for n, p in self.parts["prototypes"].named_parameters()),
        ]

    def warm_up(self) -> None:
        """Stage 1: the encoder frozen; attention and prototypes learn."""
        n_epochs = int(self.m.warmup_epochs)
        if n_epochs == 0:
            return
        self.parts["last_layer"].weight.requires_grad_(False)  # kept at its ProtoPNet start
        optimizer = adamw([(self._head_parameters(), float(self.m.head_learning_rate))], 0.0)
        self._text_epochs("warm-up", n_epochs, optimizer, train_encoder=False)
        self.parts["last_layer"].weight.requires_grad_(True)

    def joint(self) -> None:
        """Stage 2: encoder, attention and prototypes together, with early stopping."""
        n_epochs = int(self.m.epochs)
        if n_epochs == 0:
            return
        m = self.m
        self.parts["last_layer"].weight.requires_grad_(False)
        optimizer = adamw(
            [
                (self.parts["encoder"].named_parameters(), float(m.learning_rate)),
                (self._head_parameters(), float(m.head_learning_rate)),
            ],
            float(m.weight_decay),
        )
        self._text_epochs(
            "joint",
            n_epochs,
            optimizer,
            train_encoder=True,
            warmup_ratio=0.1,
            patience=int(m.patience),
        )
        self.parts["last_layer"].weight.requires_grad_(True)

    def project(
        self, texts: list[str], encoded: np.ndarray, embeddings: np.ndarray, classes: np.ndarray
    ) -> list[dict[str, Any]]:
        """Stage 3: move every prototype onto its nearest training text of its class.

        Prototypes of a class take distinct texts: the prototypes closest to
        a text choose first (greedy), so two prototypes never show the same
        sentence. Returns the records of ``prototypes_``.
        """
        torch = import_torch()
        protos = to_numpy(_prototype_vectors(self.parts)).astype(np.float64)
        k = protos.shape[0] // len(classes)
        new = np.empty_like(protos, dtype=np.float32)
        records: list[dict[str, Any]] = [{} for _ in range(protos.shape[0])]
        for c, label in enumerate(classes):
            first: dict[str, int] = {}  # each distinct text once, at its first position
            for position in np.flatnonzero(encoded == c):
                first.setdefault(texts[position], int(position))
            candidates = np.fromiter(first.values(), dtype=np.int64, count=len(first))
            z = embeddings[candidates].astype(np.float64)
            rows = np.arange(c * k, (c + 1) * k)
            d = np.clip(2.0 - 2.0 * protos[rows] @ z.T, 0.0, None)  # (k, n_candidates)
            taken: set[int] = set()
            for r in np.argsort(d.min(axis=1), kind="stable"):
                col = next(int(x) for x in np.argsort(d[r], kind="stable") if int(x) not in taken)
                taken.add(col)
                j, i = int(rows[r]), int(candidates[col])
                new[j] = embeddings[i]
                records[j] = {
                    "prototype": j,
                    "sentence": texts[i],
                    "class": _plain(label),
                    "train_index": i,
                    "distance_before_projection": round(float(d[r, col]), 6),
                }
        with torch.no_grad():
            self.parts["prototypes"]["vectors"].copy_(torch.as_tensor(new))
        return records

    def last_layer(self, embeddings: np.ndarray) -> None:
        """Stage 4: the last layer alone, on similarities computed once; L1 on wrong-class weights.

        The encoder, attention and prototypes are fixed now, so every text's
        similarities are computed once and the epochs cost almost nothing.
        """
        torch = import_torch()
        m = self.m
        n_epochs = int(m.last_layer_epochs)
        if n_epochs == 0:
            return
        with torch.no_grad():
            z = to_device(torch.as_tensor(embeddings), self.device)
            sims = _similarities(_distances(z, _prototype_vectors(self.parts)))
        layer = self.parts["last_layer"]
        wrong = (1.0 - self.identity).T  # (n_classes, n_prototypes)

        def step(rows: np.ndarray) -> tuple[Any, dict[str, float]]:
            index = torch.as_tensor(rows)
            ce = torch.nn.functional.cross_entropy(layer(sims[index]), self.labels[index])
            loss = ce + float(m.l1_weight) * (layer.weight * wrong).abs().sum()
            return loss, {"loss": float(loss.detach()), "cross_entropy": float(ce.detach())}

        def validate() -> dict[str, float]:
            with torch.no_grad():
                return self._scores(layer(sims[torch.as_tensor(self.val_idx)]))

        trained = train_epochs(
            step,
            module=layer,
            optimizer=torch.optim.Adam(layer.parameters(), lr=10.0 * float(m.head_learning_rate)),
            rows=self.train_idx,
            n_epochs=n_epochs,
            batch_size=self.batch_size,
            rng=self.rng,
            validate=validate if len(self.val_idx) else None,
            patience=int(m.patience),
            clip_norm=None,  # the original stage clips nothing
            record={"stage": "last-layer"},
            progress=False,  # epochs of a few milliseconds: no bars
        )
        self.history.extend(trained.history)
