"""Kafka clients configured the one way Baylink uses them."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from baylink.runtime.settings import KafkaSettings


def client_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """Where and how to connect: the keyword arguments every aiokafka client of Baylink gets (producers,
    consumers, admin clients; the Faust app through ``faust_credentials`` of the flow worker)."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol.endswith("SSL"):
        cafile = str(settings.ssl_cafile) if settings.ssl_cafile is not None else None
        # Verifies the broker's certificate and that it names the address dialled.
        kwargs["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if settings.security_protocol.startswith("SASL_"):
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return kwargs


def new_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    # Idempotent with acks=all: a retried send never duplicates or reorders a
    # partition's records, which is what keeps one aggregate's events in order.
    return AIOKafkaProducer(
        **client_kwargs(settings),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=settings.request_timeout_ms,
    )


def new_consumer(settings: KafkaSettings, group_id: str, topics: Sequence[str]) -> AIOKafkaConsumer:
    # Offsets are committed by us, after the inbox transaction commits.
    return AIOKafkaConsumer(
        *topics,
        **client_kwargs(settings),
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=max(settings.request_timeout_ms, 40_000),
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.session_timeout_ms // 3,
    )


def new_admin(settings: KafkaSettings, client_id: str = "baylink-admin") -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        **client_kwargs(settings),
        client_id=client_id,
        request_timeout_ms=settings.request_timeout_ms,
    )


async def close_quietly(
    client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient, timeout: float = 5.0
) -> None:
    """Close a client that may never have connected, or whose broker is gone.

    An idempotent producer's ``stop()`` waits to deliver what it holds, forever
    while the broker is down; past ``timeout`` we give up on it (its rows stay
    unsent in the outbox and go out again later).
    """
    try:
        result = client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop()
        if asyncio.iscoroutine(result):
            await asyncio.wait_for(result, timeout)
    except Exception:  # noqa: BLE001 - closing a broken client must not mask the original failure
        pass
