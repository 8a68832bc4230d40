import pytest

from glasstext.text import (
    NgramIndex,
    NgramVocabulary,
    check_ngram_range,
    extract_ngrams,
    ngrams_of_tokens,
    tokenize,
    tokenize_with_spans,
)


def test_tokenize_lowercases_and_keeps_inner_apostrophes():
    assert tokenize("Don't LOVE it, 100%!") == ["don't", "love", "it", "100"]
    assert tokenize("Don't", lowercase=False) == ["Don't"]


def test_spans_point_into_the_original_text():
    text = "  Hello,  wide   World! "
    tokens = tokenize_with_spans(text)
    assert [t.text for t in tokens] == ["hello", "wide", "world"]
    assert [text[t.start : t.end] for t in tokens] == ["Hello", "wide", "World"]


def test_ngrams_in_range_and_order():
    toks = ["a", "b", "c"]
    assert ngrams_of_tokens(toks, (1, 1)) == ["a", "b", "c"]
    assert ngrams_of_tokens(toks, (1, 2)) == ["a", "b", "c", "a b", "b c"]
    assert ngrams_of_tokens(toks, (2, 3)) == ["a b", "b c", "a b c"]
    assert ngrams_of_tokens(toks, (4, 5)) == []
    assert extract_ngrams("The the", (1, 1)) == ["the", "the"]


@pytest.mark.parametrize("bad", [(0, 1), (2, 1), (1,), "ab", None])
def test_bad_ngram_range_is_rejected(bad):
    with pytest.raises(ValueError, match="ngram_range"):
        check_ngram_range(bad)


def test_vocabulary_counts_repeats_and_reports_unknown():
    docs = [["a", "b", "a"], ["c"], []]
    vocab = NgramVocabulary.from_documents(docs[:1])
    assert vocab.ngrams == ["a", "b"]
    counts, unknown = vocab.count_matrix(docs)
    assert counts.toarray().tolist() == [[2, 1], [0, 0], [0, 0]]
    assert unknown == [[], ["c"], []]


def test_vocabulary_min_count_and_add():
    vocab = NgramVocabulary.from_documents([["a", "b", "a"]], min_count=2)
    assert vocab.ngrams == ["a"]
    assert vocab.add(["b", "a", "b"]) == ["b"]
    assert vocab.index == {"a": 0, "b": 1}
    with pytest.raises(ValueError, match="duplicates"):
        NgramVocabulary(["x", "x"])


def test_vocabulary_is_deterministic_on_many_documents():
    docs = [extract_ngrams(f"word{i % 97} other{i % 13} word{i % 5}", (1, 2)) for i in range(5000)]
    a = NgramVocabulary.from_documents(docs)
    b = NgramVocabulary.from_documents(docs)
    assert a.ngrams == b.ngrams
    counts, _ = a.count_matrix(docs)
    assert counts.sum() == sum(len(d) for d in docs)


@pytest.mark.parametrize(
    "text",
    [
        "Don't LOVE it, 100%!",
        "ΟΔΟΣ Σοφίας and İstanbul’s well-known café",
        "tabs\tand\nnewlines   and ＦＵＬＬ width",
        "",
        "!!! ...",
    ],
)
def test_batch_lookup_tokenizes_exactly_like_tokenize(text):
    # Fit uses tokenize(); table-only prediction uses NgramIndex: they must agree.
    index = NgramIndex(["a"])
    words, _, lengths = index.words_of([text, "x y"])
    assert words == [*tokenize(text), "x", "y"]
    assert lengths.tolist() == [len(tokenize(text)), 2]


def test_index_finds_every_occurrence_like_ngrams_of_tokens():
    docs = ["the good film", "good good film", "a film"]
    vocab = NgramVocabulary.from_documents([extract_ngrams(d, (1, 2)) for d in docs[:2]])
    occ = NgramIndex(vocab.ngrams).occurrences(docs, (1, 2))
    found = sorted((int(occ.doc[i]), occ.ngram(i)) for i in range(len(occ.row)))
    want = sorted((d, g) for d, t in enumerate(docs) for g in extract_ngrams(t, (1, 2)))
    assert found == want
    rows = {occ.ngram(i): int(occ.row[i]) for i in range(len(occ.row))}
    assert rows["a"] == -1 and rows["a film"] == -1
    assert rows["good film"] == vocab.index["good film"]


def test_phrase_matcher_matches_whole_words_case_insensitively():
    from glasstext.text import PhraseMatcher

    m = PhraseMatcher(["good", "not good", "Movies", "xyz abc", "", "good"])
    got = m.matrix(["A GOOD film, not good!", "goodness", "movies are fun"]).toarray()
    assert got.tolist() == [[1, 1, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]]
    assert m.matrix([]).shape == (0, 6)
    assert PhraseMatcher([]).matrix(["x"]).shape == (1, 0)


def test_phrase_matcher_with_stems():
    from glasstext.text import PhraseMatcher

    m = PhraseMatcher(["movie", "runs", "running late"], stem=True)
    got = m.matrix(["Movies running", "movie run", "he runs late", "Moving"]).toarray()
    assert got.tolist() == [[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 0]]
