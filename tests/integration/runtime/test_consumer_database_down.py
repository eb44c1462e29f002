"""The idempotent consumer while a database it needs is out of reach: it waits and applies the event
once the database answers, instead of spending its attempts and dead-lettering the event.

The handler's first calls meet a real refused connection (a PostgreSQL URL on a loopback port where
nothing listens), as the registry's fee handler met its database while PostgreSQL restarted; then it
applies. The inbox is a SQLite file; the dead-letter topic is a real one of the test's own, read back.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.events.v1 import registry_events_pb2 as reg
from baylink.runtime import consumer as consumer_module
from baylink.runtime.consumer import IdempotentConsumer
from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent, EventTypes
from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+asyncpg://nobody:none@127.0.0.1:{port}/gone"


async def test_an_event_met_by_a_database_outage_is_applied_when_it_returns_not_dead_lettered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    monkeypatch.setattr(consumer_module, "DATABASE_WAIT_SECONDS", 0.05)  # the wait between tries
    topic, dlq = await new_topic("consumed"), await new_topic("dlq")
    kafka = kafka_settings.model_copy(update={"dlq_topic": dlq})
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    await db.migrate()
    event = EventTypes.from_contracts().new(reg.ApplicationDrafted(application_id="a-1"), subject="a-1", source="t")
    record = ConsumerRecord(topic, 0, 7, 0, 0, b"a-1", event.data, None, len(event.data), 0, event.kafka_headers())
    outage_calls, applied = 5, []

    async def handler(session: AsyncSession, ce: CloudEvent) -> None:
        if len(applied) + handler.calls < outage_calls:  # type: ignore[attr-defined]
            handler.calls += 1  # type: ignore[attr-defined]
            gone = Database(refused_url())
            try:
                async with gone.begin() as conn:
                    await conn.execute(sa.text("select 1"))
            finally:
                await gone.dispose()
        applied.append(ce.id)

    handler.calls = 0  # type: ignore[attr-defined]
    consumer = IdempotentConsumer(db, kafka, group_id=f"g-{topic}", topics=[topic], handler=handler,
                                  max_attempts=3, retry_backoff_seconds=0.01)  # fmt: skip
    await consumer.start()
    try:
        await consumer.process([record])
        # A control record that does fail (not a CloudEvent) shows the dead-letter topic works.
        await consumer.process([ConsumerRecord(topic, 0, 8, 0, 0, b"x", b"junk", None, 4, 0, [])])
    finally:
        await consumer.stop()
        await db.dispose()
    dead = await scan_topic(kafka, dlq, done=lambda found: len(found) >= 1, linger_ms=1000)
    # Five refusals, more than max_attempts: none counted; only the control record was dead-lettered.
    assert [r.value for r in dead] == [b"junk"]
    assert applied == [event.id] and handler.calls == outage_calls  # type: ignore[attr-defined]
