"""Browser tests: Playwright for Python driving Debian's Chromium against a live kehu.

Without Chromium (a developer's laptop) they skip and say why; CI installs it (`.ci/run`) and sets
KEHU_REQUIRE_BROWSER, so that there a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("KEHU_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"

# Playwright's sync API runs an event loop in the test's thread; the test's own database calls (fixtures,
# assertions, the flush after each test) are still plain synchronous calls, so Django's guard against ORM use
# inside a running loop does not apply to them. (The deploy-check test leaves this variable out.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("KEHU_REQUIRE_BROWSER"):
            pytest.fail(f"KEHU_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (CI does) or set KEHU_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots() -> Path:
    """Where screenshots go: docs/screenshots in CI (kept as artifacts), var/ on a developer's machine."""
    folder = Path(os.environ.get("KEHU_SCREENSHOTS_DIR", Path(__file__).parents[2] / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
