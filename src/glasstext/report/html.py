"""Explanations of any model, drawn: the attribution view, faithfulness curves, the proxy report.

The attribution page names the model, its prompt (for a prompted language
model) and its class probabilities, shades every word of the text by its
score (blue toward the explained class, red away; the stronger the shade,
the larger ``|score|`` relative to the largest; hovering a word shows its
score), and says in words what the base value means for the method used.
Pages have no external assets and every piece of text is HTML-escaped.

Each subject is drawn once (``draw_*``: a heading and a body); its
:class:`~glasstext.report.page.Views` (``*_VIEWS``) make the page and the
notebook fragment of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glasstext.markup import escape
from glasstext.report.page import Views, kv_table, section, write_page
from glasstext.report.shading import SHADING_CSS, shade, shade_text
from glasstext.report.svg import line_chart

if TYPE_CHECKING:
    from glasstext.explain.attribution import Attribution, ProxyReport
    from glasstext.explain.metrics import Faithfulness

__all__ = [
    "ATTRIBUTION_VIEWS",
    "FAITHFULNESS_VIEWS",
    "PROXY_REPORT_VIEWS",
    "SHADING_CSS",
    "attribution_fragment",
    "attribution_html",
    "draw_attribution",
    "draw_faithfulness",
    "draw_proxy_report",
    "faithfulness_fragment",
    "proxy_fragment",
    "save_html",
]


def _name(a: Attribution) -> str:
    return a.class_name if a.class_name is not None else str(a.explained_class)


def _masking(a: Attribution) -> str:
    return "deleted" if a.mask_token is None else f"replaced by {a.mask_token!r}"


def base_value_meaning(a: Attribution) -> str:
    """What the base value of ``a`` means, for its method, in one sentence."""
    name, masked = _name(a), _masking(a)
    if a.method == "kernelshap":
        return (
            f"the probability of {name!r} with every word {masked}; the scores add up to "
            f"probability minus base value ({a.value - a.base_value:+.4f})."
        )
    if a.method == "occlusion":
        return (
            f"the probability of {name!r} with every word {masked}; each word's score is how "
            "much the probability drops when that word alone is masked."
        )
    if a.method == "lime":
        return (
            "the intercept of the local linear model LIME fitted to the masked texts: its "
            f"estimate of the probability of {name!r} with every word {masked}."
        )
    return f"the model's value for {name!r} with every word {masked}."


def _meta_rows(
    a: Attribution, model: str | None, prompt: str | None, probabilities: Mapping[str, float]
) -> list[tuple[str, str]]:
    rows = []
    if model:
        rows.append(("model", model))
    if prompt:
        rows.append(("prompt", prompt))
    rows += [
        ("explained class", _name(a)),
        ("probability", f"{a.value:.4f}"),
        ("base value", f"{a.base_value:.4f}: {base_value_meaning(a)}"),
        ("method", a.method + (" (word segments)" if a.grouped else "")),
        ("masking", "deletion" if a.mask_token is None else f"replaced by {a.mask_token!r}"),
        ("model calls", f"{a.n_calls} ({a.n_texts} distinct texts, {a.n_samples} samples)"),
    ]
    if a.proxy is not None:
        p = a.proxy
        rows.append(
            (
                "proxy decision",
                f"{p.decision}: agreement {p.agreement:.3f} vs threshold {p.threshold} "
                f"on {p.n_screened} screened texts; target calls {p.target_calls}, "
                f"proxy calls {p.proxy_calls}",
            )
        )
    return rows


def _probability_bars(probabilities: Mapping[str, float], explained: str) -> str:
    """Class probabilities as bars in an HTML table (the explained class in bold)."""
    rows = []
    for name, p in probabilities.items():
        weight = "font-weight:600" if name == explained else ""
        rows.append(
            f'<tr><td style="{weight}">{escape(name)}</td><td class="num">{p:.3f}</td>'
            f'<td><svg width="200" height="12" role="img" viewBox="0 0 200 12">'
            f"<title>{escape(name)}: {p:.3f}</title>"
            f'<rect width="200" height="12" fill="#eee"/><rect width="{200 * p:.1f}" height="12" '
            f'fill="{"#2166ac" if name == explained else "#767676"}"/></svg></td></tr>'
        )
    return f'<table class="probabilities">{"".join(rows)}</table>'


def draw_attribution(
    a: Attribution,
    title: str | None = None,
    top: int = 10,
    *,
    model: str | None = None,
    prompt: str | None = None,
    probabilities: Mapping[str, float] | None = None,
) -> tuple[str, str]:
    """The heading and body of the attribution view.

    Parameters
    ----------
    a : Attribution
    title : str, optional
        The heading (default: the model and class).
    top : int, default=10
        Rows of the table of largest scores.
    model, prompt : str, optional
        Name of the explained model and its prompt template (default: what the
        explainer recorded in ``a.extras``).
    probabilities : mapping of class name to float, optional
        Class probabilities of the whole text (default: from ``extras``).

    Returns
    -------
    heading, body : str
        The legend, the shaded text, the class probabilities, the details
        and the largest scores.
    """
    heading = title if title is not None else _default_heading(a)
    name = _name(a)
    model = model if model is not None else a.extras.get("model")
    prompt = prompt if prompt is not None else a.extras.get("prompt")
    probs = dict(probabilities if probabilities is not None else a.extras.get("probabilities", {}))
    rows = "".join(
        f'<tr><td>{escape(w)}</td><td class="num">{s:+.4f}</td></tr>' for w, s in a.top(top)
    )
    legend = (
        f'<p class="legend"><span class="key" style="background:{shade(1.0, 1.0)}">toward '
        f'{escape(name)}</span><span class="key light" '
        f'style="background:{shade(-1.0, 1.0)}">away from {escape(name)}</span></p>'
    )
    lead = (
        f"Why the model gives {name!r} probability {a.value:.3f} for this text: each word is "
        f"shaded by its {a.method} score, blue where it pushes toward {name!r}, red where it "
        "pushes away; the stronger the shade, the larger the score. Hover a word for its score."
    )
    parts = [
        f"<p class='lead'>{escape(lead)}</p>\n{legend}\n",
        f'<div class="text">{shade_text(a.text, a.spans, a.scores)}</div>\n',
    ]
    if probs:
        parts.append("<h2>Class probabilities</h2>\n" + _probability_bars(probs, name) + "\n")
    parts.append(f"<h2>Details</h2>\n{kv_table(_meta_rows(a, model, prompt, probs))}")
    if a.proxy is not None:
        parts.append(proxy_body(a.proxy))
    parts.append(
        "<h2>Largest scores</h2>\n"
        f'<table class="top"><tr><th>word</th><th class="num">score</th></tr>{rows}</table>\n'
    )
    return heading, "".join(parts)


def _default_heading(a: Attribution) -> str:
    model = a.extras.get("model")
    if model:
        return f"Why {model} says {_name(a)!r}"
    return f"Why the model says {_name(a)!r}"


#: An attribution's page (``to_html``, ``save_html``) and notebook fragment (``_repr_html_``).
ATTRIBUTION_VIEWS = Views(draw_attribution, "attribution")
#: A complete, standalone HTML page showing an attribution (see :func:`draw_attribution`).
attribution_html = ATTRIBUTION_VIEWS.page
#: The attribution page's content as one ``<div>`` for a notebook cell, its styles inside it.
attribution_fragment = ATTRIBUTION_VIEWS.fragment


def save_html(
    attribution: Attribution,
    path: str | os.PathLike[str],
    title: str | None = None,
    **options: Any,
) -> Path:
    """Write :func:`attribution_html` to ``path`` as UTF-8 and return the path."""
    return write_page(attribution_html(attribution, title=title, **options), path)


# -- the proxy report ------------------------------------------------------------------


_PROXY_NOTE = (
    "A cheap proxy model scored the perturbed texts; the target scored a screened sample, "
    "and the proxy was trusted only if the two agreed (Pearson correlation of the explained "
    "class's probability)."
)


def _proxy_content(p: ProxyReport) -> str:
    """The agreement gauge and the table of the decision and the calls."""
    used = p.decision != "target"
    saved = max(p.proxy_calls - p.target_calls, 0) if used else 0
    verdict = {
        "proxy": "the proxy agreed with the target, so its scores were used",
        "target": "the proxy did not agree well enough, so the target scored every text",
        "calibrated-proxy": "the proxy did not agree well enough; its scores were used, "
        "calibrated to the target's scale",
    }.get(p.decision, p.decision)
    width = 300
    mark = max(min(p.agreement, 1.0), -1.0)
    x_of = lambda v: (v + 1.0) / 2.0 * width  # noqa: E731 - a local scale
    gauge = (
        f'<svg class="chart agreement" role="img" width="{width + 150}" height="44" '
        f'viewBox="0 0 {width + 150} 44" xmlns="http://www.w3.org/2000/svg">'
        f"<title>agreement {p.agreement:.3f} against threshold {p.threshold}</title>"
        f'<text x="{10 + x_of(p.threshold):.1f}" y="11" text-anchor="middle" font-size="11">'
        f"threshold {p.threshold}</text>"
        f'<rect x="10" y="16" width="{width}" height="10" fill="#eee"/>'
        f'<rect x="10" y="16" width="{x_of(mark):.1f}" height="10" '
        f'fill="{"#2166ac" if p.agreement >= p.threshold else "#b2182b"}"/>'
        f'<line x1="{10 + x_of(p.threshold):.1f}" y1="13" x2="{10 + x_of(p.threshold):.1f}" '
        'y2="30" stroke="#111" stroke-width="2"/>'
        '<text x="10" y="41" font-size="11">-1</text>'
        f'<text x="{width + 10}" y="41" text-anchor="end" font-size="11">1</text>'
        f'<text x="{width + 18}" y="25" font-size="12">agreement {p.agreement:.3f}</text></svg>'
    )
    rows = [
        ("decision", f"{p.decision}: {verdict}"),
        ("agreement", f"{p.agreement:.3f} (threshold {p.threshold}) on {p.n_screened} texts"),
        ("target calls", str(p.target_calls)),
        ("proxy calls", str(p.proxy_calls)),
    ]
    if used:
        rows.append(("target calls saved", f"{saved} (the proxy scored them instead)"))
    if p.calibration is not None:
        rows.append(
            ("calibration", f"target ≈ {p.calibration[0]:.3f} × proxy + {p.calibration[1]:.3f}")
        )
    return gauge + kv_table(rows)


def proxy_body(p: ProxyReport) -> str:
    """The proxy's decision, its agreement with the target and the calls it saved, as a section."""
    return section("Proxy report", _proxy_content(p), note=_PROXY_NOTE)


