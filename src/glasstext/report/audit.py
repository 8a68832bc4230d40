"""The LM audit report: fidelity first, then what drives the LM, probes and disagreements.

The page opens with the one question that decides how to read the rest:
does the surrogate follow the LM on texts it never saw? An untrusted
surrogate's table is shown under a warning, never as the LM's reasons.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from glasstext.markup import escape
from glasstext.report.page import Views, kv_table, section
from glasstext.report.svg import diverging_bars

if TYPE_CHECKING:
    from glasstext.explain.audit import LMAudit

__all__ = ["AUDIT_VIEWS", "draw_audit"]


def _num(value: Any, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(float(value), fmt)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def _ci(ci: Any, fmt: str = ".3f") -> str:
    if not ci or ci[0] is None:
        return ""
    return f" [{_num(ci[0], fmt)}, {_num(ci[1], fmt)}]"


def _cost(a: LMAudit) -> str:
    rows = [
        ("texts", f"{a.n_texts:,}"),
        ("target calls this run", f"{a.target_calls:,}"),
        ("served by the cache", f"{a.calls_from_cache:,}"),
        ("budget", "none" if a.budget is None else f"{a.budget:,}"),
        ("stages", "; ".join(f"{k}: {v}" for k, v in a.stages.items())),
    ]
    if a.class_counts:
        rows.insert(
            1, ("the LM's answers", ", ".join(f"{k} {v}" for k, v in a.class_counts.items()))
        )
    return kv_table(rows)


def _fidelity(a: LMAudit) -> str:
    f = a.fidelity
    verdict = (
        "<p class='good'>The surrogate follows the LM on held-out texts: its table can be "
        "read as what drives the LM.</p>"
        if a.trusted
        else "<p class='bad'><strong>The surrogate does not follow the LM closely enough "
        "(below the thresholds).</strong> Its table describes the surrogate, not the LM's "
        "reasons; the probes and KernelSHAP below are measured on the LM itself.</p>"
    )
    rows = [
        ("class agreement", f"{_pct(f['agreement'])}{_ci(f['agreement_ci95'])}"),
        ("always the LM's most frequent class", _pct(f["majority"])),
        ("Spearman correlation of scores", f"{_num(f['spearman'])}{_ci(f['spearman_ci95'])}"),
        ("held-out texts", str(f["n_heldout"])),
        (
            "thresholds",
            f"agreement ≥ {f['min_agreement']} and ≥ {f.get('min_above_majority', 0.0)} above "
            f"the most frequent class, Spearman ≥ {f['min_spearman']}",
        ),
    ]
    return verdict + kv_table(rows)


def _drivers(a: LMAudit) -> str:
    parts = []
    for name, rows in a.table.items():
        top = sorted(rows, key=lambda d: -abs(d.value))[:20]
        two = len(a.classes) == 2
        title = (
            f"Surrogate values toward “{name}” (right) and “{a.classes[0]}” (left)"
            if two
            else f"Surrogate values of “{name}”"
        )
        bars = diverging_bars([(d.ngram, d.value) for d in top], title=title)
        examples = "".join(
            f"<tr><td>{escape(d.ngram)}</td><td class='num'>{d.value:+.3f}</td>"
            f"<td class='num'>{d.support}</td><td class='quote'>"
            f"{escape(' / '.join(d.examples))}</td></tr>"
            for d in top[:10]
        )
        parts.append(
            f"<figure>{bars}</figure><table><tr><th>n-gram</th><th class='num'>value</th>"
            f"<th class='num'>texts</th><th>examples</th></tr>{examples}</table>"
        )
    lead = "" if a.trusted else "<p class='bad'>Untrusted surrogate: read with care.</p>"
    return lead + "".join(parts)


def _tree(a: LMAudit) -> str:
    if not a.tree_rules:
        return ""
    diagram = ""
    if a.tree is not None:
        from glasstext.report.tree import tree_svg

        classes = list(a.tree.classes_) if hasattr(a.tree, "classes_") else None
        diagram = f"<figure>{tree_svg(a.tree.trees_[0], classes, max_depth=4)}</figure>"
    return section(
        "Main rules (Aug-Tree, depth ≤ 4)",
        diagram,
        f"<details><summary>as text</summary><pre>{escape(a.tree_rules)}</pre></details>",
        note=f"Boxes show the mean {a.score_name} of the texts reaching them.",
    )


def _weighting(a: LMAudit) -> str:
    if not a.weighting:
        return ""
    rows = "".join(
        f"<tr><td>{escape(w['ngram'])}</td><td class='num'>{w['target_value']:+.3f}</td>"
        f"<td class='num'>{w['gold_value']:+.3f}</td><td class='num'>"
        f"{w['difference']:+.3f}</td><td class='num'>{w['support']}</td></tr>"
        for w in a.weighting[:20]
    )
    return section(
        "What the LM over- and under-weights against the labels",
        "<table><tr><th>n-gram</th><th class='num'>LM</th><th class='num'>labels</th>"
        f"<th class='num'>difference</th><th class='num'>texts</th></tr>{rows}</table>",
        note="The same regressor fitted to the gold labels, its values mapped onto the LM's by "
        "least squares; the difference is the LM's value beyond what the labels account for "
        "(positive: the LM leans toward the class more than the data does).",
    )


def _probes(a: LMAudit) -> str:
    if not a.probes:
        return ""
    rows = []
    for p in a.probes:
        if p.measured_shift is None:
            rows.append(
                f"<tr><td>{escape(p.a)} → {escape(p.b or '(deleted)')}</td><td class='num'>"
                f"{p.n_texts}</td><td class='num'>{_num(p.predicted_shift, '+.3f')}</td>"
                f"<td colspan='3'>{escape(p.status)}</td></tr>"
            )
            continue
        foreseen = {True: "yes", False: "no", None: "–"}[p.surrogate_predicted]
        css = "bad" if p.significant else ""
        rows.append(
            f"<tr><td>{escape(p.a)} → {escape(p.b or '(deleted)')}</td><td class='num'>"
            f"{p.n_texts}</td><td class='num'>{_num(p.predicted_shift, '+.3f')}</td>"
            f"<td class='num {css}'>{_num(p.measured_shift, '+.3f')}"
            f"{escape(_ci(p.ci95))}</td><td>{foreseen}</td><td class='num'>{p.calls}</td></tr>"
        )
    return section(
        "Counterfactual probes",
        "<table><tr><th>swap</th><th class='num'>texts</th><th class='num'>surrogate</th>"
        "<th class='num'>LM shift [95% CI]</th><th>foreseen</th><th class='num'>calls</th>"
        f"</tr>{''.join(rows)}</table>",
        note=f"Texts holding either term get the other; the shift is the LM's mean change of "
        f"its {a.score_name} toward the second term. The surrogate predicts each probe for "
        "free; probes run in the order of its prediction while the budget lasts.",
    )


def _disagreements(a: LMAudit) -> str:
    d = a.disagreements
    if not d:
        return ""
    groups = "".join(
        f"<tr><td>{escape(g['ngram'])}</td><td class='num'>{g['count']}</td>"
        f"<td class='quote'>{escape(' / '.join(g['examples'][:2]))}</td></tr>"
        for g in d["groups"][:15]
    )
    shap = "".join(
        f"<div class='card'><p class='quote'>{escape(r['text'])}</p><p class='note'>LM: "
        f"{escape(r['target_class'])}, label: {escape(r['gold'])}; {r['calls']} calls</p>"
        + "".join(
            f"<span class='tag {'pos' if s > 0 else 'neg'}'>{escape(w)} {s:+.2f}</span>"
            for w, s in r["top"]
        )
        + "</div>"
        for r in d.get("kernelshap", [])
    )
    return section(
        "Where the LM and the labels disagree",
        f"<p class='lead'>{d['n']} texts ({_pct(d['rate'])}).</p>",
        "<table><tr><th>n-gram pushing toward the LM's answer</th><th class='num'>texts</th>"
        f"<th>examples</th></tr>{groups}</table>",
        f"<h3>KernelSHAP on the LM ({escape(d.get('kernelshap_status', ''))})</h3>"
        f"<div class='cards'>{shap}</div>",
    )


def _proxy(a: LMAudit) -> str:
    p = a.proxy
    if not p:
        return ""
    rows = [
        (
            "screen",
            f"{p['decision']} (class agreement {_pct(p['agreement_on_sample'])} "
            f"on the target's sample, tau {p['tau']})",
        ),
        ("texts scored by the target", str(p["n_target_texts"])),
        (
            "target calls for scoring",
            f"{p['target_calls']} ({_pct(p['target_call_fraction'])} of scoring every text)",
        ),
    ]
    return section(
        "Proxy",
        kv_table(rows),
        note="The proxy scored the corpus; the surrogate's fidelity above is to the target.",
    )


def draw_audit(a: LMAudit, title: str | None = None, **_: Any) -> tuple[str, str]:
    """The audit page: verdict, fidelity, drivers, rules, weighting, probes, disagreements."""
    heading = title or "LM audit"
    if not a.complete:
        body = (
            f"<p class='bad'><strong>Incomplete:</strong> the budget of {a.budget} LM calls "
            f"ran out during {escape(str(a.stopped))}. The scores are cached: run the same "
            "audit again with a larger budget to resume without paying them again.</p>"
        )
        return heading, body + section("Cost", _cost(a))
    body = (
        section("Does the surrogate follow the LM?", _fidelity(a))
        + section(
            "What drives the LM",
            _drivers(a),
            note=f"The surrogate's n-gram values on the LM's {a.score_name} (n-grams in at "
            "least a few texts), with example texts.",
        )
        + _tree(a)
        + _weighting(a)
        + _probes(a)
        + _disagreements(a)
        + _proxy(a)
        + section("Cost", _cost(a))
    )
    return heading, body


AUDIT_VIEWS = Views(draw_audit, "result", copyable=True)
