"""Helpers for the runtime's integration tests: a state table, probe events; topic readers re-exported."""

from __future__ import annotations

import sqlalchemy as sa

from baylink.events.v1 import runtime_events_pb2
from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent, EventTypes
from baylink.runtime.outbox import add_events
from tests.support.topics import read_topic, wait_for_records

__all__ = ["read_topic", "wait_for_records"]

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
