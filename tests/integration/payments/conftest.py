"""A real payments service for integration tests: gRPC on port 0, a real database, a relay to the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.grpc.server import GrpcServer, start_grpc_server
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.settings import KafkaSettings
from services.payments.bootstrap import Payments
from tests.conftest import postgres_database
from tests.unit.payments.conftest import Clock, make_app


@asynccontextmanager
async def database_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'payments.db'}"
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Payments]:
    """A seeded service on SQLite and on PostgreSQL, with the real clock."""
    from services.payments.service_layer.unit_of_work import utc_now

    async with database_url(request.param, tmp_path) as url:
        payments = await make_app(url, Clock())
        payments.deps.clock = utc_now
        yield payments
        await payments.deps.db.dispose()


@dataclass
class Running:
    app: Payments
    server: GrpcServer
    stub: api_grpc.PaymentsServiceStub
    relay: OutboxRelay
    topic: str


@asynccontextmanager
async def running(app: Payments, kafka: KafkaSettings, topic: str) -> AsyncIterator[Running]:
    """Serve the app over gRPC and relay its outbox to ``topic``."""
    app.deps.event_topic = topic
    relay = OutboxRelay(app.deps.db, kafka, name=f"payments-test-{topic}", poll_seconds=0.05)
    app.deps.on_commit = relay.wake
    relay_task = asyncio.create_task(relay.run())
    server = await start_grpc_server(app.register, app.service_names, port=0)
    await app.start_background()
    channel = insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Running(app, server, api_grpc.PaymentsServiceStub(channel), relay, topic)
    finally:
        await channel.close()
        await app.stop_background()
        await server.stop(1)
        await relay.stop()
        await asyncio.gather(relay_task, return_exceptions=True)
