from glasstext.expansion import NoExpander, parse_phrase_list


def test_parse_phrase_list_cleans_numbered_quoted_and_preamble_lists():
    answer = (
        'Here are 10 words:\n1. Excellent\n2. "superb"\n3. wonderful, fantastic; great film\n'
        "- very good or fine\n* Great\n"
    )
    assert parse_phrase_list(answer, "great") == [
        "excellent",
        "superb",
        "wonderful",
        "fantastic",
        "great film",
        "very good",
        "fine",
    ]


def test_parse_phrase_list_limits_length_and_count():
    answer = "excellent, superb, top-notch, a truly remarkable piece of cinema, amazing"
    assert parse_phrase_list(answer, limit=3) == ["excellent", "superb", "top-notch"]
    assert "a truly remarkable piece of cinema" not in parse_phrase_list(answer, max_words=3)
    assert parse_phrase_list("bad, bad, BAD, awful, awful", "bad") == ["awful"]
    assert parse_phrase_list("") == []


def test_no_expander():
    assert NoExpander().expand(["a", "b"]) == {"a": [], "b": []}


class _Table:
    def __init__(self, table, usage=None):
        self.table, self._usage = table, usage or {}

    def expand(self, keywords):
        return {k: list(self.table.get(k, [])) for k in keywords}

    def usage(self):
        return self._usage


def test_combined_expander_interleaves_and_deduplicates():
    from glasstext.expansion import CombinedExpander

    lm = _Table({"good": ["great", "fine", "nice"]}, {"n_generate_calls": 1})
    emb = _Table({"good": ["fine", "decent"]}, {"n_encoded": 4})
    combined = CombinedExpander(lm, emb)
    assert combined.expand(["good", "bad"]) == {
        "good": ["great", "fine", "decent", "nice"],
        "bad": [],
    }
    assert combined.usage() == {"n_generate_calls": 1, "n_encoded": 4}
