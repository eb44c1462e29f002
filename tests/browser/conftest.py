"""Headless Chromium for the browser tests, driven by Playwright.

The browser is Debian's Chromium, launched by its path (``.ci/run`` installs it): a test tool's own
browser download cannot work on this network. The flags keep Chromium from reaching out to Google's
hosts at start (refused here, and slow). Screenshots go to ``test-artifacts/screenshots/<test>/``,
kept after the run for people to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path(os.environ.get("BAYLINK_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("BAYLINK_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Debian Chromium per test module, headless (each test opens contexts of its own, so no
    cookies or storage pass between people). Tests using it run in the module's event loop:
    ``pytest.mark.asyncio(loop_scope="module")``."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once per module, before any I/O of the loop
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does) or set BAYLINK_CHROMIUM")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


class Screenshots:
    """Saves numbered full-page screenshots of one test into a directory of its own."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.saved: list[Path] = []

    async def take(self, page: Page, step: str) -> Path:
        self.count += 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", step).strip("-")
        path = self.directory / f"{self.count:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.saved.append(path)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    directory = SCREENSHOTS / test
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return Screenshots(directory)
