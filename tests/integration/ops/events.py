"""Producing real CloudEvents to a test's own topics, and a genuine dead letter made by the runtime."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from baylink.events.v1 import gateway_events_pb2 as gw
from baylink.events.v1 import registry_events_pb2 as reg
from baylink.runtime.consumer import IdempotentConsumer
from baylink.runtime.context import correlation_scope
from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent, EventTypes
from baylink.runtime.kafka import new_producer
from baylink.runtime.settings import KafkaSettings

TYPES = EventTypes.from_contracts()
POISON_REASON = "the handler refuses this application"


def submitted(application_id: str, authority: str = "440605", applicant: str = "ps-applicant") -> CloudEvent:
    """An ApplicationSubmitted event under the current correlation id."""
    message = reg.ApplicationSubmitted(
        application_id=application_id, authority_code=authority, catalogue_item_id="company", applicant_ref=applicant
    )
    return TYPES.new(message, subject=application_id, source="/baylink/registry")


def alert(kind: str = "bulk_subject_read") -> CloudEvent:
    message = gw.SecurityAlertRaised(
        alert_id=uuid.uuid4().hex, severity=gw.ALERT_SEVERITY_HIGH, kind=kind, description="test", city_code="440300"
    )
    return TYPES.new(message, subject="security", source="/baylink/gateway")


async def produce(kafka: KafkaSettings, topic: str, *events: CloudEvent) -> None:
    """Send ``events`` to ``topic`` as the relay would (binary CloudEvents, key = subject)."""
    producer = new_producer(kafka, client_id="ops-test")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, event.data, key=event.key, headers=event.kafka_headers())
    finally:
        await producer.stop()


def in_flow(correlation_id: str, make: object, *args: object) -> CloudEvent:
    with correlation_scope(correlation_id):
        return make(*args)  # type: ignore[operator]


async def dead_letter_one(
    kafka: KafkaSettings, topic: str, tmp: Path, *, correlation_id: str = "", timeout: float = 30
) -> tuple[CloudEvent, str]:
    """Produce a poison event and let a real ``IdempotentConsumer`` dead-letter it (to ``kafka.dlq_topic``).

    Returns the event and the consumer group."""
    poison = in_flow(correlation_id or uuid.uuid4().hex, submitted, f"app-{uuid.uuid4().hex[:8]}")
    db = Database(f"sqlite+aiosqlite:///{tmp / f'consumer-{uuid.uuid4().hex[:6]}.db'}")
    await db.migrate()

    async def refuse(_session: AsyncSession, event: CloudEvent) -> None:
        if event.id == poison.id:
            raise ValueError(POISON_REASON)

    group = f"ops-test-{uuid.uuid4().hex[:8]}"
    consumer = IdempotentConsumer(
        db, kafka, group_id=group, topics=[topic], handler=refuse, max_attempts=2, retry_backoff_seconds=0.01
    )
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        await produce(kafka, topic, poison)
        async with asyncio.timeout(timeout):
            while not consumer.metrics.registry.get_sample_value(
                "baylink_events_consumed_total", {"group": group, "topic": topic, "outcome": "dead_lettered"}
            ):
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.dispose()
    return poison, group
