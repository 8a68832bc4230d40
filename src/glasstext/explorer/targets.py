"""What the explorer explains: one adapter per kind of model, one JSON shape for all.

A :class:`Target` turns a text into an *analysis*: the prediction (class
probabilities or a value), one score per word of the text (what the page
shades), a short ranked list of the evidence behind the scores (n-grams, tree
questions, prototypes, or nothing more for a black box), and what it cost.

- :class:`AugLinearTarget`: the n-gram table, table-only (no encoder is
  loaded; n-grams absent from the table are backed off to their words).
- :class:`AugTreeTarget`: the decision path of every tree, table-only.
- :class:`ProtoLMTarget`: the model's own explanation (attention and prototypes).
- :class:`ScorerTarget`: any model seen as "texts in, probabilities out" (a
  zero-shot LM through :class:`~glasstext.explain.LMScorer`, any estimator),
  explained by a perturbation method, optionally through a cheaper proxy.

:func:`target_for_model` picks the adapter of a loaded glasstext model.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glasstext.backends.redaction import redact_spec
from glasstext.explain.perturb import Units, render
from glasstext.io import jsonable
from glasstext.report.shading import MAX_ALPHA, NEGATIVE, POSITIVE, blend, ink, shade_rgb
from glasstext.text import normalize_phrase, stem_words, tokenize_with_spans

__all__ = [
    "AugLinearTarget",
    "AugTreeTarget",
    "Evidence",
    "ProtoLMTarget",
    "ScorerTarget",
    "Target",
    "paint",
    "target_for_model",
]

#: evidence items listed per analysis
TOP_ITEMS = 12


@dataclass
class Evidence:
    """A target's explanation of one text, before it is shaded and made JSON.

    Attributes
    ----------
    scores : list of float
        One score per unit of :meth:`Target.units`, in text order.
    score_label : str
        What a score means, for the page ("change in the probability of 'pos'").
    items : list of dict
        The ranked evidence: ``{"label", "score", "note"}`` each.
    items_title : str
    base : dict or None
        ``{"label", "value", "note"}``: where the scores start from.
    signed : bool
        False when scores are shares (attention) rather than pushes for or against.
    notes : list of str
    """

    scores: list[float]
    score_label: str
    items: list[dict[str, Any]] = field(default_factory=list)
    items_title: str = "evidence"
    base: dict[str, Any] | None = None
    signed: bool = True
    notes: list[str] = field(default_factory=list)


class Target:
    """Something the explorer can predict and explain (subclasses fill in the parts).

    Attributes
    ----------
    name : str
        What the page calls the model (its folder, or the LM's name).
    kind : str
        The kind of model ("Aug-Linear", "zero-shot LM" ...).
    classes : list of str or None
        Class names in output order; ``None`` for a regressor.
    table_only : bool
        True when no neural network runs for a request.
    description : str
        One sentence on how this target is explained.
    """

    name: str = "model"
    kind: str = "model"
    classes: list[str] | None = None
    table_only: bool = False
    description: str = ""
    #: a sensible delay (ms) between the last keystroke and a request
    debounce_ms: int = 250

    # -- what subclasses provide -------------------------------------------------------
    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``, or values ``(n,)`` for a regressor."""
        raise NotImplementedError

    def evidence(self, text: str, class_index: int | None, output: np.ndarray) -> Evidence:
        """The scores of ``text``'s units for ``class_index`` (``output``: its prediction)."""
        raise NotImplementedError

    def units(self, text: str) -> Units:
        """The clickable pieces of ``text``: its words, as every explainer sees them."""
        spans = tuple((t.start, t.end) for t in tokenize_with_spans(text, lowercase=False))
        return Units(text, spans)

    def usage(self) -> dict[str, int]:
        """Model calls spent so far (empty for a table-only target)."""
        return {}

    # -- shared -------------------------------------------------------------------------
    @property
    def task(self) -> str:
        return "regression" if self.classes is None else "classification"

    def info(self) -> dict[str, Any]:
        """What the page shows before any text: the model, its classes, its mode."""
        return {
            "name": redact_spec(self.name),
            "kind": self.kind,
            "task": self.task,
            "classes": self.classes,
            "table_only": self.table_only,
            "description": self.description,
            "debounce_ms": self.debounce_ms,
            "colors": LEGEND,
        }

    def _explained(self, class_index: int | None, output: np.ndarray) -> int | None:
        """The class to explain: the one asked for, else the predicted one."""
        if self.classes is None:
            return None
        if class_index is None:
            return int(np.argmax(output))
        if not 0 <= class_index < len(self.classes):
            raise ValueError(
                f"class_index must be in [0, {len(self.classes)}) for this model, got {class_index}"
            )
        return class_index

    def outcome(self, output: np.ndarray) -> dict[str, Any]:
        """The prediction as JSON: ``{"prediction", "proba"}`` or ``{"prediction", "value"}``."""
        if self.classes is None:
            return {"prediction": float(output), "value": float(output), "proba": None}
        proba = [float(p) for p in output]
        return {"prediction": self.classes[int(np.argmax(output))], "proba": proba}

    def analyze(self, text: str, class_index: int | None = None) -> dict[str, Any]:
        """Predict and explain ``text``: the JSON the page draws."""
        start = time.perf_counter()
        before = self.usage()
        units = self.units(text)
        output = self.predict([text])[0]
        explained = self._explained(class_index, output)
        ev = self.evidence(text, explained, output)
        if len(ev.scores) != len(units):
            raise RuntimeError("an explanation must score every unit of the text")
        scale = max((abs(s) for s in ev.scores), default=0.0)
        scale = max(scale, max((abs(float(i["score"])) for i in ev.items), default=0.0))
        return {
            "text": text,
            "task": self.task,
            "classes": self.classes,
            **self.outcome(output),
            "explained": {
                "index": explained,
                "name": None
                if explained is None or self.classes is None
                else self.classes[explained],
            },
            "score_label": ev.score_label,
            "signed": ev.signed,
            "units": [
                {
                    "text": text[s:e],
                    "start": s,
                    "end": e,
                    "score": float(score),
                    **paint(float(score), scale),
                }
                for (s, e), score in zip(units.spans, ev.scores, strict=True)
            ],
            "items_title": ev.items_title,
            "items": [
                {**item, "score": float(item["score"]), **paint(float(item["score"]), scale)}
                for item in ev.items
            ],
            "base": ev.base,
            "notes": ev.notes,
            "cost": self._cost(before, start),
        }

    def what_if(
        self, text: str, remove: Sequence[int], class_index: int | None = None
    ) -> dict[str, Any]:
        """The prediction of ``text`` without the units at ``remove``, beside the original's."""
        start = time.perf_counter()
        before_usage = self.usage()
        units = self.units(text)
        bad = [i for i in remove if not 0 <= i < len(units)]
        if bad:
            raise ValueError(
                f"remove lists word {bad[0]}, but the text has {len(units)} words (0 to "
                f"{len(units) - 1})"
            )
        keep = np.ones(len(units), dtype=bool)
        keep[list(remove)] = False
        edited = render(units, keep)
        outputs = self.predict([text, edited]) if edited.strip() else self.predict([text])
        before = outputs[0]
        explained = self._explained(class_index, before)
        after_json: dict[str, Any] | None = None
        delta: list[float] | float | None = None
        if len(outputs) == 2:
            after = outputs[1]
            after_json = self.outcome(after)
            delta = (
                float(after - before)
                if self.classes is None
                else [float(v) for v in np.asarray(after) - np.asarray(before)]
            )
        return {
            "text": text,
            "edited_text": edited,
            "removed": [units.words[i] for i in sorted(set(remove))],
            "explained": {
                "index": explained,
                "name": None
                if explained is None or self.classes is None
                else self.classes[explained],
            },
            "before": self.outcome(before),
            "after": after_json,
            "delta": delta,
            "cost": self._cost(before_usage, start),
        }

    def _cost(self, before: dict[str, int], start: float) -> dict[str, Any]:
        now = self.usage()
        return {
            "seconds": round(time.perf_counter() - start, 4),
            "calls": {k: now[k] - before.get(k, 0) for k in now},
            "total_calls": now,
        }


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(float(c)):02x}" for c in rgb)


