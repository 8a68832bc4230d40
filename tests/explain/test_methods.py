"""The table of attribution methods."""

import pytest

from glasstext.explain import (
    EXPLAINERS,
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    ProxyExplainer,
    explainer_names,
    register_explainer,
)
from glasstext.explain.proxy import METHODS


def test_the_table_names_every_method_and_the_old_name_still_works():
    assert explainer_names() == ["lime", "kernelshap", "occlusion"]
    assert explainer_names(aliases=True) == ["lime", "kernelshap", "shap", "occlusion"]
    assert EXPLAINERS["shap"] is KernelShapExplainer and METHODS is EXPLAINERS
    assert (EXPLAINERS["lime"], EXPLAINERS["occlusion"]) == (LimeExplainer, OcclusionExplainer)


def test_a_registered_method_is_offered_and_used_by_the_proxy(monkeypatch):
    class Occlusion2(OcclusionExplainer):
        method = "occlusion2"

    monkeypatch.setattr("glasstext.explain.methods.EXPLAINERS", dict(EXPLAINERS))
    from glasstext.explain import methods

    register_explainer("occlusion2", Occlusion2)
    assert "occlusion2" in methods.explainer_names()
    proxy = ProxyExplainer(
        lambda t: [[0.5, 0.5]] * len(t), lambda t: [[0.5, 0.5]] * len(t), method="occlusion2"
    )
    assert type(proxy.explainer) is Occlusion2
    with pytest.raises(TypeError, match="Explainer subclass"):
        register_explainer("bad", dict)  # type: ignore[arg-type]
