"""Aug-Linear, drawn: the strongest n-grams, the table's values, its coverage, shaded examples.

An Aug-Linear prediction is a sum (intercept plus one table value per n-gram
of the text), so the report shows the table from four sides: the n-grams
that push hardest toward each class (diverging bars), how the table's values
are spread (histogram), how many of the example texts' n-grams the table
knows, and a few texts with every word shaded by the n-grams it belongs to.
For a hybrid model each example is shown twice more: the embedding part and
the phrase part of each contribution, on one scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from glasstext._deprecation import renamed_module_attributes
from glasstext.markup import escape
from glasstext.report.page import Views, kv_table, section
from glasstext.report.shading import shade, shade_text
from glasstext.report.svg import diverging_bars, histogram
from glasstext.text import extract_ngrams, tokenize_with_spans

if TYPE_CHECKING:
    from glasstext.models.auglinear import LinearExplanation

__all__ = [
    "AUGLINEAR_VIEWS",
    "LINEAR_EXPLANATION_VIEWS",
    "auglinear_fragment",
    "auglinear_html",
    "draw_auglinear",
    "draw_linear_explanation",
    "linear_explanation_block",
    "linear_word_scores",
]

# The deprecated name of the block: "fragment" names the notebook view.
__getattr__ = renamed_module_attributes(
    __name__, linear_explanation_fragment="linear_explanation_block"
)

_PARTS = ("total", "embedding", "phrase")


def _class_index(e: LinearExplanation) -> int | None:
    """The column shown for a multiclass explanation: the predicted class."""
    if e.classes is not None and np.ndim(e.decision) == 1:
        return int(np.argmax(e.decision))
    return None


def _pick(value: Any, index: int | None) -> float:
    return float(value if np.ndim(value) == 0 else np.asarray(value)[index or 0])


def linear_word_scores(
    e: LinearExplanation, part: str = "total", class_index: int | None = None
) -> tuple[list[tuple[int, int]], np.ndarray, list[str]]:
    """Each word's share of the n-gram contributions of an Aug-Linear explanation.

    An n-gram's value (per occurrence) is split evenly over its words, so a
    text's word scores add up to its decision minus the intercept.

    Parameters
    ----------
    e : LinearExplanation
    part : {"total", "embedding", "phrase"}
        The whole contribution, or (hybrid models) one of its two parts.
    class_index : int, optional
        The class column of a multiclass explanation (default: the predicted class).

    Returns
    -------
    spans, scores, titles
        The words' character spans, their scores and a tooltip listing the
        n-grams behind each score.
    """
    if part not in _PARTS:
        raise ValueError(f"part must be one of {_PARTS}, got {part!r}")
    index = _class_index(e) if class_index is None else class_index
    totals = {g: _pick(v, index) for g, v in e.contributions}
    if part == "total":
        values = totals
    else:
        phrase = {g: _pick(e.phrase_parts.get(g, 0.0), index) for g in totals}
        values = phrase if part == "phrase" else {g: totals[g] - phrase[g] for g in totals}
    tokens = tokenize_with_spans(e.text)
    longest = max((g.count(" ") + 1 for g in values), default=1)
    scores = np.zeros(len(tokens))
    notes: list[list[str]] = [[] for _ in tokens]
    for n in range(1, longest + 1):
        for start in range(len(tokens) - n + 1):
            g = " ".join(t.text for t in tokens[start : start + n])
            if g not in values:
                continue
            each = values[g] / max(e.counts.get(g, 1), 1)
            for w in range(start, start + n):
                scores[w] += each / n
                notes[w].append(f"{g} {each:+.3f}" + (f" (÷{n})" if n > 1 else ""))
    spans = [(t.start, t.end) for t in tokens]
    titles = [f"{s:+.4f}: " + ", ".join(ns) for s, ns in zip(scores, notes, strict=True)]
    return spans, scores, titles


def _probabilities(model: Any, text: str) -> list[tuple[str, float]]:
    if not hasattr(model, "predict_proba"):
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = model.predict_proba([text])[0]
    return [(str(c), float(p)) for c, p in zip(model.classes_, proba, strict=True)]


def linear_explanation_block(
    e: LinearExplanation,
    *,
    probabilities: Sequence[tuple[str, float]] = (),
    scale: float | None = None,
    top: int = 8,
    heading: str | None = None,
) -> str:
    """An Aug-Linear explanation: the prediction, the shaded text (and its parts) and a table."""
    index = _class_index(e)
    toward = e.classes[index] if index is not None and e.classes else e.prediction
    parts = ["total", "embedding", "phrase"] if e.phrase_parts else ["total"]
    rows = []
    scored = {p: linear_word_scores(e, p, index) for p in parts}
    if scale is None:
        scale = max((float(np.abs(s).max()) for _, s, _ in scored.values() if len(s)), default=0.0)
    labels = {
        "total": "whole contribution",
        "embedding": "embedding part",
        "phrase": "phrase part",
    }
    for p in parts:
        spans, scores, titles = scored[p]
        rows.append(
            f'<div class="part part-{p}"><span class="tag">{labels[p]}</span>'
            f'<div class="text">{shade_text(e.text, spans, scores, scale=scale, titles=titles)}'
            "</div></div>"
        )
    pred = f"prediction <strong>{escape(str(e.prediction))}</strong>"
    if probabilities:
        pred += " (" + ", ".join(f"{escape(c)}: {p:.3f}" for c, p in probabilities) + ")"
    direction = (
        f"toward {escape(str(toward))}"
        if e.classes is not None and len(e.classes) > 2
        else "higher output"
        if e.classes is None
        else f"toward {escape(str(e.classes[1]))}"
    )
    away = (
        "lower output"
        if e.classes is None
        else f"toward {escape(str(e.classes[0]))}"
        if len(e.classes) == 2
        else f"away from {escape(str(toward))}"
    )
    legend = (
        f'<p class="legend"><span class="key" style="background:{shade(1, 1)}">{direction}</span>'
        f'<span class="key light" style="background:{shade(-1, 1)}">{away}</span></p>'
    )
    table_rows = []
    for g, v in e.top(top, index):
        source = e.sources.get(g, "table")
        row = f"<tr><td>{escape(g)}</td><td class='num'>{v:+.4f}</td>"
        if e.phrase_parts:
            own = _pick(e.phrase_parts.get(g, 0.0), index)
            row += f"<td class='num'>{v - own:+.4f}</td><td class='num'>{own:+.4f}</td>"
        row += f"<td>{escape(source)}</td></tr>"
        table_rows.append(row)
    head = "<tr><th>n-gram</th><th class='num'>value</th>"
    if e.phrase_parts:
        head += "<th class='num'>embedding</th><th class='num'>phrase</th>"
    head += "<th>from</th></tr>"
    intercept = _pick(e.intercept, index)
    decision = _pick(e.decision, index)
    title = f"<h3>{escape(heading)}</h3>\n" if heading else ""
    return (
        f'<div class="linear-explanation">{title}<p>{pred}; decision {decision:+.3f} = '
        f"intercept {intercept:+.3f} + the n-grams' values.</p>\n{legend}\n{''.join(rows)}\n"
        f'<table class="contrib">{head}{"".join(table_rows)}</table></div>\n'
    )


def _strongest_chart(model: Any, k: int) -> str:
    """Diverging bars of the strongest n-grams (one chart per class for multiclass)."""
    top = model.top_ngrams(k, split=True)
    hybrid = bool(getattr(model, "hybrid", False)) and np.any(model.phrase_table_)

    def tip(entry: tuple[Any, ...]) -> str:
        g, v = entry[0], entry[1]
        if hybrid:
            return f"{g}: {v:+.4f} = embedding {entry[2]:+.4f} + phrase {entry[3]:+.4f}"
        return f"{g}: {v:+.4f}"

    labels = list(top)
    if model._task == "regression" or model.coef_table_.shape[1] == 1:
        pos, neg = (top[labels[1]], top[labels[0]])
        if model._task == "regression":
            pos, neg = top["positive"], top["negative"]
            names = ("raise the output", "lower the output")
        else:
            names = (f"toward {labels[1]}", f"toward {labels[0]}")
        rows = [e for e in pos if e[1] > 0] + sorted(
            (e for e in neg if e[1] < 0), key=lambda e: -e[1]
        )
        chart = diverging_bars(
            [(e[0], e[1]) for e in rows],
            title=f"The {k} strongest n-grams each way: blue {names[0]}, red {names[1]}",
            tooltips=[tip(e) for e in rows],
        )
        note = (
            f"Blue bars push {names[0]}, red bars {names[1]}; a bar's length is the n-gram's "
            "table value (hover for the exact value"
            + (" and its embedding and phrase parts" if hybrid else "")
            + ")."
        )
        return f'<figure class="strongest">{chart}<figcaption>{escape(note)}</figcaption></figure>'
    charts = []
    for label, rows in top.items():
        charts.append(
            f'<figure class="strongest"><h3>{escape(str(label))}</h3>'
            + diverging_bars(
                [(e[0], e[1]) for e in rows],
                title=f"The {k} n-grams with the largest values for class {label}",
                tooltips=[tip(e) for e in rows],
            )
            + "</figure>"
        )
    return "".join(charts)


def _table_values(model: Any) -> np.ndarray:
    rows = model._listed_rows(training_only=False)
    return np.asarray(model.coef_table_[rows], dtype=np.float64).reshape(-1)


def _coverage(model: Any, texts: list[str]) -> str:
    """How many of the examples' n-grams the table knows, and what happens to the rest."""
    report = model.unseen_report(texts)
    distinct = {g for t in texts for g in extract_ngrams(t, tuple(model.ngram_range))}
    known = sum(1 for g in distinct if g in model.vocabulary_)
    total = max(report.n_ngrams, 1)
    shares = [
        ("in the table", report.n_ngrams - report.n_unseen, "#2166ac"),
        ("backed off to sub-n-grams", report.n_backed_off, "#92c5de"),
        ("embedded", report.n_embedded, "#5aae61"),
        ("no known part (0)", report.n_zero, "#b2182b"),
    ]
    bar, x = [], 0.0
    for name, count, colour in shares:
        w = count / total * 600
        if w > 0:
            bar.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="22" fill="{colour}">'
                f"<title>{escape(name)}: {count} ({count / total:.1%})</title></rect>"
            )
        x += w
    legend = "".join(
        f'<span class="tag" style="border-left:12px solid {c}">{escape(n)}: {k} '
        f"({k / total:.1%})</span>"
        for n, k, c in shares
        if k or n in ("in the table", "no known part (0)")
    )
    svg = (
        '<svg class="chart coverage" role="img" width="600" height="22" viewBox="0 0 600 22" '
        'xmlns="http://www.w3.org/2000/svg"><title>Share of the example n-gram occurrences '
        f"the table covers: {1 - report.n_unseen / total:.1%}</title>{''.join(bar)}</svg>"
    )
    rows = [
        ("example texts", f"{len(texts):,}"),
        (
            "n-gram occurrences covered",
            f"{report.n_ngrams - report.n_unseen:,} of {report.n_ngrams:,} "
            f"({1 - report.n_unseen / total:.1%})",
        ),
        (
            "distinct n-grams covered",
            f"{known:,} of {len(distinct):,} ({known / max(len(distinct), 1):.1%})",
        ),
    ]
    return f"{svg}<p>{legend}</p>{kv_table(rows)}"


