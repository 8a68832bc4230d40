"""Every report opened in headless Chromium: no console errors, key elements there, a screenshot."""

from __future__ import annotations

import re

import pytest

from report import subjects as S


def _open(browser_page, html: str, name: str, tmp_path) -> object:
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    page = browser_page.page
    page.goto(path.as_uri())
    browser_page.screenshot(f"report_{name}")
    assert browser_page.console_errors == []
    return page


def _visible(page, selector: str) -> int:
    found = page.locator(selector)
    assert found.count() > 0, selector
    assert found.first.is_visible(), selector
    return found.count()


@pytest.mark.parametrize("hybrid", [False, True], ids=["pure", "hybrid"])
def test_auglinear_report(browser_page, tmp_path, hybrid):
    model = S.auglinear(hybrid=hybrid)
    page = _open(
        browser_page,
        model.to_html(S.EXAMPLES),
        f"auglinear_{'hybrid' if hybrid else 'pure'}",
        tmp_path,
    )
    assert _visible(page, "figure.strongest svg rect") >= 20
    _visible(page, "svg.coverage")
    assert _visible(page, ".linear-explanation") == 3
    assert page.locator(".part-phrase").count() == (3 if hybrid else 0)
    # the strongest shade's text is legible: its computed colour is black or white
    colour = page.locator(".text .w").first.evaluate("e => getComputedStyle(e).color")
    assert colour in ("rgb(0, 0, 0)", "rgb(255, 255, 255)")


def test_augtree_report(browser_page, tmp_path):
    page = _open(browser_page, S.augtree(3).to_html(S.EXAMPLES), "augtree", tmp_path)
    _visible(page, "svg.tree")
    assert page.locator("svg.tree g.node").count() >= 3
    assert page.locator("svg.tree g.node.on-path").count() >= 2
    assert page.locator("ol.path li").count() >= 1
    box = page.locator("svg.tree").bounding_box()
    assert box is not None and box["width"] > 300


def test_protolm_report(browser_page, tmp_path, tiny_bert_dir):
    model = S.protolm(tiny_bert_dir)
    X, _ = S.texts(96)
    html = model.to_html(S.EXAMPLES, X_train=X)
    page = _open(browser_page, html, "protolm", tmp_path)
    assert page.locator(".card.prototype").count() == 4
    assert "nearest training sentences" in page.inner_text("main")
    _visible(page, ".proto-explanation table.protos")


@pytest.mark.parametrize("kind", ["attribution", "proxy", "faithfulness"])
def test_explanation_pages(browser_page, tmp_path, kind):
    from glasstext.report import result_page

    if kind == "attribution":
        html = S.attribution().to_html()
    elif kind == "proxy":
        html = S.proxied_attribution().to_html()
    else:
        html = result_page(S.faithfulness_result())
    page = _open(browser_page, html, kind, tmp_path)
    text = page.inner_text("main")
    if kind == "faithfulness":
        _visible(page, "svg polyline")
        assert "deletion" in text and "insertion" in text
        return
    assert page.locator(".text .w").count() >= 5
    assert "Class probabilities" in text and "base value" in text
    if kind == "proxy":
        _visible(page, "svg.agreement")
        assert "target calls saved" in text


def test_words_pages(browser_page, tmp_path):
    from explain.nl_fakes import AdditionLM, ThemeLM, addition_data, food_corpus, food_module
    from glasstext import explain_dataset, explain_module, summarize_model
    from glasstext.report import result_page

    module = explain_module(food_module, food_corpus(), lm=ThemeLM(), progress=False)
    X, y = addition_data()
    prompts = explain_dataset(X, y, lm=AdditionLM(), progress=False)
    summary = summarize_model(S.auglinear(hybrid=False), ThemeLM(), k=4)
    html = result_page(module, title="Explanations in words").replace(
        "</main>", prompts.to_html() + summary.to_html() + "</main>"
    )
    page = _open(browser_page, html, "words", tmp_path)
    text = page.inner_text("main")
    for heading in (
        "Explanations, best first",
        "Prompts, best first",
        "Summaries and their evidence",
    ):
        assert heading in text
    assert page.locator("svg").count() >= 3


def _section(page, heading: str):
    """The report's ``<section>`` under the ``<h2>`` ``heading`` (sections carry no class)."""
    return page.locator("section").filter(has=page.locator("h2", has_text=heading))


def test_audit_report(browser_page, tmp_path, tiny_bert_dir):
    from explain.test_audit import PlantedLM, planted_corpus
    from glasstext import audit_lm

    texts, labels = planted_corpus(200)
    # A shift of 4 flips enough negative reviews holding the trigger to fill
    # the disagreements with gold labels.
    audit = audit_lm(
        PlantedLM("plot", 4.0),
        texts,
        labels=["negative", "positive"],
        probes=["plot:"],
        y_true=labels,
        encoder=str(tiny_bert_dir),
        n_shap=2,
        shap_samples=16,
        progress=False,
    )
    assert audit.complete and audit.trusted
    page = _open(browser_page, audit.to_html(), "audit", tmp_path)

    fidelity = _section(page, "Does the surrogate follow the LM?")
    _visible(fidelity, "p.good")
    rows = fidelity.locator("table.meta tr").all_inner_texts()
    agreement = next(r for r in rows if r.startswith("class agreement"))
    assert f"{100 * audit.fidelity['agreement']:.1f}%" in agreement
    assert any(r.startswith("Spearman correlation of scores") for r in rows)

    drivers = _section(page, "What drives the LM")
    assert _visible(drivers, "figure svg.chart rect") >= 10
    box = drivers.locator("figure svg.chart").bounding_box()
    assert box is not None and box["width"] > 300
    # each bar draws its label, then its value; SVG text has no innerText
    bar_labels = drivers.locator("svg.chart > text").all_text_contents()[0::2]
    assert "plot" in bar_labels[:5]
    trigger = re.compile(r"^plot$")
    assert drivers.locator("svg.chart > text").filter(has_text=trigger).first.is_visible()
    _visible(drivers, "td.quote")
    listed = drivers.locator("table tr td:first-child").all_inner_texts()
    assert "plot" in listed[:5]
    assert drivers.locator("table td:first-child").filter(has_text=trigger).first.is_visible()

    rules = _section(page, "Main rules")
    _visible(rules, "svg.tree")
    assert rules.locator("svg.tree g.node").count() >= 3
    assert rules.locator("details pre").count() == 1  # the rules as text, folded

    weighting = _section(page, "over- and under-weights")
    _visible(weighting, "table")
    assert "plot" in weighting.locator("tr td:first-child").all_inner_texts()[:5]

    probes = _section(page, "Counterfactual probes")
    probe = probes.locator("tr", has_text="plot → (deleted)")
    assert probe.count() == 1 and probe.is_visible()
    assert probe.locator("td.num.bad").inner_text().startswith("-4.000")  # deleting the trigger

    disagree = _section(page, "Where the LM and the labels disagree")
    lead = disagree.locator("p.lead")
    assert lead.is_visible() and lead.inner_text().startswith(f"{audit.disagreements['n']} texts")
    groups = disagree.locator("table tr td:first-child").all_inner_texts()
    assert "plot" in groups[:3]
    assert _visible(disagree, ".cards .card") == 2
    _visible(disagree, ".card .tag")

    _visible(_section(page, "Cost"), "table.meta")
