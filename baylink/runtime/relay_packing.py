"""Packing a relay round into Kafka record batches: one batch per partition, in id order.

A round costs a few batch submissions rather than a send per row. Each row goes to the partition
its key hashes to, as a keyed send would put it, so one aggregate's events keep their order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from baylink.runtime.outbox import OutboxRow

# Rows of one submitted batch, and the future of the broker's answer for it.
Submitted = list[tuple[list[OutboxRow], asyncio.Future[Any]]]


class KeyPartitions:
    """Which partition a key goes to: what a keyed send's default partitioner answers (murmur2
    of the key over the topic's partitions), remembered per key, since a service's events keep
    coming for the same few subjects and the pure-Python hash is not free. Bounded."""

    def __init__(self, size: int = 65_536) -> None:
        self.size = size
        self._partitioner = DefaultPartitioner()
        self._known: dict[tuple[str, int, bytes], int] = {}

    def of(self, topic: str, key: bytes, partitions: set[int]) -> int:
        memo = (topic, len(partitions), key)
        partition = self._known.get(memo)
        if partition is None:
            ordered = sorted(partitions)
            partition = self._partitioner(key, ordered, ordered)
            if len(self._known) >= self.size:
                self._known.clear()
            self._known[memo] = partition
        return partition


async def send_packed(
    producer: AIOKafkaProducer, rows: list[OutboxRow], partitions: KeyPartitions
) -> tuple[Submitted, KafkaError | None]:
    """Pack ``rows`` into one record batch per partition, in id order, and submit each batch (a
    full batch goes out and the next one of that partition follows it). Returns what was
    submitted, and the error that stopped packing (e.g. no metadata while the broker is down),
    if any: the rows after it were not submitted."""
    submitted: Submitted = []
    try:
        open_batches: dict[tuple[str, int], tuple[BatchBuilder, list[OutboxRow]]] = {}
        topics: dict[str, set[int]] = {}
        for row in rows:
            key = row.subject.encode()
            if row.topic not in topics:
                topics[row.topic] = await producer.partitions_for(row.topic)
            partition = partitions.of(row.topic, key, topics[row.topic])
            batch, members = open_batches.get((row.topic, partition)) or (producer.create_batch(), [])
            if batch.append(key=key, value=row.payload, timestamp=None, headers=row.headers) is None:
                # Full: it goes out now and a new batch takes this row (a first record always fits).
                batch.close()
                submitted.append((members, await producer.send_batch(batch, row.topic, partition=partition)))
                batch, members = producer.create_batch(), []
                batch.append(key=key, value=row.payload, timestamp=None, headers=row.headers)
            members.append(row)
            open_batches[(row.topic, partition)] = (batch, members)
        for (topic, partition), (batch, members) in open_batches.items():
            batch.close()
            submitted.append((members, await producer.send_batch(batch, topic, partition=partition)))
    except KafkaError as exc:
        return submitted, exc
    return submitted, None
