"""The explorer's web app through FastAPI's TestClient: contents, what-if, limits, errors."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from explorer_models import fitted_auglinear, fitted_augtree
from glasstext.cli import main
from glasstext.explain import CallableScorer
from glasstext.explorer import (
    AugLinearTarget,
    AugTreeTarget,
    ExplorerLimits,
    ScorerTarget,
    create_app,
    is_loopback,
    paint,
    target_for_model,
)
from glasstext.explorer.targets import LEGEND
from glasstext.report.shading import contrast_ratio

pytestmark = pytest.mark.filterwarnings("ignore::glasstext.exceptions.UnseenNgramWarning")

TEXT = "The movie was great, but the plot was dull and boring."


def client_for(target, **kwargs) -> TestClient:
    return TestClient(create_app(target, **kwargs), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def auglinear():
    return fitted_auglinear()


@pytest.fixture(scope="module")
def client(auglinear) -> TestClient:
    return client_for(target_for_model(auglinear, "toy"))


def test_info_names_the_model_and_its_mode(client):
    info = client.get("/api/info").json()
    assert info["kind"] == "Aug-Linear" and info["name"] == "toy"
    assert info["classes"] == ["negative", "positive"] and info["table_only"] is True
    assert info["limits"]["max_chars"] == 5000


def test_page_is_self_contained_with_a_strict_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and "glasstext explorer" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "'sha256-" in policy
    assert "unsafe-inline" not in policy
    # nothing fetched from elsewhere
    assert "http://" not in response.text and "https://" not in response.text


def test_analyze_auglinear_matches_the_model(client, auglinear):
    a = client.post("/api/analyze", json={"text": TEXT}).json()
    proba = auglinear.predict_proba([TEXT])[0]
    assert a["proba"] == pytest.approx(list(proba))
    assert a["prediction"] == str(auglinear.predict([TEXT])[0])
    assert [u["text"] for u in a["units"]] == [
        "The",
        "movie",
        "was",
        "great",
        "but",
        "the",
        "plot",
        "was",
        "dull",
        "and",
        "boring",
    ]
    for u in a["units"]:
        assert TEXT[u["start"] : u["end"]] == u["text"]
        assert u["color"].startswith("#") and len(u["color"]) == 7
    # word shares add up to the n-gram sum: log-odds of the explained class minus intercept
    explained = a["explained"]["index"]
    decision = float(auglinear.decision_function([TEXT])[0])
    log_odds = decision if explained == 1 else -decision
    total = sum(u["score"] for u in a["units"]) + a["base"]["value"]
    assert total == pytest.approx(log_odds)
    scores = {u["text"]: u["score"] for u in a["units"]}
    assert scores["dull"] > 0 > scores["great"]  # negative explained: "dull" pushes toward it
    assert a["items"] and a["cost"]["calls"] == {}


def test_another_class_can_be_explained(client):
    a = client.post("/api/analyze", json={"text": TEXT, "class_index": 1}).json()
    assert a["explained"] == {"index": 1, "name": "positive"}
    scores = {u["text"]: u["score"] for u in a["units"]}
    assert scores["great"] > 0 > scores["dull"]
    bad = client.post("/api/analyze", json={"text": TEXT, "class_index": 7})
    assert bad.status_code == 422 and "class_index" in bad.json()["error"]


def test_what_if_removal_changes_the_prediction(client, auglinear):
    words = [u["text"] for u in client.post("/api/analyze", json={"text": TEXT}).json()["units"]]
    remove = [words.index("dull"), words.index("boring")]
    w = client.post("/api/whatif", json={"text": TEXT, "remove": remove}).json()
    assert w["removed"] == ["dull", "boring"]
    assert w["edited_text"] == "The movie was great, but the plot was and ."  # as explainers delete
    after = auglinear.predict_proba([w["edited_text"]])[0]
    assert w["after"]["proba"] == pytest.approx(list(after))
    assert w["delta"] == pytest.approx(list(after - auglinear.predict_proba([TEXT])[0]))
    assert w["after"]["prediction"] == "positive" != w["before"]["prediction"]


def test_what_if_refuses_words_the_text_does_not_have(client):
    r = client.post("/api/whatif", json={"text": "good film", "remove": [5]})
    assert r.status_code == 422 and "2 words" in r.json()["error"]


def test_what_if_of_every_word_says_nothing_is_left(client):
    w = client.post("/api/whatif", json={"text": "good film", "remove": [0, 1]}).json()
    assert w["after"] is None and w["edited_text"] == ""


def test_oversized_text_is_refused_naming_the_limit(auglinear):
    small = client_for(AugLinearTarget(auglinear), limits=ExplorerLimits(max_chars=20))
    r = small.post("/api/analyze", json={"text": "good " * 10})
    assert r.status_code == 413
    assert "at most 20" in r.json()["error"] and "--max-chars" in r.json()["error"]


def test_oversized_body_is_refused_before_parsing(client):
    body = json.dumps({"text": "good " * 20_000})
    r = client.post("/api/analyze", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "65,536" in r.json()["error"] and "--max-body" in r.json()["error"]


def test_a_chunked_body_is_counted_too(auglinear):
    small = client_for(AugLinearTarget(auglinear), limits=ExplorerLimits(max_body_bytes=100))
    chunks = iter([b'{"text": "', b"good " * 30, b'"}'])
    r = small.post("/api/analyze", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "at most 100" in r.json()["error"]


def test_too_many_removals_are_refused(auglinear):
    small = client_for(AugLinearTarget(auglinear), limits=ExplorerLimits(max_removed=2))
    r = small.post("/api/whatif", json={"text": "a b c d", "remove": [0, 1, 2]})
    assert r.status_code == 413 and "at most 2" in r.json()["error"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"txt": "good"}', "text: Field required"),
        (b'{"text": 3}', "text:"),
        (b'{"text": "good", "code": "import os"}', "code: Extra inputs are not permitted"),
        (b'{"text": "good", "class_index": -1}', "class_index"),
        (b'{"text": "   "}', "empty"),
        (b'{"text": "!!! ???"}', None),
    ],
)
def test_bad_requests_get_a_clear_json_error(client, body, expected):
    r = client.post("/api/analyze", content=body, headers={"content-type": "application/json"})
    if expected is None:  # no words: a valid, empty explanation
        assert r.status_code == 200 and r.json()["units"] == []
        return
    assert r.status_code == 422
    assert expected in r.json()["error"]


def test_only_loopback_host_names_are_served(client):
    assert client.get("/api/info", headers={"host": "attacker.example"}).status_code == 400
    assert client.get("/api/info", headers={"host": "localhost:8000"}).status_code == 200


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_augtree_is_explained_by_its_path():
    tree = fitted_augtree()
    c = client_for(target_for_model(tree, "tree"))
    a = c.post("/api/analyze", json={"text": "a dull film"}).json()
    assert isinstance(target_for_model(tree), AugTreeTarget)
    assert a["proba"] == pytest.approx(list(tree.predict_proba(["a dull film"])[0]))
    # root value plus every move on the path is the prediction
    moves = sum(i["score"] for i in a["items"])
    assert a["base"]["value"] + moves == pytest.approx(a["proba"][a["explained"]["index"]])
    # the words of phrases found carry the "yes" moves; the others none
    yes = sum(i["score"] for i in a["items"] if i["note"].startswith("yes"))
    assert sum(u["score"] for u in a["units"]) == pytest.approx(yes)
    assert {u["text"] for u in a["units"] if u["score"] != 0} <= {"dull"}


def _toy_probs(texts):
    """Positive when "good" occurs: a black box with two classes."""
    p = np.array([0.9 if "good" in t.split() else 0.2 for t in texts])
    return np.column_stack([1 - p, p])


def test_a_black_box_shows_the_calls_it_spends():
    scorer = CallableScorer(_toy_probs, classes=["neg", "pos"])
    c = client_for(ScorerTarget(scorer, "occlusion", name="toy LM"))
    assert c.get("/api/info").json()["table_only"] is False
    a = c.post("/api/analyze", json={"text": "a good film"}).json()
    assert a["prediction"] == "pos"
    scores = {u["text"]: u["score"] for u in a["units"]}
    assert scores["good"] == pytest.approx(0.7) and scores["film"] == pytest.approx(0.0)
    assert a["cost"]["calls"]["model_calls"] > 0
    w = c.post("/api/whatif", json={"text": "a good film", "remove": [1]}).json()
    assert w["after"]["proba"][1] == pytest.approx(0.2)
    assert w["cost"]["calls"]["model_calls"] == 0  # the occlusion already scored "a film"


def test_a_proxy_report_is_shown():
    target = CallableScorer(_toy_probs, classes=["neg", "pos"])
    proxy = CallableScorer(_toy_probs, classes=["neg", "pos"])
    c = client_for(ScorerTarget(target, "lime", proxy=proxy, n_samples=40, seed=0))
    a = c.post("/api/analyze", json={"text": "a good film that I liked"}).json()
    assert any(n.startswith("proxy proxy") for n in a["notes"])
    assert set(a["cost"]["calls"]) == {"model_calls", "proxy_calls"}
    assert a["cost"]["calls"]["proxy_calls"] > a["cost"]["calls"]["model_calls"]


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_every_shaded_word_keeps_its_text_readable(scale):
    """The page's text colour on every shade the explorer sends: contrast >= 4.5:1."""
    ink = {"dark": (0, 0, 0), "light": (255, 255, 255)}
    for score in np.linspace(-1.5, 1.5, 121):
        shown = paint(float(score), scale)
        assert contrast_ratio(ink[shown["ink"]], _rgb(shown["color"])) >= 4.5, score
    assert paint(0.0, 1.0)["color"] == "#ffffff"
    assert paint(1.0, 1.0)["color"] == LEGEND["toward"]
    assert paint(-1.0, 1.0)["color"] == LEGEND["against"]


