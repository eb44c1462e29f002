"""Helpers for the runtime's integration tests: a state table, probe events, reading a topic."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from baylink.events.v1 import runtime_events_pb2
from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent, EventTypes
from baylink.runtime.outbox import add_events
from baylink.runtime.settings import KafkaSettings

TYPES = EventTypes.from_contracts()
SOURCE = "/baylink/test"

# Test-only tables: the "state" a use case changes, and the "effect" a consumer applies.
test_metadata = sa.MetaData()
state = sa.Table(
    "probe_state",
    test_metadata,
    sa.Column("aggregate_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
effect = sa.Table(
    "probe_effect",
    test_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("aggregate_id", sa.String(64), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
)


async def create_test_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(test_metadata.create_all)


def probe_event(aggregate: str, sequence: int, note: str = "") -> CloudEvent:
    message = runtime_events_pb2.ProbeRecorded(aggregate_id=aggregate, sequence=sequence, note=note)
    return TYPES.new(message, subject=aggregate, source=SOURCE)


async def record(db: Database, topic: str, aggregate: str, sequence: int, note: str = "") -> CloudEvent:
    """A use case: change state and stage its event in one transaction."""
    event = probe_event(aggregate, sequence, note)
    async with db.transaction() as session:
        updated = await session.execute(
            sa.update(state).where(state.c.aggregate_id == aggregate).values(version=sequence)
        )
        if not updated.rowcount:
            await session.execute(sa.insert(state).values(aggregate_id=aggregate, version=sequence))
        await add_events(session, [event], topic=topic)
    return event


async def apply_effect(session, event: CloudEvent) -> None:  # type: ignore[no-untyped-def]
    """A consumer's handler: applies the event's effect in the consumer's transaction."""
    message = TYPES.decode(event)
    assert isinstance(message, runtime_events_pb2.ProbeRecorded)
    if message.note == "poison":
        raise RuntimeError("cannot digest this event")
    await session.execute(sa.insert(effect).values(aggregate_id=message.aggregate_id, sequence=message.sequence))


async def read_topic(kafka: KafkaSettings, topic: str, expected: int, timeout: float = 30) -> list[ConsumerRecord]:
    """Every record of a topic from the beginning (no group), waiting for at least ``expected``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id=f"reader-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < expected:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
        # Anything beyond what we waited for (e.g. a duplicate) arrives within a moment.
        for batch in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def wait_for_records(
    kafka: KafkaSettings, topic: str, match: Callable[[ConsumerRecord], bool], timeout: float = 30
) -> list[ConsumerRecord]:
    """Read a topic from the beginning until at least one record matches; return all matches."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id=f"reader-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout):
            while not found:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(r for r in batch if match(r))
    finally:
        await consumer.stop()
    return found
