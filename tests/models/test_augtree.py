import itertools
import json
import re
import subprocess
import sys
import zlib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from glasstext import AugTreeClassifier, AugTreeRegressor
from glasstext.backends.lm import LanguageModel
from glasstext.expansion import EmbeddingExpander, LLMExpander
from glasstext.io import ModelFileError
from glasstext.text import PhraseMatcher
from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "acting", "story", "scene", "cast", "music"]
SYNONYMS = {"good": POS[1:], "bad": NEG[1:]}


class ScriptedLM(LanguageModel):
    """A fake LM: answers expansion prompts from a synonym table, counting its calls."""

    def __init__(self, store, table=None):
        super().__init__(cache=store)
        self.table = SYNONYMS if table is None else table
        self.prompts: list[str] = []

    @property
    def identity(self) -> str:
        return "scripted-synonyms"

    def _output_settings(self):
        return {}

    def _generate_uncached(self, prompts, request):
        self.prompts.extend(prompts)
        keyword = [re.findall(r"(?m)^([^:\n]+):$", p)[-1] for p in prompts]
        return [" " + ", ".join(self.table.get(k, ["zzz"])) for k in keyword]

    def _continuation_logprobs_uncached(self, pairs, chat):
        raise AssertionError("expansion never scores")


class FakeEncoder:
    """Word vectors where the planted sentiment words of a class are close together."""

    def encode(self, texts):
        rows = []
        for t in texts:
            vecs = []
            for w in t.split():
                v = np.random.default_rng(zlib.crc32(w.encode())).normal(size=8) * 0.1
                v[0] += 3.0 if w in POS else 0.0
                v[1] += 3.0 if w in NEG else 0.0
                vecs.append(v)
            rows.append(np.mean(vecs, axis=0))
        return np.array(rows, dtype=np.float32).reshape(len(texts), 8)


def make_texts(n, seed=0, classes=2):
    pools = [NEG, POS, ["plot twist", "twist ending"]][:classes]
    return planted_texts(n, pools, list(range(classes)), FILLER, 4, seed)


@pytest.fixture
def data():
    return make_texts(240)


@pytest.fixture
def scripted(store):
    return ScriptedLM(store)