def draw_proxy_report(p: ProxyReport, title: str | None = None, **_: Any) -> tuple[str, str]:
    """The heading and body of a :class:`ProxyReport`'s views."""
    return title or "Proxy report", _note(_PROXY_NOTE) + _proxy_content(p)


PROXY_REPORT_VIEWS = Views(draw_proxy_report, "result", copyable=True)
proxy_fragment = PROXY_REPORT_VIEWS.fragment


# -- faithfulness ----------------------------------------------------------------------


_FAITHFULNESS_NOTE = (
    "A faithful explanation ranks first the words the model needs: removing them makes the "
    "probability fall fast (deletion curve low), adding them back alone makes it rise fast "
    "(insertion curve high)."
)


def draw_faithfulness(f: Faithfulness, title: str | None = None, **_: Any) -> tuple[str, str]:
    """The four metrics and, when recorded, the deletion and insertion curves."""
    rows = [
        ("probability of the full text", f"{f.value:.4f}"),
        ("comprehensiveness", f"{f.comprehensiveness:+.4f} (higher is better)"),
        ("sufficiency", f"{f.sufficiency:+.4f} (lower is better)"),
        ("deletion AUC", f"{f.deletion_auc:.4f} (lower is better)"),
        ("insertion AUC", f"{f.insertion_auc:.4f} (higher is better)"),
        ("model calls", str(f.n_calls)),
    ]
    chart = ""
    if f.curve_fractions:
        chart = line_chart(
            [
                ("deletion: top words removed", f.curve_fractions, f.deletion_curve, "#b2182b"),
                ("insertion: top words added", f.curve_fractions, f.insertion_curve, "#2166ac"),
            ],
            title="Deletion and insertion curves: the explained class's probability as the "
            "highest-scored words are removed from the text, or added back to the masked text",
            xlabel="share of words, highest scores first",
            ylabel="probability",
        )
    heading = title or "Faithfulness of an explanation"
    return heading, _note(_FAITHFULNESS_NOTE) + chart + kv_table(rows)


FAITHFULNESS_VIEWS = Views(draw_faithfulness, "result", copyable=True)
faithfulness_fragment = FAITHFULNESS_VIEWS.fragment


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>\n'
