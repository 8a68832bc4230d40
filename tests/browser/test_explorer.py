"""The explorer in a real browser: type a text, see the explanation, remove words.

The app runs in uvicorn on a free 127.0.0.1 port in a background thread,
serving small models fit on planted data (no encoder is ever loaded: the
Aug-Linear model is served table-only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("uvicorn")

from explorer_models import fitted_auglinear, fitted_augtree

TEXT = "The movie was great, but the plot was dull and boring."


def _start(model: Any, name: str) -> Iterator[str]:
    from glasstext.explorer import target_for_model

    yield from _start_target(target_for_model(model, name))


def _start_target(target: Any) -> Iterator[str]:
    import uvicorn

    from glasstext.explorer import create_app
    from glasstext.explorer.app import bind, url_of

    app = create_app(target)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the explorer's server did not start")
        time.sleep(0.05)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def auglinear_url() -> Iterator[str]:
    yield from _start(fitted_auglinear(), "planted reviews (Aug-Linear)")


@pytest.fixture(scope="module")
def augtree_url() -> Iterator[str]:
    yield from _start(fitted_augtree(), "planted reviews (Aug-Tree)")


def _word(page: Any, text: str) -> Any:
    return page.locator("#words button.w", has_text=text).first


def test_typing_updates_the_explanation_and_removing_words_shows_the_change(
    browser_page, auglinear_url
) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    page.goto(auglinear_url)
    expect(page.locator("#model")).to_have_text("planted reviews (Aug-Linear)")
    expect(page.locator("#mode")).to_contain_text("table-only")

    page.locator("#text").fill(TEXT)
    expect(page.locator("#words button.w")).to_have_count(11)
    expect(page.locator("#predicted")).to_contain_text("negative")
    expect(page.locator("#status")).to_contain_text("no model calls")
    # evidence for the explained class is blue, against it orange; plain words stay light
    dull = _word(page, "dull").evaluate("e => getComputedStyle(e).backgroundColor")
    great = _word(page, "great").evaluate("e => getComputedStyle(e).backgroundColor")
    assert dull != great and "255, 255, 255" not in dull
    expect(page.locator("#items tbody tr").first).to_be_visible()
    browser_page.screenshot("explorer_auglinear_typed")

    # what-if: remove the two negative words
    _word(page, "dull").click()
    _word(page, "boring").click()
    expect(page.locator("#whatif")).to_contain_text("Without \u201cdull\u201d, \u201cboring\u201d")
    expect(page.locator("#whatif")).to_contain_text(
        "The prediction changes: negative \u2192 positive"
    )
    expect(_word(page, "dull")).to_have_attribute("aria-pressed", "true")
    browser_page.screenshot("explorer_auglinear_whatif")

    # editing again updates the explanation (and forgets the removals)
    page.locator("#text").fill("A lovely, fun film.")
    expect(page.locator("#words button.w")).to_have_count(4)
    expect(page.locator("#predicted")).to_contain_text("positive")
    expect(page.locator("#whatif")).to_contain_text("Click words")

    # the edited text can be taken over
    _word(page, "lovely").click()
    expect(page.locator("#whatif-change")).to_be_visible()
    page.locator("#use-edited").click()
    expect(page.locator("#text")).to_have_value("A , fun film.")
    expect(page.locator("#words button.w")).to_have_count(3)

    assert browser_page.console_errors == []


def test_an_oversized_text_shows_the_limit(browser_page, auglinear_url) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    page.goto(auglinear_url)
    expect(page.locator("#model")).not_to_have_text("loading\u2026")
    # the text box stops at the limit; a request made around it gets the server's message
    page.locator("#text").fill("good " * 2000)
    assert len(page.locator("#text").input_value()) == 5000
    message = page.evaluate(
        """async () => {
            const r = await fetch('/api/analyze', {method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({text: 'x'.repeat(6000)})});
            return [r.status, (await r.json()).error];
        }"""
    )
    assert message[0] == 413 and "at most 5,000" in message[1]


def test_a_tree_shows_its_path(browser_page, augtree_url) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    page.goto(augtree_url)
    expect(page.locator("#kind")).to_have_text("Aug-Tree")
    page.locator("#text").fill(TEXT)
    expect(page.locator("#items tbody tr").first).to_contain_text("contains")
    expect(page.locator("#base")).to_contain_text("root")
    _word(page, "boring").click()
    expect(page.locator("#whatif-change")).to_be_visible()
    browser_page.screenshot("explorer_augtree")
    assert browser_page.console_errors == []


def _toy_lm(texts: list[str]) -> Any:
    """A black box: positive with "good"/"great", negative with "dull"/"boring"."""
    import numpy as np

    def p(text: str) -> float:
        words = set(text.lower().replace(",", " ").replace(".", " ").split())
        return 1 / (
            1
            + np.exp(
                -(2.0 * len(words & {"good", "great"}) - 2.0 * len(words & {"dull", "boring"}))
            )
        )

    pos = np.array([p(t) for t in texts])
    return np.column_stack([1 - pos, pos])


@pytest.fixture(scope="module")
def black_box_url() -> Iterator[str]:
    from glasstext.explain import CallableScorer
    from glasstext.explorer import ScorerTarget

    target = ScorerTarget(
        CallableScorer(_toy_lm, classes=["negative", "positive"]),
        "occlusion",
        name="toy zero-shot LM",
        kind="zero-shot LM",
    )
    target.debounce_ms = 100
    yield from _start_target(target)


def test_a_black_box_shows_the_calls_spent(browser_page, black_box_url) -> None:
    from playwright.sync_api import expect

    page = browser_page.page
    page.goto(black_box_url)
    expect(page.locator("#mode")).to_have_text("runs the model")
    page.locator("#text").fill(TEXT)
    expect(page.locator("#status")).to_contain_text("model calls")
    expect(page.locator("#base")).to_contain_text("every word removed")
    _word(page, "great").click()
    expect(page.locator("#whatif")).to_contain_text("model calls")
    browser_page.screenshot("explorer_black_box")
    assert browser_page.console_errors == []
