"""Every report opened in headless Chromium: no console errors, key elements there, a screenshot."""

from __future__ import annotations

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