def test_serve_with_an_unknown_folder_is_a_clear_cli_error(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "no saved model at" in err and "nowhere" in err


def test_serve_with_a_folder_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["serve", str(tmp_path)]) == 2
    assert "glasstext: error:" in capsys.readouterr().err


def test_serve_needs_a_model_or_an_lm(capsys):
    assert main(["serve"]) == 2
    assert "give a saved model folder" in capsys.readouterr().err


def test_nothing_in_glasstext_imports_the_explorer():
    package = Path(__file__).resolve().parents[2] / "src" / "glasstext"
    for path in package.rglob("*.py"):
        if "explorer" in path.parts or path.name == "serve.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any(n.startswith("glasstext.explorer") for n in names), path


def test_protolm_is_explained_by_attention_and_prototypes(tiny_bert_dir):
    from glasstext import ProtoLMClassifier
    from glasstext.explorer import ProtoLMTarget
    from synthetic import NEG, POS, planted_texts

    X, y = planted_texts(48, [NEG, POS], ["neg", "pos"], ["movie", "film", "the", "a"], 3, 0)
    model = ProtoLMClassifier(
        encoder=tiny_bert_dir,
        n_prototypes_per_class=2,
        warmup_epochs=1,
        epochs=2,
        last_layer_epochs=2,
        batch_size=16,
    ).fit(X, y)
    target = target_for_model(model, "proto")
    assert isinstance(target, ProtoLMTarget) and not target.table_only
    c = client_for(target)
    a = c.post("/api/analyze", json={"text": "the film was dull"}).json()
    assert a["proba"] == pytest.approx(list(model.predict_proba(["the film was dull"])[0]))
    assert a["signed"] is False and len(a["units"]) == 4
    assert 0 < sum(u["score"] for u in a["units"]) <= 1 + 1e-6  # special tokens hold the rest
    assert a["items"] and all(i["note"].startswith("similarity") for i in a["items"])
    w = c.post("/api/whatif", json={"text": "the film was dull", "remove": [3]}).json()
    assert w["edited_text"] == "the film was"


