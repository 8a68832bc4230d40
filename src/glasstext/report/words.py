"""Explanations in words, drawn with their evidence: SASC, prompt search, model summaries.

Each view puts the sentence a language model wrote next to what it rests on
(the n-grams the module responds to and the synthetic texts that tested it;
the prompts' held-out scores against the no-prompt baseline; the n-grams or
phrase sets behind each class summary) and what it cost.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from glasstext.markup import escape
from glasstext.report.page import Views, kv_table, section
from glasstext.report.svg import diverging_bars, line_chart

if TYPE_CHECKING:
    from glasstext.explain.iprompt import DatasetExplanation, PromptCandidate
    from glasstext.explain.sasc import ConceptExplanation, ModuleExplanation
    from glasstext.explain.summaries import ClassSummary, ModelSummary

__all__ = [
    "WORDS_VIEWS",
    "class_summary_body",
    "concept_body",
    "dataset_body",
    "draw_words",
    "module_body",
    "prompt_body",
    "summary_body",
    "words_fragment",
    "words_page",
]


def _num(value: float | None, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(value, fmt)


def _usage(usage: dict[str, int], seconds: float) -> str:
    calls = usage.get("n_generate_calls", 0)
    hits = usage.get("n_cache_hits", 0)
    forward = usage.get("n_forward_texts", 0)
    text = f"{calls} LM generation{'s' if calls != 1 else ''}, {hits} from the cache"
    if forward:
        text += f", {forward} texts scored"
    return text + f"; {seconds:.1f} s"


def _list(items: list[str], css: str = "plain") -> str:
    return f'<ul class="{css}">' + "".join(f"<li>{escape(t)}</li>" for t in items) + "</ul>"


# -- SASC ------------------------------------------------------------------------------


def concept_body(c: ConceptExplanation, heading: str | None = None) -> str:
    """One explanation, its score and its evidence (n-grams and synthetic texts)."""
    title = heading or f"“{c.text}”"
    rows = [
        ("score", f"{_num(c.score, '+.2f')} (module standard deviations)"),
        ("mean response, texts about it", _num(c.mean_with)),
        ("mean response, texts not about it", _num(c.mean_without)),
        ("proposed by", f"{c.n_proposals} summaries"),
    ]
    evidence = ""
    if c.evidence:
        evidence = diverging_bars(
            c.evidence[:10], title=f"The module's response to the n-grams behind “{c.text}”"
        )
    texts = ""
    if c.texts_with or c.texts_without:
        texts = (
            "<div class='cards'><div class='card'><p class='note'>synthetic texts about it</p>"
            f"{_list(c.texts_with[:5])}</div><div class='card'><p class='note'>texts not "
            f"about it</p>{_list(c.texts_without[:5])}</div></div>"
        )
    return (
        f"<div class='concept'><h3>{escape(title)}</h3>{kv_table(rows)}"
        f"<figure>{evidence}</figure>{texts}</div>"
    )


def module_body(m: ModuleExplanation) -> str:
    """SASC: what a module responds to, each explanation with its evidence."""
    best = m.explanations[0] if m.explanations else None
    lead = (
        f"The module responds most to: “{best.text}” (score {_num(best.score, '+.2f')})."
        if best
        else "No explanation was found."
    )
    ranked = "".join(
        f"<tr><td class='num'>{i}</td><td>{escape(e.text)}</td>"
        f"<td class='num'>{_num(e.score, '+.2f')}</td></tr>"
        for i, e in enumerate(m.explanations, 1)
    )
    facts = [
        ("n-grams scored", f"{m.n_ngrams:,}"),
        ("module calls", f"{m.module_calls:,}"),
        ("language model", _usage(m.lm_usage, m.seconds)),
        ("score unit", f"the module's standard deviation over the n-grams ({m.scale:.4g})"),
    ]
    return (
        f"<p class='lead'>{escape(lead)}</p>"
        + section(
            "Explanations, best first",
            f"<table><tr><th class='num'>#</th><th>explanation</th><th class='num'>score</th>"
            f"</tr>{ranked}</table>",
            note="Each explanation was tested on synthetic texts an LM wrote about it and "
            "not about it: its score is the difference of the module's mean responses.",
        )
        + section(
            "The n-grams the module responds to most",
            diverging_bars(m.top_ngrams[:15], title="The module's strongest n-gram responses"),
        )
        + section("Evidence", "".join(concept_body(e) for e in m.explanations[:3]))
        + section("Cost", kv_table(facts))
    )


# -- prompt search -----------------------------------------------------------------------


def prompt_body(p: PromptCandidate) -> str:
    """One prompt and its figures."""
    rows = [
        ("prompt", p.prompt or "(no prompt)"),
        ("search log-likelihood", _num(p.score)),
        ("test log-likelihood", _num(p.test_loglik)),
        ("test accuracy", _num(p.test_accuracy)),
        ("test choice accuracy", _num(p.test_choice_accuracy)),
        ("found", f"{p.origin}, round {p.iteration}"),
    ]
    return kv_table(rows)


def _history(history: list[float]) -> str:
    """The best search score per round as a line, or a sentence when it never moved."""
    if len(history) < 2:
        return ""
    lo, hi = min(history), max(history)
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):
        # a flat line scaled to [0, 1] would sit at 0 and look like a failure to plot
        return (
            f"<p class='note flat-history'>Every round scored the same: {_num(hi)} "
            f"(best search log-likelihood, {len(history)} rounds): no later round "
            "beat the first.</p>"
        )
    xs = [i / (len(history) - 1) for i in range(len(history))]
    return line_chart(
        [("best search log-likelihood", xs, [(h - lo) / (hi - lo) for h in history], "#0072B2")],
        title=f"Best search score after each round, from {lo:.3f} to {hi:.3f}",
        xlabel="share of the rounds run",
        ylabel="best score (scaled)",
    )


def dataset_body(d: DatasetExplanation) -> str:
    """Prompt search: the prompts found, against the no-prompt baseline, and the search."""
    best = d.prompts[0] if d.prompts else None
    lead = f"The instruction that best explains the data: “{best.prompt}”." if best else ""
    rows = []
    for rank, p in enumerate([*d.prompts[:10], d.baseline], 1):
        name = p.prompt or "(no prompt: the baseline)"
        css = " style='font-weight:600'" if p is best else ""
        rows.append(
            f"<tr{css}><td class='num'>{rank if p is not d.baseline else ''}</td>"
            f"<td>{escape(name)}</td><td class='num'>{_num(p.score)}</td>"
            f"<td class='num'>{_num(p.test_loglik)}</td><td class='num'>{_num(p.test_accuracy)}"
            f"</td><td class='num'>{_num(p.test_choice_accuracy)}</td></tr>"
        )
    table = (
        "<table><tr><th class='num'>#</th><th>prompt</th><th class='num'>search log-lik</th>"
        "<th class='num'>test log-lik</th><th class='num'>test accuracy</th>"
        f"<th class='num'>choice accuracy</th></tr>{''.join(rows)}</table>"
    )
    history = _history(d.history)
    facts = [
        ("rounds", str(d.n_iterations)),
        ("examples", f"{d.n_search} for the search, {d.n_test} held out"),
        ("language model", _usage(d.lm_usage, d.seconds)),
    ]
    return (
        f"<p class='lead'>{escape(lead)}</p>"
        + section(
            "Prompts, best first, against no prompt",
            table,
            note="Log-likelihood: mean log-probability of the correct outputs after the "
            "prompt (higher is better). The held-out figures say whether the prompt helps "
            "beyond the examples it was chosen on.",
        )
        + (section("The search", history) if history else "")
        + section("Cost", kv_table(facts))
    )


# -- model summaries -------------------------------------------------------------------------


def class_summary_body(c: ClassSummary, evidence_kind: str = "ngrams") -> str:
    """One class's summary and the evidence the LM was shown."""
    items = [(g if isinstance(g, str) else " | ".join(g), float(w)) for g, w in c.evidence[:10]]
    chart = (
        diverging_bars(items, title=f"The evidence for class {c.label}: {evidence_kind}")
        if items
        else ""
    )
    return (
        f"<div class='card summary'><h3>{escape(str(c.label))}</h3>"
        f"<p class='quote'>{escape(c.summary)}</p><figure>{chart}</figure></div>"
    )


