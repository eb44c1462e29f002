"""The dead-letter topic: what the idempotent consumer wrote there, and replay.

A dead letter is the original record (value, key, headers) plus the ``baylink_dlq_*`` headers of
``baylink/runtime/consumer.py``. Its id is ``"<dlq topic>:<partition>:<offset>"``. Replay produces
the original record again — value, key and original headers, without the dead-letter ones — to its
original topic; whether an item was already resolved is the caller's record to keep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, RecordMetadata, TopicPartition

from baylink.ops.reader import open_assigned
from baylink.ops.records import iso, record_time
from baylink.runtime import consumer as runtime
from baylink.runtime.settings import KafkaSettings

DLQ_PREFIX = "baylink_dlq_"


def dlq_id_of(topic: str, partition: int, offset: int) -> str:
    """``"<dlq topic>:<partition>:<offset>"``."""
    return f"{topic}:{partition}:{offset}"


def parse_dlq_id(text: str) -> tuple[str, int, int]:
    """(topic, partition, offset) of a dead-letter id; ValueError naming what is wrong."""
    topic, sep, rest = text.partition(":")
    partition, sep2, offset = rest.partition(":")
    if not (topic and sep and sep2 and partition.isdigit() and offset.isdigit()):
        raise ValueError(f"{text!r} is not a dead-letter id (<topic>:<partition>:<offset>)")
    return topic, int(partition), int(offset)


@dataclass(frozen=True)
class DeadLetter:
    dlq_id: str
    original_topic: str
    original_partition: int
    original_offset: int
    group: str
    error: str
    error_type: str
    attempts: int
    event_type: str
    event_id: str
    correlation_id: str
    dead_at: datetime
    key: bytes | None
    value: bytes | None
    original_headers: tuple[tuple[str, bytes], ...]

    def to_json(self) -> dict[str, Any]:
        """The console's DLQ item fields that come from the record (status is the caller's)."""
        return {
            "dlq_id": self.dlq_id,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "group": self.group,
            "error": self.error,
            "error_type": self.error_type,
            "attempts": self.attempts,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "correlation_id": self.correlation_id,
            "dead_at": iso(self.dead_at),
        }


def _int(text: str, default: int = -1) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def parse_dead_letter(record: ConsumerRecord) -> DeadLetter:
    """A dead-letter record read back; headers missing (a record put there by hand) read as empty."""
    headers = [(name, bytes(value)) for name, value in (record.headers or ())]
    dlq = {name: value.decode(errors="replace") for name, value in headers if name.startswith(DLQ_PREFIX)}
    original = tuple((name, value) for name, value in headers if not name.startswith(DLQ_PREFIX))
    ce = {name: value.decode(errors="replace") for name, value in original if name.startswith("ce_")}
    try:
        dead_at = datetime.fromisoformat(dlq[runtime.DLQ_TIME])
    except (KeyError, ValueError):
        dead_at = record_time(record)
    return DeadLetter(
        dlq_id=dlq_id_of(record.topic, record.partition, record.offset),
        original_topic=dlq.get(runtime.DLQ_TOPIC, ""),
        original_partition=_int(dlq.get(runtime.DLQ_PARTITION, "")),
        original_offset=_int(dlq.get(runtime.DLQ_OFFSET, "")),
        group=dlq.get(runtime.DLQ_GROUP, ""),
        error=dlq.get(runtime.DLQ_ERROR, ""),
        error_type=dlq.get(runtime.DLQ_ERROR_TYPE, ""),
        attempts=_int(dlq.get(runtime.DLQ_ATTEMPTS, ""), 0),
        event_type=ce.get("ce_type", ""),
        event_id=ce.get("ce_id", ""),
        correlation_id=ce.get("ce_correlationid", ""),
        dead_at=dead_at,
        key=record.key,
        value=record.value,
        original_headers=original,
    )


class DeadLetterIndex:
    """Every dead letter of one topic, read once and then incrementally (``refresh`` reads what is new)."""

    def __init__(self, kafka: KafkaSettings, topic: str):
        self.kafka = kafka
        self.topic = topic
        self._items: dict[str, DeadLetter] = {}
        self._next: dict[TopicPartition, int] = {}
        self._lock = asyncio.Lock()

    def get(self, dlq_id: str) -> DeadLetter | None:
        """A dead letter already read (``refresh`` first for the newest)."""
        return self._items.get(dlq_id)

    @property
    def items(self) -> list[DeadLetter]:
        """Dead letters read so far, oldest first."""
        return sorted(self._items.values(), key=lambda d: (d.dead_at, d.dlq_id))

    async def refresh(self, timeout: float = 30.0) -> list[DeadLetter]:
        """Read what was added since the last refresh; returns every dead letter, oldest first."""
        async with self._lock, open_assigned(self.kafka, [self.topic], "ops-dlq") as (consumer, partitions):
            if not partitions:
                raise LookupError(f"dead-letter topic {self.topic} does not exist")
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            todo = set()
            for tp in partitions:
                start = max(self._next.get(tp, 0), starts[tp])
                consumer.seek(tp, start)
                if start < ends[tp]:
                    todo.add(tp)
                else:
                    consumer.pause(tp)
            async with asyncio.timeout(timeout):
                while todo:
                    for tp, records in (await consumer.getmany(*todo, timeout_ms=500)).items():
                        self._add([r for r in records if r.offset < ends[tp]])
                    for tp in list(todo):
                        position = await consumer.position(tp)
                        self._next[tp] = min(position, ends[tp])
                        if position >= ends[tp]:
                            todo.discard(tp)
                            consumer.pause(tp)
        return self.items

    def _add(self, records: Sequence[ConsumerRecord]) -> None:
        for record in records:
            letter = parse_dead_letter(record)
            self._items[letter.dlq_id] = letter


async def replay_dead_letter(producer: AIOKafkaProducer, letter: DeadLetter) -> RecordMetadata:
    """Produce the original record (value, key, original headers) to its original topic; waits for the ack."""
    if not letter.original_topic:
        raise ValueError(f"dead letter {letter.dlq_id} does not name its original topic")
    return await producer.send_and_wait(
        letter.original_topic, letter.value, key=letter.key, headers=list(letter.original_headers)
    )
