"""The model protocol: a toy fourth model defined through it; the built-in models against it."""

import ast
import inspect
import json
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

import glasstext
import glasstext.models
import glasstext.models.auglinear
from glasstext import (
    AugLinearClassifier,
    AugLinearRegressor,
    AugTreeClassifier,
    AugTreeRegressor,
    Encoder,
    LinearExplanation,
    ProtoLMClassifier,
    UnseenNgramWarning,
    summarize_model,
)
from glasstext.cli import main
from glasstext.exceptions import InvalidParameterError
from glasstext.io import jsonable
from glasstext.models import BUILTIN_MODEL_MODULES, load_model, model_types
from glasstext.models.base import GlassModel, register_model
from glasstext.results import Result, ResultMixin, limit
from synthetic import NEG, POS, planted_texts

FILLER = ["movie", "film", "plot", "the", "a", "is", "was", "story"]

# -- a fourth model through the protocol: 37 non-blank lines, @dataclass to _restore_state --


@dataclass
class KeywordCounts(ResultMixin):
    text: str
    counts: list[tuple[str, int]]
    prediction: Any

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        counts = [[w, n] for w, n in limit(self.counts, top)]
        return {"text": self.text, "prediction": jsonable(self.prediction), "counts": counts}

    def __str__(self) -> str:
        return f"{self.prediction}: " + ", ".join(f"{w} x{n}" for w, n in self.counts)


@register_model
class KeywordCountClassifier(GlassModel, ClassifierMixin, BaseEstimator):
    _task, _fitted_attribute = "classification", "weights_"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"keywords": [tuple, list]}

    def __init__(self, keywords: tuple[str, ...] = ("good", "bad")) -> None:
        self.keywords = keywords

    def fit(self, X: Any, y: Any) -> "KeywordCountClassifier":
        self._validate_params()
        self.classes_, codes = np.unique(y, return_inverse=True)
        counts = self._counts(X)
        self.weights_ = np.vstack([counts[codes == c].mean(0) for c in range(len(self.classes_))])
        return self

    def _counts(self, X: Any) -> np.ndarray:
        return np.array([[t.lower().split().count(k) for k in self.keywords] for t in X], float)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self._counts(X) @ self.weights_.T, axis=1)]

    def explain(self, text: str) -> KeywordCounts:
        counts = [(k, int(n)) for k, n in zip(self.keywords, self._counts([text])[0], strict=True)]
        return KeywordCounts(text, counts, self.predict([text])[0])

    def export_text(self) -> str:
        return "\n".join(f"{c}: {self.weights_[i].tolist()}" for i, c in enumerate(self.classes_))

    def _state_config(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist()}

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _restore_state(self, config: dict, arrays: dict, folder: Path) -> None:
        self.classes_, self.weights_ = np.asarray(config["classes"]), arrays["weights"]


