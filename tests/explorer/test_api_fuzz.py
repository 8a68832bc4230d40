"""The explorer's JSON API under arbitrary requests (hypothesis, through the test client).

Every POST endpoint gets arbitrary JSON (nested, wrong types, huge numbers,
lone surrogates, missing and extra fields), deeply nested JSON, raw bytes and
assorted content types. Whatever arrives, the answer is either a 2xx with a
JSON body or a 4xx with the app's own error shape, ``{"error": "one line"}``:
never a 500, never FastAPI's ``{"detail": ...}``, never an exception out of
the app (the client re-raises server exceptions).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
hypothesis = pytest.importorskip("hypothesis")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from explorer_models import fitted_auglinear, fitted_augtree  # noqa: E402
from glasstext.explain import CallableScorer  # noqa: E402
from glasstext.explorer import ExplorerLimits, ScorerTarget, create_app, target_for_model  # noqa: E402
from glasstext.validation import surrogate_position  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::glasstext.exceptions.UnseenNgramWarning")

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Small limits, so the size checks are reached as often as the analyses.
LIMITS = ExplorerLimits(max_chars=300, max_body_bytes=2048, max_removed=6)

# Words the toy models know and odd characters; lone surrogates among any code point.
WORDS = st.sampled_from(
    [
        *("good", "dull", "boring", "great", "film", "the", "'s", "-", "!!", "é", "東京"),
        *("\x00", "\u2028", "\u200b", "\n", "\t", "\U0001f600", "Ǆ", "ﬁ", "İ"),
    ]
)
ANY_CHARS = st.text(st.characters(exclude_categories=()), max_size=6)
# (a high and a low one side by side are a pair in JSON: one character once decoded)
SURROGATES = st.sampled_from(["\ud800", "\udfff", "\ud83d", "\ude00", "\ud83d\ude00"])
TEXTS = st.one_of(
    st.lists(WORDS, max_size=14).map(" ".join),
    st.lists(WORDS | ANY_CHARS, max_size=10).map(" ".join),
    st.lists(WORDS | SURROGATES, min_size=1, max_size=6).map(" ".join),
)
NUMBERS = st.one_of(
    st.integers(-3, 12),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 2**63, 2**64 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
    max_leaves=12,
)
# Requests as the page sends them, with indices that may be out of range.
PLAUSIBLE = st.fixed_dictionaries(
    {"text": TEXTS},
    optional={
        "class_index": st.integers(-1, 3),
        "remove": st.lists(st.integers(-1, 10), max_size=8),
    },
)
# Bodies shaped like requests, with wrong types, missing and extra fields mixed in.
MANGLED = st.fixed_dictionaries(
    {},
    optional={
        "text": st.one_of(TEXTS, VALUES),
        "class_index": st.one_of(st.integers(-2, 3), VALUES),
        "remove": st.one_of(st.lists(st.integers(-2, 20), max_size=8), VALUES),
        "code": VALUES,
    },
).flatmap(lambda d: st.dictionaries(TEXTS, VALUES, max_size=2).map(lambda extra: {**extra, **d}))
REQUESTS = st.one_of(PLAUSIBLE, PLAUSIBLE, MANGLED)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "",
        None,
    ]
)


def _dumps(value: Any) -> bytes:
    """JSON as a client might send it: NaN and Infinity included, surrogates escaped."""
    return json.dumps(value).encode()


def _nested(depth: int, inner: bytes) -> bytes:
    return b"[" * depth + inner + b"]" * depth


BODIES = st.one_of(
    REQUESTS.map(_dumps),
    REQUESTS.map(_dumps),
    VALUES.map(_dumps),
    st.binary(max_size=120),
    REQUESTS.map(lambda d: _dumps(d).decode().encode("utf-16")),
    REQUESTS.map(lambda d: _dumps(d)[:-1] + b"\xff\xfe}"),
    REQUESTS.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.integers(1, 1000).map(lambda n: b'{"text": ' + _nested(n, b'"good"') + b"}"),
    st.integers(900, 2000).map(lambda n: _nested(n, b"1")),
    st.integers(1, 200).map(lambda n: b'{"text": "good", "x": ' + _nested(n, b"{}") + b"}"),
)


def _toy_probs(texts: list[str]) -> np.ndarray:
    p = np.array([0.9 if "good" in t.split() else 0.2 for t in texts])
    return np.column_stack([1 - p, p])


def _client(target: Any) -> TestClient:
    app = create_app(target, limits=LIMITS)
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=True)


@pytest.fixture(scope="module")
def clients() -> dict[str, TestClient]:
    scorer = CallableScorer(_toy_probs, classes=["neg", "pos"])
    return {
        "auglinear": _client(target_for_model(fitted_auglinear(), "linear")),
        "augtree": _client(target_for_model(fitted_augtree(), "tree")),
        "scorer": _client(ScorerTarget(scorer, "occlusion", name="toy")),
    }


def _post_paths(client: TestClient) -> list[str]:
    return sorted(r.path for r in client.app.routes if "POST" in getattr(r, "methods", ()))


def test_every_post_endpoint_is_fuzzed(clients):
    assert _post_paths(clients["augtree"]) == ["/api/analyze", "/api/whatif"]


def assert_well_formed(response: Any) -> None:
    """2xx with JSON, or 4xx with ``{"error": one line}``: nothing else."""
    status = response.status_code
    assert status < 500, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    payload = json.loads(response.content)  # strict UTF-8 JSON, whatever came in
    if 200 <= status < 300:
        assert isinstance(payload, dict)
        return
    assert 400 <= status < 500
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    message = payload["error"]
    assert isinstance(message, str) and message.strip(), payload
    assert len(message.splitlines()) == 1 and message == message.strip(), payload


@FUZZ
@given(
    name=st.sampled_from(["auglinear", "augtree", "scorer"]),
    path=st.sampled_from(["/api/analyze", "/api/whatif"]),
    body=BODIES,
    content_type=CONTENT_TYPES,
)
def test_any_body_gets_json_or_a_one_line_error(clients, name, path, body, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    response = clients[name].post(path, content=body, headers=headers)
    hypothesis.event(f"HTTP {response.status_code}")
    assert_well_formed(response)


@FUZZ
@given(
    name=st.sampled_from(["auglinear", "augtree", "scorer"]),
    path=st.sampled_from(["/api/analyze", "/api/whatif"]),
    request=REQUESTS,
)
def test_any_json_request_gets_json_or_a_one_line_error(clients, name, path, request):
    response = clients[name].post(
        path, content=_dumps(request), headers={"content-type": "application/json"}
    )
    hypothesis.event(f"HTTP {response.status_code}")
    assert_well_formed(response)
    text = json.loads(_dumps(request)).get("text")
    if response.status_code == 200:
        assert response.json()["text"] == text
    if set(request) == {"text"} and isinstance(text, str) and surrogate_position(text) is not None:
        assert "lone surrogate" in response.json()["error"]  # refused up front


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/analyze", 405), ("PUT", "/api/whatif", 405), ("GET", "/api/nothing", 404)],
)
def test_wrong_methods_and_paths_get_the_error_shape(clients, method, path, status):
    response = clients["augtree"].request(method, path)
    assert response.status_code == status
    assert_well_formed(response)
