"""Registry unit tests: the real use cases on a SQLite file, with the identity service faked in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baylink.runtime.db import Database
from services.registry.bootstrap import MIGRATIONS, RegistryService, bootstrap
from services.registry.config import RegistrySettings
from services.registry.domain.text import Language, language_scope
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import FakeIdentity


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
async def service(tmp_path: Path, identity: FakeIdentity, clock: Clock) -> AsyncIterator[RegistryService]:
    settings = RegistrySettings(grpc_port=0, metrics_port=0, database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    db = Database(settings.database_url)
    await db.migrate([MIGRATIONS])
    svc = bootstrap(settings, identity=identity, db=db)
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
