import json
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from glasstext import AugLinearClassifier, AugLinearRegressor, Encoder, UnseenNgramWarning
from glasstext.io import ModelFileError
from glasstext.text import extract_ngrams
from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "acting", "the", "a", "is", "was", "and", "very", "story"]


class FakeEncoder:
    """Deterministic word vectors; an n-gram is the mean of its words, like mean pooling."""

    dim = 12

    def __init__(self):
        self.calls: list[list[str]] = []

    def word_vector(self, word):
        rng = np.random.default_rng(zlib.crc32(word.encode()))
        v = rng.normal(size=self.dim)
        v[0] = 2.0 if word in POS else -2.0 if word in NEG else 0.0
        return v

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array(
            [np.mean([self.word_vector(w) for w in t.split()], axis=0) for t in texts],
            dtype=np.float32,
        ).reshape(len(texts), self.dim)


def make_texts(n, seed=0, classes=2):
    pools = [NEG, POS] if classes == 2 else [POS, NEG, ["story", "plot"]]
    return planted_texts(n, pools, list(range(classes)), FILLER, 4, seed)


@pytest.fixture
def data():
    return make_texts(120)


@pytest.fixture
def fitted(data):
    X, y = data
    # Summed, so that each n-gram's contribution is its table value whatever the text's length.
    return AugLinearClassifier(
        encoder=FakeEncoder(), ngram_range=(1, 2), hybrid=False, doc_pooling="sum"
    ).fit(X, y)


def manual_decision(model, text):
    total = model.intercept_.copy()
    for g in extract_ngrams(text, model.ngram_range):
        total = total + model.coef_table_[model.vocabulary_.index[g]]
    return total


def test_sklearn_contract(data):
    enc = FakeEncoder()
    model = AugLinearClassifier(encoder=enc, ngram_range=[1, 3], cv=3)
    assert model.get_params()["ngram_range"] == [1, 3]  # stored untouched
    twin = clone(model)
    assert twin.get_params()["cv"] == 3 and twin is not model
    model.set_params(cv=4)
    assert model.cv == 4
    X, y = data
    assert model.fit(X, y) is model
    assert list(model.classes_) == [0, 1]
    assert not hasattr(twin, "coef_table_")


def test_learns_the_planted_signal(fitted):
    X_test, y_test = make_texts(60, seed=1)
    assert fitted.score(X_test, y_test) > 0.9
    top = fitted.top_ngrams(3)
    assert all(any(w in g.split() for w in POS) for g, _ in top[1])
    assert all(any(w in g.split() for w in NEG) for g, _ in top[0])


def test_decision_is_intercept_plus_table_sum(fitted, data):
    texts = data[0][:10]  # every n-gram is in the table
    got = fitted.decision_function(texts)
    want = [manual_decision(fitted, t)[0] for t in texts]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_outputs_agree_with_each_other(fitted):
    texts, _ = make_texts(20, seed=3)
    d = fitted.decision_function(texts)
    p = fitted.predict_proba(texts)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-d)))
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_array_equal(fitted.predict(texts), fitted.classes_[(d > 0).astype(int)])


def test_explain_sums_to_decision(fitted):
    text = "the movie was very good and the plot was good"
    e = fitted.explain(text)
    assert e.intercept == pytest.approx(float(fitted.intercept_[0]))
    total = e.intercept + sum(v for _, v in e.contributions)
    assert total == pytest.approx(fitted.decision_function([text])[0], abs=1e-10)
    assert e.decision == pytest.approx(total)
    assert e.counts["good"] == 2
    assert dict(e.contributions)["good"] == pytest.approx(
        2 * manual_decision(fitted, "good")[0] - 2 * fitted.intercept_[0]
    )
    assert "good" in str(e)


def test_multiclass_with_string_labels():
    X, y = make_texts(150, classes=3)
    names = np.array(["pos", "neg", "meh"])[y]
    model = AugLinearClassifier(encoder=FakeEncoder()).fit(X, names)
    assert sorted(model.classes_) == ["meh", "neg", "pos"]
    assert model.coef_table_.shape[1] == 3
    texts = X[:9]
    d = model.decision_function(texts)
    want = np.array([manual_decision(model, t) for t in texts])
    np.testing.assert_allclose(d, want, rtol=1e-10)
    p = model.predict_proba(texts)
    np.testing.assert_allclose(p, np.exp(d) / np.exp(d).sum(1, keepdims=True))
    np.testing.assert_array_equal(model.predict(texts), model.classes_[d.argmax(1)])
    e = model.explain(texts[0])
    np.testing.assert_allclose(e.intercept + sum(v for _, v in e.contributions), d[0])
    assert set(model.top_ngrams(2)) == {"meh", "neg", "pos"}


def test_a_class_rarer_than_the_folds_is_kept_with_a_warning_naming_it():
    # As in Reuters R52: a topic with one training document. scikit-learn's
    # LogisticRegressionCV keeps it with a warning; so do we, once and by name.
    X, y = make_texts(60)
    labels = np.where(np.asarray(y) == 1, "pos", "neg").astype(object)
    X, labels = [*X, "story plot story"], [*labels, "rare"]
    with pytest.warns(UserWarning, match=r"1 class\(es\).*'rare' \(1\)") as caught:
        model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(X, labels)
    assert sum("fewer examples than the 5" in str(w.message) for w in caught) == 1
    assert not [w for w in caught if "least populated" in str(w.message)]
    assert list(model.classes_) == ["neg", "pos", "rare"]
    assert model.coef_table_.shape[1] == 3
    assert model.score(X[:60], labels[:60]) > 0.9