def summary_body(s: ModelSummary) -> str:
    """What drives each class of a model, in words, with the evidence behind each."""
    weight = (
        "n-gram table values"
        if s.evidence_kind == "ngrams"
        else "phrase sets, weighted by how much their 'yes' branch raises the class share"
    )
    facts = [
        ("model", s.model_kind),
        ("language model", s.lm or "?"),
        ("context", s.context or "none"),
        ("evidence", weight),
        ("cost", _usage(s.lm_usage, s.seconds)),
    ]
    cards = "".join(class_summary_body(c, s.evidence_kind) for c in s.classes)
    return (
        f"<p class='lead'>{escape(s.model_kind)}: what drives each "
        f"{'class' if s.task == 'classification' else 'direction'}, written by a language "
        "model from the model's own evidence.</p>"
        + section("Summaries and their evidence", f"<div class='cards'>{cards}</div>")
        + section("Details", kv_table(facts))
    )


_BODIES: dict[str, tuple[Any, str]] = {
    "ModuleExplanation": (module_body, "What the module responds to"),
    "ConceptExplanation": (concept_body, "An explanation and its evidence"),
    "DatasetExplanation": (dataset_body, "Prompt search"),
    "PromptCandidate": (prompt_body, "A prompt"),
    "ModelSummary": (summary_body, "Model summary"),
    "ClassSummary": (class_summary_body, "Class summary"),
}


def draw_words(result: Any, title: str | None = None, **_: Any) -> tuple[str, str]:
    """The heading and body of an explanation in words (any of the types above)."""
    for klass in type(result).__mro__:
        if klass.__name__ in _BODIES:
            draw, default = _BODIES[klass.__name__]
            return title or default, draw(result)
    raise LookupError(f"no view for {type(result).__name__}")


#: The page and the notebook fragment of every explanation in words.
WORDS_VIEWS = Views(draw_words, "result", copyable=True)
words_fragment = WORDS_VIEWS.fragment
words_page = WORDS_VIEWS.page