def paint(score: float, scale: float) -> dict[str, str]:
    """A word's opaque background and text colour (``"dark"``/``"light"``), as the
    reports shade it (:mod:`glasstext.report.shading`: contrast >= 4.5:1)."""
    return {"color": _hex(shade_rgb(score, scale)), "ink": ink(score, scale)}


#: the full-strength colours of the legend: toward and against the explained class
LEGEND = {"toward": _hex(blend(POSITIVE, MAX_ALPHA)), "against": _hex(blend(NEGATIVE, MAX_ALPHA))}


def _quiet_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with glasstext's notes on unseen n-grams silenced (the page says it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _label(value: Any) -> str:
    return str(jsonable(value))


# -- Aug-Linear --------------------------------------------------------------------------


class AugLinearTarget(Target):
    """An Aug-Linear model read from its table: no encoder, no torch.

    Every word's score is its share of the n-grams it is part of (an n-gram's
    value split evenly over its words); the listed evidence is the n-grams
    themselves. Units are log-odds (binary), class scores (multiclass) or the
    regression's units.
    """

    kind = "Aug-Linear"
    table_only = True

    def __init__(self, model: Any, name: str = "Aug-Linear model") -> None:
        self.model = model
        self.name = name
        self.notes: list[str] = []
        if getattr(model, "unseen", "backoff") == "embed":
            # Embedding an unseen n-gram would load the encoder on a keystroke.
            model.set_params(unseen="backoff")
            self.notes.append(
                "this model embeds unseen n-grams; the explorer backs them off to their "
                "words instead, so it never loads the encoder"
            )
        classes = getattr(model, "classes_", None)
        self.classes = None if classes is None else [_label(c) for c in classes]
        self.description = (
            "Each n-gram of the text adds its table value to the prediction; a word is "
            "shaded by its share of the n-grams it belongs to."
        )

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if self.classes is None:
            return np.asarray(_quiet_call(self.model.predict, list(texts)), dtype=np.float64)
        return np.asarray(_quiet_call(self.model.predict_proba, list(texts)), dtype=np.float64)

    def _pick(self, value: Any, class_index: int | None) -> float:
        """One class's part of an n-gram value (binary values are class 1's log-odds)."""
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if self.classes is None or class_index is None:
            return float(arr[0])
        if arr.size == 1:  # binary: the log-odds of the second class
            return float(arr[0]) if class_index == 1 else -float(arr[0])
        return float(arr[class_index])

    def _score_label(self, class_index: int | None) -> str:
        if self.classes is None:
            return "contribution to the predicted value"
        name = self.classes[class_index or 0]
        if len(self.classes) == 2:
            return f"contribution to the log-odds of '{name}'"
        return f"contribution to the score of '{name}' (its softmax input)"

    def evidence(self, text: str, class_index: int | None, output: np.ndarray) -> Evidence:
        e = _quiet_call(self.model.explain, text)
        per_occurrence = {
            g: self._pick(v, class_index) / max(e.counts.get(g, 1), 1) for g, v in e.contributions
        }
        words = [t.text for t in tokenize_with_spans(text)]
        scores = np.zeros(len(words))
        lo, hi = self.model.ngram_range
        for n in range(int(lo), int(hi) + 1):
            for i in range(len(words) - n + 1):
                value = per_occurrence.get(" ".join(words[i : i + n]))
                if value is not None:
                    scores[i : i + n] += value / n
        items = []
        ranked = sorted(e.contributions, key=lambda p: -abs(self._pick(p[1], class_index)))
        for g, v in ranked[:TOP_ITEMS]:
            source = e.sources.get(g, "table")
            note = (
                []
                if source == "table"
                else [
                    {
                        "backoff": "backed off to its words",
                        "unseen": "unknown: counts 0",
                        "embedded": "embedded",
                    }.get(source, source)
                ]
            )
            if e.counts.get(g, 1) > 1:
                note.append(f"× {e.counts[g]}")
            if e.phrase_parts and source == "table":
                own = self._pick(e.phrase_parts.get(g, 0.0), class_index)
                note.append(f"embedding {self._pick(v, class_index) - own:+.2f}, phrase {own:+.2f}")
            items.append({"label": g, "score": self._pick(v, class_index), "note": "; ".join(note)})
        unseen = sum(1 for s in e.sources.values() if s != "table")
        notes = list(self.notes)
        if unseen:
            notes.append(
                f"{unseen} of {len(e.sources)} n-grams are not in the table: valued from "
                "their words (backoff) or 0"
            )
        intercept = self._pick(e.intercept, class_index)
        what = {None: "predicted value", 2: "log-odds"}.get(
            None if self.classes is None else len(self.classes), "score"
        )
        return Evidence(
            scores=[float(s) for s in scores],
            score_label=self._score_label(class_index),
            items=items,
            items_title="n-grams of the text, strongest first",
            base={
                "label": "intercept",
                "value": intercept,
                "note": f"the {what} of a text with no n-grams; each n-gram adds its value",
            },
            notes=notes,
        )


