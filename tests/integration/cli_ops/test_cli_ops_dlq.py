"""``baylink dlq list|replay|discard`` through a running gateway's console API (the real listener, the real
broker, a genuine dead letter made by the runtime's consumer), with the console's roles and audit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from baylink.cli.main import app
from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.integration.ops.events import dead_letter_one
from tests.support.console import PASSWORDS, ConsoleGateway, audited, console_gateway
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka
runner = CliRunner()


class Running(ConsoleGateway):
    async def cli(self, user: str, *args: str, password: str | None = None) -> Result:
        env = {"BAYLINK_CONSOLE_URL": self.url, "BAYLINK_CONSOLE_USER": user,
               "BAYLINK_CONSOLE_PASSWORD": password or PASSWORDS[user]}  # fmt: skip
        return await asyncio.to_thread(runner.invoke, app, ["dlq", *args], env=env, catch_exceptions=False)

    async def audited(self, action: str) -> list[tuple[str, str]]:
        return [(actor, details) for actor, _, details in await audited(self.gateway, action)]


@pytest.fixture
async def running(tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory) -> AsyncIterator[Running]:
    async with console_gateway(tmp_path, kafka_settings, new_topic) as started:
        yield Running(**vars(started))


async def test_operator_lists_replays_once_and_discards_with_a_reason_and_a_viewer_is_refused(
    running: Running, tmp_path: Path
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    poison, group = await dead_letter_one(running.kafka, running.events, tmp_path)
    other, _ = await dead_letter_one(running.kafka, running.events, tmp_path)

    listed = await running.cli("victor", "list", "--json")
    assert listed.exit_code == 0, listed.output
    items = {i["correlation_id"]: i for i in json.loads(listed.stdout)}
    first, second = items[poison.correlation_id], items[other.correlation_id]
    assert (first["status"], first["original_topic"], first["group"]) == ("open", running.events, group)
    table = await running.cli("victor", "list")
    assert first["dlq_id"] in table.stdout and "2 dead letters" in table.stdout

    refused = await running.cli("victor", "replay", first["dlq_id"])
    assert refused.exit_code == 1 and "operators only" in refused.output
    wrong = await running.cli("olivia", "replay", first["dlq_id"], password="guess")
    assert wrong.exit_code == 1 and "wrong user name or password" in wrong.output

    replayed = await running.cli("olivia", "replay", first["dlq_id"])
    assert replayed.exit_code == 0, replayed.output
    assert f"{first['dlq_id']}: replayed by operator:olivia" in replayed.stdout
    again = await running.cli("olivia", "replay", first["dlq_id"])
    assert again.exit_code == 1 and "409" in again.output

    no_reason = await running.cli("olivia", "discard", second["dlq_id"], "--reason", " ")
    assert no_reason.exit_code == 2
    discarded = await running.cli("olivia", "discard", second["dlq_id"], "--reason", "duplicate of a refund")
    assert discarded.exit_code == 0 and "discarded by operator:olivia (duplicate of a refund)" in discarded.stdout
    unknown = await running.cli("olivia", "discard", f"{running.kafka.dlq_topic}:0:999999", "--reason", "x")
    assert unknown.exit_code == 1

    everything = json.loads((await running.cli("olivia", "list", "--status", "all", "--json")).stdout)
    assert {i["correlation_id"]: i["status"] for i in everything} == {
        poison.correlation_id: "replayed",
        other.correlation_id: "discarded",
    }
    records = await scan_topic(running.kafka, running.events, since=since, linger_ms=1000,
                               match=lambda r: dict(r.headers).get("ce_id") == poison.id.encode(),
                               done=lambda found: len(found) >= 2)  # fmt: skip
    assert len(records) == 2 and records[1].value == poison.data  # the original and one replay
    assert [actor for actor, _ in await running.audited("console.dlq.replay")] == ["operator:olivia"]
    [(actor, details)] = await running.audited("console.dlq.discard")
    assert actor == "operator:olivia" and "duplicate of a refund" in details


async def test_replay_all_open_replays_each_with_a_progress_bar(running: Running, tmp_path: Path) -> None:
    dead = [await dead_letter_one(running.kafka, running.events, tmp_path) for _ in range(3)]

    result = await running.cli("olivia", "replay", "--all-open")

    assert result.exit_code == 0, result.output
    assert "replayed 3 of 3 open dead letters" in result.stdout
    assert json.loads((await running.cli("olivia", "list", "--json")).stdout) == []
    replays = await running.audited("console.dlq.replay")
    assert len(replays) == 3 and all(any(e.id in d for _, d in replays) for e, _ in dead)
