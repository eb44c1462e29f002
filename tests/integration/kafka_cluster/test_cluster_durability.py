"""Replication on the three-node cluster: declared topics are replicated 3 times with min ISR 2,
and an acks=all producer loses nothing when the node leading most partitions is killed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer

from baylink.runtime.kafka import client_kwargs, close_quietly, new_admin, new_producer
from baylink.runtime.topics import TopicSpec, apply_topics, declared, describe_topics
from tests.integration.kafka_cluster.conftest import Cluster

pytestmark = pytest.mark.kafka_cluster


async def test_the_declared_topics_have_three_replicas_and_min_isr_two(kafka_cluster: Cluster) -> None:
    ops = kafka_cluster.settings("ops")
    admin = new_admin(ops)
    await admin.start()
    try:
        states = {s.name: s for s in await describe_topics(admin, [s.name for s in declared(ops)])}
    finally:
        await close_quietly(admin)
    assert set(states) == {s.name for s in declared(ops)}
    for state in states.values():
        assert (state.name, state.replication_factor, state.configs["min.insync.replicas"]) == (state.name, 3, "2")


@pytest.mark.timeout(300)
async def test_acks_all_keeps_delivering_with_a_node_killed_and_every_acknowledged_record_is_read_back(
    kafka_cluster: Cluster,
) -> None:
    ops = kafka_cluster.settings("ops", replication_factor=3, request_timeout_ms=40_000)
    topic = f"test.cluster.durability.{uuid.uuid4().hex[:8]}"
    admin = new_admin(ops)
    await admin.start()
    try:
        await apply_topics(admin, [TopicSpec(topic, 6, 3_600_000)], 3)
    finally:
        await close_quietly(admin)
    leaders = await _leaders_of(kafka_cluster, topic, 6)
    victim = Counter(leaders.values()).most_common(1)[0][0]

    producer = new_producer(ops, client_id="test-durability")
    await producer.start()
    acknowledged: set[bytes] = set()
    killed_at = restarted = None
    try:
        async with asyncio.timeout(180):
            for i in range(300):
                if i == 100:
                    kafka_cluster.kill(victim)
                    killed_at = time.monotonic()
                value = f"record-{i}".encode()
                await producer.send_and_wait(topic, value, key=str(i % 12).encode())
                acknowledged.add(value)
    finally:
        await close_quietly(producer, timeout=30)
        if killed_at is not None:
            kafka_cluster.start_node(victim)
            restarted = time.monotonic()
    assert len(acknowledged) == 300, "every send was acknowledged while a node was down"
    assert restarted is not None

    consumer = AIOKafkaConsumer(topic, **client_kwargs(ops), group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    read: set[bytes] = set()
    try:
        async with asyncio.timeout(90):
            while not acknowledged <= read:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    read.update(r.value for r in records if r.value is not None)
    finally:
        await close_quietly(consumer)
    assert acknowledged <= read
    # The restarted node is back in every partition's ISR (nothing is left under-replicated).
    assert await _full_isr(kafka_cluster, topic, 60)
    admin = new_admin(ops)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await close_quietly(admin)


async def _leaders_of(cluster: Cluster, topic: str, partitions: int) -> dict[int, int]:
    async with asyncio.timeout(30):
        while True:
            found = {p: leader for p, (leader, _isr) in cluster.partitions(topic).items() if leader > 0}
            if len(found) == partitions:
                return found
            await asyncio.sleep(0.5)


async def _full_isr(cluster: Cluster, topic: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = cluster.partitions(topic)
        if found and all(len(isr) == 3 for _leader, isr in found.values()):
            return True
        await asyncio.sleep(1)
    return False
