"""Reading a topic from the beginning in tests, outside any consumer group."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from baylink.runtime.kafka import client_kwargs
from baylink.runtime.settings import KafkaSettings

Match = Callable[[ConsumerRecord], bool]


async def scan_topic(
    kafka: KafkaSettings,
    topic: str,
    *,
    done: Callable[[list[ConsumerRecord]], bool],
    match: Match = lambda _: True,
    timeout: float = 30,
    linger_ms: int = 0,
    since: datetime | None = None,
) -> list[ConsumerRecord]:
    """Matching records from the start of ``topic`` (or from ``since``) until ``done(matches)``,
    then ``linger_ms`` more. Shared topics grow long; ``since`` skips what earlier tests wrote."""
    consumer = AIOKafkaConsumer(
        topic,
        **client_kwargs(kafka),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id=f"reader-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout):
            if since is not None:
                await _seek_to(consumer, since)
            while not done(found):
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(r for r in batch if match(r))
        if linger_ms:
            for batch in (await consumer.getmany(timeout_ms=linger_ms)).values():
                found.extend(r for r in batch if match(r))
    finally:
        await consumer.stop()
    return found


async def read_topic(kafka: KafkaSettings, topic: str, expected: int, timeout: float = 30) -> list[ConsumerRecord]:
    """Every record of a topic, waiting for at least ``expected``; a second more for any extra (duplicates)."""
    return await scan_topic(kafka, topic, done=lambda found: len(found) >= expected, timeout=timeout, linger_ms=1000)


async def wait_for_records(
    kafka: KafkaSettings, topic: str, match: Match, timeout: float = 30, since: datetime | None = None
) -> list[ConsumerRecord]:
    """The records of a topic (from ``since``) that match, once at least one does."""
    return await scan_topic(kafka, topic, done=bool, match=match, timeout=timeout, since=since)


async def _seek_to(consumer: AIOKafkaConsumer, since: datetime) -> None:
    while not consumer.assignment():  # without a group, every partition is assigned once metadata is in
        await asyncio.sleep(0.05)
    partitions = list(consumer.assignment())
    # The end offsets first: a record published after they are taken is read from there whatever
    # the time lookup says, and one published before is found by the lookup. (Ends taken after
    # the lookup lost a record published in between: the lookup had not seen it, the end was
    # past it. seek_to_end would resolve even later.)
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
    for tp, start in starts.items():
        consumer.seek(tp, ends[tp] if start is None else min(start.offset, ends[tp]))
