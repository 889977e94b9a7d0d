"""Shared fixtures: a headless Chromium (Debian's, driven by Playwright) and an artifacts folder.

Browser tests are skipped with a clear message when Chromium is absent; `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def chromium_executable() -> str | None:
    for name in (
        os.environ.get("DIGEST_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save screenshots and rendered files for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A Playwright BrowserContext on the system Chromium, with a fresh profile."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("Chromium not found: install Debian's `chromium` (bash .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()
