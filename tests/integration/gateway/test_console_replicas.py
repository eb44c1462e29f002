"""The operator console on two gateway replicas sharing one database (a SQLite file, PostgreSQL).

Two real gateways (bootstrapped from the same settings, each on its own ports) over HTTP: a session
made on A is good on B, a logout on B ends it on A, a restarted replica still knows it; wrong
passwords spread over both count once toward the lockout; an alert on the topic shows on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from baylink.runtime.settings import KafkaSettings
from services.gateway.bootstrap import Gateway, bootstrap
from tests.conftest import TopicFactory, postgres_database
from tests.integration.ops.events import alert, produce
from tests.support.console import PASSWORDS, ConsoleGateway, console_gateway

pytestmark = pytest.mark.kafka
KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@asynccontextmanager
async def replica(first: ConsoleGateway) -> AsyncIterator[tuple[Gateway, str]]:
    """Another gateway with ``first``'s settings (database, keys, topics), on ports of its own."""
    gateway = bootstrap(first.gateway.settings)
    await gateway.start()
    try:
        assert gateway.console is not None
        await asyncio.wait_for(gateway.console.hub.ready.wait(), 30)
        yield gateway, f"http://127.0.0.1:{gateway.console.port}"
    finally:
        await gateway.stop()


@asynccontextmanager
async def two_replicas(
    kind: str, tmp: Path, kafka: KafkaSettings, new_topic: TopicFactory
) -> AsyncIterator[tuple[ConsoleGateway, str, str]]:
    """The first replica, its console URL and the second's."""
    async with AsyncExitStack() as stack:
        more: dict[str, object] = {"console_login_free_failures": 3}
        if kind == "postgres":
            more["database_url"] = await stack.enter_async_context(postgres_database())
        first = await stack.enter_async_context(console_gateway(tmp, kafka, new_topic, **more))
        _, second_url = await stack.enter_async_context(replica(first))
        yield first, first.url, second_url


def client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=30)


async def login(http: httpx.AsyncClient, name: str, password: str | None = None) -> httpx.Response:
    return await http.post("/console/api/login", json={"username": name, "password": password or PASSWORDS[name]})


@pytest.mark.parametrize("kind", KINDS)
async def test_a_session_made_on_one_replica_works_on_the_other_and_a_logout_there_ends_it(
    kind: str, tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    async with (
        two_replicas(kind, tmp_path, kafka_settings, new_topic) as (first, a, b),
        client(a) as on_a,
        client(b) as on_b,
    ):
        signed_in = await login(on_a, "olivia")
        assert signed_in.status_code == 200
        csrf = signed_in.json()["csrf_token"]
        on_b.cookies = on_a.cookies  # the load balancer sends the same browser to B
        me = await on_b.get("/console/api/me")
        assert me.status_code == 200 and me.json() == {"username": "olivia", "role": "operator", "csrf_token": csrf}

        async with replica(first) as (_, restarted), client(restarted) as on_new:  # a replica started later
            on_new.cookies = on_a.cookies
            assert (await on_new.get("/console/api/me")).status_code == 200

        assert (await on_b.post("/console/api/logout", headers={"X-CSRF-Token": csrf})).status_code == 200
        assert (await on_a.get("/console/api/me")).status_code == 401
        assert (await on_b.get("/console/api/me")).status_code == 401


@pytest.mark.parametrize("kind", KINDS)
async def test_wrong_passwords_spread_over_two_replicas_count_toward_one_lockout(
    kind: str, tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    async with (
        two_replicas(kind, tmp_path, kafka_settings, new_topic) as (_, a, b),
        client(a) as on_a,
        client(b) as on_b,
    ):
        replicas = [on_a, on_b]
        codes: list[int] = []
        for i in range(10):  # alternately on A and B, until refused
            codes.append((await login(replicas[i % 2], "olivia", f"wrong-{i}")).status_code)
            if codes[-1] != 401:
                break
        # Three free failures and the fourth, which starts a (1 s) wait, are checked; the next is refused
        # unchecked, or the one after if the machine was slow. With counts of its own, a replica would first
        # refuse the ninth attempt (its own fifth).
        assert codes[:4] == [401] * 4 and codes[-1] == 429 and len(codes) <= 6
        for http in replicas:  # the right password now waits on either replica
            refused = await login(http, "olivia")
            assert refused.status_code == 429 and refused.json()["code"] == "LOGIN_THROTTLED"
        assert (await login(on_b, "victor")).status_code == 200  # another name is not held up


async def shown_alerts(url: str, wanted: int) -> list[dict[str, str]]:
    async with client(url) as http:
        assert (await login(http, "victor")).status_code == 200
        async with asyncio.timeout(20):
            while len(alerts := (await http.get("/console/api/alerts")).json()) < wanted:
                await asyncio.sleep(0.2)
        return list(alerts)


async def test_every_replica_shows_every_alert_and_a_replica_started_later_too(
    tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    kinds = [f"bulk_subject_read_{i}" for i in range(3)]
    async with two_replicas("sqlite", tmp_path, kafka_settings, new_topic) as (first, a, b):
        # Each replica tails every partition outside any consumer group: neither takes a record from the other.
        for kind in kinds:
            await produce(first.kafka, first.gateway.settings.events_topic, alert(kind))
        for url in (a, b):
            assert sorted(x["message"].split(":")[0] for x in await shown_alerts(url, 3)) == kinds
        async with replica(first) as (_, later):  # rebuilt from the topics' last hour on start
            assert sorted(x["message"].split(":")[0] for x in await shown_alerts(later, 3)) == kinds