def draw_auglinear(
    model: Any,
    X_examples: Sequence[str] | None = None,
    *,
    title: str | None = None,
    k: int = 12,
    n_shaded: int = 3,
    **_: Any,
) -> tuple[str, str]:
    """The heading and body of a fitted Aug-Linear model's report.

    Parameters
    ----------
    model : AugLinearClassifier or AugLinearRegressor
    X_examples : sequence of str, optional
        Texts for the coverage section and the shaded examples (the first ``n_shaded``).
    title : str, optional
    k : int, default=12
        N-grams per side (per class for multiclass) in the bar chart.
    n_shaded : int, default=3
        Example texts shown shaded.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_table_")
    kind = type(model).__name__
    hybrid = bool(model.hybrid) and bool(np.any(model.phrase_table_))
    heading = title or f"{kind}: a table of {len(model.vocabulary_):,} n-gram values"
    encoder = model.encoder if isinstance(model.encoder, str) else type(model.encoder).__name__
    facts = [
        ("model", kind + (" (hybrid: embedding part + phrase part)" if hybrid else "")),
        ("encoder", str(encoder)),
        ("n-grams", f"lengths {model.ngram_range[0]} to {model.ngram_range[1]}"),
        ("table", f"{len(model.vocabulary_):,} n-grams"),
        ("unseen n-grams", str(model.unseen)),
    ]
    if model._task == "classification":
        facts.insert(1, ("classes", ", ".join(str(c) for c in model.classes_)))
    lead = (
        "The model's output for a text is the intercept plus the table value of every n-gram "
        "in the text: nothing else. "
        + (
            "Each value is the sum of an embedding part (what the n-gram's embedding is worth) "
            "and a phrase part (what the n-gram itself earned in training)."
            if hybrid
            else "Each value is the n-gram's embedding times the fitted weights."
        )
    )
    parts = [
        f"<p class='lead'>{escape(lead)}</p>\n{kv_table(facts)}",
        section("Strongest n-grams", _strongest_chart(model, k)),
    ]
    values = _table_values(model)
    near_zero = float(np.mean(np.abs(values) < 0.1 * np.abs(values).max())) if values.size else 0
    parts.append(
        section(
            "Distribution of table values",
            histogram(
                values,
                title="How the table's n-gram values are spread",
                xlabel="table value (log-odds contribution)"
                if model._task == "classification"
                else "table value (contribution to the output)",
            ),
            note=f"{values.size:,} values; {near_zero:.0%} are within a tenth of the largest "
            "magnitude of zero, so a prediction rests on its few strong n-grams.",
        )
    )
    texts = list(X_examples) if X_examples is not None else []
    if texts:
        parts.append(
            section(
                "Coverage of the example texts",
                _coverage(model, texts),
                note="N-grams missing from the table are valued by backing off to their "
                "known sub-n-grams (or embedded, with unseen='embed'); the table's coverage "
                "says how much of a prediction rests on the fitted values themselves.",
            )
        )
        shown = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, text in enumerate(texts[:n_shaded]):
                e = model.explain(text)
                shown.append(
                    linear_explanation_block(
                        e, probabilities=_probabilities(model, text), heading=f"Example {i + 1}"
                    )
                )
        parts.append(
            section(
                "Examples, every word shaded by its n-grams",
                "".join(shown),
                note="Each n-gram's value is split evenly over its words; hover a word to see "
                "the n-grams behind its shade."
                + (
                    " The rows below the whole contribution show its embedding part and its "
                    "phrase part on the same scale."
                    if hybrid
                    else ""
                ),
            )
        )
    return heading, "".join(parts)


def draw_linear_explanation(
    e: LinearExplanation, title: str | None = None, **_: Any
) -> tuple[str, str]:
    """The heading and body of a :class:`LinearExplanation`'s views."""
    return title or "Aug-Linear explanation", linear_explanation_block(e)


#: A fitted Aug-Linear model's report page (``model.to_html``) and notebook fragment.
AUGLINEAR_VIEWS = Views(draw_auglinear, "report")
#: An Aug-Linear explanation's page and notebook fragment.
LINEAR_EXPLANATION_VIEWS = Views(draw_linear_explanation, "result", copyable=True)
#: A standalone report page of a fitted Aug-Linear model (see :func:`draw_auglinear`).
auglinear_html = AUGLINEAR_VIEWS.page
auglinear_fragment = AUGLINEAR_VIEWS.fragment
