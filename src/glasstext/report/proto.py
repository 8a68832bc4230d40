"""Proto-LM, drawn: every prototype is a real training sentence; a prediction is "like these".

Each prototype card shows its sentence, class and last-layer weight, and the
training and example sentences nearest to it in the model's embedding (when
those texts are given). An example prediction is shown as the prototypes it
resembles most, with what each adds to the predicted class, and its words
shaded by the model's attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from glasstext._deprecation import renamed_module_attributes
from glasstext.markup import escape
from glasstext.report.page import Views, kv_table, section
from glasstext.report.shading import shade_text
from glasstext.report.svg import class_colour
from glasstext.text import tokenize_with_spans

if TYPE_CHECKING:
    from glasstext.models.protolm import ProtoExplanation

__all__ = [
    "PROTOLM_VIEWS",
    "PROTO_EXPLANATION_VIEWS",
    "draw_proto_explanation",
    "draw_protolm",
    "proto_explanation_block",
    "protolm_fragment",
    "protolm_html",
]

# The deprecated name of the block: "fragment" names the notebook view.
__getattr__ = renamed_module_attributes(
    __name__, proto_explanation_fragment="proto_explanation_block"
)


def _nearest(model: Any, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
    """Per prototype, the ``k`` texts nearest to it (squared distance of unit vectors)."""
    if not texts:
        return [[] for _ in model.prototypes_]
    z = model.embed(texts).astype(np.float64)
    d = np.clip(2.0 - 2.0 * model.prototype_vectors_.astype(np.float64) @ z.T, 0.0, None)
    out = []
    for j, row in enumerate(d):
        own = model.prototypes_[j]["sentence"]
        order = [int(i) for i in np.argsort(row, kind="stable") if texts[int(i)] != own]
        seen: list[tuple[str, float]] = []
        for i in order:
            if texts[i] not in (t for t, _ in seen):
                seen.append((texts[i], float(row[i])))
            if len(seen) == k:
                break
        out.append(seen)
    return out


def _sentences(items: list[tuple[str, float]], label: str) -> str:
    if not items:
        return ""
    rows = "".join(
        f"<li><span class='quote'>{escape(t[:160])}</span> <span class='tag'>d {d:.3f}</span></li>"
        for t, d in items
    )
    return f"<p class='note'>{escape(label)}</p><ul class='plain'>{rows}</ul>"


def _attention_text(e: ProtoExplanation) -> str:
    """The text with each word shaded by the attention on it (blue: read more)."""
    if not e.words:
        return f'<div class="text">{escape(e.text)}</div>'
    tokens = tokenize_with_spans(e.text, lowercase=False)
    spans = [(t.start, t.end) for t in tokens]
    weights = [w for _, w in e.words][: len(spans)]
    titles = [f"attention {w:.3f}" for w in weights]
    shaded = shade_text(e.text, spans[: len(weights)], weights, titles=titles)
    return f'<div class="text">{shaded}</div>'


def proto_explanation_block(e: ProtoExplanation, heading: str | None = None) -> str:
    """A Proto-LM prediction as "like these training sentences"."""
    pred = e.classes.index(e.prediction) if e.prediction in e.classes else 0
    probs = ", ".join(
        f"{escape(str(c))}: {float(p):.3f}" for c, p in zip(e.classes, e.probabilities, strict=True)
    )
    rows = []
    for m in e.prototypes:
        label = str(m.label)
        colour = class_colour(e.classes.index(m.label) if m.label in e.classes else 0)
        rows.append(
            f"<tr><td><span class='tag' style='border-left:10px solid {colour}'>"
            f"{escape(label)}</span></td><td class='num'>{m.similarity:.3f}</td>"
            f"<td class='num'>{float(m.contributions[pred]):+.3f}</td>"
            f"<td class='quote'>{escape(m.sentence[:200])}</td></tr>"
        )
    title = f"<h3>{escape(heading)}</h3>" if heading else ""
    return (
        f'<div class="proto-explanation">{title}{_attention_text(e)}'
        f"<p>prediction <strong>{escape(str(e.prediction))}</strong> ({probs}): "
        f"the text reads like these training sentences.</p>"
        "<table class='protos'><tr><th>class</th><th class='num'>similarity</th>"
        f"<th class='num'>adds to {escape(str(e.prediction))}</th><th>training sentence</th></tr>"
        f"{''.join(rows)}</table>"
        "<p class='note'>Similarity is log((d+1)/(d+0.0001)) of the squared distance d "
        "between the text's and the prototype's embeddings; a prototype adds its similarity "
        "times its last-layer weight to each class's logit. Words are shaded by the model's "
        "attention (darker: read more).</p></div>\n"
    )


def draw_protolm(
    model: Any,
    X_examples: Sequence[str] | None = None,
    *,
    title: str | None = None,
    X_train: Sequence[str] | None = None,
    k: int = 3,
    **_: Any,
) -> tuple[str, str]:
    """The heading and body of a fitted Proto-LM classifier's report.

    Parameters
    ----------
    model : ProtoLMClassifier
    X_examples : sequence of str, optional
        Texts shown nearest to each prototype; the first is explained.
    title : str, optional
    X_train : sequence of str, optional
        The training texts, for each prototype's nearest training sentences.
    k : int, default=3
        Neighbours listed per prototype.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "prototype_vectors_")
    examples = list(X_examples) if X_examples is not None else []
    train = list(X_train) if X_train is not None else []
    near_train = _nearest(model, train, k)
    near_test = _nearest(model, examples, k)
    classes = list(model.classes_)
    heading = title or f"ProtoLMClassifier: {len(model.prototypes_)} prototypes"
    facts = [
        ("model", "ProtoLMClassifier"),
        ("classes", ", ".join(str(c) for c in classes)),
        ("encoder", str(model.encoder)),
        ("prototypes", f"{model.n_prototypes_per_class} per class"),
    ]
    lead = (
        "Each prototype is a real training sentence. A text's class logits are the "
        "similarities of its embedding to every prototype, weighted by the last layer: the "
        "model predicts a class because the text reads like that class's prototypes."
    )
    groups = []
    for c, label in enumerate(classes):
        cards = []
        for j in np.flatnonzero(model.prototype_classes_ == c):
            rec = model.prototypes_[int(j)]
            weights = ", ".join(
                f"{escape(str(cl))} {float(model.last_layer_[ci, j]):+.3f}"
                for ci, cl in enumerate(classes)
            )
            cards.append(
                f'<div class="card prototype" data-prototype="{int(j)}" '
                f'style="border-left:6px solid {class_colour(c)}">'
                f"<p><span class='tag'>#{int(j)}</span><span class='tag'>{escape(str(label))}"
                f"</span><span class='tag'>weight {float(model.last_layer_[c, j]):+.3f}</span>"
                f"<span class='tag'>training text {int(rec['train_index'])}</span></p>"
                f"<p class='quote'>“{escape(str(rec['sentence']))}”</p>"
                f"<p class='note'>last-layer weights: {weights}</p>"
                f"{_sentences(near_train[int(j)], 'nearest training sentences')}"
                f"{_sentences(near_test[int(j)], 'nearest example sentences')}</div>"
            )
        groups.append(
            f"<h3>class {escape(str(label))}</h3><div class='cards'>{''.join(cards)}</div>"
        )
    parts = [
        f"<p class='lead'>{escape(lead)}</p>\n{kv_table(facts)}",
        section(
            "Prototypes",
            "".join(groups),
            note="d is the squared distance between unit-length embeddings (0: same "
            "direction, 4: opposite)."
            + ("" if train else " Give the training texts to see each prototype's neighbours."),
        ),
    ]
    if examples:
        e = model.explain(examples[0], k=min(5, len(model.prototypes_)))
        parts.append(section("An example prediction", proto_explanation_block(e)))
    return heading, "".join(parts)


def draw_proto_explanation(
    e: ProtoExplanation, title: str | None = None, **_: Any
) -> tuple[str, str]:
    """The heading and body of a :class:`ProtoExplanation`'s views."""
    return title or "Proto-LM explanation", proto_explanation_block(e)


#: A fitted Proto-LM classifier's report page (``model.to_html``) and notebook fragment.
PROTOLM_VIEWS = Views(draw_protolm, "report")
#: A Proto-LM explanation's page and notebook fragment.
PROTO_EXPLANATION_VIEWS = Views(draw_proto_explanation, "result", copyable=True)
#: A standalone report page of a fitted Proto-LM classifier (see :func:`draw_protolm`).
protolm_html = PROTOLM_VIEWS.page
protolm_fragment = PROTOLM_VIEWS.fragment
