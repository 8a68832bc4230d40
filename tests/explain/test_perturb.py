import numpy as np
import pytest

from glasstext.explain.perturb import dedup_rows, dedup_texts, make_units, render, render_many


def keep(*bits):
    return np.array(bits, dtype=bool)


def test_units_have_spans_into_the_original_text():
    text = "Un film très réussi — ça m'a plu!"
    units = make_units(text)
    assert units.words == ("Un", "film", "très", "réussi", "ça", "m'a", "plu")
    for (s, e), w in zip(units.spans, units.words, strict=True):
        assert text[s:e] == w
    assert "".join(g + w for g, w in zip(units.gaps, (*units.words, ""), strict=True)) == text


def test_deletion_joins_the_text_and_collapses_whitespace():
    units = make_units("A gorgeous, witty film.")
    assert render(units, keep(1, 0, 1, 1)) == "A , witty film."
    assert render(units, keep(0, 1, 1, 1)) == "gorgeous, witty film."
    assert render(units, keep(1, 1, 1, 0)) == "A gorgeous, witty ."
    assert render(units, keep(0, 0, 0, 0)) == ", ."
    assert render(units, keep(1, 1, 1, 1)) == "A gorgeous, witty film."


def test_mask_token_replaces_each_word():
    units = make_units("A gorgeous, witty film.")
    assert render(units, keep(1, 0, 0, 1), "[MASK]") == "A [MASK], [MASK] film."


def test_untouched_text_keeps_its_exact_whitespace():
    units = make_units("one  two\n\nthree   four")
    assert render(units, keep(1, 1, 1, 0)) == "one  two\n\nthree"
    assert render(units, keep(1, 0, 1, 1)) == "one\nthree   four"


@pytest.mark.parametrize("bad", ["", "   \n", "?!... --"])
def test_a_text_without_words_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"empty|no words"):
        make_units(bad)


def test_a_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="str"):
        make_units(["a list"])  # type: ignore[arg-type]


def test_long_texts_are_grouped_into_contiguous_segments():
    text = " ".join(f"w{i}" for i in range(1000))
    units = make_units(text, max_units=10)
    assert units.grouped and len(units) == 10
    assert units.words[0].split() == [f"w{i}" for i in range(100)]
    assert render(units, np.ones(10, bool)) == text
    assert make_units(text, max_units=None).grouped is False


def test_dedup_rows_keeps_first_order_and_counts():
    masks = np.array([[1, 0], [0, 1], [1, 0], [1, 1], [0, 1], [1, 0]], dtype=bool)
    unique, counts, inverse = dedup_rows(masks)
    assert unique.tolist() == [[True, False], [False, True], [True, True]]
    assert counts.tolist() == [3, 2, 1]
    assert (unique[inverse] == masks).all()


def test_dedup_texts_maps_back():
    texts, inverse = dedup_texts(["b", "a", "b", "c"])
    assert texts == ["b", "a", "c"]
    assert [texts[i] for i in inverse] == ["b", "a", "b", "c"]


def test_render_many_matches_render():
    units = make_units("very very good")
    masks = np.array([[0, 1, 1], [1, 0, 1]], dtype=bool)
    # two different masks, one text: deduplication at the text level catches it
    assert render_many(units, masks) == ["very good", "very good"]
