"""The audit checkpoints the gateway published on Kafka, read back for ``audit verify --against-kafka``.

Reads the whole topic from the start up to its end offsets of now, outside any consumer group
(nothing committed), and keeps the ``audit.checkpointed`` events of the gateway's source. Records
that are not CloudEvents, or events of other types, are skipped; the relay may publish an event
twice, and both copies say the same, so the comparison takes each sequence once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC

from baylink.events.v1 import gateway_events_pb2 as pb
from baylink.ops.reader import open_assigned
from baylink.runtime.events import EventTypes, MalformedEvent, from_kafka
from baylink.runtime.settings import KafkaSettings
from services.gateway.audit.domain.anchor import PublishedCheckpoint

CHECKPOINTED = "baylink.gateway.audit.checkpointed.v1"


async def published_checkpoints(
    kafka: KafkaSettings, topic: str, source: str, *, timeout: float = 60.0
) -> list[PublishedCheckpoint]:
    """Every checkpoint ``source`` published on ``topic`` so far; LookupError if the topic is missing."""
    types = EventTypes.from_contracts()
    found: dict[int, PublishedCheckpoint] = {}
    async with open_assigned(kafka, [topic], client_id="audit-verify") as (consumer, partitions):
        if not partitions:
            raise LookupError(f"no topic {topic} on {kafka.bootstrap_servers}")
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        todo = {tp for tp in partitions if starts[tp] < ends[tp]}
        for tp in partitions:  # explicit offsets: a lazy seek_to_beginning could lose to the default reset
            consumer.seek(tp, starts[tp])
        async with asyncio.timeout(timeout):
            while todo:
                batches = await consumer.getmany(*todo, timeout_ms=500)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset < ends[tp]:
                            checkpoint = _checkpoint(record.headers, record.value, types, source)
                            if checkpoint is not None:
                                found.setdefault(checkpoint.sequence, checkpoint)
                for tp in list(todo):
                    if await consumer.position(tp) >= ends[tp]:
                        todo.discard(tp)
                        consumer.pause(tp)
    return [found[s] for s in sorted(found)]


def _checkpoint(
    headers: Sequence[tuple[str, bytes]] | None, value: bytes | None, types: EventTypes, source: str
) -> PublishedCheckpoint | None:
    try:
        event = from_kafka(headers, value)
    except MalformedEvent:
        return None
    if event.type != CHECKPOINTED or event.source != source:
        return None
    message = types.decode(event)
    assert isinstance(message, pb.AuditCheckpointed)
    return PublishedCheckpoint(
        sequence=message.last_sequence,
        head_hash=message.chain_hash.hex(),
        record_count=message.record_count,
        first_record_time=message.first_record_time.ToDatetime(tzinfo=UTC),
        last_record_time=message.last_record_time.ToDatetime(tzinfo=UTC),
    )