class RecordingBar:
    def __init__(self, total):
        self.total, self.updates = total, []

    def update(self, n):
        self.updates.append(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(
    ("settings", "total", "during"),
    [
        ({"doc_pooling": "sum"}, 6, [1, 1, 1, 1, 1, 1]),  # five folds, then the refit
        ({}, 24, [1] * 24),  # the three poolings screened on the embedding alone, then the hybrid
        ({"doc_pooling": "sum", "cv": 3}, 4, [1, 1, 1, 1]),
        ({"doc_pooling": "sum", "n_jobs": 2}, 6, [1] * 6),  # other processes: fold by fold too
    ],
)
def test_the_fit_progress_advances_fold_by_fold(monkeypatch, settings, total, during):
    import joblib

    from glasstext.models import auglinear

    settings = dict(settings)
    n_jobs = settings.pop("n_jobs", None)

    bars = []

    def recording(total, desc, progress, unit="it"):
        bars.append(RecordingBar(total))
        return bars[-1]

    monkeypatch.setattr(auglinear, "progress_bar", recording)
    X, y = make_texts(60)
    with joblib.parallel_config(n_jobs=n_jobs):
        AugLinearClassifier(encoder=FakeEncoder(), **settings).fit(X, y)
    (bar,) = [b for b in bars if b.total == total]
    assert bar.updates == during


def test_classes_with_one_example_each_fail_before_any_embedding():
    encoder = FakeEncoder()
    with pytest.raises(ValueError, match="every class has a single example"):
        AugLinearClassifier(encoder=encoder).fit(["good film", "bad film"], ["a", "b"])
    assert encoder.calls == []


def test_pandas_series_input(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder()).fit(pd.Series(X), pd.Series(y))
    assert model.predict(pd.Series(X[:3])).shape == (3,)


def test_unseen_ngrams_back_off_to_their_parts_and_are_reported(data):
    X, y = data  # without the composition map: the mean of the parts
    fitted = AugLinearClassifier(
        FakeEncoder(), (1, 2), hybrid=False, compose=False, doc_pooling="sum"
    ).fit(X, y)
    text = "good story"  # "good story" is a bigram never seen in training
    assert "good story" not in fitted.vocabulary_
    with pytest.warns(UnseenNgramWarning, match="1 of 3 n-gram occurrences"):
        d = fitted.decision_function([text])[0]
    values = {g: fitted.coef_table_[fitted.vocabulary_.index[g], 0] for g in ("good", "story")}
    backoff = (values["good"] + values["story"]) / 2
    assert d == pytest.approx(fitted.intercept_[0] + values["good"] + values["story"] + backoff)
    e = fitted.explain(text)
    assert e.sources["good story"] == "backoff"
    report = fitted.unseen_report([text, "zzz qqq"])
    assert (report.n_unseen, report.n_backed_off, report.n_zero) == (4, 1, 3)


def test_completely_unknown_text_gets_the_intercept(fitted):
    with pytest.warns(UnseenNgramWarning):
        d = fitted.decision_function(["zzz qqq"])[0]
    assert d == pytest.approx(fitted.intercept_[0])
    assert fitted.explain("zzz").sources == {"zzz": "unseen"}


def test_unseen_embed_extends_the_table(data):
    X, y = data
    enc = FakeEncoder()
    model = AugLinearClassifier(encoder=enc, unseen="embed", doc_pooling="sum").fit(X, y)
    n_before = len(model.vocabulary_)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = model.decision_function(["good story"])[0]
    assert "1 embedded" in str(caught[0].message)
    assert len(model.vocabulary_) == n_before + 1
    new_value = enc.encode(["good story"])[0].astype(np.float64) @ model.coef_[0]
    assert model.coef_table_[-1, 0] == pytest.approx(new_value)
    assert d == pytest.approx(manual_decision(model, "good story")[0])


def test_vocabulary_widens_the_table_ahead_of_time(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), vocabulary=["Good Story!"]).fit(X, y)
    assert "good story" in model.vocabulary_
    assert model.unseen_report(["good story"]).n_unseen == 0
    assert model.extend_vocabulary(["lovely plot", "good"]) == 1


def test_bigram_only_model_backs_off_to_words(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), ngram_range=(2, 2)).fit(X, y)
    assert "good" in model.vocabulary_  # embedded for backoff only
    assert all(" " in g for g, _ in model.top_ngrams(50)[1])
    assert model.unseen_report(["good story"]).n_backed_off == 1


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        ([], [], ValueError, "empty"),
        (["good", "  "], [0, 1], ValueError, "blank"),
        (["good", None], [0, 1], TypeError, r"X\[1\]"),
        ("good bad", [0, 1], TypeError, "single string"),
        (["good", "bad"], [1, 1], ValueError, "single class"),
        (["good", "bad", "fine"], [0, 1], ValueError, "3 texts but y has 2"),
        (["good", "bad"], [0.0, np.nan], ValueError, "NaN"),
        (["good", "bad"], [0, None], ValueError, "missing"),
    ],
)
def test_bad_inputs_raise_clear_errors(X, y, error, match):
    with pytest.raises(error, match=match):
        AugLinearClassifier(encoder=FakeEncoder()).fit(X, y)