# -- Aug-Tree ----------------------------------------------------------------------------


def _phrase_spans(text: str, phrase: str, pattern: str, stem: bool) -> list[tuple[int, int]]:
    """Character spans of every whole-word occurrence of ``phrase`` in ``text``,
    matched as the tree matches it (its word pattern, lower case, stems if ``stem``)."""
    found = list(re.finditer(pattern, text))
    words = [m.group().lower() for m in found]
    if stem:
        words = stem_words(words)
    key = normalize_phrase(phrase, stem, pattern).split()
    n = len(key)
    if not n:
        return []
    return [
        (found[i].start(), found[i + n - 1].end())
        for i in range(len(words) - n + 1)
        if words[i : i + n] == key
    ]


class AugTreeTarget(Target):
    """An Aug-Tree model read from its paths: table-only phrase matching.

    Each question on a text's path moves the explained class's probability
    from the node's value to its child's (averaged over the trees of an
    ensemble, so the moves add up to the prediction). A "yes" is caused by
    the phrases found, whose words share that move; a "no" has no word to
    point at and is listed only.
    """

    kind = "Aug-Tree"
    table_only = True

    def __init__(self, model: Any, name: str = "Aug-Tree model") -> None:
        self.model = model
        self.name = name
        classes = getattr(model, "classes_", None)
        self.classes = None if classes is None else [_label(c) for c in classes]
        n = len(model.trees_)
        self.description = (
            "Each question on the text's path moves the prediction; a word is shaded by the "
            "move of the questions whose phrases it matched"
            + (f" (summed over the {n} trees)." if n > 1 else ".")
        )

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if self.classes is None:
            return np.asarray(self.model.predict(list(texts)), dtype=np.float64)
        return np.asarray(self.model.predict_proba(list(texts)), dtype=np.float64)

    def evidence(self, text: str, class_index: int | None, output: np.ndarray) -> Evidence:
        column = 0 if class_index is None else class_index
        trees = self.model.trees_
        units = self.units(text).spans
        scores = np.zeros(len(units))
        items: list[dict[str, Any]] = []
        base = 0.0
        for t, tree in enumerate(trees):
            e = self.model.explain(text, tree_index=t)
            values = tree.value[:, column]
            base += float(values[0]) / len(trees)
            nodes = [s.node for s in e.steps] + [e.leaf]
            for step, child in zip(e.steps, nodes[1:], strict=True):
                move = float(values[child] - values[step.node]) / len(trees)
                shown = ", ".join(f'"{p}"' for p in step.phrases[:4])
                more = f" +{len(step.phrases) - 4} more" if len(step.phrases) > 4 else ""
                answer = (
                    "yes: " + ", ".join(f'"{p}"' for p in step.matched) if step.answer else "no"
                )
                prefix = f"tree {t + 1}: " if len(trees) > 1 else ""
                items.append(
                    {"label": f"{prefix}contains {shown}{more}?", "score": move, "note": answer}
                )
                if step.answer:
                    self._share(text, step.matched, move, units, scores)
        items.sort(key=lambda i: -abs(i["score"]))
        what = "value" if self.classes is None else f"probability of '{self.classes[column]}'"
        return Evidence(
            scores=[float(s) for s in scores],
            score_label=f"change in the {what} (questions answered yes)",
            items=items[:TOP_ITEMS],
            items_title="questions on the path, largest move first",
            base={
                "label": "root",
                "value": base,
                "note": f"the {what} before any question (smoothed training share); "
                "each answer moves it",
            },
        )

    def _share(
        self,
        text: str,
        phrases: list[str],
        move: float,
        units: tuple[tuple[int, int], ...],
        scores: np.ndarray,
    ) -> None:
        """Split one "yes" move over the words of every occurrence of the phrases found."""
        hits: list[int] = []
        for phrase in phrases:
            for s, e in _phrase_spans(text, phrase, self.model.token_pattern, self.model.stem):
                hits += [i for i, (us, ue) in enumerate(units) if us < e and ue > s]
        for i in hits:
            scores[i] += move / len(hits)


