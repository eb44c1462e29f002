"""The operators' library against the real broker, on topics of each test's own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from baylink.ops import DeadLetterIndex, RecordFilter, TopicReader, consumer_group_lags, replay_dead_letter
from baylink.runtime.events import from_kafka
from baylink.runtime.kafka import new_consumer, new_producer
from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.integration.ops.events import POISON_REASON, alert, dead_letter_one, in_flow, produce, submitted
from tests.support.topics import wait_for_records

pytestmark = pytest.mark.kafka


async def test_the_tail_starts_at_the_live_end_and_yields_new_matching_records(
    new_topic: TopicFactory, kafka_settings: KafkaSettings
) -> None:
    registry, gateway = await new_topic("registry"), await new_topic("gateway")
    await produce(kafka_settings, registry, submitted("app-old"))  # before the tail: never shown
    reader = TopicReader(kafka_settings, [registry, gateway])
    tail = reader.tail(where=RecordFilter.of(types=["baylink.registry"], city="440605"))
    first = asyncio.ensure_future(anext(tail))
    await asyncio.sleep(1.5)  # the tail has taken its end offsets
    await produce(kafka_settings, gateway, alert())  # filtered out by type
    await produce(kafka_settings, registry, submitted("app-other-city", authority="440300"))  # filtered by city
    await produce(kafka_settings, registry, submitted("app-new"))
    record = await asyncio.wait_for(first, 20)
    await tail.aclose()

    assert (record.topic, record.subject, record.city, record.service) == (registry, "app-new", "440605", "registry")
    assert record.type == "baylink.registry.application.submitted.v1"
    assert record.data["application_id"] == "app-new" and record.to_json()["timestamp"].endswith("Z")


async def test_a_flow_is_read_across_topics_in_time_order(
    new_topic: TopicFactory, kafka_settings: KafkaSettings
) -> None:
    registry, gateway = await new_topic("registry"), await new_topic("gateway")
    since = datetime.now(UTC) - timedelta(seconds=5)
    flow = uuid.uuid4().hex
    await produce(kafka_settings, registry, in_flow(flow, submitted, "app-1"))
    await produce(kafka_settings, gateway, in_flow(uuid.uuid4().hex, alert))  # another flow
    await produce(kafka_settings, gateway, in_flow(flow, alert))
    await produce(kafka_settings, registry, in_flow(flow, submitted, "app-1"))

    records = await TopicReader(kafka_settings, [registry, gateway]).flow(flow, since)

    assert [r.topic for r in records] == [registry, gateway, registry]
    assert all(r.correlation_id == flow for r in records)
    assert [r.timestamp for r in records] == sorted(r.timestamp for r in records)
    assert await TopicReader(kafka_settings, [registry]).flow(flow, datetime.now(UTC) + timedelta(hours=1)) == []


async def test_a_tail_since_a_time_replays_from_then(new_topic: TopicFactory, kafka_settings: KafkaSettings) -> None:
    topic = await new_topic("registry")
    await produce(kafka_settings, topic, submitted("app-a"), submitted("app-b"))
    tail = TopicReader(kafka_settings, [topic]).tail(since=datetime.now(UTC) - timedelta(minutes=1))
    seen = [(await asyncio.wait_for(anext(tail), 20)).subject for _ in range(2)]
    await tail.aclose()
    assert sorted(seen) == ["app-a", "app-b"]


async def test_a_genuine_dead_letter_is_listed_and_replayed_to_its_original_topic(
    new_topic: TopicFactory, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    topic, dlq = await new_topic("events"), await new_topic("dlq")
    kafka = kafka_settings.model_copy(update={"dlq_topic": dlq})
    since = datetime.now(UTC) - timedelta(seconds=5)
    poison, group = await dead_letter_one(kafka, topic, tmp_path)

    index = DeadLetterIndex(kafka, dlq)
    [letter] = await index.refresh()
    assert (letter.original_topic, letter.group, letter.event_type) == (topic, group, poison.type)
    assert POISON_REASON in letter.error and letter.error_type == "ValueError" and letter.attempts == 2
    assert letter.correlation_id == poison.correlation_id and letter.dlq_id.startswith(f"{dlq}:")
    assert not any(name.startswith("baylink_dlq_") for name, _ in letter.original_headers)
    assert await index.refresh() == [letter]  # incremental: nothing new, nothing twice

    producer = new_producer(kafka, client_id="ops-test-replay")
    await producer.start()
    try:
        await replay_dead_letter(producer, letter)
    finally:
        await producer.stop()
    records = await wait_for_records(kafka, topic, lambda r: r.offset > letter.original_offset, since=since)
    [again] = records
    assert again.value == poison.data and again.key == poison.key
    assert from_kafka(again.headers, again.value).id == poison.id
    assert not any(name.startswith("baylink_dlq_") for name, _ in again.headers)

    [lag] = await consumer_group_lags(kafka, topics=[topic], group_ids=[group])
    assert lag.group_id == group and lag.total_lag == 1  # the replayed record waits for the (stopped) group
    [partition] = [p for p in lag.partitions if p.lag]
    assert (partition.topic, partition.end - partition.committed) == (topic, 1)


async def test_a_live_group_that_has_committed_nothing_yet_is_listed(
    new_topic: TopicFactory, kafka_settings: KafkaSettings
) -> None:
    topic, group = await new_topic("quiet"), f"quiet-{uuid.uuid4().hex[:8]}"
    consumer = new_consumer(kafka_settings, group, [topic])
    await consumer.start()
    try:
        for _ in range(40):  # until the group has settled with its one member
            await consumer.getmany(timeout_ms=250)
            listed = {g.group_id: g for g in await consumer_group_lags(kafka_settings, topics=[topic])}
            if group in listed and listed[group].members == 1:
                break
        quiet = listed[group]
        assert (quiet.state, quiet.members, quiet.partitions, quiet.total_lag) == ("Stable", 1, [], 0)
    finally:
        await consumer.stop()
