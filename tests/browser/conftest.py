"""A real headless browser for the tests of what people look at.

Reports and the explorer are opened in Debian's Chromium through Playwright.
Outside CI a machine without a browser skips these tests; in CI (``CI=true``)
a missing browser fails them, so a green run always means "looked at".
Screenshots go to ``.test-artifacts/screenshots`` (or ``GLASSTEXT_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[2]
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere: a browser test must never pass unseen in CI."""
    if _in_ci():
        pytest.fail(f"browser tests need {reason} (CI installs it: see .ci/run)")
    pytest.skip(f"no browser: {reason}")


def _chromium_path() -> str | None:
    explicit = os.environ.get("GLASSTEXT_CHROMIUM")
    if explicit:
        return explicit
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots are kept as test artefacts."""
    default = _REPO / ".test-artifacts" / "screenshots"
    folder = Path(os.environ.get("GLASSTEXT_SCREENSHOTS", default))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package (pip install -e '.[dev]')")
    path = _chromium_path()
    if path is None:
        _unavailable("a Chromium executable (apt-get install chromium)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class BrowserPage:
    """A page plus what the page complained about while it was open."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    screenshot_dir: Path | None = None

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        """Save a PNG named after the test step and return its path."""
        assert self.screenshot_dir is not None
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        path = self.screenshot_dir / f"{safe}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def browser_page(browser: Any, screenshot_dir: Path) -> Iterator[BrowserPage]:
    """A fresh page (1280x900) that records console errors and uncaught exceptions."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    wrapped = BrowserPage(page=page, screenshot_dir=screenshot_dir)
    page.on(
        "console",
        lambda message: (
            wrapped.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: wrapped.console_errors.append(str(error)))
    yield wrapped
    context.close()