def test_sklearn_contract(data, scripted):
    model = AugTreeClassifier(max_depth=2, expansion="none", ngram_range=[1, 1], min_df=2)
    assert model.get_params()["ngram_range"] == [1, 1]  # stored untouched
    copy = clone(model).set_params(max_depth=3)
    assert copy.max_depth == 3 and model.max_depth == 2
    X, y = data
    assert model.fit(X, y) is model
    assert not hasattr(copy, "trees_")
    assert AugTreeClassifier(lm=scripted).get_params()["lm"] is scripted


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_plain_tree_root_split_matches_cart(criterion):
    """Without expansion a split is CART's split on binary n-gram features."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    X = [" ".join(rng.choice(words, size=6)) for _ in range(300)]
    y = np.array([int("w1" in t.split() or ("w2" in t.split() and rng.random() < 0.7)) for t in X])
    ours = AugTreeClassifier(
        max_depth=1,
        expansion="none",
        criterion=criterion,
        ngram_range=(1, 1),
        min_df=1,
        min_samples_leaf=1,
        max_features=30,
        leaf_smoothing=0.0,  # raw class fractions, as CART's (the default smooths since issue 13)
    ).fit(X, y)
    vocab = sorted({w for t in X for w in t.split()})
    F = PhraseMatcher(vocab).matrix(X).toarray()
    cart = DecisionTreeClassifier(max_depth=1, criterion=criterion, random_state=0).fit(F, y)
    t = cart.tree_
    n = len(X)
    cart_gain = (
        t.impurity[0] * n
        - t.impurity[1] * t.n_node_samples[1]
        - t.impurity[2] * t.n_node_samples[2]
    ) / n
    tree = ours.trees_[0]
    assert tree.phrases[0] == [vocab[t.feature[0]]]
    assert tree.gain[0] == pytest.approx(cart_gain, rel=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), cart.predict_proba(F))


def test_regressor_root_split_matches_cart():
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(20)]
    X = [" ".join(rng.choice(words, size=5)) for _ in range(200)]
    y = np.array([2.0 * ("w3" in t.split()) + rng.normal(scale=0.3) for t in X])
    ours = AugTreeRegressor(
        max_depth=2,
        expansion="none",
        ngram_range=(1, 1),
        min_df=1,
        min_samples_leaf=1,
        max_features=20,
    ).fit(X, y)
    vocab = sorted({w for t in X for w in t.split()})
    F = PhraseMatcher(vocab).matrix(X).toarray()
    cart = DecisionTreeRegressor(max_depth=2, random_state=0).fit(F, y)
    assert ours.trees_[0].phrases[0] == ["w3"]
    np.testing.assert_allclose(ours.predict(X), cart.predict(F))
    assert ours.score(X, y) > 0.8


def test_llm_expansion_turns_a_keyword_into_a_phrase_set(data, scripted):
    X, y = data
    Xt, yt = make_texts(200, seed=1)
    plain = AugTreeClassifier(max_depth=1, expansion="none", min_df=2).fit(X, y)
    aug = AugTreeClassifier(max_depth=1, expansion="llm", lm=scripted, min_df=2).fit(X, y)
    assert plain.score(Xt, yt) < 0.75
    assert aug.score(Xt, yt) == 1.0
    root = aug.trees_[0].phrases[0]
    assert root[0] in ("good", "bad") and set(root[1:]) == set(SYNONYMS[root[0]])
    assert "zzz" not in {p for ps in aug.phrase_sets() for p in ps}  # useless phrases rejected
    assert aug.expansions_[root[0]] == SYNONYMS[root[0]]
    assert aug.expansion_usage_["n_generate_calls"] == len(scripted.prompts) > 0


def test_expansions_are_cached_across_fits(data, store):
    X, y = data
    first = ScriptedLM(store)
    AugTreeClassifier(max_depth=3, expansion="llm", lm=first, min_df=2).fit(X, y)
    assert first.prompts
    second = ScriptedLM(store)  # a new process would see the same persistent store
    model = AugTreeClassifier(max_depth=3, expansion="llm", lm=second, min_df=2).fit(X, y)
    assert second.prompts == []
    assert model.expansion_usage_["n_generate_calls"] == 0
    assert model.expansion_usage_["n_cache_hits"] > 0
    other_context = ScriptedLM(store)
    AugTreeClassifier(max_depth=3, expansion="llm", lm=other_context, context="food", min_df=2).fit(
        X, y
    )
    assert other_context.prompts  # the context is part of the key


def test_embedding_expansion(data):
    X, y = data
    Xt, yt = make_texts(200, seed=1)
    model = AugTreeClassifier(
        max_depth=1, expansion="embedding", encoder=FakeEncoder(), min_df=2, ngram_range=(1, 1)
    ).fit(X, y)
    assert model.score(Xt, yt) == 1.0
    root = set(model.trees_[0].phrases[0])
    assert root in (set(POS), set(NEG))


def test_embedding_expander_skips_phrases_containing_the_keyword():
    pool = ["good", "good movie", "great", "fine", "bad", "very good"]
    out = EmbeddingExpander(pool, FakeEncoder(), n_phrases=3).expand(["good"])["good"]
    assert set(out[:2]) == {"great", "fine"} and out[2] == "bad"
    close = EmbeddingExpander(pool, FakeEncoder(), min_similarity=0.9).expand(["good"])
    assert set(close["good"]) == {"great", "fine"}


def test_export_text_reads_as_phrase_sets(data, scripted):
    X, y = data
    model = AugTreeClassifier(max_depth=2, expansion="llm", lm=scripted, min_df=2).fit(X, y)
    text = model.export_text()
    root = model.trees_[0].phrases[0]
    assert f'contains any of {{"{root[0]}", "{root[1]}"' in text
    assert "|--- yes: " in text and "|--- no:  " in text
    assert "240 samples: 0 0.50, 1 0.50" in text
    assert "+2 more" in model.export_text(max_phrases=len(root) - 2)


def test_explain_gives_the_decision_path(data, scripted):
    X, y = data
    model = AugTreeClassifier(max_depth=2, expansion="llm", lm=scripted, min_df=2).fit(X, y)
    root = model.trees_[0].phrases[0]
    e = model.explain(f"The {root[2].upper()} film, really")
    assert e.steps[0].matched == [root[2]] and e.steps[0].answer
    assert e.prediction == model.predict([e.text])[0]
    assert f'found "{root[2]}"' in str(e)
    np.testing.assert_allclose(e.value, model.predict_proba([e.text])[0])
    nothing = model.explain("nothing relevant here")
    assert not nothing.steps[0].answer


def test_multiclass_string_labels(scripted):
    X, y = make_texts(300, classes=3)
    names = np.array(["neg", "pos", "twist"])[y]
    model = AugTreeClassifier(max_depth=3, expansion="llm", lm=scripted, min_df=2).fit(X, names)
    assert list(model.classes_) == ["neg", "pos", "twist"]
    proba = model.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, names) > 0.9
    assert set(model.predict(X)) <= set(model.classes_)


def test_stemming_matches_word_forms():
    X = ["the movies were fun", "a movie night", "boring plot", "dull story"] * 10
    y = [1, 1, 0, 0] * 10
    plain = AugTreeClassifier(max_depth=1, expansion="none", min_df=1, min_samples_leaf=1)
    stemmed = clone(plain).set_params(stem=True)
    plain.fit(X, y)
    stemmed.fit(X, y)
    assert stemmed.predict(["Two MOVIE fans"])[0] == 1
    assert stemmed.explain("movies").steps[0].answer


def test_bagged_ensemble_is_seeded(data, scripted):
    X, y = data
    a = AugTreeClassifier(
        max_depth=2, expansion="llm", lm=scripted, n_estimators=4, random_state=0, min_df=2
    )
    b = clone(a)
    a.fit(X, y)
    b.fit(X, y)
    assert len(a.trees_) == 4
    assert [t.phrases for t in a.trees_] == [t.phrases for t in b.trees_]
    proba = a.predict_proba(X[:20])
    each = np.mean(
        [t.value[leaf] for t, leaf in zip(a.trees_, a.apply(X[:20]).T, strict=True)], axis=0
    )
    np.testing.assert_allclose(proba, each)
    assert a.explain(X[0], tree_index=3).tree_index == 3


@pytest.fixture
def saved(data, scripted, tmp_path):
    X, y = data
    model = AugTreeClassifier(
        max_depth=3, expansion="llm", lm=scripted, n_estimators=2, random_state=1, min_df=2
    )
    model.fit(X, y)
    return model, model.save(tmp_path / "tree")


def test_save_load_predicts_identically(saved):
    model, path = saved
    loaded = AugTreeClassifier.load(path)
    texts = make_texts(50, seed=9)[0] + ["unrelated words only"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    assert loaded.export_text() == model.export_text()
    assert loaded.get_params()["lm"] is None  # the fake LM object is not saved
    from glasstext.models import load_model

    assert isinstance(load_model(path), AugTreeClassifier)


def test_loaded_tree_predicts_without_torch(saved):
    model, path = saved
    texts = make_texts(20, seed=6)[0]
    want = model.predict_proba(texts).tolist()
    script = f"""
