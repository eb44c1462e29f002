"""Gateway audit fixtures: a real migrated database, a real Ed25519 key, the real event mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from baylink.runtime.db import Database
from baylink.runtime.schema import outbox
from services.gateway.audit.adapters.events import GatewaySecurityEvents
from services.gateway.audit.adapters.keys import Ed25519Signer, Ed25519Verifier, load_or_create_signing_key
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.domain.chain import AuditEntry, CheckpointPolicy
from services.gateway.audit.service_layer.log import AuditLog
from tests.conftest import postgres_database

GATEWAY_MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "gateway" / "shared" / "adapters" / "migrations"


class Clock:
    """A settable clock (aware UTC)."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def entry(i: int = 0, **overrides: object) -> AuditEntry:
    fields: dict[str, object] = {
        "actor": "city:440605",
        "action": "partner.GetApplication",
        "result": "OK",
        "subject": f"ps-{i:04d}-" + "a" * 32,
        "correlation_id": f"cid-{i}",
        "details": {"application_id": f"app-{i}", "n": i},
    }
    fields.update(overrides)
    return AuditEntry(**fields)  # type: ignore[arg-type]


async def migrate_gateway(db: Database) -> Database:
    await db.migrate([GATEWAY_MIGRATIONS])
    return db


def make_log(db: Database, signer: Ed25519Signer, **kwargs: object) -> AuditLog:
    event_topic = kwargs.pop("event_topic", None)
    store = SqlAuditStore(db, event_topic=event_topic)  # type: ignore[arg-type]
    kwargs.setdefault("policy", CheckpointPolicy(every_records=10, every_seconds=3600))
    return AuditLog(store, signer, GatewaySecurityEvents().checkpointed, **kwargs)  # type: ignore[arg-type]


async def outbox_types(db: Database) -> list[str]:
    async with db.transaction() as session:
        rows = await session.execute(sa.select(outbox.c.event_type).order_by(outbox.c.id))
    return [r[0] for r in rows]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def shared_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL for two replicas to share: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        return
    async with postgres_database() as pg_url:
        yield pg_url


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519Signer:
    return load_or_create_signing_key(tmp_path / "keys" / "audit.pem")


@pytest.fixture
def keys(signer: Ed25519Signer) -> Ed25519Verifier:
    return Ed25519Verifier([signer.public_key])


@pytest.fixture
async def audit_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await migrate_gateway(Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"))
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


MakeLog = Callable[..., AuditLog]
