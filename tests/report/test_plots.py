import sys

import numpy as np
import pytest

from glasstext.explain import OcclusionExplainer


def model(texts):
    p = np.array([0.3 + 0.4 * ("good" in t) for t in texts])
    return np.column_stack([1 - p, p])


def test_bar_chart_draws_the_top_scores():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = OcclusionExplainer(model).explain("a good but long film")
    ax = a.plot(top=3)
    assert len(ax.patches) == 3
    assert ax.get_yticklabels()[-1].get_text().startswith("good")
    plt.close("all")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    a = OcclusionExplainer(model).explain("a good film")
    with pytest.raises(ImportError, match=r"pip install glasstext\[plot\]"):
        a.plot()
