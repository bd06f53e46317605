"""Debian's headless Chromium driven by Playwright, for the tests that open pages in a browser.

``need_browser()`` skips a test (fails it under ``CI=true``) when Chromium or Playwright is
missing; ``chromium_page()`` opens one page in a new empty profile and closes the browser after.
Playwright's own browser downloads are never used (no ``playwright install``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tether.testing.needs import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def need_browser() -> Any:
    """Return playwright's sync_playwright; skip (fail under CI=true) without Chromium or Playwright."""
    problem = None
    if not os.access(CHROMIUM, os.X_OK):
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "playwright is not installed (pip install -e '.[test]')"
    if problem is not None:
        unavailable(problem)
    return sync_playwright


@contextmanager
def chromium_page(timeout_ms: int) -> Iterator[Any]:
    """Yield a page at 1280x800 in a new empty profile, waiting ``timeout_ms`` at most per action
    by default; the browser is closed on exit. Skips (fails under CI=true) as ``need_browser``."""
    sync_playwright = need_browser()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            context.close()