def test_bad_params_and_unfitted_use(fitted):
    X, y = make_texts(20)
    with pytest.raises(ValueError, match="ngram_range"):
        AugLinearClassifier(encoder=FakeEncoder(), ngram_range=(2, 1)).fit(X, y)
    with pytest.raises(ValueError, match="unseen"):
        AugLinearClassifier(encoder=FakeEncoder(), unseen="drop").fit(X, y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        AugLinearClassifier(encoder=FakeEncoder()).predict(["good"])
    with pytest.raises(ValueError, match="empty"):
        fitted.predict([])


def test_folds_in_parallel_give_the_same_model(data):
    import joblib

    X, y = data
    one = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(X, y)
    with joblib.parallel_config(n_jobs=2):
        two = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(X, y)
    np.testing.assert_allclose(two.coef_table_, one.coef_table_, rtol=1e-8, atol=1e-10)
    assert two.C_ == one.C_


@pytest.mark.parametrize(
    ("keyword", "message"),
    [
        ("phrase_weight", "phrase_weight= is removed: the phrase features have weight 1"),
        ("embedding_norm", "embedding_norm= is removed: its 'unit' option measured no better"),
        ("n_jobs", "n_jobs= is removed: fit the folds in parallel with joblib.parallel_config"),
    ],
)
def test_removed_keywords_fail_with_one_line_naming_why(keyword, message):
    with pytest.raises(TypeError, match=message) as caught:
        AugLinearClassifier(**{keyword: 1})
    assert "\n" not in str(caught.value)


def test_regressor_is_additive():
    X, y = make_texts(100)
    target = y * 3.0 - 1.0 + np.random.default_rng(0).normal(scale=0.1, size=len(y))
    model = AugLinearRegressor(encoder=FakeEncoder()).fit(X, target)
    texts, labels = X[:10], y[:10]
    pred = model.predict(texts)
    np.testing.assert_allclose(pred, [manual_decision(model, t)[0] for t in texts], rtol=1e-10)
    assert np.corrcoef(pred, labels)[0, 1] > 0.9
    e = model.explain(texts[0])
    assert e.intercept + sum(v for _, v in e.contributions) == pytest.approx(pred[0])
    assert set(model.top_ngrams(3)) == {"positive", "negative"}
    with pytest.raises(ValueError, match="numbers"):
        AugLinearRegressor(encoder=FakeEncoder()).fit(X, ["a"] * len(X))


# -- persistence --------------------------------------------------------------


@pytest.fixture
def saved(tiny_bert_dir, tmp_path, store):
    X, y = make_texts(80)
    model = AugLinearClassifier(encoder=Encoder(str(tiny_bert_dir), cache=store)).fit(X, y)
    path = model.save(tmp_path / "model")
    return model, path


def test_save_load_predicts_identically(saved):
    model, path = saved
    loaded = AugLinearClassifier.load(path)
    texts = [*make_texts(20, seed=4)[0], "good story zzz"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        np.testing.assert_array_equal(
            loaded.decision_function(texts), model.decision_function(texts)
        )
        np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    assert loaded.get_params()["ngram_range"] == (1, 2)
    assert not (path / "model.pkl").exists()


def test_loaded_model_predicts_without_torch(saved):
    model, path = saved
    texts = make_texts(15, seed=6)[0] + ["good story zzz"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        want = model.decision_function(texts).tolist()
    script = f"""
import json, sys, warnings

class BlockTorch:  # behaves as if torch and transformers were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ImportError(f"blocked: {{name}}")
        return None

sys.meta_path.insert(0, BlockTorch())
try:
    import torch
    raise SystemExit("torch imported despite the block")
except ImportError:
    pass
warnings.simplefilter("ignore")
from glasstext import AugLinearClassifier
m = AugLinearClassifier.load({str(path)!r})
print(json.dumps(m.decision_function({texts!r}).tolist()))
assert "torch" not in sys.modules
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == want


def test_corrupt_saved_models_raise_clear_errors(saved, tmp_path):
    _, path = saved
    with pytest.raises(ModelFileError, match="not a folder"):
        AugLinearClassifier.load(tmp_path / "nowhere")
    with pytest.raises(ModelFileError, match="holds a AugLinearClassifier"):
        AugLinearRegressor.load(path)
    arrays = path / "arrays.safetensors"
    blob = bytearray(arrays.read_bytes())
    blob[-5] ^= 0xFF
    arrays.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="checksum"):
        AugLinearClassifier.load(path)
    (path / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="corrupt"):
        AugLinearClassifier.load(path)
    arrays.unlink()
    with pytest.raises(ModelFileError, match=r"arrays\.safetensors missing"):
        AugLinearClassifier.load(path)


def test_idf_weighted_model_saves_and_loads_identically(tiny_bert_dir, tmp_path, store):
    X, y = make_texts(80)
    model = AugLinearClassifier(
        encoder=Encoder(str(tiny_bert_dir), cache=store), embedding_weight="idf"
    ).fit(X, y)
    loaded = AugLinearClassifier.load(model.save(tmp_path / "idf"))
    assert loaded.unseen_weight_ == model.unseen_weight_ > 1
    assert loaded.get_params()["embedding_weight"] == "idf"
    texts = [*make_texts(10, seed=5)[0], "good story zzz"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        np.testing.assert_array_equal(
            loaded.decision_function(texts), model.decision_function(texts)
        )


def test_saving_over_a_model_replaces_it(saved):
    model, path = saved
    model.save(path, overwrite=True)
    assert AugLinearClassifier.load(path).coef_table_.shape == model.coef_table_.shape
    assert not [p.name for p in path.parent.iterdir() if p.name.startswith(".")]


def test_model_with_encoder_object_cannot_be_saved(fitted, tmp_path):
    with pytest.raises(TypeError, match="encoder is a name, a folder or an Encoder"):
        fitted.save(tmp_path / "m")


# -- the real offline encoder ----------------------------------------------------


@pytest.mark.integration
def test_rotten_tomatoes_with_minilm(tmp_path):
    from glasstext.backends.cache import SqliteStore
    from glasstext.datasets import load

    ds = load("rotten_tomatoes").subset(300, 200)
    store = SqliteStore(tmp_path / "c.sqlite")
    model = AugLinearClassifier(Encoder(cache=store)).fit(ds.X_train, ds.y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        acc = model.score(ds.X_test, ds.y_test)
    assert acc > 0.58  # 300 training snippets: well above chance, far from the full-data figure
    warm = AugLinearClassifier(Encoder(cache=store)).fit(ds.X_train, ds.y_train)
    np.testing.assert_allclose(warm.coef_table_, model.coef_table_)


def test_refit_on_other_data_uses_the_new_table(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder()).fit(X, y)
    model.decision_function(X[:3])  # builds the lookup index
    # Same n-grams in another order: same table size, different rows.
    X2, y2 = X[::-1], (1 - y)[::-1]
    flipped = AugLinearClassifier(encoder=FakeEncoder()).fit(X2, y2)
    model.fit(X2, y2)
    assert (
        model.vocabulary_.ngrams
        != AugLinearClassifier(encoder=FakeEncoder()).fit(X, y).vocabulary_.ngrams
    )
    np.testing.assert_allclose(model.decision_function(X[:5]), flipped.decision_function(X[:5]))


# -- the hybrid table (the default): embedding part + phrase part, still exact ----------


@pytest.fixture
def hybrid(data):
    X, y = data
    return AugLinearClassifier(encoder=FakeEncoder(), ngram_range=(1, 2), doc_pooling="sum").fit(
        X, y
    )


def test_hybrid_is_the_default_and_its_table_is_the_sum_of_two_parts(hybrid):
    assert hybrid.hybrid is True
    assert np.any(hybrid.phrase_table_ != 0)
    np.testing.assert_array_equal(
        hybrid.coef_table_, hybrid.embedding_table_ + hybrid.phrase_table_
    )
    np.testing.assert_allclose(
        hybrid.embedding_table_,
        FakeEncoder().encode(hybrid.vocabulary_.ngrams) @ hybrid.coef_.T,
        atol=1e-12,
    )


def test_hybrid_decision_is_intercept_plus_table_values(hybrid, data):
    X, _ = data
    texts = X[:20]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        d = hybrid.decision_function(texts)
    manual = [manual_decision(hybrid, t)[0] for t in texts]  # training texts: all in the table
    np.testing.assert_allclose(d, manual, atol=1e-10)
    e = hybrid.explain(X[0])
    assert sum(v for _, v in e.contributions) + e.intercept == pytest.approx(d[0], abs=1e-10)
    for g, v in e.contributions:
        assert e.embedding_part(g) + e.phrase_parts[g] == pytest.approx(v, abs=1e-12)


def test_hybrid_matches_the_same_fit_done_by_hand(data):
    """The phrase features are idf-weighted counts beside the standardised sums."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), ngram_range=(1, 2)).fit(X, y)
    docs = [extract_ngrams(t, (1, 2)) for t in X]
    counts, _ = model.vocabulary_.count_matrix(docs)
    sums = np.asarray(counts @ FakeEncoder().encode(model.vocabulary_.ngrams))
    sd = sums.std(0)
    sd[sd == 0] = 1
    df = np.asarray((counts > 0).sum(0)).ravel()
    idf = np.log((1 + len(X)) / (1 + df)) + 1
    design = sp.hstack([sp.csr_matrix((sums - sums.mean(0)) / sd), counts @ sp.diags(idf)])
    ref = LogisticRegression(C=model.C_, max_iter=3000).fit(design, y)
    ref_d = ref.decision_function(design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        # the same optimum up to the solvers' tolerance (a wrong design is off by far more)
        np.testing.assert_allclose(model.decision_function(X), ref_d, atol=0.02)


def test_unseen_ngrams_back_off_on_the_embedding_part_only(data):
    hybrid = AugLinearClassifier(encoder=FakeEncoder(), compose=False, doc_pooling="sum").fit(*data)
    text = "good story"
    assert "good story" not in hybrid.vocabulary_
    with pytest.warns(UnseenNgramWarning):
        d = hybrid.decision_function([text])[0]
    rows = {g: hybrid.vocabulary_.index[g] for g in ("good", "story")}
    table = {g: hybrid.coef_table_[r, 0] for g, r in rows.items()}
    embedding = {g: hybrid.embedding_table_[r, 0] for g, r in rows.items()}
    backoff = (embedding["good"] + embedding["story"]) / 2
    assert d == pytest.approx(hybrid.intercept_[0] + table["good"] + table["story"] + backoff)
    e = hybrid.explain(text)
    assert e.sources["good story"] == "backoff"
    assert e.phrase_parts["good story"] == 0.0
    assert e.to_dict()["phrase_parts"]["good story"] == 0.0


def test_pure_aug_linear_is_one_argument_away(fitted):
    assert fitted.hybrid is False and fitted.phrase_weight_ == 0.0
    assert not np.any(fitted.phrase_table_)
    assert fitted.explain("good film").phrase_parts == {}
    assert "phrase_parts" not in fitted.explain("good film").to_dict()


def test_top_ngrams_can_split_each_value(hybrid):
    for rows in hybrid.top_ngrams(5, split=True).values():
        for ngram, value, embedding, phrase in rows:
            assert embedding + phrase == pytest.approx(value, abs=1e-12)
            assert ngram in hybrid.vocabulary_
    plain = hybrid.top_ngrams(5)
    assert {k: [r[:2] for r in v] for k, v in hybrid.top_ngrams(5, split=True).items()} == plain
    assert "embedding" in str(hybrid.explain("a good film"))


def test_the_hybrid_phrase_features_have_weight_one(data):
    X, y = data
    assert AugLinearClassifier(encoder=FakeEncoder()).fit(X, y).phrase_weight_ == 1.0
    pure = AugLinearClassifier(encoder=FakeEncoder(), hybrid=False).fit(X, y)
    assert pure.phrase_weight_ == 0.0


def expected_idf(model, texts):
    """Smoothed idf of each vocabulary row, counted here from the texts themselves."""
    docs = [set(extract_ngrams(t, model.ngram_range)) for t in texts]
    df = np.array([sum(g in d for d in docs) for g in model.vocabulary_.ngrams])
    return np.log((1 + len(texts)) / (1 + df)) + 1


def test_idf_embedding_weight_scales_each_ngram_vector(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), embedding_weight="idf", hybrid=False)
    model.fit(X, y)
    idf = expected_idf(model, X)
    assert idf.min() >= 1 and idf.max() > idf.min()  # common n-grams weigh less
    vectors = FakeEncoder().encode(model.vocabulary_.ngrams).astype(np.float64)
    np.testing.assert_allclose(
        model.embedding_table_, (vectors * idf[:, None]) @ model.coef_.T, atol=1e-9
    )
    assert model.unseen_weight_ == pytest.approx(np.log(1 + len(X)) + 1)
    assert AugLinearClassifier(encoder=FakeEncoder()).fit(X, y).unseen_weight_ == 1.0


def test_idf_weighted_hybrid_keeps_the_exact_table(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), embedding_weight="idf").fit(X, y)
    assert np.any(model.phrase_table_)
    np.testing.assert_allclose(
        model.decision_function(X[:10]),
        [manual_decision(model, t)[0] for t in X[:10]],
        atol=1e-9,
    )


def test_extended_ngrams_get_the_weight_of_unseen_ones(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), embedding_weight="idf").fit(X, y)
    assert model.extend_vocabulary(["zzz qqq"]) == 1
    vector = FakeEncoder().encode(["zzz qqq"]).astype(np.float64)[0]
    np.testing.assert_allclose(
        model.embedding_table_[-1], model.unseen_weight_ * vector @ model.coef_.T, atol=1e-9
    )


def test_embedding_weight_is_checked_before_any_work(data):
    X, y = data
    encoder = FakeEncoder()
    with pytest.raises(ValueError, match="embedding_weight"):
        AugLinearClassifier(encoder=encoder, embedding_weight="sif").fit(X, y)
    assert encoder.calls == []


def test_hybrid_regressor_keeps_the_exact_table(data):
    X, _ = data
    y = np.array([len(t) % 7 + ("good" in t) * 3.0 for t in X])
    model = AugLinearRegressor(encoder=FakeEncoder()).fit(X, y)
    assert np.any(model.phrase_table_) and model.alpha_ > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        np.testing.assert_allclose(
            model.predict(X[:10]), [manual_decision(model, t)[0] for t in X[:10]], atol=1e-9
        )


def test_hybrid_save_load_keeps_both_parts(saved):
    model, path = saved  # the default, hybrid, model
    loaded = AugLinearClassifier.load(path)
    assert np.any(model.phrase_table_)
    np.testing.assert_array_equal(loaded.phrase_table_, model.phrase_table_)
    np.testing.assert_array_equal(loaded.embedding_table_, model.embedding_table_)
    assert loaded.phrase_weight_ == model.phrase_weight_
    texts = ["good story zzz", "a bad plot"]  # unseen bigrams back off on the embedding part
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        np.testing.assert_array_equal(
            loaded.decision_function(texts), model.decision_function(texts)
        )


# -- mean pooling: the document vector is the mean of its n-gram embeddings ------------


@pytest.fixture
def varied(data):
    """The planted texts with every third one twice as long (same label)."""
    X, y = data
    X = [t if i % 3 else f"{t} {X[(i + 2) % len(X)]}" for i, t in enumerate(X)]
    keep = [i for i in range(len(X)) if i % 3 or y[i] == y[(i + 2) % len(X)]]
    return [X[i] for i in keep], [y[i] for i in keep]


@pytest.fixture
def mean_pooled(varied):
    X, y = varied
    return AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="mean").fit(X, y)


