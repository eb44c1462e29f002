"""Fixtures that build real things: a real broker's topics, real databases.

Kafka and PostgreSQL are started by `make test` (see the Makefile); the tests
here never start them, and fail with a clear message when they are absent.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url

from baylink.runtime.db import Database
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from tests.support.schema_templates import SchemaTemplates

POSTGRES_URL_VAR = "BAYLINK_TEST_POSTGRES_URL"

# Internal gRPC is plaintext in tests whose subject is not transport security: the explicit setting
# plaintext requires (the services and processes they start inherit it). Real mutual TLS with an
# internal CA made in tmp: tests/integration/runtime/test_internal_tls.py (tests/support/internal_pki.py).
os.environ.setdefault("BAYLINK_INSECURE_INTERNAL", "1")

# Property tests assert behaviour, not speed (speed is `make bench`'s): no per-example deadline, which
# a loaded two-core machine overran (an example of 414 ms against hypothesis's default 200 ms).
settings.register_profile("baylink", deadline=None)
settings.load_profile("baylink")


@pytest.fixture(scope="session", autouse=True)
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaTemplates]:
    """Fresh SQLite databases of this test process are copies of once-migrated templates."""
    templates = SchemaTemplates(tmp_path_factory.mktemp("schema-templates"), Database.migrate)

    async def migrate(db: Database, version_locations: Sequence[Path] = ()) -> None:
        await templates.migrate(db, version_locations)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Database, "migrate", migrate)
        yield templates


@pytest.fixture(scope="session")
def kafka_settings() -> KafkaSettings:
    settings = KafkaSettings()

    async def probe() -> None:
        admin = new_admin(settings)
        try:
            await asyncio.wait_for(admin.start(), 20)
        finally:
            await close_quietly(admin)

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001 - any connection failure becomes one clear message
        pytest.fail(f"no Kafka broker at {settings.bootstrap_servers} ({exc!r}); run the tests with `make test`")
    return settings


TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def new_topic(kafka_settings: KafkaSettings) -> AsyncIterator[TopicFactory]:
    """Create topics of this test's own (unique names), delete them afterwards."""
    admin = new_admin(kafka_settings)
    await admin.start()
    created: list[str] = []

    async def make(prefix: str = "test", partitions: int = 3) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        await apply_topics(admin, [TopicSpec(name, partitions, 3_600_000)], kafka_settings.replication_factor)
        created.append(name)
        return name

    try:
        yield make
    finally:
        if created:
            await admin.delete_topics(created)
        await close_quietly(admin)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """A migrated, empty database of this test's own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.migrate()
        yield db
        await db.dispose()
        return
    async with postgres_database() as url:
        db = Database(url)
        await db.migrate()
        yield db
        await db.dispose()


def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.fail(f"{POSTGRES_URL_VAR} is not set; `make test` starts PostgreSQL and sets it")
    return url


class postgres_database:
    """A fresh PostgreSQL database for one test (or a benchmark, on ``admin_url``), dropped afterwards."""

    def __init__(self, admin_url: str | None = None) -> None:
        self.admin_url = make_url(admin_url or postgres_admin_url())
        self.name = f"t_{uuid.uuid4().hex[:16]}"

    async def _execute(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(
            host=self.admin_url.host,
            port=self.admin_url.port,
            user=self.admin_url.username,
            password=self.admin_url.password,
            database=self.admin_url.database,
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def __aenter__(self) -> str:
        await self._execute(f'CREATE DATABASE "{self.name}"')
        return self.admin_url.set(database=self.name).render_as_string(hide_password=False)

    async def __aexit__(self, *exc: object) -> None:
        await self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