def test_a_toy_model_fits_saves_loads_explains_and_predicts_through_the_cli(tmp_path, capsys):
    X, y = planted_texts(40, [["bad"], ["good"]], ["neg", "pos"], FILLER, 3)
    model = KeywordCountClassifier().fit(X, y)
    assert model.score(X, y) == 1.0
    folder = model.save(tmp_path / "kw")
    loaded = load_model(folder)
    assert type(loaded) is KeywordCountClassifier and loaded.keywords == ("good", "bad")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.export_text() == model.export_text()

    e = loaded.explain("a good good film")
    assert isinstance(e, Result)
    assert json.loads(e.to_json()) == {
        "text": "a good good film",
        "prediction": "pos",
        "counts": [["good", 2], ["bad", 0]],
    }
    assert e.to_dict(top=1)["counts"] == [["good", 2]]
    assert str(e) == "pos: good x2, bad x0" and "good x2" in e.to_html()

    assert main(["predict", str(folder), "some good text", "a bad one"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["prediction"] for r in rows] == ["pos", "neg"]


def test_the_toy_model_is_registered_and_validates_its_parameters():
    assert model_types()["KeywordCountClassifier"] is KeywordCountClassifier
    with pytest.raises(InvalidParameterError, match="keywords must be"):
        KeywordCountClassifier(keywords="good").fit(["good"], ["pos"])
    with pytest.raises(TypeError, match="no n-grams or phrase sets"):
        KeywordCountClassifier().summary_evidence(3)


# -- the built-in models ---------------------------------------------------------------


class HashEncoder:
    """Deterministic word vectors; the planted words share a direction."""

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for t in texts:
            vecs = []
            for w in t.split():
                v = np.random.default_rng(zlib.crc32(w.encode())).normal(size=8) * 0.1
                v[0] += 2.0 if w in POS else -2.0 if w in NEG else 0.0
                vecs.append(v)
            rows.append(np.mean(vecs, axis=0))
        return np.asarray(rows)


class PoolExpander:
    def expand(self, keywords: list[str]) -> dict[str, list[str]]:
        return {k: (POS if k in POS else NEG if k in NEG else [])[:3] for k in keywords}


@pytest.fixture(scope="module")
def data():
    return planted_texts(80, [NEG, POS], ["neg", "pos"], FILLER, 3)


def _target(y: np.ndarray) -> np.ndarray:
    return (y == "pos").astype(float) * 2.0 - 0.5


@pytest.fixture(scope="module")
def fitted(data, tiny_bert_dir):
    X, y = data
    tree = {"expansion": PoolExpander(), "min_df": 2, "max_depth": 2}
    proto = {"warmup_epochs": 0, "epochs": 1, "last_layer_epochs": 1}
    return {
        "linear": AugLinearClassifier(encoder=HashEncoder()).fit(X, y),
        "linear-reg": AugLinearRegressor(encoder=HashEncoder()).fit(X, _target(y)),
        "tree": AugTreeClassifier(**tree).fit(X, y),
        "tree-reg": AugTreeRegressor(**tree).fit(X, _target(y)),
        "proto": ProtoLMClassifier(tiny_bert_dir, 2, progress=False, **proto).fit(X, y),
    }


def test_every_built_in_model_is_registered_from_its_module():
    assert BUILTIN_MODEL_MODULES == (
        "glasstext.models.auglinear",
        "glasstext.models.augtree",
        "glasstext.models.protolm",
    )
    types = model_types()
    for cls in (
        AugLinearClassifier,
        AugLinearRegressor,
        AugTreeClassifier,
        AugTreeRegressor,
        ProtoLMClassifier,
    ):
        assert cls.__mro__.index(GlassModel) < cls.__mro__.index(BaseEstimator)
        assert types[cls.__name__] is cls
        assert cls.__module__ in BUILTIN_MODEL_MODULES


@pytest.mark.parametrize("name", ["linear", "linear-reg", "tree", "tree-reg", "proto"])
def test_every_explanation_is_a_result(fitted, name):
    model = fitted[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        e = model.explain("the movie was good and fun")
    assert isinstance(e, Result)
    data = e.to_dict()
    assert json.loads(json.dumps(data)) == data  # JSON-ready as it is
    assert json.loads(e.to_json(top=1)) == json.loads(json.dumps(e.to_dict(top=1)))
    assert str(e) and e.to_html().startswith("<")
    assert isinstance(model.export_text(), str) and model.export_text()


def test_linear_and_tree_explanations_keep_the_cli_keys(fitted, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        e = fitted["linear"].explain("the movie was good and fun")
    d = e.to_dict(top=2)
    cli_keys = {"text", "prediction", "decision", "intercept", "contributions", "sources"}
    scaled = {"length_scale"} if fitted["linear"].doc_pooling_ != "sum" else set()
    assert set(d) == cli_keys | {"phrase_parts"} | scaled  # the default model is hybrid
    assert [g for g, _ in d["contributions"]] == [g for g, _ in e.contributions[:2]]
    assert list(d["sources"]) == list(d["phrase_parts"]) == [g for g, _ in e.contributions[:2]]
    pure = AugLinearClassifier(encoder=HashEncoder(), hybrid=False).fit(*data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        scaled = {"length_scale"} if pure.doc_pooling_ != "sum" else set()
        assert set(pure.explain("the movie was good and fun").to_dict()) == cli_keys | scaled
    assert len(e.to_dict()["contributions"]) == len(e.contributions)
    t = fitted["tree"].explain("the movie was good and fun").to_dict()
    assert set(t) == {"text", "prediction", "path", "leaf_value"}
    assert set(t["path"][0]) == {"phrases", "matched", "answer"}
    e = fitted["proto"].explain("the movie was good and fun")
    assert e.to_dict()["prototypes"] == [m.to_dict() for m in e.prototypes]
    assert isinstance(e.prototypes[0], Result) and str(e.prototypes[0]).startswith("prototype #")


def test_aug_linear_export_text_is_the_top_ngrams_per_class(fitted):
    model = fitted["linear"]
    lines = model.export_text(k=2).splitlines()
    top = model.top_ngrams(2)
    expected = []
    for label, rows in top.items():
        expected += [f"{label}:", *(f"  {v:+.4f}  {g}" for g, v in rows)]
    assert lines == expected
    assert model.export_text(top=2) == model.export_text(2)
    assert len(model.export_text().splitlines()) == 2 * (1 + 15)


def test_explanation_is_a_deprecated_alias():
    for module in (glasstext, glasstext.models, glasstext.models.auglinear):
        with pytest.warns(DeprecationWarning, match="LinearExplanation"):
            assert module.Explanation is LinearExplanation
    with pytest.raises(AttributeError):
        glasstext.models.NoSuchName  # noqa: B018


@pytest.mark.parametrize(
    ("cls", "params", "name"),
    [
        (AugLinearClassifier, {"unseen": "drop"}, "unseen"),
        (AugLinearClassifier, {"min_count": 0}, "min_count"),
        (AugLinearRegressor, {"cv": 2.5}, "cv"),
        (AugLinearClassifier, {"encoder": 42}, "encoder"),
        (AugTreeClassifier, {"max_depth": 0}, "max_depth"),
        (AugTreeClassifier, {"expansion": "wordnet"}, "expansion"),
        (AugTreeClassifier, {"stem": "yes"}, "stem"),
        (AugTreeRegressor, {"min_impurity_decrease": -0.1}, "min_impurity_decrease"),
        (ProtoLMClassifier, {"learning_rate": 0}, "learning_rate"),
        (ProtoLMClassifier, {"cluster_weight": float("inf")}, "cluster_weight"),
        (ProtoLMClassifier, {"separation_margin": 5.0}, "separation_margin"),
    ],
)
def test_constraints_reject_bad_parameters_by_name(data, cls, params, name):
    X, y = data
    target = _target(y) if cls in (AugLinearRegressor, AugTreeRegressor) else y
    with pytest.raises(InvalidParameterError, match=rf"^{name} must be"):
        cls(**params).fit(X, target)


@pytest.mark.parametrize(
    "cls",
    [
        AugLinearClassifier,
        AugLinearRegressor,
        AugTreeClassifier,
        AugTreeRegressor,
        ProtoLMClassifier,
    ],
)
def test_get_params_set_params_and_clone(cls):
    model = cls()
    params = model.get_params()
    assert set(params) == set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert model.set_params(random_state=7) is model
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert copy.get_params()["random_state"] == 7


def test_cli_metadata_names_real_parameters():
    expected = {
        AugLinearClassifier: (
            "auglinear",
            {
                "encoder",
                "ngram_range",
                "unseen",
                "hybrid",
                "embedding_weight",
                "doc_pooling",
                "encoder_words",
                "compose",
                "word_shapes",
            },
        ),
        AugTreeRegressor: (
            "augtree",
            {
                "max_depth",
                "expansion",
                "lm",
                "encoder",
                "context",
                "n_expansions",
                "max_features",
                "min_samples_leaf",
                "n_estimators",
                "stem",
                "random_state",
            },
        ),
        ProtoLMClassifier: (
            "protolm",
            {
                "encoder",
                "n_prototypes_per_class",
                "epochs",
                "batch_size",
                "learning_rate",
                "max_length",
                "freeze_layers",
                "validation_fraction",
                "patience",
                "warmup_epochs",
                "last_layer_epochs",
                "random_state",
            },
        ),
    }
    for cls, (cli_name, options) in expected.items():
        assert cls.cli_name == cli_name and cls.cli_help
        assert set(cls.cli_options) == options
        assert options <= set(inspect.signature(cls.__init__).parameters)
        assert set(cls.cli_encoder_options) <= set(Encoder().get_params())
    assert AugLinearRegressor.cli_name == "auglinear" and AugTreeClassifier.cli_name == "augtree"


def test_fit_notes(fitted, data):
    X, _ = data
    linear = fitted["linear"]
    notes = linear.fit_notes(["good zzz film"])
    assert notes[0] == f"table: {len(linear.vocabulary_)} n-grams"
    assert notes[-1] == linear.unseen_report(["good zzz film"]).message()
    assert linear.fit_notes() == notes[:-1]
    assert len(notes) == 3  # with the pooling chosen, and the scores it was chosen on
    tree = fitted["tree"]
    assert tree.fit_notes(X) == [tree.export_text(max_phrases=8)]  # no LM expansion
    llm = AugTreeClassifier(expansion="llm")
    llm.trees_, llm.classes_ = tree.trees_, tree.classes_
    llm.expansion_usage_ = {"n_generate_calls": 3, "n_cache_hits": 2}
    assert llm.fit_notes()[0] == "LM calls: 3 (cache hits: 2)"
    proto = fitted["proto"]
    shown = [h for h in proto.history_ if h["stage"] != "last-layer" and "validation_accuracy" in h]
    assert len(proto.fit_notes()) == len(shown) + 1 > 1
    assert proto.fit_notes()[0].startswith(f"  {shown[0]['stage']} 1: validation accuracy ")
    assert proto.fit_notes()[-1] == proto.export_text()


def test_summary_evidence_lives_on_the_models(fitted):
    assert fitted["linear"].summary_evidence(3).kind == "ngrams"
    assert fitted["tree-reg"].summary_evidence(3).kind == "phrase sets"
    assert [c for c, _ in fitted["linear-reg"].summary_evidence(3).classes] == ["higher", "lower"]
    with pytest.raises(TypeError, match="ProtoLMClassifier has no n-grams"):
        summarize_model(fitted["proto"], lm=None)


def test_models_never_import_explain():
    folder = Path(glasstext.models.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("glasstext.explain"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("glasstext.explain") for a in node.names)
