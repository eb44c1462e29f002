"""A real payments service for integration tests: gRPC on port 0, a real database, a relay to the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.host import ServiceHost
from baylink.runtime.settings import KafkaSettings
from services.payments.bootstrap import Payments, host_for
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
    host: ServiceHost
    port: int
    stub: api_grpc.PaymentsServiceStub


@asynccontextmanager
async def running(app: Payments, kafka: KafkaSettings, topic: str) -> AsyncIterator[Running]:
    """Serve the app as its host does (gRPC on a free port, relay, sweepers), its events to ``topic``."""
    app.deps.event_topic = topic
    app.settings = app.settings.model_copy(
        update={
            "kafka": kafka,
            "outbox_poll_seconds": 0.05,
            "drain_delay_seconds": 0,
            "grpc_port": 0,
            "metrics_port": 0,
        }
    )
    host = host_for(app)
    await host.start()
    assert host.grpc is not None
    channel = insecure_channel(f"127.0.0.1:{host.grpc.port}")
    try:
        yield Running(app, host, host.grpc.port, api_grpc.PaymentsServiceStub(channel))
    finally:
        await channel.close()
        await host.shutdown()
