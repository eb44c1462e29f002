"""Who gets in and what they may do on the three-node cluster: SCRAM over TLS only, and each
service principal only on its own topics (deploy/kafka/topics.toml)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError

from baylink.runtime.events import CloudEvent
from baylink.runtime.kafka import close_quietly, new_admin, new_consumer, new_producer
from tests.integration.kafka_cluster.conftest import Cluster

pytestmark = pytest.mark.kafka_cluster


async def test_a_service_writes_its_own_topic_and_is_refused_another_services_topic(kafka_cluster: Cluster) -> None:
    # A well-formed event of a type nobody handles: a running stack on this cluster ignores it.
    probe = CloudEvent(str(uuid.uuid4()), "/baylink/payments", "baylink.payments.acl.probed.v1", "acl-test",
                       datetime.now(UTC), b"")  # fmt: skip
    producer = new_producer(kafka_cluster.settings("payments"), client_id="test-acl-payments")
    await producer.start()
    try:
        own = await producer.send_and_wait("baylink.payments.v1", b"", key=probe.key, headers=probe.kafka_headers())
        assert own.topic == "baylink.payments.v1"
        with pytest.raises(TopicAuthorizationFailedError):
            forged = producer.send_and_wait("baylink.registry.v1", b"", key=probe.key, headers=probe.kafka_headers())
            await asyncio.wait_for(forged, 30)
    finally:
        await close_quietly(producer)


async def test_a_service_cannot_consume_in_a_group_outside_its_prefix(kafka_cluster: Cluster) -> None:
    # The registry may read baylink.payments.v1, but only in groups starting with "registry.".
    settings = kafka_cluster.settings("registry")
    own = new_consumer(settings, f"registry.test-{uuid.uuid4().hex[:6]}", ["baylink.payments.v1"])
    await asyncio.wait_for(own.start(), 30)
    await close_quietly(own)
    consumer = new_consumer(settings, f"payments.stolen-{uuid.uuid4().hex[:6]}", ["baylink.payments.v1"])
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await asyncio.wait_for(consumer.start(), 30)  # joining the group is refused
    finally:
        await close_quietly(consumer)


@pytest.mark.parametrize(
    ("overrides", "what"),
    [
        ({"sasl_password": "not-the-password"}, "a wrong password"),
        ({"security_protocol": "SSL", "sasl_username": "", "sasl_password": ""}, "TLS without credentials"),
        ({"security_protocol": "PLAINTEXT", "sasl_username": "", "sasl_password": "", "ssl_cafile": None},
         "plaintext"),
    ],
)  # fmt: skip
async def test_a_client_without_valid_scram_credentials_over_tls_is_refused(
    kafka_cluster: Cluster, overrides: dict[str, object], what: str
) -> None:
    good = kafka_cluster.settings("identity", request_timeout_ms=5_000)
    admin = new_admin(good)
    await asyncio.wait_for(admin.start(), 30)  # the door is open to the right credentials
    await close_quietly(admin)

    refused = new_admin(kafka_cluster.settings("identity", request_timeout_ms=5_000, **overrides))
    try:
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(refused.start(), 60)
    finally:
        await close_quietly(refused)