def mean_pooled_decision(model, text):
    """Intercept + the table values, each scaled by (reference / length) ** p."""
    ngrams = extract_ngrams(text, model.ngram_range)
    power = {"sum": 0.0, "sqrt": 0.5, "mean": 1.0}[model.doc_pooling_]
    scale = (model.reference_length_ / len(ngrams)) ** power
    total = model.intercept_.copy()
    for g in ngrams:
        row = model.vocabulary_.index[g]
        total = total + model.coef_table_[row] * scale
    return total


def test_mean_pooling_decision_is_exact_with_a_length_scale(mean_pooled, varied):
    X, y = varied
    lengths = [len(extract_ngrams(t, (1, 2))) for t in X]
    assert mean_pooled.doc_pooling_ == "mean"
    assert mean_pooled.reference_length_ == pytest.approx(np.median(lengths))
    assert len(set(lengths[:20])) == 2  # the scaling is exercised
    d = mean_pooled.decision_function(X[:20])
    manual = [mean_pooled_decision(mean_pooled, t)[0] for t in X[:20]]
    np.testing.assert_allclose(d, manual, atol=1e-10)
    assert np.mean(mean_pooled.predict(X) == np.asarray(y)) > 0.9
    longer = X[0] + " " + X[1]  # twice the usual length: half the usual embedding parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)  # the bigram across the join
        d_longer = mean_pooled.decision_function([longer])[0]
        e = mean_pooled.explain(longer)
    n_longer = len(extract_ngrams(longer, (1, 2)))
    assert e.length_scale == pytest.approx(mean_pooled.reference_length_ / n_longer)
    assert e.length_scale < 1
    assert sum(v for _, v in e.contributions) + e.intercept == pytest.approx(d_longer, abs=1e-10)
    for g, v in e.contributions:
        assert e.embedding_part(g) + e.phrase_parts[g] == pytest.approx(v, abs=1e-12)
    assert e.to_dict()["length_scale"] == e.length_scale
    assert "this text's length" in str(e)


