"""The kiosk web app as the gateway serves it: same-origin static files under a strict content
security policy, never cached, nothing fetched from another host."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from services.gateway.kiosk.entrypoints.web import HEADERS, WEB_ROOT, KioskStatic


def client() -> httpx.AsyncClient:
    app = FastAPI()
    app.mount("/kiosk", KioskStatic(directory=WEB_ROOT, html=True), name="kiosk-web")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def test_the_page_and_its_modules_are_served_with_the_kiosk_headers() -> None:
    async with client() as http:
        page = await http.get("/kiosk/")
        script = await http.get("/kiosk/app.js")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for response in (page, script):
        for name, value in HEADERS.items():
            assert response.headers[name] == value
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_a_missing_file_is_a_404_not_the_page() -> None:
    async with client() as http:
        assert (await http.get("/kiosk/nothing-here.js")).status_code == 404


def test_nothing_in_the_app_is_fetched_from_another_host() -> None:
    files = [p for p in WEB_ROOT.iterdir() if p.suffix in (".html", ".js", ".css")]
    assert {p.name for p in files} >= {"index.html", "app.js", "api.js", "ecert.js", "i18n.js", "ids.js", "styles.css"}
    for path in files:
        text = path.read_text("utf-8")
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), path.name
        assert not re.search(r"(import|fetch)\s*\(?\s*[\"']https?://", text), path.name
        assert "url(http" not in text, path.name


def test_every_language_has_every_text_key() -> None:
    text = (WEB_ROOT / "i18n.js").read_text("utf-8")
    blocks = re.split(r'^  (?:"zh-Hant"|"zh-Hans"|en|pt): \{$', text, flags=re.M)[1:]
    keys = [set(re.findall(r"^    (\w+):", block, flags=re.M)) for block in blocks]
    assert len(keys) == 4 and all(k == keys[0] for k in keys), [sorted(keys[0] ^ k) for k in keys]
