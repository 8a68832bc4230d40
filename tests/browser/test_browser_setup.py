"""The browser fixture itself: it renders, records console errors and saves screenshots."""

from __future__ import annotations


def test_page_renders_and_records_console_errors(browser_page) -> None:
    page = browser_page.page
    page.set_content("<h1>glasstext</h1><script>console.error('deliberate')</script>")
    assert page.inner_text("h1") == "glasstext"
    assert browser_page.console_errors == ["deliberate"]


def test_screenshot_is_a_png(browser_page) -> None:
    browser_page.page.set_content("<p style='font-size:40px'>picture</p>")
    path = browser_page.screenshot("browser_setup_png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