def test_sqrt_pooling_decision_is_exact_with_a_length_scale(varied):
    X, y = varied
    model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sqrt").fit(X, y)
    assert model.doc_pooling_ == "sqrt"
    np.testing.assert_allclose(
        model.decision_function(X[:20]),
        [mean_pooled_decision(model, t)[0] for t in X[:20]],
        atol=1e-10,
    )
    longer = X[0] + " " + X[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)  # the bigram across the join
        d_longer = model.decision_function([longer])[0]
        e = model.explain(longer)
    n_longer = len(extract_ngrams(longer, (1, 2)))
    assert e.length_scale == pytest.approx((model.reference_length_ / n_longer) ** 0.5)
    assert sum(v for _, v in e.contributions) + e.intercept == pytest.approx(d_longer, abs=1e-10)


def _candidate(score, se=0.01):
    from glasstext.models.auglinear import _LinearFit

    return (_LinearFit(np.zeros((1, 1)), np.zeros(1), score, se, {}), 1.0, None, None, None)


@pytest.mark.parametrize(
    ("scores", "chosen"),
    [
        ({"sum": 0.80, "sqrt": 0.80, "mean": 0.80}, "sqrt"),  # a tie: the middle
        ({"sum": 0.805, "sqrt": 0.80, "mean": 0.79}, "sqrt"),  # within one standard error
        ({"sum": 0.79, "sqrt": 0.80, "mean": 0.815}, "mean"),  # a clear win leaves it
        ({"sum": 0.82, "sqrt": 0.80, "mean": 0.70}, "sum"),
        ({"sum": 0.82, "sqrt": 0.80, "mean": 0.83}, "mean"),  # the best of the clear winners
    ],
)
def test_auto_pooling_keeps_the_square_root_unless_clearly_beaten(scores, chosen):
    from glasstext.models.auglinear import _one_standard_error_choice

    candidates = {p: _candidate(score) for p, score in scores.items()}
    assert _one_standard_error_choice(candidates) == chosen


