"""SASC over many modules in one call (the local path; Ray's is in tests/backends)."""

import json

import pytest

from explain.nl_fakes import ThemeLM, food_corpus, food_module, road_module, two_outputs
from glasstext.explain.distributed import explain_modules
from glasstext.explain.sasc import explain_module


def _same(a, b):
    keys = ("explanations", "top_ngrams", "scale", "n_ngrams", "module_calls")
    da, db = a.to_dict(), b.to_dict()
    return json.dumps({k: da[k] for k in keys}) == json.dumps({k: db[k] for k in keys})


def test_each_module_as_alone_with_the_same_seed():
    corpus = food_corpus()
    got = explain_modules(
        [food_module, road_module], corpus, ThemeLM(), random_state=2, n_synthetic=4
    )
    assert [r.best.text for r in got] == ["food", "roads and cars"]
    for module, result in zip([food_module, road_module], got, strict=True):
        alone = explain_module(
            module, corpus, ThemeLM(), random_state=2, n_synthetic=4, progress=False
        )
        assert _same(result, alone)


def test_outputs_pick_columns_of_one_module():
    corpus = food_corpus()
    got = explain_modules([two_outputs] * 2, corpus, ThemeLM(), outputs=[0, 1])
    want = explain_modules([food_module, road_module], corpus, ThemeLM())
    assert all(_same(a, b) for a, b in zip(got, want, strict=True))


def test_bad_calls():
    with pytest.raises(ValueError, match="outputs has 1"):
        explain_modules([food_module, road_module], food_corpus(), ThemeLM(), outputs=[0])
    with pytest.raises(TypeError, match="outputs="):
        explain_modules([food_module], food_corpus(), ThemeLM(), output=0)
    with pytest.raises(TypeError):
        explain_modules([food_module], "one text", ThemeLM())
    assert explain_modules([], food_corpus(), ThemeLM()) == []
