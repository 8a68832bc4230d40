"""Reports of every model and views of every result: standalone, escaped, complete."""

import json
import subprocess
import sys

import numpy as np
import pytest

from glasstext.report import contrast_ratio, linear_word_scores, result_page, shade_text
from glasstext.report.shading import ink, shade_rgb
from report import subjects as S
from report.test_html import parse


@pytest.fixture(scope="module")
def pure():
    return S.auglinear(hybrid=False)


@pytest.fixture(scope="module")
def hybrid():
    return S.auglinear(hybrid=True)


@pytest.fixture(scope="module")
def tree():
    return S.augtree(3)


def standalone(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    parsed = parse(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not any(k in ("src", "href") for k, _ in parsed.attrs)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_strongest_shades_have_readable_text():
    """WCAG contrast of a word's text on its shade is >= 4.5:1 at every strength and sign."""
    for sign in (1.0, -1.0):
        for strength in np.linspace(0.0, 1.0, 201):
            score = sign * strength
            background = shade_rgb(score, 1.0)
            text = (255, 255, 255) if ink(score, 1.0) == "light" else (0, 0, 0)
            assert contrast_ratio(text, background) >= 4.5, (score, background)
    # The old dark grey on the strongest shades was below the guideline: the reason for the ink.
    assert contrast_ratio((0x22, 0x22, 0x22), shade_rgb(1.0, 1.0)) < 4.5
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)


def test_shade_text_escapes_and_marks_every_word():
    text = "<b>bold</b> & plain"
    html = shade_text(text, [(3, 7), (14, 19)], [1.0, -1.0])
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count('<span class="w"') == 2 and 'data-ink="light"' in html
    assert 'data-i="1"' in html
    with pytest.raises(ValueError, match="spans"):
        shade_text(text, [(0, 1)], [1.0, 2.0])
    with pytest.raises(ValueError, match="overlaps"):
        shade_text(text, [(3, 7), (5, 9)], [1.0, 1.0])


@pytest.mark.parametrize("which", ["pure", "hybrid"])
def test_auglinear_report(which, request, tmp_path):
    model = request.getfixturevalue(which)
    page = model.to_html(S.EXAMPLES)
    standalone(page)
    for heading in ("Strongest n-grams", "Distribution of table values", "Coverage", "Example 3"):
        assert heading in page
    assert page.count('class="strongest"') == 1 and "<svg" in page
    assert ("phrase part" in page) == (which == "hybrid")
    assert "Example 4" not in page  # three shaded by default
    assert model.save_html(tmp_path / "r" / "a.html", S.EXAMPLES).read_text() == page
    assert "Coverage" not in model.to_html()  # no examples, no coverage
    fragment = model._repr_html_()
    assert fragment.startswith('<div class="glasstext-report">') and "<body" not in fragment
    bundle = model._repr_mimebundle_()
    assert bundle["text/html"] == fragment


def test_word_scores_add_up_to_the_decision(hybrid):
    e = hybrid.explain(S.EXAMPLES[2])
    _, total, _ = linear_word_scores(e)
    _, emb, _ = linear_word_scores(e, "embedding")
    _, phrase, titles = linear_word_scores(e, "phrase")
    assert total.sum() == pytest.approx(e.decision - e.intercept)
    assert emb + phrase == pytest.approx(total)
    assert any("fine" in t for t in titles)
    with pytest.raises(ValueError, match="part"):
        linear_word_scores(e, "other")


def test_multiclass_and_regressor_reports():
    reg = S.auglinear_regressor()
    page = reg.to_html(S.EXAMPLES[:1])
    standalone(page)
    assert "raise the output" in page and "Example 1" in page
    multi = S.auglinear(hybrid=True, n_classes=3)
    page = multi.to_html(S.EXAMPLES[:2])
    standalone(page)
    assert page.count('class="strongest"') == 3 and "mixed" in page


def test_augtree_report_draws_the_tree_and_the_path(tree):
    page = tree.to_html(S.EXAMPLES)
    standalone(page)
    assert '<svg class="tree"' in page and "The path of an example" in page
    e = tree.explain(S.EXAMPLES[0])
    path = [s.node for s in e.steps] + [e.leaf]
    for node in path:
        assert 'class="node on-path' in page and f'data-node="{node}"' in page
    assert page.count('class="node on-path') == len(path)
    assert "mixed" in page  # the class legend
    assert "The path of an example" not in tree.to_html()


def test_results_display_through_their_views(hybrid, tree):
    a = S.attribution()
    page = a.to_html()
    standalone(page)
    assert "Why toy_scorer says &#x27;positive&#x27;" in page
    assert "Class probabilities" in page and "every word deleted" in page
    lime = S.attribution("lime").to_html()
    assert "intercept of the local linear model" in lime
    proxied = S.proxied_attribution()
    assert "Proxy report" in proxied.to_html() and "target calls saved" in proxied.to_html()
    f = S.faithfulness_result()
    assert len(f.curve_fractions) == len(f.deletion_curve) == len(f.insertion_curve) > 2
    assert f.curve_fractions[0] == 0.0 and f.curve_fractions[-1] == 1.0
    html = f.to_html()
    assert "deletion: top words removed" in html and "<polyline" in html
    json.dumps(f.to_dict())
    for result in (
        f,
        proxied.proxy,
        hybrid.explain(S.EXAMPLES[0]),
        tree.explain(S.EXAMPLES[0]),
    ):
        fragment = result._repr_html_()
        assert fragment.startswith('<div class="glasstext-') and "as text" in fragment
        standalone(result_page(result))


def _heading(html: str) -> str:
    return html.split("<h1>", 1)[1].split("</h1>", 1)[0]


def test_every_subject_has_a_page_and_a_fragment_drawn_once(hybrid, tree):
    from glasstext.results import view

    a = S.attribution()
    subjects = [
        hybrid,
        tree,
        a,
        S.proxied_attribution().proxy,
        S.faithfulness_result(),
        hybrid.explain(S.EXAMPLES[0]),
        tree.explain(S.EXAMPLES[0]),
    ]
    for subject in subjects:
        page = view(subject, "page")
        standalone(page)
        fragment = view(subject, "fragment")
        assert fragment.startswith('<div class="glasstext-') and "<body" not in fragment
        assert _heading(page) == _heading(fragment)  # one drawing behind both
        assert _heading(view(subject, "page", title="Mine & yours")) == "Mine &amp; yours"
    assert a.to_html() == view(a, "page") and a._repr_html_() == view(a, "fragment")
    assert hybrid._repr_html_() == view(hybrid, "fragment")
    e = hybrid.explain(S.EXAMPLES[0])
    assert e.to_html() == view(e, "fragment") and result_page(e) == view(e, "page")


def test_the_html_kind_still_draws_what_it_meant_with_a_warning(hybrid):
    from glasstext.results import view

    e = hybrid.explain(S.EXAMPLES[0])
    for subject, meant in ((hybrid, "page"), (S.attribution(), "page"), (e, "fragment")):
        with pytest.warns(DeprecationWarning, match='"page"'):
            assert view(subject, "html") == view(subject, meant)


def test_the_blocks_inside_the_views_keep_their_old_names_for_one_release():
    from glasstext.report import linear, proto, tree

    for module, old, new in (
        (linear, "linear_explanation_fragment", "linear_explanation_block"),
        (tree, "tree_explanation_fragment", "tree_explanation_block"),
        (proto, "proto_explanation_fragment", "proto_explanation_block"),
    ):
        with pytest.warns(DeprecationWarning, match=new):
            assert getattr(module, old) is getattr(module, new)
    with pytest.raises(AttributeError):
        linear.no_such_name  # noqa: B018


def test_words_results(tmp_path):
    from explain.nl_fakes import AdditionLM, ThemeLM, addition_data, food_corpus, food_module
    from glasstext import explain_dataset, explain_module, summarize_model

    module = explain_module(food_module, food_corpus(), lm=ThemeLM(), progress=False)
    html = module.to_html()
    assert "Explanations, best first" in html and module.best.text in html
    standalone(result_page(module))
    X, y = addition_data()
    prompts = explain_dataset(X, y, lm=AdditionLM(), progress=False)
    html = prompts.to_html()
    assert "no prompt" in html and "Prompts, best first" in html
    standalone(result_page(prompts))
    summary = summarize_model(S.auglinear(hybrid=False), ThemeLM(), k=4)
    html = summary.to_html()
    assert "Summaries and their evidence" in html
    standalone(result_page(summary))


def _prompt_search(history):
    from glasstext.explain.iprompt import DatasetExplanation, PromptCandidate

    best = PromptCandidate("Add the two numbers.", score=-1.25, iteration=0, origin="proposal")
    baseline = PromptCandidate("", score=-3.5, iteration=-1, origin="baseline")
    return DatasetExplanation([best], baseline, history=history, n_iterations=len(history))


def test_prompt_search_history_flat_is_a_sentence_not_a_line():
    flat = _prompt_search([-1.25, -1.25, -1.25]).to_html()
    assert "Every round scored the same: -1.250" in flat and "3 rounds" in flat
    assert "<polyline" not in flat
    moving = _prompt_search([-2.0, -1.5, -1.25]).to_html()
    assert "Every round scored the same" not in moving
    assert "from -2.000 to -1.250" in moving and "<polyline" in moving


def test_models_never_import_the_report_layer():
    code = (
        "import sys, glasstext.models, glasstext.models.base; "
        "print(any(m.startswith('glasstext.report') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unfitted_model_shows_the_estimator_not_a_report():
    from glasstext import AugLinearClassifier

    model = AugLinearClassifier(encoder=S.WordEncoder())
    assert "AugLinearClassifier" in model._repr_html_()
    with pytest.raises(Exception, match="not fitted"):
        model.to_html()