def test_auto_pooling_compares_all_three_and_reports_them(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), cv=3).fit(X, y)
    assert set(model.pooling_scores_) == {"sum", "sqrt", "mean"}
    assert model.doc_pooling_ in model.pooling_scores_
    assert any("square root" in note for note in model.fit_notes())


# -- a length shift between the training texts and the texts predicted ------------------


def test_predict_warns_on_texts_far_longer_than_the_training_texts(data):
    from glasstext import LengthShiftWarning

    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(X, y)
    assert model.training_length_ == pytest.approx(
        np.median([len(extract_ngrams(t, (1, 2))) for t in X])
    )
    longer = [" ".join([X[i], X[i + 1], X[i + 2]]) for i in range(12)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        with pytest.warns(LengthShiftWarning, match="longer than the training texts"):
            model.predict(longer)
        with pytest.warns(LengthShiftWarning):
            model.predict_proba(longer)
        warnings.simplefilter("error", LengthShiftWarning)
        model.predict(X[:30])  # training-like lengths: silent
        model.predict(longer[:3])  # too few texts to speak of a distribution: silent


def test_predict_warns_on_texts_far_shorter_than_the_training_texts(data):
    from glasstext import LengthShiftWarning

    X, y = data
    long_X = [f"{t} {X[(i + 1) % len(X)]} {X[(i + 2) % len(X)]}" for i, t in enumerate(X)]
    model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(long_X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        with pytest.warns(LengthShiftWarning, match="shorter"):
            model.predict([t.split()[0] for t in X[:20]])


def test_length_shift_message_bounds():
    from glasstext.models.auglinear import length_shift_message

    assert length_shift_message(np.full(20, 20), 10.0) == ""  # exactly twice: not far
    assert "2.1x longer" in length_shift_message(np.full(20, 21), 10.0)
    assert "shorter" in length_shift_message(np.full(20, 4), 10.0)
    assert length_shift_message(np.full(20, 100), None) == ""  # saved before it was kept
    assert length_shift_message(np.full(9, 100), 10.0) == ""


def test_mean_pooling_matches_the_same_fit_done_by_hand(varied):
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    X, y = varied
    model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="mean").fit(X, y)
    docs = [extract_ngrams(t, (1, 2)) for t in X]
    counts, _ = model.vocabulary_.count_matrix(docs)
    means = np.asarray(counts @ FakeEncoder().encode(model.vocabulary_.ngrams))
    lengths = np.array([len(d) for d in docs])
    means /= lengths[:, None]
    sd = means.std(0)
    sd[sd == 0] = 1
    df = np.asarray((counts > 0).sum(0)).ravel()
    idf = np.log((1 + len(X)) / (1 + df)) + 1
    per_text = sp.diags(np.median(lengths) / lengths)  # phrase counts per median-length text
    design = sp.hstack(
        [sp.csr_matrix((means - means.mean(0)) / sd), per_text @ counts @ sp.diags(idf)]
    )
    ref = LogisticRegression(C=model.C_, max_iter=3000).fit(design, y)
    np.testing.assert_allclose(model.decision_function(X), ref.decision_function(design), atol=0.02)


def test_mean_pooling_scales_backed_off_and_embedded_ngrams_too(data):
    X, y = data
    model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="mean", unseen="embed")
    model.fit(X, y)
    text = "good story zzz"
    with pytest.warns(UnseenNgramWarning):
        d = model.decision_function([text])[0]
    # every n-gram is now in the table; the new ones have an embedding part only
    assert d == pytest.approx(mean_pooled_decision(model, text)[0], abs=1e-10)
    new_row = model.vocabulary_.index["zzz"]
    assert model.phrase_table_[new_row, 0] == 0.0
    assert model.embedding_table_[new_row] == pytest.approx(
        FakeEncoder().encode(["zzz"])[0] @ model.coef_[0]
    )


def test_mean_pooling_regressor_and_bad_setting(data):
    X, _ = data
    y = np.array([len(t) % 7 + ("good" in t) * 3.0 for t in X])
    model = AugLinearRegressor(encoder=FakeEncoder(), doc_pooling="mean").fit(X, y)
    np.testing.assert_allclose(
        model.predict(X[:10]), [mean_pooled_decision(model, t)[0] for t in X[:10]], atol=1e-9
    )
    with pytest.raises(ValueError, match="doc_pooling"):
        AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="max").fit(X, y)


