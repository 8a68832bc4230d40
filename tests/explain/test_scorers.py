import numpy as np
import pytest

from glasstext.explain import CallableScorer, EstimatorScorer, LMScorer, Scorer, as_scorer


def counting(fn):
    calls = []

    def wrapped(texts):
        calls.append(list(texts))
        return fn(texts)

    return wrapped, calls


def length_model(texts):
    p = np.array([min(len(t) / 20, 1.0) for t in texts])
    return np.column_stack([1 - p, p])


def test_scorer_batches_caches_and_counts():
    fn, calls = counting(length_model)
    scorer = CallableScorer(fn, batch_size=2)
    out = scorer(["a", "bb", "a", "ccc", "dddd"])
    assert out.shape == (5, 2)
    assert np.allclose(out[0], out[2])
    assert [len(c) for c in calls] == [2, 2]  # 4 distinct texts in chunks of 2
    assert scorer.n_calls == 4 and scorer.n_batches == 2
    assert scorer.n_requested == 5 and scorer.n_cache_hits == 1
    scorer(["a", "eeeee"])
    assert calls[-1] == ["eeeee"]
    assert scorer.n_calls == 5 and scorer.n_cache_hits == 2


def test_cache_can_be_disabled_and_bounded():
    fn, _ = counting(length_model)
    scorer = CallableScorer(fn, cache=False)
    scorer(["a"])
    scorer(["a"])
    assert scorer.n_calls == 2
    bounded = CallableScorer(length_model, max_cache_entries=2)
    bounded(["a", "b", "c"])
    assert len(bounded._cache) == 2


def test_one_dimensional_output_is_the_positive_probability():
    scorer = CallableScorer(lambda texts: np.full(len(texts), 0.25))
    assert scorer(["x"]).tolist() == [[0.75, 0.25]]


def test_bad_model_outputs_are_clear_errors():
    with pytest.raises(ValueError, match="shape"):
        CallableScorer(lambda texts: np.zeros((len(texts) + 1, 2)))(["x"])
    with pytest.raises(ValueError, match="NaN"):
        CallableScorer(lambda texts: np.full((len(texts), 2), np.nan))(["x"])
    flip = iter([2, 3])
    changing = CallableScorer(lambda texts: np.zeros((len(texts), next(flip))))
    changing(["x"])
    with pytest.raises(ValueError, match="classes"):
        changing(["y"])


def test_inputs_are_checked():
    scorer = CallableScorer(length_model)
    with pytest.raises(TypeError):
        scorer("a single string")
    with pytest.raises(TypeError):
        scorer(["ok", 3])
    assert scorer([]).shape[0] == 0


def test_estimator_scorer_wraps_a_scikit_learn_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    X = ["good fun", "great film", "bad plot", "awful film"] * 3
    y = ["pos", "pos", "neg", "neg"] * 3
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(X, y)
    scorer = as_scorer(pipe)
    assert isinstance(scorer, EstimatorScorer)
    assert scorer.classes == ("neg", "pos")
    assert np.allclose(scorer(["good film"]), pipe.predict_proba(["good film"]))
    svm = as_scorer(make_pipeline(TfidfVectorizer(), LinearSVC()).fit(X, y))
    probs = svm(["good film", "bad plot"])
    assert np.allclose(probs.sum(axis=1), 1) and probs[0, 1] > 0.5 > probs[1, 1]


def test_as_scorer_dispatch_and_errors():
    scorer = CallableScorer(length_model)
    assert as_scorer(scorer) is scorer
    assert isinstance(as_scorer(length_model), CallableScorer)
    with pytest.raises(TypeError, match="LMScorer"):
        as_scorer("SmolLM2-135M-Instruct")
    with pytest.raises(TypeError, match="cannot score"):
        as_scorer(42)
    assert issubclass(CallableScorer, Scorer)


def test_lm_scorer_checks_its_prompt_and_labels():
    with pytest.raises(ValueError, match="text"):
        LMScorer("SmolLM2-135M-Instruct", template="no placeholder")
    with pytest.raises(ValueError, match="two"):
        LMScorer("SmolLM2-135M-Instruct", labels=[" yes"])
    with pytest.raises(ValueError, match="distinct"):
        LMScorer("SmolLM2-135M-Instruct", labels=[" yes", " yes"])


