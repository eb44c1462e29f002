"""Persistence: one async SQLAlchemy engine per service, schema by Alembic.

SQLite (a file under ``.local/``) by default, PostgreSQL by URL for scale-out.
Every service's database also holds the runtime's tables (outbox, inbox, the
relay's lease), migrated from the runtime's own Alembic branch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module begins transactions lazily, before the first write, and not at all
    # before a SAVEPOINT (which then commits on RELEASE). Take transaction control from it:
    # SQLAlchemy's "begin" event below issues the BEGIN itself.
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the one writer; busy_timeout makes a second
    # writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN: concurrent transactions queue on busy_timeout
    # instead of failing when a read lock cannot be upgraded (SQLITE_BUSY mid-transaction).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory. ``transaction()`` is the unit of work."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together on exit, or rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self, version_locations: Sequence[Path] = ()) -> None:
        """Bring the schema to the newest revision of the runtime's and the service's branches."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade, [Path(p) for p in version_locations])

    async def dispose(self) -> None:
        await self.engine.dispose()


def _upgrade(connection: Connection, version_locations: list[Path]) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *version_locations]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")