def test_mean_pooled_model_saves_and_loads_identically(tiny_bert_dir, tmp_path, store):
    X, y = make_texts(80)
    model = AugLinearClassifier(
        encoder=Encoder(str(tiny_bert_dir), cache=store), doc_pooling="mean"
    )
    model.fit(X, y)
    loaded = AugLinearClassifier.load(model.save(tmp_path / "model"))
    assert loaded.doc_pooling_ == "mean"
    assert loaded.reference_length_ == model.reference_length_
    assert loaded.training_length_ == model.training_length_
    texts = [*make_texts(20, seed=4)[0], "good story zzz"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        np.testing.assert_array_equal(
            loaded.decision_function(texts), model.decision_function(texts)
        )


# -- table-only backoff: the learned composition and the encoder's own words ------------


def test_unseen_ngrams_are_valued_by_the_learned_composition(hybrid):
    from glasstext.models.auglinear import fit_composition

    text = "good story"
    assert text not in hybrid.vocabulary_
    with pytest.warns(UnseenNgramWarning, match="1 composed from their parts"):
        d = hybrid.decision_function([text])[0]
    vectors = FakeEncoder().encode(hybrid.vocabulary_.ngrams).astype(np.float64)
    coef, intercept = fit_composition(vectors, hybrid.vocabulary_, hybrid.random_state)
    rows = [hybrid.vocabulary_.index[w] for w in ("good", "story")]
    predicted = coef @ np.concatenate([vectors[rows[0]], vectors[rows[1]]]) + intercept
    composed_value = predicted @ hybrid.coef_[0]  # the table's value of the predicted embedding
    table = sum(hybrid.coef_table_[r, 0] for r in rows)
    assert d == pytest.approx(hybrid.intercept_[0] + table + composed_value, abs=1e-10)
    # the fake encoder's n-gram is the mean of its words: the map learns that
    true_value = FakeEncoder().encode([text])[0] @ hybrid.coef_[0]
    assert composed_value == pytest.approx(true_value, abs=0.05 * abs(true_value) + 1e-3)
    e = hybrid.explain(text)
    assert e.sources[text] == "backoff" and e.phrase_parts[text] == 0.0
    assert hybrid.unseen_report([text]).n_composed == 1


def test_composition_off_or_unlearnable_falls_back_to_the_mean_of_parts(data):
    X, y = data
    off = AugLinearClassifier(encoder=FakeEncoder(), compose=False).fit(X, y)
    assert off.composition_ is None and off.left_table_ is None
    assert off.unseen_report(["good story"]).n_composed == 0
    few = AugLinearClassifier(encoder=FakeEncoder()).fit(X[:6], y[:6])  # < 50 bigrams
    assert few.composition_ is None


class WordListEncoder(FakeEncoder):
    def word_list(self, limit):
        return ["zebra", "quartz", "two words", "Upper"][:limit]


def test_encoder_words_widen_the_table(data):
    X, y = data
    model = AugLinearClassifier(encoder=WordListEncoder()).fit(X, y)
    assert "zebra" in model.vocabulary_ and "quartz" in model.vocabulary_
    assert "two words" not in model.vocabulary_ and "Upper" not in model.vocabulary_
    assert model.unseen_report(["zebra film"]).n_zero == 0
    assert model.phrase_table_[model.vocabulary_.index["zebra"], 0] == 0.0  # not a feature
    narrow = AugLinearClassifier(encoder=WordListEncoder(), encoder_words=0).fit(X, y)
    assert "zebra" not in narrow.vocabulary_
    assert "zebra" not in AugLinearClassifier(encoder=FakeEncoder()).fit(X, y).vocabulary_


def test_backoff_words_are_embedded_apart_and_leave_the_fit_unchanged(data):
    X, y = data
    encoder = WordListEncoder()
    model = AugLinearClassifier(encoder=encoder).fit(X, y)
    narrow = AugLinearClassifier(encoder=WordListEncoder(), encoder_words=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, narrow.coef_)
    np.testing.assert_allclose(model.intercept_, narrow.intercept_)
    # Embedded on their own (alongside the fit), into their own rows.
    assert encoder.calls[-1] == ["zebra", "quartz"]
    row = model.vocabulary_.index["quartz"]
    expected = encoder.encode(["quartz"]).astype(np.float64) @ model.coef_.T
    np.testing.assert_allclose(model.embedding_table_[row], expected[0])


def test_top_ngrams_lists_the_training_ngrams_unless_asked(data):
    X, y = data
    model = AugLinearClassifier(encoder=WordListEncoder(), vocabulary=["lovely plot"]).fit(X, y)
    n_all = len(model.vocabulary_)
    added = {"zebra", "quartz", "lovely plot"}
    assert model.n_training_ngrams_ == n_all - len(added)
    assert set(model.vocabulary_.ngrams[model.n_training_ngrams_ :]) == added

    def listed(**kw):
        return {g for rows in model.top_ngrams(n_all, **kw).values() for g, _ in rows}

    assert listed().isdisjoint(added)
    assert added <= listed(training_only=False)


def test_the_training_rows_are_saved_and_checked(tmp_path):
    X, y = make_texts(80)
    model = AugLinearClassifier(encoder=WordListEncoder()).fit(X, y)
    model.encoder = "all-MiniLM-L6-v2"  # saveable: the table needs no encoder
    loaded = AugLinearClassifier.load(model.save(tmp_path / "m"))
    assert loaded.n_training_ngrams_ == model.n_training_ngrams_ < len(loaded.vocabulary_)
    assert loaded.top_ngrams(5) == model.top_ngrams(5)
    model.n_training_ngrams_ = len(model.vocabulary_) + 1  # a valid checksum, a bad value
    with pytest.raises(ModelFileError, match="n_training_ngrams"):
        AugLinearClassifier.load(model.save(tmp_path / "bad"))


def test_extend_vocabulary_keeps_the_composition_tables_aligned(hybrid):
    hybrid.extend_vocabulary(["quartz"])
    n = len(hybrid.vocabulary_)
    assert hybrid.left_table_.shape == hybrid.right_table_.shape == (n, 1)
    with pytest.warns(UnseenNgramWarning, match="composed"):
        hybrid.decision_function(["quartz story"])


def test_composition_is_saved_and_checked(saved, tmp_path):
    model, path = saved
    assert model.composition_ is not None
    loaded = AugLinearClassifier.load(path)
    np.testing.assert_array_equal(loaded.left_table_, model.left_table_)
    np.testing.assert_array_equal(loaded.composition_, model.composition_)
    assert loaded.unseen_report(["good story"]).n_composed == 1
    model.right_table_ = model.right_table_[:-1]  # saved with a valid checksum, wrong shape
    with pytest.raises(ModelFileError, match="composition"):
        AugLinearClassifier.load(model.save(tmp_path / "bad"))


@pytest.mark.parametrize("estimator", [AugLinearClassifier, AugLinearRegressor])
def test_auto_pooling_is_the_default_and_equals_the_pooling_it_chose(data, estimator):
    X, y = data
    if estimator is AugLinearRegressor:
        y = np.array([len(t) % 7 + ("good" in t) * 3.0 for t in X])
    auto = estimator(encoder=FakeEncoder()).fit(X, y)
    assert auto.doc_pooling == "auto" and auto.doc_pooling_ in ("sum", "sqrt", "mean")
    fixed = estimator(encoder=FakeEncoder(), doc_pooling=auto.doc_pooling_).fit(X, y)
    np.testing.assert_array_equal(auto.coef_table_, fixed.coef_table_)
    assert auto.cv_score_ == fixed.cv_score_


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # the pooling is screened on the embedding features alone, then the hybrid fitted once
        ({}, [("sum", (0.0,)), ("sqrt", (0.0,)), ("mean", (0.0,)), ("chosen", (1.0,))]),
        ({"hybrid": False}, [("sum", (0.0,)), ("sqrt", (0.0,)), ("mean", (0.0,))]),
        ({"doc_pooling": "mean"}, [("mean", (1.0,))]),
    ],
)
def test_auto_pooling_is_screened_without_the_phrase_part(data, monkeypatch, settings, expected):
    X, y = data
    calls = []
    original = AugLinearClassifier._fit_pooled

    def recording(self, pooling, weights, *args):
        calls.append((pooling, weights))
        return original(self, pooling, weights, *args)

    monkeypatch.setattr(AugLinearClassifier, "_fit_pooled", recording)
    model = AugLinearClassifier(encoder=FakeEncoder(), **settings).fit(X, y)
    chosen = [(model.doc_pooling_ if p == "chosen" else p, w) for p, w in expected]
    assert calls == chosen
    pure = AugLinearClassifier(encoder=FakeEncoder(), hybrid=False).fit(X, y)
    assert model.doc_pooling_ == pure.doc_pooling_ or "doc_pooling" in settings