# -- Proto-LM ----------------------------------------------------------------------------


class ProtoLMTarget(Target):
    """A Proto-LM model through its own explanation: attention and similar sentences.

    Needs torch and the model's encoder (saved in its folder). Word scores are
    the attention the model paid to each word (shares, not pushes); the
    evidence lists the prototypes (training sentences) by their contribution
    to the explained class's logit.
    """

    kind = "Proto-LM"
    table_only = False
    debounce_ms = 400

    def __init__(self, model: Any, name: str = "Proto-LM model") -> None:
        self.model = model
        self.name = name
        self.classes = [_label(c) for c in model.classes_]
        self.description = (
            "The prediction is a sum over prototypes (real training sentences) weighted by "
            "similarity; a word is shaded by the attention the model paid to it."
        )

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(list(texts)), dtype=np.float64)

    def evidence(self, text: str, class_index: int | None, output: np.ndarray) -> Evidence:
        column = 0 if class_index is None else class_index
        e = self.model.explain(text, k=TOP_ITEMS)
        units = self.units(text)
        attention = [float(a) for _, a in e.words]
        if len(attention) != len(units):  # a model without character offsets
            attention = [0.0] * len(units)
        items = [
            {
                "label": f"[{_label(m.label)}] {m.sentence}",
                "score": float(m.contributions[column]),
                "note": f"similarity {m.similarity:.2f}",
            }
            for m in e.prototypes
        ]
        return Evidence(
            scores=attention,
            score_label="share of the model's attention",
            items=items,
            items_title=f"most similar prototypes: contribution to the logit of "
            f"'{e.classes[column]}'",
            base={
                "label": "no bias",
                "value": 0.0,
                "note": "each class logit is the sum of the prototypes' contributions",
            },
            signed=False,
        )


