"""The console door as an attacker meets it, on the gateway's real listener with its defaults (Secure cookies):
wrong passwords make the next attempt wait whatever the password (429 + Retry-After, audited); the cookie is
Secure; another site's page cannot log in; logging in again ends the session the browser came with; an open
event stream ends with its session; responses forbid framing, sniffing and caching; viewers cannot discard
and streams need a session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from baylink.runtime.settings import KafkaSettings
from services.gateway.console.entrypoints.sessions import COOKIE
from tests.conftest import TopicFactory
from tests.support.console import PASSWORDS, ConsoleGateway, audited, console_gateway

pytestmark = pytest.mark.kafka
LOGIN = "/console/api/login"


@pytest.fixture
async def door(tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory) -> AsyncIterator[ConsoleGateway]:
    more = {"console_insecure_cookies": False, "console_heartbeat_seconds": 0.3}
    async with console_gateway(tmp_path, kafka_settings, new_topic, **more) as started:
        yield started


def client(door: ConsoleGateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=door.url, timeout=30)


async def log_in(http: httpx.AsyncClient, name: str, token: str = "") -> tuple[str, str]:
    """(session token, CSRF token); the Secure cookie is carried by hand, as a browser would over TLS."""
    cookies = {"Cookie": f"{COOKIE}={token}"} if token else {}
    response = await http.post(LOGIN, json={"username": name, "password": PASSWORDS[name]}, headers=cookies)
    assert response.status_code == 200, response.text
    return response.cookies[COOKIE], str(response.json()["csrf_token"])


def with_session(token: str, csrf: str = "") -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}", **({"X-CSRF-Token": csrf} if csrf else {})}


async def test_thirty_wrong_passwords_make_the_next_attempt_wait_whatever_the_password(door: ConsoleGateway) -> None:
    async with client(door) as http:
        statuses = [
            (await http.post(LOGIN, json={"username": "olivia", "password": f"wrong-{i}"})).status_code
            for i in range(30)
        ]
        right = await http.post(LOGIN, json={"username": "olivia", "password": PASSWORDS["olivia"]})
    assert set(statuses) <= {401, 429} and statuses[:5] == [401] * 5
    assert right.status_code == 429 and right.json()["code"] == "LOGIN_THROTTLED"
    assert int(right.headers["Retry-After"]) >= 60 and COOKIE not in right.cookies
    rows = await audited(door.gateway, "console.login")
    assert {(actor, result) for actor, result, _ in rows} == {("operator:olivia", "DENIED"),
                                                             ("operator:olivia", "THROTTLED")}  # fmt: skip
    assert all(json.loads(details)["address"] == "127.0.0.1" for _, _, details in rows)
    assert not any("wrong-" in details for _, _, details in rows)


async def test_the_session_cookie_is_secure_httponly_and_strict_by_default(door: ConsoleGateway) -> None:
    async with client(door) as http:
        response = await http.post(LOGIN, json={"username": "victor", "password": PASSWORDS["victor"]})
    attributes = {a.strip().lower() for a in response.headers["set-cookie"].split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict"} <= attributes
    assert [r for _, r, _ in await audited(door.gateway, "console.login")] == ["OK"]


async def test_a_login_from_another_sites_page_is_refused(door: ConsoleGateway) -> None:
    body = {"username": "victor", "password": PASSWORDS["victor"]}
    async with client(door) as http:
        foreign = await http.post(LOGIN, json=body, headers={"Origin": "https://console.evil.example"})
        own = await http.post(LOGIN, json=body, headers={"Origin": door.url})
    assert foreign.status_code == 403 and COOKIE not in foreign.cookies
    assert own.status_code == 200


async def test_logging_in_again_ends_the_session_the_browser_came_with(door: ConsoleGateway) -> None:
    async with client(door) as http:
        first, _ = await log_in(http, "olivia")
        second, _ = await log_in(http, "olivia", token=first)
        assert second != first
        assert (await http.get("/console/api/me", headers=with_session(first))).status_code == 401
        assert (await http.get("/console/api/me", headers=with_session(second))).status_code == 200


async def test_an_open_event_stream_ends_when_its_session_logs_out(door: ConsoleGateway) -> None:
    async with client(door) as http:
        token, csrf = await log_in(http, "victor")
        async with http.stream("GET", "/console/api/events/stream", headers=with_session(token)) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert (await asyncio.wait_for(anext(lines), 10)).startswith(":")
            out = await http.post("/console/api/logout", headers=with_session(token, csrf))
            assert out.status_code == 200
            async with asyncio.timeout(5):  # ends within a heartbeat or two
                rest = [line async for line in lines]
    assert all(not line.startswith("data:") for line in rest)


async def test_console_responses_forbid_framing_sniffing_and_caching(door: ConsoleGateway) -> None:
    async with client(door) as http:
        page = await http.get("/console/")
        token, _ = await log_in(http, "victor")
        api = await http.get("/console/api/dlq", headers=with_session(token))
        refused = await http.get("/console/api/me")
    assert page.status_code == 200 and api.status_code == 200 and refused.status_code == 401
    for response in (page, api, refused):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert api.headers["Cache-Control"] == "no-store" and refused.headers["Cache-Control"] == "no-store"


async def test_a_body_over_the_ceiling_is_refused_before_it_is_read(door: ConsoleGateway) -> None:
    huge = b'{"username": "olivia", "password": "' + b"x" * (16 * 1024 * 1024) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 1 << 20):
            yield huge[start : start + (1 << 20)]

    async with client(door) as http:
        declared = await http.post(LOGIN, content=huge, headers={"Content-Type": "application/json"})
        chunked = await http.post(LOGIN, content=chunks(), headers={"Content-Type": "application/json"})
    for response in (declared, chunked):
        assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE", response.text
        assert response.headers["X-Frame-Options"] == "DENY"
    assert await audited(door.gateway, "console.login") == []  # never reached the password check


async def test_viewers_cannot_replay_or_discard_and_streams_need_a_session(door: ConsoleGateway) -> None:
    async with client(door) as http:
        token, csrf = await log_in(http, "victor")
        for action, body in (("replay", None), ("discard", {"reason": "test"})):
            refused = await http.post(f"/console/api/dlq/x:0:1/{action}", json=body, headers=with_session(token, csrf))
            assert refused.status_code == 403 and refused.json()["message"] == "operators only"
    async with client(door) as stranger:  # a client of its own: no cookie jar to lend it the viewer's session
        assert (await stranger.get("/console/api/events/stream")).status_code == 401
        assert (await stranger.get("/console/api/events/stream", headers=with_session("forged"))).status_code == 401
