"""The console's consumer-lag view under ACLs: as `baylink-gateway` it sees the other principals'
consumer groups (describe_groups in deploy/kafka/topics.toml) with their committed offsets and lag,
and still may neither join nor commit in them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.admin import NewTopic
from aiokafka.errors import GroupAuthorizationFailedError
from aiokafka.structs import TopicPartition

from baylink.ops.groups import PartitionLag, consumer_group_lags
from baylink.runtime.events import CloudEvent
from baylink.runtime.kafka import close_quietly, new_admin, new_consumer, new_producer
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import declared
from tests.integration.kafka_cluster.conftest import Cluster

pytestmark = pytest.mark.kafka_cluster

TOPIC = "baylink.payments.v1"


async def produce(settings: KafkaSettings, tp: TopicPartition, count: int) -> int:
    """``count`` records of a type nobody handles on ``tp``; the partition's end offset after them."""
    producer = new_producer(settings, client_id="test-lag-payments")
    await producer.start()
    try:
        for _ in range(count):
            probe = CloudEvent(str(uuid.uuid4()), "/baylink/payments", "baylink.payments.lag.probed.v1", "lag-test",
                               datetime.now(UTC), b"")  # fmt: skip
            sent = await producer.send_and_wait(tp.topic, b"", key=probe.key, partition=tp.partition,
                                                headers=probe.kafka_headers())  # fmt: skip
        return int(sent.offset) + 1
    finally:
        await close_quietly(producer)


async def commit(settings: KafkaSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit ``offsets`` in ``group`` as a consumer with those partitions assigned (no join)."""
    consumer = new_consumer(settings, group, [])
    consumer.assign(list(offsets))
    await asyncio.wait_for(consumer.start(), 30)
    try:
        await asyncio.wait_for(consumer.commit(offsets), 30)
    finally:
        await close_quietly(consumer)


async def test_the_gateway_sees_another_principals_group_lag_but_may_not_join_or_commit_in_it(
    kafka_cluster: Cluster,
) -> None:
    run = uuid.uuid4().hex[:6]
    group, hidden = f"registry.test-lag-{run}", f"ops.test-lag-{run}"
    tp = TopicPartition(TOPIC, 2)
    scratch = TopicPartition(f"test-lag-{run}", 0)  # undeclared: the gateway may not describe it
    ops, gateway = kafka_cluster.settings("ops"), kafka_cluster.settings("gateway")

    end = await produce(kafka_cluster.settings("payments"), tp, 5)
    await commit(kafka_cluster.settings("registry"), group, {tp: end - 2})  # the registry's own group
    admin = new_admin(ops)
    await asyncio.wait_for(admin.start(), 30)
    try:
        await admin.create_topics([NewTopic(scratch.topic, 1, 3)])
        # The operators' super user commits in the same group on a topic the gateway may not describe,
        # and in a group outside the gateway's describe_groups.
        await commit(ops, group, {scratch: 0})
        await commit(ops, hidden, {tp: end})

        seen = {g.group_id: g for g in await consumer_group_lags(gateway)}  # ListGroups: the describable ones
        assert group in seen and hidden not in seen
        assert seen[group].state == "Empty" and seen[group].members == 0
        # OffsetFetch leaves out the partitions of topics the gateway may not describe.
        assert seen[group].partitions == [PartitionLag(TOPIC, tp.partition, end - 2, end)]
        assert seen[group].partitions[0].lag == 2 and seen[group].total_lag == 2

        console = {
            g.group_id: g for g in await consumer_group_lags(gateway, topics=[t.name for t in declared(gateway)])
        }
        assert group in console and hidden not in console  # as the console's view asks
        assert console[group].partitions == seen[group].partitions
    finally:
        await admin.delete_topics([scratch.topic])
        await close_quietly(admin)

    # DESCRIBE only: joining the group and committing in it are both refused.
    with pytest.raises(GroupAuthorizationFailedError):
        await commit(gateway, group, {tp: end})
    joining = new_consumer(gateway, group, [TOPIC])
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await asyncio.wait_for(joining.start(), 30)
    finally:
        await close_quietly(joining)
    [after] = await consumer_group_lags(gateway, topics=[TOPIC], group_ids=[group])
    assert after.partitions == [PartitionLag(TOPIC, tp.partition, end - 2, end)]  # nothing moved
