"""Outbox → relay → Kafka → idempotent consumer, against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import sqlalchemy as sa

from baylink.runtime.consumer import (
    DLQ_ATTEMPTS,
    DLQ_ERROR,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_TOPIC,
    IdempotentConsumer,
)
from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.kafka import client_kwargs
from baylink.runtime.outbox import add_events, backlog
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.schema import inbox, outbox
from baylink.runtime.settings import KafkaSettings
from tests.integration.runtime.conftest import (
    apply_effect,
    create_test_tables,
    effect,
    probe_event,
    read_topic,
    record,
    state,
)

pytestmark = pytest.mark.kafka


async def consume_until(consumer: IdempotentConsumer, db: Database, expected: int, timeout: float = 30) -> None:
    """Run the consumer until ``expected`` effects exist (or fail after ``timeout``)."""
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(timeout):
            while await count(db, effect) < expected:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let any redelivered duplicate arrive too
    finally:
        await consumer.stop()
        await asyncio.gather(task, return_exceptions=True)


async def count(db: Database, table: sa.Table) -> int:
    async with db.transaction() as session:
        return int((await session.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_event_takes_effect_exactly_once_when_the_relay_dies_between_publishing_and_marking(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    await create_test_tables(database)
    topic = await new_topic("outbox")
    events = [await record(database, topic, f"agg-{i % 3}", i) for i in range(6)]

    # First relay publishes, then "dies" before marking the rows sent.
    crashed = OutboxRelay(database, kafka_settings, name="crashing")
    rows = await crashed.fetch_unsent()
    assert len(await crashed.publish(rows)) == 6
    await crashed._drop_producer()
    async with database.transaction() as session:
        assert await backlog(session) == 6  # nothing was marked

    # The replacement relay publishes them again and marks them.
    replacement = OutboxRelay(database, kafka_settings, name="replacement")
    assert await replacement.drain() == 6
    await replacement.stop()
    async with database.transaction() as session:
        assert await backlog(session) == 0

    published = await read_topic(kafka_settings, topic, expected=12)
    assert len(published) == 12  # every event really went out twice

    consumer_db = database  # the consumer's tables live beside the producer's here; the inbox is per group
    consumer = IdempotentConsumer(
        consumer_db,
        kafka_settings,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        handler=apply_effect,
    )
    await consume_until(consumer, consumer_db, expected=6)
    async with consumer_db.transaction() as session:
        effects = (await session.execute(sa.select(effect.c.aggregate_id, effect.c.sequence))).all()
        inboxed = (await session.execute(sa.select(inbox.c.event_id))).scalars().all()
    assert sorted(s for _, s in effects) == list(range(6))  # each event took effect once
    assert sorted(inboxed) == sorted(e.id for e in events)


async def test_state_and_events_commit_together_or_not_at_all(database: Database, new_topic) -> None:  # type: ignore[no-untyped-def]
    await create_test_tables(database)
    topic = await new_topic("atomic")

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with database.transaction() as session:
            await session.execute(sa.insert(state).values(aggregate_id="agg", version=1))
            await add_events(session, [probe_event("agg", 1)], topic=topic)
            raise Refused()
    assert await count(database, state) == 0
    assert await count(database, outbox) == 0


async def test_redelivered_events_are_skipped_by_the_inbox(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    await create_test_tables(database)
    topic = await new_topic("redelivery")
    for i in range(5):
        await record(database, topic, "agg", i)
    relay = OutboxRelay(database, kafka_settings, name="r")
    await relay.drain()
    await relay.stop()
    group = f"g-{uuid.uuid4().hex[:8]}"
    await consume_until(
        IdempotentConsumer(database, kafka_settings, group_id=group, topics=[topic], handler=apply_effect),
        database,
        expected=5,
    )
    # A second consumer of the same group that starts from offset 0 again (lost commits) changes nothing.
    records = await read_topic(kafka_settings, topic, expected=5)
    again = IdempotentConsumer(database, kafka_settings, group_id=group, topics=[topic], handler=apply_effect)
    again._dlq = None
    await again.process(records)
    assert await count(database, effect) == 5
    assert (
        again.metrics.registry.get_sample_value(
            "baylink_events_consumed_total", {"group": group, "topic": topic, "outcome": "duplicate"}
        )
        == 5
    )


async def test_a_poison_event_goes_to_the_dlq_with_its_error_and_origin_and_consumption_moves_on(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    await create_test_tables(database)
    topic = await new_topic("poison", partitions=1)
    dlq_topic = await new_topic("dlq", partitions=1)
    settings = kafka_settings.model_copy(update={"dlq_topic": dlq_topic})
    await record(database, topic, "agg", 1)
    poison = await record(database, topic, "agg", 2, note="poison")
    await record(database, topic, "agg", 3)
    relay = OutboxRelay(database, settings, name="r")
    await relay.drain()
    await relay.stop()

    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = IdempotentConsumer(
        database,
        settings,
        group_id=group,
        topics=[topic],
        handler=apply_effect,
        max_attempts=3,
        retry_backoff_seconds=0.01,
    )
    await consume_until(consumer, database, expected=2)

    async with database.transaction() as session:
        sequences = (await session.execute(sa.select(effect.c.sequence).order_by(effect.c.id))).scalars().all()
    assert sequences == [1, 3]  # the events after the poison were processed
    [dead] = await read_topic(settings, dlq_topic, expected=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["ce_id"] == poison.id
    assert headers[DLQ_ERROR] == "cannot digest this event"
    assert (headers[DLQ_TOPIC], headers[DLQ_PARTITION], headers[DLQ_OFFSET]) == (topic, "0", "1")
    assert (headers[DLQ_GROUP], headers[DLQ_ATTEMPTS]) == (group, "3")
    assert dead.value == poison.data and dead.key == b"agg"


async def test_a_record_that_is_not_a_cloudevent_is_dead_lettered_at_once(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    from aiokafka import AIOKafkaProducer

    await create_test_tables(database)
    topic = await new_topic("garbage", partitions=1)
    dlq_topic = await new_topic("dlq", partitions=1)
    settings = kafka_settings.model_copy(update={"dlq_topic": dlq_topic})
    producer = AIOKafkaProducer(**client_kwargs(settings))
    await producer.start()
    await producer.send_and_wait(topic, b"not an event", key=b"x")
    await producer.stop()
    await record(database, topic, "agg", 1)
    relay = OutboxRelay(database, settings, name="r")
    await relay.drain()
    await relay.stop()

    consumer = IdempotentConsumer(
        database, settings, group_id=f"g-{uuid.uuid4().hex[:8]}", topics=[topic], handler=apply_effect
    )
    await consume_until(consumer, database, expected=1)
    [dead] = await read_topic(settings, dlq_topic, expected=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["baylink_dlq_error_type"] == "MalformedEvent"
    assert headers[DLQ_ATTEMPTS] == "1"


async def test_only_the_relay_holding_the_lease_publishes(database: Database, kafka_settings: KafkaSettings) -> None:
    first = OutboxRelay(database, kafka_settings, name="svc", lease_seconds=30)
    second = OutboxRelay(database, kafka_settings, name="svc", lease_seconds=30)
    assert await first.hold_lease()
    assert not await second.hold_lease()
    assert await first.hold_lease()  # renewal
    await first.stop(drain_timeout=1)  # releases the lease
    assert await second.hold_lease()
    await second.stop(drain_timeout=1)


async def test_a_relay_stopped_before_it_took_the_lease_still_drains_what_was_committed(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    # A service stopped right after it started: its heartbeat never ran, the lease is free.
    await create_test_tables(database)
    topic = await new_topic("early-stop")
    await record(database, topic, "agg-1", 1)
    relay = OutboxRelay(database, kafka_settings, name="early")
    await relay.stop(drain_timeout=10)
    [published] = await read_topic(kafka_settings, topic, expected=1)
    assert published.key == b"agg-1"
    assert await unsent(database) == 0

    # While another replica holds the lease, a stopping one leaves the rows to it.
    holder = OutboxRelay(database, kafka_settings, name="early", lease_seconds=30)
    assert await holder.hold_lease()
    await record(database, topic, "agg-1", 2)
    bystander = OutboxRelay(database, kafka_settings, name="early")
    await bystander.stop(drain_timeout=1)
    assert await unsent(database) == 1
    await holder.stop(drain_timeout=10)
    assert await unsent(database) == 0


async def unsent(database: Database) -> int:
    async with database.transaction() as session:
        return await backlog(session)


async def test_the_relay_packs_rows_into_batches_yet_each_goes_where_a_keyed_send_puts_it_in_order(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    from baylink.runtime.kafka import new_producer

    topic, reference = await new_topic("batched", partitions=6), await new_topic("keyed", partitions=6)
    subjects = [f"signer-{i}" for i in range(40)]
    # 1,200 rows of ~4 KiB, 500 a round: about 350 KiB per partition and round, more than one
    # record batch (256 KiB) holds, so full batches go out and new ones follow them.
    events = [probe_event(subjects[i % 40], i, "x" * 4000) for i in range(1200)]
    async with database.transaction() as session:
        await add_events(session, events, topic=topic)
    relay = OutboxRelay(database, kafka_settings, name="batching", batch_size=500)
    assert await relay.drain() == 1200
    await relay.stop()

    producer = new_producer(kafka_settings, client_id="keyed-reference")
    await producer.start()
    try:
        where = {s: (await (await producer.send(reference, b"-", key=s.encode()))).partition for s in subjects}
    finally:
        await producer.stop()
    published = await read_topic(kafka_settings, topic, expected=1200)
    assert len(published) == 1200
    assert len({r.partition for r in published}) > 1
    for r in published:
        assert r.partition == where[r.key.decode()], r.key  # the partition a keyed send picks for it
    # Every event once, in the order they were committed, per subject.
    order = {e.id: n for n, e in enumerate(events)}
    per_subject: dict[str, list[int]] = {}
    for r in sorted(published, key=lambda r: (r.partition, r.offset)):
        per_subject.setdefault(r.key.decode(), []).append(order[dict(r.headers)["ce_id"].decode()])
    assert all(seq == sorted(seq) and len(seq) == 30 for seq in per_subject.values())


async def published_after_wake(database: Database, relay: OutboxRelay, topic: str, sequence: int) -> float:
    """Seconds from a commit and its wake until the relay has published the row and stamped it."""
    await record(database, topic, "agg-spacing", sequence)
    woken = time.monotonic()
    relay.wake()
    async with asyncio.timeout(20):
        while await unsent(database):
            await asyncio.sleep(0.01)
    return time.monotonic() - woken


async def test_wakes_after_a_quiet_spell_publish_at_once_and_rounds_under_load_keep_their_spacing(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    await create_test_tables(database)
    topic = await new_topic("spacing")
    spacing = 1.5
    relay = OutboxRelay(database, kafka_settings, name="spacing", poll_seconds=30, linger_seconds=spacing)
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(20):
            while not relay._leader:
                await asyncio.sleep(0.02)
        await relay._ensure_producer()  # connected before the clock starts
        await asyncio.sleep(2 * spacing + 0.2)  # quiet: no round for longer than twice the spacing
        # A commit after a quiet spell does not wait (no lingering for company that may never come),
        # nor does the one right behind it (a payment's commit behind its reservation).
        assert await published_after_wake(database, relay, topic, 1) < spacing / 2
        assert await published_after_wake(database, relay, topic, 2) < spacing / 2
        # A third in a row is load: it waits until the spacing since the last round's start has passed.
        assert await published_after_wake(database, relay, topic, 3) > spacing / 2
    finally:
        await relay.stop(drain_timeout=5)
        await asyncio.gather(task, return_exceptions=True)
    assert len(await read_topic(kafka_settings, topic, expected=3)) == 3


async def test_events_a_consumer_stages_go_out_when_its_transaction_commits_not_on_the_next_poll(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    await create_test_tables(database)
    incoming, outgoing = await new_topic("consumed"), await new_topic("staged")
    await record(database, incoming, "agg-in", 1)
    relay = OutboxRelay(database, kafka_settings, name="woken", poll_seconds=60)  # a poll would come too late
    relaying = asyncio.create_task(relay.run())  # its first round publishes the incoming event

    async def forward(session, event: CloudEvent) -> None:  # type: ignore[no-untyped-def]
        await add_events(session, [probe_event("agg-out", 1)], topic=outgoing)

    consumer = IdempotentConsumer(database, kafka_settings, group_id=f"g-{uuid.uuid4().hex[:8]}", topics=[incoming],
                                  handler=forward, on_commit=relay.wake)  # fmt: skip
    await consumer.start()
    consuming = asyncio.create_task(consumer.run())
    try:
        [forwarded] = await read_topic(kafka_settings, outgoing, expected=1, timeout=20)
        assert forwarded.key == b"agg-out"
    finally:
        await consumer.stop()
        await relay.stop(drain_timeout=5)
        await asyncio.gather(consuming, relaying, return_exceptions=True)
