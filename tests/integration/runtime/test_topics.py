"""Topic tooling against the real broker: create from the declaration, re-apply as a no-op, raise partitions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from baylink.runtime.acls import apply_acls, declared_principals, describe_acls
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, TopicState, apply_topics, declared, describe_topics

pytestmark = pytest.mark.kafka


@pytest.fixture
async def admin(kafka_settings: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = new_admin(kafka_settings)
    await client.start()
    yield client
    await close_quietly(client)


async def test_applying_a_declaration_creates_then_changes_nothing_then_raises_partitions(
    admin: AIOKafkaAdminClient,
) -> None:
    name = f"decl.{uuid.uuid4().hex[:10]}"
    try:
        first = await apply_topics(admin, [TopicSpec(name, 2, 86_400_000, "compact,delete")], 1)
        assert first == [f"created {name} (2 partitions, replication 1)"]
        assert await apply_topics(admin, [TopicSpec(name, 2, 86_400_000, "compact,delete")], 1) == []

        changes = await apply_topics(admin, [TopicSpec(name, 4, 3_600_000, "delete")], 1)
        assert f"{name}: partitions 2 -> 4" in changes
        wanted = {"retention.ms": "3600000", "cleanup.policy": "delete", "min.insync.replicas": "1"}
        state = await settled(admin, name, lambda s: s.partitions == 4 and s.configs == wanted)
        assert (state.partitions, state.replication_factor, state.configs) == (4, 1, wanted)

        lowered = await apply_topics(admin, [TopicSpec(name, 1, 3_600_000, "delete")], 1)
        assert lowered == [f"{name}: has 4 partitions, declared 1 (Kafka cannot lower it; left as is)"]
    finally:
        await admin.delete_topics([name])


async def test_two_applies_racing_to_create_a_topic_report_one_creation(kafka_settings: KafkaSettings) -> None:
    name = f"decl.{uuid.uuid4().hex[:10]}"
    spec = TopicSpec(name, 2, 86_400_000, "delete")
    admins = [new_admin(kafka_settings) for _ in range(2)]
    for client in admins:
        await client.start()
    try:
        # Both describe it missing, both create it: the broker refuses the second as already
        # existing, and that one is a topic found as declared, not another creation.
        first, second = await asyncio.gather(*(apply_topics(client, [spec], 1) for client in admins))
        assert sorted([first, second], key=len) == [[], [f"created {name} (2 partitions, replication 1)"]]
    finally:
        await admins[0].delete_topics([name])
        for client in admins:
            await close_quietly(client)


async def settled(admin: AIOKafkaAdminClient, name: str, done: Callable[[TopicState], bool]) -> TopicState:
    """The broker applies config changes asynchronously: describe until they show (or 15 s)."""
    async with asyncio.timeout(15):
        while True:
            [state] = await describe_topics(admin, [name])
            if done(state):
                return state
            await asyncio.sleep(0.2)


async def test_the_declared_topics_are_on_the_broker_as_declared(
    admin: AIOKafkaAdminClient, kafka_settings: KafkaSettings
) -> None:
    specs = declared(kafka_settings)
    await apply_topics(admin, specs, kafka_settings.replication_factor)
    states = {s.name: s for s in await describe_topics(admin, [s.name for s in specs])}
    for spec in specs:
        assert states[spec.name].partitions == spec.partitions
        assert states[spec.name].configs["retention.ms"] == str(spec.retention_ms)


async def test_acls_are_not_applied_on_a_broker_without_an_authorizer(
    admin: AIOKafkaAdminClient, kafka_settings: KafkaSettings
) -> None:
    assert await describe_acls(admin) is None
    assert await apply_acls(admin, declared_principals(kafka_settings)) is None
