"""Kiosk sessions shared by gateway replicas, and the kiosk's HTTP metrics.

The real stack (identity, registry, real broker) with two gateways bootstrapped on one database,
a SQLite file and PostgreSQL: a person identified through one gateway drafts through the other
with the same handle, a session ended through one is refused by the other at its next call, a
restarted gateway still knows the session, and an expired session is refused as expired by both.
Then the kiosk metrics are scraped from the first gateway's endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from baylink.runtime.settings import KafkaSettings
from services.gateway.bootstrap import Gateway
from services.gateway.bootstrap import bootstrap as gateway_bootstrap
from tests.conftest import postgres_database
from tests.e2e.kiosk_user import CHAN, KioskUser
from tests.e2e.stack import Stack, build_pki, gateway_settings, kiosk_client, running_stack

pytestmark = [pytest.mark.kafka]


@asynccontextmanager
async def database_url(kind: str, tmp: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'shared-gateway.db'}"
        return
    async with postgres_database() as url:
        yield url


@asynccontextmanager
async def replica(stack: Stack, tmp: Path, kafka: KafkaSettings, url: str) -> AsyncIterator[Gateway]:
    """Another gateway on the stack's database and keys, as a second replica (or a restart) would be."""
    targets = {
        "identity_target": f"127.0.0.1:{stack.identity.port}",
        "registry_target": f"127.0.0.1:{stack.registry.port}",
        "payments_target": stack.gateway.settings.payments_target,
    }
    gateway = gateway_bootstrap(gateway_settings(tmp, kafka, targets, stack.topics, database_url=url))
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


def as_kiosk(http: httpx.AsyncClient, user: KioskUser) -> KioskUser:
    """The same kiosk session, talking to another gateway."""
    other = KioskUser(http, user.pki, user.kiosk_id)
    other.token, other.handles = user.token, dict(user.handles)
    return other


async def scrape(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    server = gateway.host.metrics_server
    assert server is not None
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://{server.host}:{server.port}/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests(samples: dict, route: str, method: str, status: int) -> float:  # type: ignore[type-arg]
    key = ("baylink_kiosk_http_requests_total", (("method", method), ("route", route), ("status", str(status))))
    return float(samples.get(key, 0.0))


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_gateways_on_one_database_serve_one_kiosk_session(
    kind: str, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    pki = build_pki(tmp_path / "testpki")
    async with (
        database_url(kind, tmp_path) as url,
        running_stack(tmp_path, kafka_settings, pki, with_payments=False, database_url=url) as stack,
        replica(stack, tmp_path, kafka_settings, url) as second,
        kiosk_client(second, "HK-TST-SHARED") as second_http,
    ):
        first = KioskUser(stack.kiosk, pki, kiosk_id="HK-TST-SHARED")
        await first.open()
        identified = await first.identify(CHAN)
        assert identified.status_code == 200, identified.text
        handle = identified.json()["person"]

        # The person identified on the first gateway is the applicant on the second, by the same handle.
        drafted = await as_kiosk(second_http, first).draft(handle, "湾共")
        application_id = drafted["application"]["application_id"]
        assert (await first.track(application_id))["application_id"] == application_id

        # A session ended through one gateway is refused by the other at its very next call.
        ending = KioskUser(stack.kiosk, pki, kiosk_id="HK-TST-SHARED")
        await ending.open()
        elsewhere = as_kiosk(second_http, ending)
        assert (await second_http.get("/v1/catalogue", headers=elsewhere.auth)).status_code == 200
        assert (await ending.http.delete("/v1/sessions/current", headers=ending.auth)).status_code == 204
        ended = await second_http.get("/v1/catalogue", headers=elsewhere.auth)
        assert (ended.status_code, ended.json()["code"]) == (401, "SESSION_UNKNOWN"), ended.text

        # A gateway started afresh on the same database still knows the session and its people.
        await second.stop()
        async with (
            replica(stack, tmp_path, kafka_settings, url) as restarted,
            kiosk_client(restarted, "HK-TST-SHARED") as restarted_http,
        ):
            again = as_kiosk(restarted_http, first)
            assert (await again.track(application_id))["state"] == "draft"

            sessions = restarted.parts.sessions
            real_clock = sessions.clock
            sessions.clock = lambda: real_clock() + sessions.ttl + 1
            try:
                expired = await restarted_http.get(f"/v1/applications/{application_id}", headers=again.auth)
            finally:
                sessions.clock = real_clock
        assert (expired.status_code, expired.json()["code"]) == (401, "SESSION_EXPIRED")
        on_first = await first.http.get(f"/v1/applications/{application_id}", headers=first.auth)
        assert (on_first.status_code, on_first.json()["code"]) == (401, "SESSION_EXPIRED")

        # The first gateway counted its own kiosk requests, by route template, method and status.
        missing = await first.http.get("/v1/no-such-route", headers=first.auth)
        assert missing.status_code == 401  # the session has expired: refused before any route is looked for
        samples = await scrape(stack.gateway)
        assert requests(samples, "/v1/sessions", "POST", 201) == 2
        assert requests(samples, "/v1/sessions/current/identify", "POST", 200) == 1
        assert requests(samples, "/v1/applications/{application_id}", "GET", 200) == 1
        assert requests(samples, "edge", "GET", 401) == 2  # refused before routing: expired, both
        unmatched = await first.http.get("/no-such-page")
        assert unmatched.status_code == 404
        assert requests(await scrape(stack.gateway), "unmatched", "GET", 404) == 1
        assert requests(samples, "/v1/applications", "POST", 201) == 0  # drafted on the other gateway
        timed = ("baylink_kiosk_http_request_seconds_count", (("method", "POST"), ("route", "/v1/sessions")))
        assert samples[timed] == 2
