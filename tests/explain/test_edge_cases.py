"""One word, no words, 5,000 words, non-ASCII: a sensible result or a clear error."""

import numpy as np
import pytest

from glasstext.explain import (
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    ProxyExplainer,
)
from glasstext.text import tokenize

POSITIVE = {"good", "great", "gut", "bien", "très", "好", "😀"}


def sentiment(texts):
    p = []
    for t in texts:
        words = tokenize(t)
        hits = sum(w in POSITIVE for w in words)
        p.append(1 / (1 + np.exp(-(hits - 0.5 - 0.01 * len(words)))))
    p = np.array(p)
    return np.column_stack([1 - p, p])


EXPLAINERS = [
    lambda: LimeExplainer(sentiment, n_samples=60),
    lambda: KernelShapExplainer(sentiment, n_samples=60),
    lambda: OcclusionExplainer(sentiment),
    lambda: ProxyExplainer(sentiment, sentiment, "kernelshap", n_samples=60),
]


@pytest.mark.parametrize("make", EXPLAINERS)
def test_one_word(make):
    a = make().explain("good")
    assert a.words == ("good",) and a.scores.shape == (1,)
    assert a.scores[0] == pytest.approx(a.value - a.base_value)


@pytest.mark.parametrize("make", EXPLAINERS)
@pytest.mark.parametrize("text", ["", "   ", "!!! ..."])
def test_no_words_is_a_value_error(make, text):
    with pytest.raises(ValueError, match=r"empty|no words"):
        make().explain(text)


@pytest.mark.parametrize("make", EXPLAINERS)
def test_not_a_string_is_a_type_error(make):
    with pytest.raises(TypeError, match="str"):
        make().explain(b"good")


@pytest.mark.parametrize("make", EXPLAINERS)
def test_five_thousand_words_run_as_segments(make):
    words = ["good" if i % 97 == 0 else "plain" for i in range(5000)]
    a = make().explain(" ".join(words))
    assert a.grouped and len(a) == 100
    assert sum(len(w.split()) for w in a.words) == 5000
    assert np.all(np.isfinite(a.scores))


def test_five_thousand_single_words_when_asked():
    text = " ".join(["plain"] * 4999 + ["good"])
    a = LimeExplainer(sentiment, n_samples=50, max_units=None).explain(text)
    assert len(a) == 5000 and not a.grouped
    assert a.n_calls <= 50 and np.all(np.isfinite(a.scores))


@pytest.mark.parametrize("make", EXPLAINERS)
def test_non_ascii_text(make):
    text = "Très bien — un film 好 😀 fantastique"
    a = make().explain(text)
    assert "Très" in a.words and "好" in a.words
    assert all(text[s:e] == w for (s, e), w in zip(a.spans, a.words, strict=True))
    assert a.words[int(np.argmax(a.scores))] in {"Très", "bien", "好"}
