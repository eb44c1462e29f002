"""``baylink events tail`` and ``baylink flows show`` against the real broker, on topics of the test's own.

The CLI runs its own event loop (asyncio.run), so CliRunner runs in a worker thread while the test's
loop produces the events."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner, Result

from baylink.cli.main import app
from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.integration.ops.events import in_flow, produce, submitted

pytestmark = pytest.mark.kafka
runner = CliRunner()


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args), catch_exceptions=False)


async def test_tail_since_replays_matching_events_as_json_lines(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    registry, other = await new_topic("cli-tail-reg"), await new_topic("cli-tail-other")
    start = datetime.now(UTC) - timedelta(seconds=5)
    flow = uuid.uuid4().hex
    nanhai = in_flow(flow, submitted, "app-nanhai", "440605")
    futian = in_flow(uuid.uuid4().hex, submitted, "app-futian", "440304")
    await produce(kafka_settings, registry, futian, nanhai)
    await produce(kafka_settings, other, in_flow(flow, submitted, "app-other", "440605"))

    result = await cli("events", "tail", "--topic", registry, "--topic", other, "--since", start.isoformat(),
                       "--city", "440605", "--json", "--count", "2")  # fmt: skip

    assert result.exit_code == 0, result.output
    shown = [json.loads(text) for text in result.stdout.splitlines()]
    assert sorted(r["subject"] for r in shown) == ["app-nanhai", "app-other"]
    assert {r["correlation_id"] for r in shown} == {flow}
    assert {r["type"] for r in shown} == {"baylink.registry.application.submitted.v1"}
    assert {r["topic"] for r in shown} == {registry, other}


async def test_tail_without_since_shows_only_new_events_in_rich_lines(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic("cli-tail-live")
    await produce(kafka_settings, topic, in_flow("old-flow", submitted, "app-old"))
    running = asyncio.create_task(cli("events", "tail", "--topic", topic, "--count", "1"))
    async with asyncio.timeout(60):
        while not running.done():  # until the tail, once started, has seen one: a start takes a while here
            await produce(kafka_settings, topic, in_flow("new-flow", submitted, "app-new"))
            await asyncio.wait([running], timeout=1)
    result = running.result()

    assert result.exit_code == 0, result.output
    assert "app-new" in result.output and "cid=new-flow" in result.output
    assert "app-old" not in result.output


async def test_flow_show_is_a_timeline_across_topics_and_exit_1_for_an_unknown_flow(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    first, second = await new_topic("cli-flow-a"), await new_topic("cli-flow-b")
    flow = uuid.uuid4().hex
    await produce(kafka_settings, first, in_flow(flow, submitted, "app-step-1"))
    await produce(kafka_settings, second, in_flow(flow, submitted, "app-step-2"))
    await produce(kafka_settings, first, in_flow(uuid.uuid4().hex, submitted, "app-elsewhere"))

    shown = await cli("flows", "show", flow, "--topic", first, "--topic", second, "--since", "10m", "--json")
    table = await cli("flows", "show", flow, "--topic", first, "--topic", second, "--since", "10m")
    missing = await cli("flows", "show", "no-such-flow", "--topic", first, "--since", "10m")

    assert shown.exit_code == 0, shown.output
    records = json.loads(shown.stdout)["records"]
    assert [r["subject"] for r in records] == ["app-step-1", "app-step-2"]
    assert [r["topic"] for r in records] == [first, second]
    assert table.exit_code == 0 and "2 events across registry" in table.stdout
    assert missing.exit_code == 1 and "no events of flow no-such-flow" in missing.stdout
