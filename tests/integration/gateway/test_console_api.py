"""The operator console's API on the gateway's real listener, against the real broker (topics of the test's own):
login, roles and CSRF; a produced event on the event stream; a genuine dead letter listed, replayed exactly once
and discarded, each audited; flows, throughput, consumer groups and alerts."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.integration.ops.events import alert, dead_letter_one, in_flow, produce, submitted
from tests.support.console import PASSWORDS, ConsoleGateway, audited, console_gateway
from tests.support.topics import wait_for_records

pytestmark = pytest.mark.kafka


class Console(ConsoleGateway):
    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)

    async def login(self, client: httpx.AsyncClient, name: str) -> str:
        response = await client.post("/console/api/login", json={"username": name, "password": PASSWORDS[name]})
        assert response.status_code == 200, response.text
        return str(response.json()["csrf_token"])

    async def audited(self, action: str) -> list[tuple[str, str, str]]:
        return await audited(self.gateway, action)


@pytest.fixture
async def console(tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory) -> AsyncIterator[Console]:
    more = {"console_heartbeat_seconds": 0.5, "console_dlq_growth_alert": 2, "console_dlq_growth_window_seconds": 600}
    async with console_gateway(tmp_path, kafka_settings, new_topic, **more) as started:
        yield Console(**vars(started))


async def test_login_roles_and_csrf_are_enforced(console: Console) -> None:
    async with console.client() as anonymous:
        assert (await anonymous.get("/console/api/me")).status_code == 401
        assert (await anonymous.get("/console/api/dlq")).status_code == 401
        wrong = await anonymous.post("/console/api/login", json={"username": "olivia", "password": "guess"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "UNAUTHENTICATED"
        unknown = await anonymous.post("/console/api/login", json={"username": "mallory", "password": "guess"})
        assert unknown.status_code == 401
        empty = await anonymous.post("/console/api/login", json={"username": "", "password": "x"})
        assert empty.status_code == 422 and empty.json()["fields"][0]["field"] == "username"

    async with console.client() as viewer:
        csrf = await console.login(viewer, "victor")
        cookie = viewer.cookies.jar._cookies  # type: ignore[attr-defined]
        [set_cookie] = [c for domain in cookie.values() for path in domain.values() for c in path.values()]
        assert set_cookie.has_nonstandard_attr("HttpOnly") and set_cookie.get_nonstandard_attr("SameSite") == "strict"
        me = (await viewer.get("/console/api/me")).json()
        assert me == {"username": "victor", "role": "viewer", "csrf_token": csrf}  # a new tab can act too
        assert (await viewer.get("/console/api/dlq")).status_code == 200
        forbidden = await viewer.post("/console/api/dlq/x:0:1/replay", headers={"X-CSRF-Token": csrf})
        assert forbidden.status_code == 403 and forbidden.json()["message"] == "operators only"

    async with console.client() as operator:
        csrf = await console.login(operator, "olivia")
        no_token = await operator.post("/console/api/dlq/x:0:1/discard", json={"reason": "test"})
        assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["message"]
        bad_id = await operator.post("/console/api/dlq/nonsense/replay", headers={"X-CSRF-Token": csrf})
        assert bad_id.status_code == 400 and bad_id.json()["fields"][0]["field"] == "dlq_id"
        assert (await operator.post("/console/api/logout", headers={"X-CSRF-Token": csrf})).status_code == 200
        assert (await operator.get("/console/api/me")).status_code == 401


async def read_events(lines: AsyncIterator[str], wanted: int, timeout: float = 20) -> list[tuple[str, dict]]:
    """Server-sent events (name, data) until ``wanted`` of them arrived; comments are skipped."""
    found: list[tuple[str, dict]] = []
    name = ""
    async with asyncio.timeout(timeout):
        async for line in lines:
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                found.append((name, json.loads(line.removeprefix("data: "))))
                if len(found) >= wanted:
                    return found
    return found


async def test_a_produced_event_arrives_on_the_stream_with_its_filters_applied(console: Console) -> None:
    async with console.client() as viewer:
        await console.login(viewer, "victor")
        params = {"type": "baylink.registry.application.submitted.v1", "city": "440605"}
        async with viewer.stream("GET", "/console/api/events/stream", params=params) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert (await asyncio.wait_for(anext(lines), 10)).startswith(":")  # live from here on
            flow = uuid.uuid4().hex
            await produce(console.kafka, console.events, submitted("app-elsewhere", authority="440300"))
            await produce(console.kafka, console.events, in_flow(flow, submitted, "app-stream"))
            started = asyncio.get_running_loop().time()
            [(name, record)] = await read_events(lines, 1)
            assert asyncio.get_running_loop().time() - started < 2.0  # shown within 2 s of production
    assert name == "record" and record["subject"] == "app-stream" and record["correlation_id"] == flow
    assert (record["topic"], record["city"], record["service"]) == (console.events, "440605", "registry")
    assert record["timestamp"].endswith("Z") and record["data"]["application_id"] == "app-stream"


async def test_a_stream_since_a_time_replays_first_then_goes_live(console: Console) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    await produce(console.kafka, console.events, submitted("app-before"))
    async with console.client() as viewer:
        await console.login(viewer, "victor")
        bad = await viewer.get("/console/api/events/stream", params={"since": "yesterday"})
        assert bad.status_code == 400 and bad.json()["fields"] == [{"field": "since", "description": bad.json()[
            "fields"][0]["description"]}]  # fmt: skip
        params = {"since": since, "type": "baylink.registry"}
        async with viewer.stream("GET", "/console/api/events/stream", params=params) as response:
            lines = response.aiter_lines()
            [(_, replayed)] = await read_events(lines, 1)
            await produce(console.kafka, console.events, submitted("app-after"))
            [(_, live)] = await read_events(lines, 1)
    assert (replayed["subject"], live["subject"]) == ("app-before", "app-after")


async def test_a_dead_letter_is_listed_replayed_exactly_once_and_audited(console: Console, tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    poison, group = await dead_letter_one(console.kafka, console.events, tmp_path)
    async with console.client() as operator, console.client() as colleague:
        csrf, csrf2 = await console.login(operator, "olivia"), await console.login(colleague, "olivia")
        [item] = (await operator.get("/console/api/dlq")).json()
        assert (item["status"], item["original_topic"], item["group"]) == ("open", console.events, group)
        assert item["event_type"] == poison.type and item["correlation_id"] == poison.correlation_id
        assert item["dlq_id"].startswith(f"{console.dlq}:") and "refuses" in item["error"]

        path = f"/console/api/dlq/{item['dlq_id']}/replay"
        first, second = await asyncio.gather(
            operator.post(path, headers={"X-CSRF-Token": csrf}), colleague.post(path, headers={"X-CSRF-Token": csrf2})
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
        done = first if first.status_code == 200 else second
        assert done.json()["status"] == "replayed" and done.json()["resolved_by"] == "operator:olivia"
        again = await operator.post(path, headers={"X-CSRF-Token": csrf})
        assert again.status_code == 409 and again.json()["code"] == "DLQ_ITEM_RESOLVED"
        assert (await operator.get("/console/api/dlq")).json() == []
        [listed] = (await operator.get("/console/api/dlq", params={"status": "all"})).json()
        assert listed["status"] == "replayed" and listed["resolved_at"]

        replayed = await wait_for_records(console.kafka, console.events,
                                          lambda r: r.offset > item["original_offset"], since=since)  # fmt: skip
        await asyncio.sleep(1)
        replayed = await wait_for_records(console.kafka, console.events,
                                          lambda r: r.offset > item["original_offset"], since=since)  # fmt: skip
        assert len(replayed) == 1 and replayed[0].value == poison.data
        assert dict(replayed[0].headers)["ce_id"] == poison.id.encode()
        assert not any(name.startswith("baylink_dlq_") for name, _ in replayed[0].headers)

        flow = (await operator.get(f"/console/api/flows/{poison.correlation_id}")).json()
        assert [r["topic"] for r in flow["records"]] == [console.events, console.dlq, console.events]

    [(actor, result, details)] = await console.audited("console.dlq.replay")
    assert (actor, result) == ("operator:olivia", "OK") and item["dlq_id"] in details


async def test_a_dead_letter_is_discarded_once_with_a_reason_and_audited(console: Console, tmp_path: Path) -> None:
    await dead_letter_one(console.kafka, console.events, tmp_path)
    async with console.client() as operator:
        csrf = await console.login(operator, "olivia")
        [item] = (await operator.get("/console/api/dlq")).json()
        path = f"/console/api/dlq/{item['dlq_id']}/discard"
        no_reason = await operator.post(path, json={"reason": ""}, headers={"X-CSRF-Token": csrf})
        assert no_reason.status_code == 422 and no_reason.json()["fields"][0]["field"] == "reason"
        done = await operator.post(path, json={"reason": "superseded by a manual fix"}, headers={"X-CSRF-Token": csrf})
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["reason"]) == ("discarded", "superseded by a manual fix")
        assert (await operator.post(path, json={"reason": "again"}, headers={"X-CSRF-Token": csrf})).status_code == 409
        replay = await operator.post(f"/console/api/dlq/{item['dlq_id']}/replay", headers={"X-CSRF-Token": csrf})
        assert replay.status_code == 409
        missing = await operator.post(f"/console/api/dlq/{console.dlq}:0:999/replay", headers={"X-CSRF-Token": csrf})
        assert missing.status_code == 404
    [(actor, result, details)] = await console.audited("console.dlq.discard")
    assert (actor, result) == ("operator:olivia", "OK") and "superseded" in details


async def test_alerts_throughput_and_consumer_groups(console: Console, tmp_path: Path) -> None:
    await produce(console.kafka, console.gateway.settings.events_topic, alert("bulk_subject_read"))
    await produce(console.kafka, console.events, submitted("app-t1"), submitted("app-t2"))
    _, group = await dead_letter_one(console.kafka, console.events, tmp_path)
    await dead_letter_one(console.kafka, console.events, tmp_path)  # the second within the window: DLQ growth
    async with console.client() as viewer:
        await console.login(viewer, "victor")
        async with asyncio.timeout(20):
            while len(alerts := (await viewer.get("/console/api/alerts")).json()) < 2:
                await asyncio.sleep(0.2)
        kinds = {a["kind"]: a for a in alerts}
        assert kinds["security"]["severity"] == "high" and "bulk_subject_read" in kinds["security"]["message"]
        assert "grew by 2" in kinds["dlq_growth"]["message"]
        assert alerts[0]["at"] >= alerts[-1]["at"]  # newest first

        stats = (await viewer.get("/console/api/stats/throughput", params={"minutes": 5})).json()
        assert stats["bucket_seconds"] == 10 and len(stats["buckets"]) >= 30
        totals: dict[str, int] = {}
        for bucket in stats["buckets"]:
            for kind, n in bucket["counts"].items():
                totals[kind] = totals.get(kind, 0) + n
        assert totals["baylink.registry.application.submitted.v1"] == 6  # two plain, two poison, their dead letters
        assert totals["baylink.gateway.security.alert_raised.v1"] == 1
        assert (await viewer.get("/console/api/stats/throughput", params={"minutes": 0})).status_code == 422

        groups = {g["group_id"]: g for g in (await viewer.get("/console/api/consumer-groups")).json()}
        assert groups[group]["partitions"] and all(p["topic"] == console.events for p in groups[group]["partitions"])
