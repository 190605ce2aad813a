"""The system Chromium (Debian's `chromium`) driven by Playwright, for page tests.

Playwright's own browser downloads do not work on our machines, so tests launch the
browser at CHROMIUM_PATH (default /usr/bin/chromium). .ci/run installs it; in CI a
missing browser fails, elsewhere the tests skip with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import server_off

CHROMIUM_ENV = "CHROMIUM_PATH"
# Screenshots and other files a person may want to look at after a run.
ARTIFACTS = Path(os.environ.get("SLO_ENGINE_TEST_ARTIFACTS", "test-artifacts"))


def chromium_path() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for one test module (a Playwright `Browser`).

    Per module, not per session: while Playwright's sync API runs, the main thread has
    a running event loop, so `asyncio.run` (database set-up, async tests) fails there.
    Scoped to a module, that lasts only through the page tests, which run their own
    async work in a worker thread.
    """
    path = chromium_path()
    if path is None:
        server_off(CHROMIUM_ENV, "Browser (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