# -- any model through a scorer (zero-shot LMs) -------------------------------------------


class ScorerTarget(Target):
    """Any "texts in, class probabilities out" model, explained by perturbation.

    Parameters
    ----------
    scorer : Scorer or estimator or callable
        The model (see :func:`glasstext.explain.scorers.as_scorer`), e.g. an
        :class:`~glasstext.explain.LMScorer`.
    method : str, default="occlusion"
        An explainer of :mod:`glasstext.explain.methods` (occlusion is the
        cheapest: one call per word).
    proxy : Scorer or None
        A cheaper model with the same classes: screened against the target on
        each text and used when they agree (:class:`~glasstext.explain.ProxyExplainer`).
    n_samples : int, default=64
        Perturbed texts per explanation (LIME, KernelSHAP).
    name, kind : str
        What the page calls the model.
    **options
        Passed to the explainer (``seed``, ``mask_token``, ``threshold`` ...).
    """

    debounce_ms = 900

    def __init__(
        self,
        scorer: Any,
        method: str = "occlusion",
        *,
        proxy: Any = None,
        n_samples: int = 64,
        name: str = "model",
        kind: str = "black box",
        **options: Any,
    ) -> None:
        from glasstext.explain import ProxyExplainer
        from glasstext.explain.methods import get_explainer
        from glasstext.explain.scorers import as_scorer

        self.scorer = as_scorer(scorer)
        self.proxy = None if proxy is None else as_scorer(proxy)
        self.method = method
        self.name = redact_spec(name)  # an LM spec may hold credentials
        self.kind = kind
        cls = get_explainer(method)
        if self.proxy is not None:
            self.explainer: Any = ProxyExplainer(
                self.scorer, self.proxy, method, n_samples=n_samples, **options
            )
            self._units = self.explainer.explainer
        else:
            if method != "occlusion":
                options["n_samples"] = n_samples
            for key in ("threshold", "fallback"):
                options.pop(key, None)
            self.explainer = cls(self.scorer, **options)
            self._units = self.explainer
        names = self.scorer.classes
        self.classes = None if names is None else [str(c) for c in names]
        via = f" through the proxy {self.proxy!r}" if self.proxy is not None else ""
        self.description = (
            f"Explained by {method}{via}: each word's score is how the probability "
            "changes when the word is removed (estimated from model calls)."
        )

    def units(self, text: str) -> Units:
        # The explainer's units: long texts are grouped into segments.
        return Units(*self._spans(text))

    def _spans(self, text: str) -> tuple[str, tuple[tuple[int, int], ...], bool]:
        u = self._units.units(text)
        return u.text, u.spans, u.grouped

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        out = np.asarray(self.scorer(list(texts)), dtype=np.float64)
        if self.classes is None:
            self.classes = [str(i) for i in range(out.shape[1])]
        return out

    def usage(self) -> dict[str, int]:
        calls = {"model_calls": int(self.scorer.n_calls)}
        if self.proxy is not None:
            calls["proxy_calls"] = int(self.proxy.n_calls)
        return calls

    def evidence(self, text: str, class_index: int | None, output: np.ndarray) -> Evidence:
        a = self.explainer.explain(text, target_class=class_index)
        name = self.classes[a.explained_class] if self.classes else str(a.explained_class)
        base_note = (
            "the intercept of the local linear fit"
            if a.method == "lime"
            else "the probability with every word removed"
        )
        notes = []
        if a.proxy is not None:
            p = a.proxy
            notes.append(
                f"proxy {p.decision}: agreement {p.agreement:.2f} (needs {p.threshold}); "
                f"{p.target_calls} model calls, {p.proxy_calls} proxy calls"
            )
        if a.grouped:
            notes.append(f"a long text: explained in {len(a)} segments of words")
        return Evidence(
            scores=[float(s) for s in a.scores],
            score_label=f"change in the probability of '{name}' ({a.method})",
            items=[{"label": w, "score": s, "note": ""} for w, s in a.top(TOP_ITEMS) if s != 0],
            items_title="strongest words",
            base={"label": "base value", "value": float(a.base_value), "note": base_note},
            notes=notes,
        )


def target_for_model(model: Any, name: str = "model", **scorer_options: Any) -> Target:
    """The explorer adapter of a loaded glasstext model.

    Aug-Linear, Aug-Tree and Proto-LM get their own (table-only for the first
    two); any other model with ``predict_proba`` is explained by perturbation
    (:class:`ScorerTarget`, ``scorer_options`` passed on).
    """
    from glasstext.models.auglinear import AugLinearClassifier, AugLinearRegressor
    from glasstext.models.augtree import AugTreeClassifier, AugTreeRegressor
    from glasstext.models.protolm import ProtoLMClassifier

    kind = type(model).__name__
    if isinstance(model, (AugLinearClassifier, AugLinearRegressor)):
        return AugLinearTarget(model, name)
    if isinstance(model, (AugTreeClassifier, AugTreeRegressor)):
        return AugTreeTarget(model, name)
    if isinstance(model, ProtoLMClassifier):
        return ProtoLMTarget(model, name)
    if not hasattr(model, "predict_proba"):
        raise TypeError(f"the explorer needs class probabilities; a {kind} has no predict_proba")
    return ScorerTarget(model, name=name, kind=kind, **scorer_options)
