from html.parser import HTMLParser

import numpy as np

from glasstext.explain import Attribution, OcclusionExplainer, ProxyExplainer
from glasstext.report import attribution_html, save_html
from glasstext.text import tokenize

TEXT = 'A <script>alert("x")</script> gorgeous & witty film — très "bien"'


def model(texts):
    p = np.array([0.2 + 0.6 * ("gorgeous" in tokenize(t)) for t in texts])
    return np.column_stack([1 - p, p])


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Collect:
    parser = Collect()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    return parser


def test_html_is_standalone_escaped_and_balanced():
    a = OcclusionExplainer(model).explain(TEXT)
    page = attribution_html(a)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    parsed = parse(page)
    assert "script" not in parsed.tags  # the text's markup is shown, not run
    assert 'alert("x")' in "".join(parsed.text)
    assert not any(k in ("src", "href") for k, _ in parsed.attrs)
    assert "http" not in page
    body = "".join(parsed.text)
    for word in a.words:
        assert word in body


def test_words_are_shaded_by_sign_and_size():
    a = OcclusionExplainer(model).explain(TEXT)
    page = attribution_html(a)
    top = a.words[int(np.argmax(a.scores))]
    assert top == "gorgeous"
    assert 'style="background:rgba(33, 102, 172, 0.800)" title="+0.6000">gorgeous<' in page


def test_proxy_decision_is_shown_and_file_written(tmp_path):
    a = ProxyExplainer(model, model, "lime", n_samples=40).explain(TEXT)
    path = save_html(a, tmp_path / "e.html", title="My <title>")
    page = path.read_text(encoding="utf-8")
    assert "proxy decision" in page and "My &lt;title&gt;" in page
    parse(page)
    assert a.to_html().count('<span class="w"') == len(a)


def test_zero_scores_render():
    a = Attribution(
        text="plain words",
        words=("plain", "words"),
        spans=((0, 5), (6, 11)),
        scores=np.zeros(2),
        base_value=0.5,
        value=0.5,
        explained_class=0,
        class_name=None,
        method="occlusion",
        n_calls=0,
        n_texts=0,
        n_samples=0,
    )
    assert "transparent" in attribution_html(a)