import json, sys

class BlockTorch:  # behaves as if torch and transformers were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ImportError(f"blocked: {{name}}")
        return None

sys.meta_path.insert(0, BlockTorch())
from glasstext import AugTreeClassifier
m = AugTreeClassifier.load({str(path)!r})
print(json.dumps(m.predict_proba({texts!r}).tolist()))
assert "torch" not in sys.modules
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == want


def test_corrupt_saved_tree_raises_clear_errors(saved):
    _, path = saved
    with pytest.raises(ModelFileError, match="holds a AugTreeClassifier"):
        AugTreeRegressor.load(path)
    config = json.loads((path / "model.json").read_text())
    config["config"]["trees"][0]["left"][0] = 999
    (path / "model.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError):
        AugTreeClassifier.load(path)


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        ([], [], ValueError, "empty"),
        (["good film", None], [0, 1], TypeError, r"X\[1\] is NoneType"),
        ("good film", [1], TypeError, "single string"),
        (["good film", "bad film"], [1], ValueError, "2 texts but y has 1"),
        (["good film", "bad film"], [1, 1], ValueError, "single class"),
        (["good film", "bad film"], [1.0, np.nan], ValueError, "NaN"),
        (["good film", "  "], [0, 1], ValueError, "blank"),
    ],
)
def test_bad_inputs_raise_clear_errors(X, y, error, match):
    with pytest.raises(error, match=match):
        AugTreeClassifier(expansion="none").fit(X, y)