def test_the_pooling_scores_are_the_pure_tables_and_the_notes_say_so(data):
    X, y = data
    hybrid = AugLinearClassifier(encoder=FakeEncoder()).fit(X, y)
    pure = AugLinearClassifier(encoder=FakeEncoder(), hybrid=False).fit(X, y)
    assert set(hybrid.pooling_scores_) == {"sum", "sqrt", "mean"}
    assert hybrid.pooling_scores_ == pure.pooling_scores_  # screened on the embeddings alone
    assert pure.pooling_scores_[pure.doc_pooling_] == pure.cv_score_
    (note,) = [n for n in hybrid.fit_notes() if n.startswith("documents pooled")]
    assert f"by their {hybrid.doc_pooling_} " in note and "of the embedding features alone" in note
    assert f"sum {hybrid.pooling_scores_['sum']:.4f}" in note
    fixed = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(X, y)
    assert fixed.pooling_scores_ == {"sum": fixed.cv_score_}
    assert not [n for n in fixed.fit_notes() if n.startswith("documents pooled")]


def test_word_shape_classes():
    from glasstext.models.auglinear import WORD_SHAPES, word_shape

    assert [word_shape(w) for w in ("film", "42", "1999", "08712405022", "club4", "e-4")] == [
        -1,
        0,
        1,
        2,
        3,
        3,
    ]
    assert len(WORD_SHAPES) == 4


def test_unseen_words_with_digits_back_off_to_their_shape():
    texts, labels = make_texts(120)
    # positives carry a long number (a phone number), negatives a short one
    rng = np.random.default_rng(0)
    texts = [
        f"{t} {rng.integers(10**9, 10**10) if y else rng.integers(10, 99)}"
        for t, y in zip(texts, labels, strict=True)
    ]
    model = AugLinearClassifier(encoder=FakeEncoder(), doc_pooling="sum").fit(texts, labels)
    rows = [i for i, g in enumerate(model.vocabulary_.ngrams) if g.isdigit() and len(g) >= 5]
    expected = model.embedding_table_[rows].mean(axis=0)
    with pytest.warns(UnseenNgramWarning, match="1 by their word shape"):
        d = model.decision_function(["5550001234"])[0]
    assert d == pytest.approx(model.intercept_[0] + expected[0], abs=1e-10)
    assert model.unseen_report(["5550001234 film"]).n_shaped == 1
    assert model.unseen_report(["film"]).n_shaped == 0
    plain = AugLinearClassifier(encoder=FakeEncoder(), word_shapes=False).fit(texts, labels)
    assert plain.shape_values_ is None
    with pytest.warns(UnseenNgramWarning, match="1 with no known part"):
        assert plain.decision_function(["5550001234"])[0] == pytest.approx(plain.intercept_[0])


def test_word_shapes_are_saved_and_checked(saved, tmp_path):
    model, path = saved
    loaded = AugLinearClassifier.load(path)
    np.testing.assert_array_equal(loaded.shape_values_, model.shape_values_)
    np.testing.assert_array_equal(loaded.shape_counts_, model.shape_counts_)
    model.shape_values_ = model.shape_values_[:2]
    with pytest.raises(ModelFileError, match="shape_values"):
        AugLinearClassifier.load(model.save(tmp_path / "bad"))


def test_progress_shows_the_cross_validated_fits(data, capsys):
    X, y = data
    AugLinearClassifier(encoder=FakeEncoder(), progress=True).fit(X, y)
    shown = capsys.readouterr().err
    # the three poolings screened, then the hybrid: each five folds and a refit
    assert "cross-validated fits" in shown and "24/24" in shown
    AugLinearClassifier(encoder=FakeEncoder(), progress=False).fit(X, y)
    assert "cross-validated fits" not in capsys.readouterr().err
