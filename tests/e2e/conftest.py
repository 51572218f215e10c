"""Browser tests drive the machine's own headless Chromium (Playwright's download does not work here)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000  # generous: a cold Chromium on a busy CI machine


@pytest.fixture
def chromium():
    """Headless Chromium, closed in any case."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                             timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