def test_a_regressor_shows_its_value_and_the_change():
    from explorer_models import training_texts
    from glasstext import AugTreeRegressor

    X, labels = training_texts()
    y = [1.0 if label == "positive" else -1.0 for label in labels]
    model = AugTreeRegressor(max_depth=2, expansion="none").fit(X, y)
    c = client_for(target_for_model(model, "scores"))
    assert c.get("/api/info").json()["task"] == "regression"
    a = c.post("/api/analyze", json={"text": "a dull film"}).json()
    assert a["proba"] is None and a["value"] == pytest.approx(model.predict(["a dull film"])[0])
    assert a["base"]["value"] + sum(i["score"] for i in a["items"]) == pytest.approx(a["value"])
    w = c.post("/api/whatif", json={"text": "a dull film", "remove": [1]}).json()
    assert w["delta"] == pytest.approx(w["after"]["value"] - w["before"]["value"])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "expected"),
    [
        (b'{"text": "good \xff film"}', "application/json", 400, "not UTF-8"),
        (b"[" * 20_000 + b"]" * 20_000, "application/json", 400, "nested too deeply"),
        (b'{"text": "good film"}', "text/plain", 415, "Content-Type: application/json"),
        (b'{"text": "good film"}', None, 415, "Content-Type: application/json"),
        (b'["good film"]', "application/json", 422, "must be a JSON object"),
        (b"", "application/json", 422, "the request body is empty"),
        (b'{"text": "good", "a\\nb": 1}', "application/json", 422, '"a\\nb": Extra inputs'),
        (b'{"text": "good", "\\ud800": 1}', "application/json", 422, "lone surrogate"),
    ],
)
def test_unreadable_bodies_get_the_app_error_shape(client, body, content_type, status, expected):
    headers = {} if content_type is None else {"content-type": content_type}
    r = client.post("/api/whatif", content=body, headers=headers)
    assert r.status_code == status
    assert set(r.json()) == {"error"} and expected in r.json()["error"]
    assert len(r.json()["error"].splitlines()) == 1


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/api/analyze", 405), ("GET", "/api/nothing", 404)]
)
def test_unknown_routes_get_the_app_error_shape(client, method, path, status):
    r = client.request(method, path)
    assert r.status_code == status and set(r.json()) == {"error"} and path in r.json()["error"]


def test_a_lone_surrogate_is_refused_before_the_analysis(client):
    json_type = {"content-type": "application/json"}
    r = client.post("/api/analyze", content=b'{"text": "good \\ud800 film"}', headers=json_type)
    assert r.status_code == 422
    assert r.json()["error"] == (
        "the text holds a lone surrogate (U+D800) at character 5: it is not valid Unicode text"
    )
    pair_body = b'{"text": "good \\ud83d\\ude00 film"}'
    pair = client.post("/api/analyze", content=pair_body, headers=json_type)
    assert pair.status_code == 200 and pair.json()["text"] == "good \U0001f600 film"
