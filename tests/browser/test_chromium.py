"""The browser the other browser tests stand on: Debian's Chromium starts headless, renders a page with
Chinese text, runs script and WebCrypto, and its screenshot is a real PNG."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.browser.conftest import Screenshots

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_chromium_renders_and_signs_with_webcrypto(browser: Browser, screenshots: Screenshots) -> None:
    page = await browser.new_page()
    # WebCrypto exists only in a secure context: https, or http on loopback as the kiosk is served in tests.
    html = "<html lang='zh-Hant'><meta charset='utf-8'><body><h1 id='t'>灣聯 Baylink</h1></body></html>"
    await page.route("http://127.0.0.1:9/", lambda route: route.fulfill(body=html, content_type="text/html"))
    await page.goto("http://127.0.0.1:9/")
    assert await page.inner_text("#t") == "灣聯 Baylink"
    verified = await page.evaluate(
        """async () => {
            const alg = {name: "ECDSA", namedCurve: "P-256"};
            const keys = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]);
            const data = new TextEncoder().encode("material");
            const sig = await crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, keys.privateKey, data);
            const other = new TextEncoder().encode("materiaL");
            return [await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, keys.publicKey, sig, data),
                    await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, keys.publicKey, sig, other)];
        }"""
    )
    assert verified == [True, False]
    shot = await screenshots.take(page, "hello")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