def test_bad_params_and_unfitted_use(data):
    X, y = data
    for params, match in [
        ({"max_depth": 0}, "max_depth must be a positive integer"),
        ({"n_expansions": -1}, "n_expansions must be"),
        ({"criterion": "mse"}, "criterion must be"),
        ({"min_df": 10_000}, "no candidate keywords"),
    ]:
        with pytest.raises(ValueError, match=match):
            AugTreeClassifier(expansion="none", **params).fit(X, y)
    with pytest.raises(ValueError, match="expansion must be"):
        AugTreeClassifier(expansion="wordnet").fit(X, y)
    with pytest.raises(Exception, match="not fitted"):
        AugTreeClassifier().predict(["x"])
    with pytest.raises(ValueError, match="single class"):
        AugTreeClassifier(expansion="none").fit(X[:3], [1, 1, 1])
    with pytest.raises(ValueError, match="finite"):
        AugTreeRegressor(expansion="none").fit(X[:2], [1.0, np.inf])


def test_llm_expander_prompt_and_parsing(scripted):
    expander = LLMExpander(scripted, context="movie reviews")
    prompt = expander.prompt_for("good")
    assert "in movie reviews" in prompt and prompt.endswith("good:")
    assert expander.expand(["good", "good"]) == {"good": SYNONYMS["good"]}
    with pytest.raises(ValueError, match="keyword"):
        LLMExpander(scripted, prompt="no field")


@pytest.mark.integration
def test_tiny_real_lm_expansion_runs_end_to_end(data, tiny_lm_dir):
    from glasstext.backends.lm import LocalCausalLM

    X, y = data
    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    model = AugTreeClassifier(max_depth=2, expansion="llm", lm=lm, min_df=2, n_expansions=3).fit(
        X, y
    )
    assert model.expansion_usage_["n_generate_calls"] > 0
    assert model.score(X, y) > 0.5


@pytest.mark.integration
def test_rotten_tomatoes_embedding_tree_with_minilm():
    from glasstext.datasets import load

    ds = load("rotten_tomatoes").subset(1500, 500)
    model = AugTreeClassifier(max_depth=3, expansion="embedding").fit(ds.X_train, ds.y_train)
    assert model.score(ds.X_test, ds.y_test) > 0.5
    assert any(len(ps) > 1 for ps in model.phrase_sets())


# -- defaults measured against scikit-learn's default tree (issue 13) ----------------------


class TableExpander:
    """A fixed expansion table (no model)."""

    def __init__(self, table):
        self.table = table

    def expand(self, keywords):
        return {k: list(self.table.get(k, [])) for k in keywords}


def test_default_keyword_tree_is_default_cart():
    """Stop words and n-grams in a single text are candidates, as in CountVectorizer."""
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(40)]
    X = [" ".join(rng.choice(words, size=5)) for _ in range(200)]
    y = (rng.random(200) < 0.2).astype(int)
    for i in np.flatnonzero(y)[:25]:
        X[i] = "not " + X[i]  # a stop word carries the signal
    X[0], y[0] = "call now w3", 1  # stop words, in one text
    model = AugTreeClassifier(max_depth=1, expansion="none", leaf_smoothing=0.0).fit(X, y)
    vocab = sorted({g for t in X for g in _ngrams12(t)})
    F = PhraseMatcher(vocab).matrix(X).toarray()
    cart = DecisionTreeClassifier(max_depth=1, random_state=0).fit(F, y)
    assert model.vocabulary_size_ == len(vocab)
    assert model.trees_[0].phrases[0] == [vocab[cart.tree_.feature[0]]] == ["not"]
    np.testing.assert_allclose(model.predict_proba(X), cart.predict_proba(F))


def _ngrams12(text):
    w = text.split()
    return w + [f"{a} {b}" for a, b in itertools.pairwise(w)]


def test_selection_drops_a_phrase_that_fits_one_text():
    X, y = make_texts(240)
    X = list(X)
    # One text of each class without its class word but with a word of its own:
    # a phrase set that adds it fits one training text by chance.
    X[int(np.flatnonzero(y == 0)[0])] = "movie plot zzz film"
    X[int(np.flatnonzero(y == 1)[0])] = "movie plot yyy film"
    table = {w: [*NEG, "zzz"] for w in NEG} | {w: [*POS, "yyy"] for w in POS}
    params = {"max_depth": 1, "expansion": TableExpander(table), "random_state": 0}
    honest = AugTreeClassifier(**params).fit(X, y)
    assert not {"zzz", "yyy"} & set(honest.trees_[0].phrases[0])
    assert len(honest.trees_[0].phrases[0]) > 1  # real synonyms are kept