@pytest.mark.integration
def test_lm_scorer_uses_label_probabilities_of_the_backend(tiny_lm_dir):
    from glasstext.backends.lm import LocalCausalLM

    lm = LocalCausalLM(tiny_lm_dir, cache=False)
    scorer = LMScorer(lm, template="Review: {text} Sentiment:", labels=[" negative", " positive"])
    texts = ["the movie was good", "the plot was dull {braces}", "the movie was good"]
    probs = scorer(texts)
    expected = lm.label_probs(
        [f"Review: {t} Sentiment:" for t in texts], [" negative", " positive"]
    )
    assert np.allclose(probs, expected)
    assert scorer.n_calls == 2 and scorer.classes == ("negative", "positive")


class KeywordLM:
    """Builds a LanguageModel subclass whose label log-probabilities follow keywords."""

    @staticmethod
    def make():
        from glasstext.backends.lm import GenerationRequest, LanguageModel

        class FakeLM(LanguageModel):
            def __init__(self):
                super().__init__(cache=False)
                self.seen = []

            @property
            def identity(self) -> str:
                return "fake"

            def _output_settings(self):
                return {}

            def _generate_uncached(self, prompts, request: GenerationRequest):
                return ["" for _ in prompts]

            def _continuation_logprobs_uncached(self, pairs, chat):
                self.seen.extend(pairs)
                return [-1.0 if ("good" in p) == (c == " positive") else -3.0 for p, c in pairs]

        return FakeLM()


def test_lm_scorer_works_with_any_language_model_subclass():
    lm = KeywordLM.make()
    scorer = LMScorer(lm)  # the default sentiment prompt and labels
    probs = scorer(["a good film", "a dull film", "a good film"])
    assert probs[0, 1] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert probs[1, 0] == pytest.approx(probs[0, 1])
    assert scorer.n_calls == 2 and len(lm.seen) == 4  # 2 texts x 2 labels
    assert lm.seen[0][0] == 'Movie review: "a good film"\nThe sentiment of this review is'


class WordVectors:
    """A stand-in encoder for Aug-Linear: fixed random word vectors, sentiment in one axis."""

    def encode(self, texts):
        rows = []
        for t in texts:
            vectors = []
            for w in t.split():
                v = np.random.default_rng(sum(map(ord, w))).normal(size=8)
                v[0] = {"good": 2.0, "great": 2.0, "bad": -2.0, "dull": -2.0}.get(w, 0.0)
                vectors.append(v)
            rows.append(np.mean(vectors, axis=0))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 8)


def test_a_glasstext_estimator_is_explained_even_when_every_word_is_masked():
    from glasstext import AugLinearClassifier
    from glasstext.explain import OcclusionExplainer

    X = ["good film", "great fun", "good plot", "bad film", "dull plot", "bad fun"] * 3
    y = [1, 1, 1, 0, 0, 0] * 3
    model = AugLinearClassifier(encoder=WordVectors(), ngram_range=(1, 1), cv=2).fit(X, y)
    a = OcclusionExplainer(model).explain("good film")  # masking both words leaves ""
    assert a.words == ("good", "film") and a.scores[0] > abs(a.scores[1])
    intercept_only = EstimatorScorer(model)(["", "?"])
    assert np.allclose(intercept_only[0], intercept_only[1])


def test_explaining_a_model_warns_of_nothing_about_the_perturbed_texts():
    import warnings

    from glasstext import AugLinearClassifier
    from glasstext.explain import LimeExplainer

    long_pos = "a good film with great fun and a good plot that is good " * 2
    long_neg = "a bad film with dull fun and a bad plot that is bad " * 2
    X = [long_pos, long_neg] * 8
    model = AugLinearClassifier(encoder=WordVectors(), ngram_range=(1, 2), cv=2).fit(X, [1, 0] * 8)
    short = ["good", "bad film", "dull", "great fun", "good plot", "bad", "fun", "film"] * 2
    with pytest.warns(UserWarning, match="shorter than the training texts"):
        model.predict(short)  # the user's own short texts: warned
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        a = LimeExplainer(model, n_samples=60, seed=0).explain(long_pos)
    assert a.words[0] == "a"
