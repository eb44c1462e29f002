"""Registry unit tests: the real use cases on a SQLite file, with the identity service faked in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.db import Database
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.grpc.server import start_grpc_server
from services.registry.bootstrap import MIGRATIONS, RegistryService, bootstrap
from services.registry.config import RegistrySettings
from services.registry.domain.text import Language, language_scope
from services.registry.entrypoints.grpc_api import SERVICE_NAME, RegistryServicer
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import FakeIdentity, FakeTimeStamper


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # Monday 10:00 in Foshan


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def timestamps() -> FakeTimeStamper:
    return FakeTimeStamper()


@pytest.fixture
async def service(
    tmp_path: Path, identity: FakeIdentity, timestamps: FakeTimeStamper, clock: Clock
) -> AsyncIterator[RegistryService]:
    settings = RegistrySettings(grpc_port=0, metrics_port=0, database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    db = Database(settings.database_url)
    await db.migrate([MIGRATIONS])
    svc = bootstrap(settings, identity=identity, db=db, timestamps=timestamps)
    svc.registry.clock = clock
    yield svc
    await db.dispose()


@pytest.fixture
def registry(service: RegistryService) -> Registry:
    return service.registry


@pytest.fixture(autouse=True)
def english() -> object:
    with language_scope(Language.EN):
        yield None


@pytest.fixture
async def stub(service: RegistryService) -> AsyncIterator[rs_grpc.RegistryServiceStub]:
    """The registry's real gRPC edge on a free loopback port."""
    server = await start_grpc_server(RegistryServicer(service.registry).register, [SERVICE_NAME])
    channel = insecure_channel(f"127.0.0.1:{server.port}")
    yield rs_grpc.RegistryServiceStub(channel)
    await channel.close()
    await server.stop(0)
