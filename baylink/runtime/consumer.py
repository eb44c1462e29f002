"""The idempotent consumer: an inbox makes redelivery a no-op; poison goes to the DLQ.

For each batch of records (from all assigned partitions) the handler runs
inside one database transaction together with the inbox rows of the events it
handled, and offsets are committed only after that transaction. A redelivered event finds its id in the
inbox and is skipped, so every event takes effect once.

If the batch fails, the consumer falls back to one record at a time, retrying
each up to ``max_attempts``; a record that still fails (or is not a CloudEvent
at all) is published to the dead-letter topic with the error and its origin in
headers, and consumption moves on. A failure because the consumer's own database
is out of reach (``db.database_unavailable``) is no attempt: the consumer waits
for the database, offsets uncommitted, and tries again.

Events a handler stages in the outbox commit with the batch; ``on_commit`` (the host gives its
relay's ``wake``) is called after a transaction that handled a fresh event, so they go out then,
not on the relay's next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeAlias

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.context import correlation_scope
from baylink.runtime.db import Database, database_unavailable
from baylink.runtime.events import CloudEvent, MalformedEvent, from_kafka
from baylink.runtime.kafka import close_quietly, new_consumer, new_producer
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.schema import inbox
from baylink.runtime.settings import KafkaSettings

log = logging.getLogger("baylink.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
DATABASE_WAIT_SECONDS = 1.0  # between tries while the consumer's own database is out of reach
Record: TypeAlias = ConsumerRecord  # aiokafka is untyped; records carry bytes keys and values

# Dead-letter headers (the original ce_* headers are kept beside them).
DLQ_ERROR = "baylink_dlq_error"
DLQ_ERROR_TYPE = "baylink_dlq_error_type"
DLQ_TOPIC = "baylink_dlq_topic"
DLQ_PARTITION = "baylink_dlq_partition"
DLQ_OFFSET = "baylink_dlq_offset"
DLQ_GROUP = "baylink_dlq_group"
DLQ_ATTEMPTS = "baylink_dlq_attempts"
DLQ_TIME = "baylink_dlq_time"


class IdempotentConsumer:
    def __init__(
        self,
        db: Database,
        kafka: KafkaSettings,
        *,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
        metrics: ServiceMetrics | None = None,
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        batch_size: int = 500,
        on_commit: Callable[[], None] | None = None,
    ):
        self.db = db
        self.kafka = kafka
        self.group_id = group_id
        self.topics = list(topics)
        self.handler = handler
        self.metrics = metrics or ServiceMetrics()
        self.max_attempts = max_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        self.batch_size = batch_size
        self.on_commit = on_commit
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        consumer = new_consumer(self.kafka, self.group_id, self.topics)
        dlq = new_producer(self.kafka, client_id=f"{self.group_id}-dlq")
        try:
            await consumer.start()
            await dlq.start()
        except BaseException:
            await close_quietly(consumer)
            await close_quietly(dlq)
            raise
        self._consumer, self._dlq = consumer, dlq

    async def stop(self) -> None:
        self._stopping.set()
        for client in (self._consumer, self._dlq):
            if client is not None:
                await close_quietly(client)
        self._consumer = self._dlq = None

    async def run(self) -> None:
        """Consume until ``stop()``."""
        assert self._consumer is not None, "start() first"
        consumer = self._consumer
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            if batches:
                await self.process([r for records in batches.values() for r in records])
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
            await self._report_lag(consumer)

    async def process(self, records: Sequence[Record]) -> None:
        """Handle a batch of records: all in one transaction, else one by one."""
        events: list[tuple[Record, CloudEvent]] = []
        for record in records:
            try:
                events.append((record, from_kafka(record.headers, record.value)))
            except MalformedEvent as exc:
                await self._dead_letter(record, exc, attempts=1)
        if not events:
            return
        try:
            async with self.db.transaction() as session:
                outcomes = await self._apply_all(session, [event for _, event in events])
        except Exception:  # noqa: BLE001 - any failure: isolate the failing record below
            log.info("batch failed; retrying its records one by one", extra={"group": self.group_id})
            for record, event in events:
                await self._process_one(record, event)
            return
        for (record, _), outcome in zip(events, outcomes, strict=True):
            self.metrics.events_consumed.labels(self.group_id, record.topic, outcome).inc()
        self._committed(outcomes)

    async def _process_one(self, record: Record, event: CloudEvent) -> None:
        error: Exception | None = None
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            try:
                async with self.db.transaction() as session:
                    [outcome] = await self._apply_all(session, [event])
                self.metrics.events_consumed.labels(self.group_id, record.topic, outcome).inc()
                self._committed([outcome])
                return
            except IntegrityError:
                # Another member of the group committed this event meanwhile (rebalance).
                self.metrics.events_consumed.labels(self.group_id, record.topic, "duplicate").inc()
                return
            except Exception as exc:  # any handler failure counts as an attempt, unless the database is down
                if database_unavailable(exc):
                    # Our own database is out of reach: no fault of the event's. Wait for it, the
                    # offsets uncommitted, rather than dead-letter events no one would see again
                    # (stopping meanwhile: leave the batch uncommitted; it is delivered again).
                    if self._stopping.is_set():
                        raise
                    attempt -= 1
                    log.warning("database unavailable; waiting to apply", extra={"group": self.group_id,
                                                                                "event_id": event.id})  # fmt: skip
                    await asyncio.sleep(DATABASE_WAIT_SECONDS)
                    continue
                error = exc
                log.warning(
                    "handler failed",
                    extra={
                        "group": self.group_id,
                        "event_id": event.id,
                        "attempt": attempt,
                        "error": repr(exc),
                    },
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff_seconds * attempt)
        assert error is not None
        await self._dead_letter(record, error, attempts=self.max_attempts)

    def _committed(self, outcomes: Sequence[str]) -> None:
        """A transaction committed: if it handled a fresh event, what it staged may go out now."""
        if self.on_commit is not None and "processed" in outcomes:
            self.on_commit()

    async def _apply_all(self, session: AsyncSession, events: Sequence[CloudEvent]) -> list[str]:
        """Apply the events not yet in the inbox, and record them there, in the caller's transaction."""
        seen: set[str] = set()
        ids = list({e.id for e in events})
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            result = await session.execute(
                sa.select(inbox.c.event_id)
                .where(inbox.c.consumer_group == self.group_id)
                .where(inbox.c.event_id.in_(ids[start : start + 900]))
            )
            seen.update(result.scalars())
        outcomes: list[str] = []
        fresh: list[dict[str, object]] = []
        now = datetime.now(UTC)
        for event in events:
            if event.id in seen:  # processed before, or earlier in this very batch
                outcomes.append("duplicate")
                continue
            with correlation_scope(event.correlation_id, causation_id=event.id, traceparent=event.traceparent):
                await self.handler(session, event)
            seen.add(event.id)
            fresh.append(
                {
                    "consumer_group": self.group_id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "processed_at": now,
                }
            )
            outcomes.append("processed")
        if fresh:
            await session.execute(sa.insert(inbox), fresh)
        return outcomes

    async def _dead_letter(self, record: Record, error: BaseException, *, attempts: int) -> None:
        assert self._dlq is not None
        headers = [
            *(record.headers or ()),
            (DLQ_ERROR, str(error)[:2000].encode()),
            (DLQ_ERROR_TYPE, type(error).__name__.encode()),
            (DLQ_TOPIC, record.topic.encode()),
            (DLQ_PARTITION, str(record.partition).encode()),
            (DLQ_OFFSET, str(record.offset).encode()),
            (DLQ_GROUP, self.group_id.encode()),
            (DLQ_ATTEMPTS, str(attempts).encode()),
            (DLQ_TIME, datetime.now(UTC).isoformat().encode()),
        ]
        await self._dlq.send_and_wait(self.kafka.dlq_topic, record.value, key=record.key, headers=headers)
        self.metrics.events_consumed.labels(self.group_id, record.topic, "dead_lettered").inc()
        log.error(
            "event dead-lettered",
            extra={
                "group": self.group_id,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error": repr(error),
            },
        )

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(tp)
            self.metrics.consumer_lag.labels(self.group_id, tp.topic, str(tp.partition)).set(
                max(highwater - position, 0)
            )