def _rare_synonym_texts(n_words=60, per_word=3, seed=0):
    """Each text's class shows only in one word: a common one ("p0") or one of many
    rare ones ("p7", "n12")."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label, prefix in ((1, "p"), (0, "n")):
        for i in range(n_words):
            for _ in range(10 * per_word if i == 0 else per_word):
                words = [*rng.choice(FILLER, 4), f"{prefix}{i}"]
                rng.shuffle(words)
                X.append(" ".join(words))
                y.append(label)
    return X, np.array(y)


def test_selection_keeps_rare_real_synonyms():
    # A phrase whose few texts all fall in one half is skipped, not the end of
    # the search: the synonyms seen in both halves after it are still kept.
    X, y = _rare_synonym_texts()
    words = {p: [f"{p}{i}" for i in range(60)] for p in "pn"}
    table = {w: ws for ws in words.values() for w in ws}
    params = {"max_depth": 1, "expansion": TableExpander(table), "n_expansions": 60}
    model = AugTreeClassifier(**params, random_state=0).fit(X, y)
    assert 45 <= len(model.trees_[0].phrases[0]) < 60
    assert model.score(X, y) > 0.9


def test_removed_options_are_no_parameters():
    assert AugTreeClassifier().expansion == "embedding"
    for removed in ({"selection": "train"}, {"stop_words": "english"}):
        with pytest.raises(TypeError, match=next(iter(removed))):
            AugTreeClassifier(**removed)
        assert not set(removed) & set(AugTreeRegressor().get_params())


def test_leaf_smoothing_adds_pseudo_counts():
    X, y = make_texts(240)
    raw = AugTreeClassifier(max_depth=1, expansion="none", leaf_smoothing=0.0).fit(X, y)
    smooth = AugTreeClassifier(max_depth=1, expansion="none", leaf_smoothing=1.0).fit(X, y)
    tree = raw.trees_[0]
    for node in range(tree.n_nodes):
        counts = tree.value[node] * tree.n_samples[node]
        want = (counts + 1.0) / (tree.n_samples[node] + 2.0)
        np.testing.assert_allclose(smooth.trees_[0].value[node], want)


def test_embedding_pool_leaves_out_rare_ngrams():
    X, y = make_texts(240)
    X = [*X, "good rareword"]
    y = np.append(y, 1)
    model = AugTreeClassifier(max_depth=2, expansion="embedding", encoder=FakeEncoder()).fit(X, y)
    proposed = {p for ps in model.expansions_.values() for p in ps}
    assert proposed and "rareword" not in proposed and "good rareword" not in proposed


def test_llm_and_embedding_expansions_combined(data, scripted):
    X, y = data
    model = AugTreeClassifier(
        max_depth=1, expansion="llm+embedding", lm=scripted, encoder=FakeEncoder()
    ).fit(X, y)
    root = set(model.trees_[0].phrases[0])
    assert len(root) > 1 and (root <= set(POS) or root <= set(NEG))
    assert model.expansion_usage_["n_generate_calls"] > 0
    assert "LM calls" in model.fit_notes()[0]


def test_tree_saved_before_token_pattern_matches_with_the_old_tokenizer(tmp_path):
    from glasstext.text import WORD_PATTERN

    X = ["it's great", "don't like it", "great fun", "dull, don't"] * 10
    y = [1, 0, 1, 0] * 10
    model = AugTreeClassifier(max_depth=1, expansion="none", token_pattern=WORD_PATTERN)
    path = model.fit(X, y).save(tmp_path / "old")
    config = json.loads((path / "model.json").read_text())
    del config["config"]["params"]["token_pattern"]  # as written before the parameter existed
    del config["config_sha256"]  # ... which was also before the configuration had a checksum
    (path / "model.json").write_text(json.dumps(config))
    loaded = AugTreeClassifier.load(path)
    assert loaded.token_pattern == WORD_PATTERN
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
