"""Reading topics outside any consumer group: a live tail, bounded reads since a time, flows.

Partitions are assigned, never subscribed, and no offset is ever committed. A start "now" is the
end offset taken explicitly at the start (``seek_to_end`` resolves lazily and could skip a record
published in between); a start at a time uses ``offsets_for_times``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from baylink.ops.records import OpsRecord, RecordFilter, decode_record
from baylink.runtime.events import EventTypes
from baylink.runtime.kafka import client_kwargs, close_quietly
from baylink.runtime.settings import KafkaSettings

log = logging.getLogger("baylink.ops")
Offsets = dict[TopicPartition, int]


def time_order(record: OpsRecord) -> tuple[datetime, str, int, int]:
    """Sort key: broker time, then position (records of one partition keep their order)."""
    return (record.timestamp, record.topic, record.partition, record.offset)


class TopicReader:
    """Reads ``topics`` for operators; each call opens its own consumer and closes it when done."""

    def __init__(
        self, kafka: KafkaSettings, topics: Sequence[str], *, types: EventTypes | None = None, client_id: str = "ops"
    ):
        if not topics:
            raise ValueError("name at least one topic to read")
        self.kafka = kafka
        self.topics = list(dict.fromkeys(topics))
        self.types = types or EventTypes.from_contracts()
        self.client_id = client_id

    @asynccontextmanager
    async def _consumer(self) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
        async with open_assigned(self.kafka, self.topics, self.client_id) as opened:
            yield opened

    async def end_offsets(self) -> Offsets:
        """The current end offset of every partition (the offset the next record will get)."""
        async with self._consumer() as (consumer, partitions):
            return dict(await consumer.end_offsets(partitions)) if partitions else {}

    async def _starts(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition], since: datetime | None
    ) -> Offsets:
        ends: Offsets = dict(await consumer.end_offsets(partitions))
        if since is None:
            return ends
        found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        return {tp: ends[tp] if found.get(tp) is None else found[tp].offset for tp in partitions}

    async def tail(
        self,
        *,
        since: datetime | None = None,
        where: RecordFilter | None = None,
        poll_ms: int = 500,
        ready: asyncio.Event | None = None,
    ) -> AsyncIterator[OpsRecord]:
        """Records from the live end (or from ``since``) on, as they arrive, until the caller stops iterating.

        ``ready`` is set once the start offsets are taken: whatever is produced after that is yielded."""
        where = where or RecordFilter()
        async with self._consumer() as (consumer, partitions):
            if not partitions:
                if ready is not None:
                    ready.set()
                while True:  # nothing to read; a tail still waits rather than ending
                    await asyncio.sleep(3600)
            for tp, offset in (await self._starts(consumer, partitions, since)).items():
                consumer.seek(tp, offset)
            if ready is not None:
                ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=poll_ms)
                decoded = [decode_record(r, self.types) for rs in batches.values() for r in rs]
                for record in sorted(decoded, key=time_order):
                    if where.matches(record):
                        yield record

    async def read(
        self,
        since: datetime,
        *,
        where: RecordFilter | None = None,
        stop_at: Mapping[TopicPartition, int] | None = None,
        timeout: float = 60.0,
    ) -> list[OpsRecord]:
        """Every matching record from ``since`` up to the end offsets of now (or ``stop_at``), in time order."""
        where = where or RecordFilter()
        found: list[OpsRecord] = []
        async with self._consumer() as (consumer, partitions):
            if not partitions:
                return []
            starts = await self._starts(consumer, partitions, since)
            ends = dict(stop_at) if stop_at is not None else dict(await consumer.end_offsets(partitions))
            todo = {tp for tp in partitions if starts[tp] < ends.get(tp, 0)}
            for tp in partitions:
                consumer.seek(tp, starts[tp])
            if set(partitions) - todo:
                consumer.pause(*(set(partitions) - todo))
            async with asyncio.timeout(timeout):
                while todo:
                    batches = await consumer.getmany(*todo, timeout_ms=500)
                    for tp, records in batches.items():
                        found.extend(_decoded(records, ends[tp], where, self.types))
                    for tp in list(todo):
                        # Positions, not last offsets: transaction markers take offsets but carry no record.
                        if await consumer.position(tp) >= ends[tp]:
                            todo.discard(tp)
                            consumer.pause(tp)
        return sorted(found, key=time_order)

    async def flow(self, correlation_id: str, since: datetime, *, timeout: float = 60.0) -> list[OpsRecord]:
        """One flow's timeline: the records of ``correlation_id`` on every topic since ``since``, in time order."""
        if not correlation_id:
            raise ValueError("correlation id is empty")
        return await self.read(since, where=RecordFilter(correlation_id=correlation_id), timeout=timeout)


@asynccontextmanager
async def open_assigned(
    kafka: KafkaSettings, topics: Sequence[str], client_id: str = "ops", timeout: float = 30.0
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer outside any group holding every partition of the existing ``topics`` (missing ones are
    logged and left out), with those partitions; stopped on exit."""
    probe = AIOKafkaConsumer(**client_kwargs(kafka), group_id=None, client_id=client_id)
    await probe.start()
    try:
        known = await probe.topics()
    finally:
        await close_quietly(probe)
    present = [t for t in topics if t in known]
    if len(present) < len(topics):
        log.warning("topics not found; not read", extra={"topics": [t for t in topics if t not in known]})
    consumer = AIOKafkaConsumer(
        *present,
        **client_kwargs(kafka),
        group_id=None,  # without a group, a subscription is every partition, and nothing is committed
        enable_auto_commit=False,
        client_id=f"{client_id}-{uuid.uuid4().hex[:6]}",
        request_timeout_ms=max(kafka.request_timeout_ms, 40_000),
    )
    if not present:
        yield consumer, []
        return
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while {tp.topic for tp in consumer.assignment()} != set(present):  # assigned once metadata is in
                await asyncio.sleep(0.02)
        yield consumer, sorted(consumer.assignment())
    finally:
        await close_quietly(consumer)


def _decoded(records: Sequence[ConsumerRecord], end: int, where: RecordFilter, types: EventTypes) -> list[OpsRecord]:
    out = []
    for record in records:
        if record.offset >= end:
            break
        decoded = decode_record(record, types)
        if where.matches(decoded):
            out.append(decoded)
    return out
