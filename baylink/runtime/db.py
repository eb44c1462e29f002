"""Persistence: one async SQLAlchemy engine per service, schema by Alembic.

SQLite (a file under ``.local/``) by default, PostgreSQL by URL for scale-out.
Every service's database also holds the runtime's tables (outbox, inbox, the
relay's lease), migrated from the runtime's own Alembic branch.

SQLite has one writer at a time. Writing transactions of one process take turns on
the database's asyncio write lock before they begin (``BEGIN IMMEDIATE``): waiting on
the lock is cheaper and fairer than SQLite's sleeping busy handler, which is left
for writers in other processes. Read-only transactions (``readonly=True``) take no
lock and begin deferred: in WAL mode they read one snapshot beside the writer.
PostgreSQL needs neither and behaves the same either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Execution option on a connection: its SQLite transaction begins deferred (it only reads).
READONLY_OPTION = "baylink_readonly"


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
    # A read-only transaction never upgrades, so it begins deferred and takes no write lock.
    if connection.get_execution_options().get(READONLY_OPTION):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory. ``transaction()`` is the unit of work."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # The same pool; its connections' SQLite transactions begin deferred (see _sqlite_begin).
        self._reader = self.engine.execution_options(**{READONLY_OPTION: True})
        self._read_sessions = async_sessionmaker(self._reader, expire_on_commit=False)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._lock_owner: asyncio.Task[Any] | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together on exit, or rolls back on error.

        ``readonly=True`` promises the transaction only reads: on SQLite it takes no write lock.
        """
        sessions = self._read_sessions if readonly else self.sessions
        async with self.writing(readonly=readonly), sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def begin(self, *, readonly: bool = False) -> AsyncIterator[AsyncConnection]:
        """A Core connection in a transaction (cheaper than a session for Core statements only)."""
        engine = self._reader if readonly else self.engine
        async with self.writing(readonly=readonly), engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def writing(self, *, readonly: bool = False) -> AsyncIterator[None]:
        """Hold this process's SQLite write lock (no-op for PostgreSQL and for readers).

        Re-entrant within one task: a transaction opened inside another of the same task
        does not wait on itself (it meets SQLite's busy handler instead, as before).
        """
        if readonly or self.dialect != "sqlite":
            yield
            return
        task = asyncio.current_task()
        if task is not None and task is self._lock_owner:
            yield
            return
        lock = self._write_lock()
        async with lock:
            self._lock_owner = task
            try:
                yield
            finally:
                self._lock_owner = None

    def _write_lock(self) -> asyncio.Lock:
        # One lock per event loop: a Database may outlive the loop it was first used on (tests, CLIs).
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop, self._lock_owner = asyncio.Lock(), loop, None
        return self._lock

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
