"""Persistence: one async SQLAlchemy engine per service, schema by Alembic.

Kept in one module although over 300 lines: ``Database`` is the one object every service
holds for all of its transactions (the engine's, and the direct ones on the driver's own connections).

SQLite (a file under ``.local/``) by default, PostgreSQL by URL for scale-out.
Every service's database also holds the runtime's tables (outbox, inbox, the
relay's lease), migrated from the runtime's own Alembic branch.

SQLite has one writer at a time. Writing transactions take turns on the database's
write lock before they begin (``BEGIN IMMEDIATE``; ``sqlite_lock.py``). Read-only
transactions (``readonly=True``) take no lock and begin deferred: in WAL mode they
read one snapshot beside the writer. PostgreSQL needs neither and behaves the same
either way. What is SQLite's alone (pragmas, the database's own connections and their
threads, WAL checkpoints) lives in ``sqlite.py``.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # no stubs; only its exception classes are used
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from baylink import errors
from baylink.runtime.direct import Program
from baylink.runtime.direct_drivers import run_adapted, run_asyncpg, run_sqlite
from baylink.runtime.sqlite import (
    READONLY_OPTION,
    LoopConnection,
    OwnConnection,
    WalCheckpoint,
    create_sqlite_engine,
)
from baylink.runtime.sqlite_lock import WriteLock

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The advisory lock migrations take on PostgreSQL (any bigint, the same in every process): "BAYLINKM".
MIGRATION_LOCK_KEY = int.from_bytes(b"BAYLINKM", "big") >> 1


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if make_url(url).get_backend_name() == "sqlite":
        return create_sqlite_engine(url, **kwargs)
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


# A direct program reads and writes by key. PostgreSQL makes a prepared statement's generic plan
# once per connection (from its sixth run) and keeps it: made from statistics taken while a table
# was small (a young database; autovacuum analyzes again only after it has grown by a tenth), the
# plan for ``key = ANY($1)`` is a sequential scan, whose cost then grows with the table (the
# payments batch's read of payer usage; docs/performance.md).
# Inside a direct transaction the planner takes an index wherever the statement has one.
_PG_DIRECT_BEGIN = "BEGIN; SET LOCAL enable_seqscan = off"
# Direct programs on PostgreSQL keep the connections they ran on (up to this many) instead of
# returning them to the pool, whose checkout pings each one first (pool_pre_ping: with asyncpg a
# BEGIN, a query and a ROLLBACK, three round trips before every transaction; docs/performance.md).
# One kept longer than this unused goes back to the pool, and is pinged when next checked out.
_PG_DIRECT_KEEP = 2
_PG_DIRECT_IDLE_SECONDS = 5.0


class Database:
    """An engine and its session factory. ``transaction()`` is the unit of work."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # The same pool; its connections' SQLite transactions begin deferred (sqlite.READONLY_OPTION).
        self._reader = self.engine.execution_options(**{READONLY_OPTION: True})
        self._read_sessions = async_sessionmaker(self._reader, expire_on_commit=False)
        self._sqlite_path = make_url(url).database if self.dialect == "sqlite" else None
        lock_file = f"{self._sqlite_path}-writer.lock" if self.direct_sqlite else None
        self._write_lock = WriteLock(lock_file) if self.dialect == "sqlite" else None
        # The database's own sqlite3 connections, each used by a thread of its own: the writer's
        # (write_sqlite), the readers' (read_sqlite: in WAL mode a read never waits in the
        # writer's queue) and the checkpointer's.
        self._own_writer = OwnConnection(self._sqlite_path, "sqlite-direct")
        self._own_reader = OwnConnection(self._sqlite_path, "sqlite-read")
        self._own_checkpointer = OwnConnection(self._sqlite_path, "sqlite-checkpoint")
        self._loop_writer = LoopConnection(self._sqlite_path)  # run_direct's ``on_loop``
        # Pooled connections direct programs on PostgreSQL keep between transactions: (the
        # connection, its asyncpg connection, when it was given back), the most recent last.
        self._direct_kept: list[tuple[AsyncConnection, Any, float]] = []

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

    def writing(self, *, readonly: bool = False) -> AbstractAsyncContextManager[None]:
        """Hold this process's SQLite write lock (no-op for PostgreSQL and for readers).

        Re-entrant within one task: a transaction opened inside another of the same task
        does not wait on itself (it meets SQLite's busy handler instead, as before).
        """
        if readonly or self._write_lock is None:
            return nullcontext()
        return self._write_lock.held()

    async def migrate(self, version_locations: Sequence[Path] = ()) -> None:
        """Bring the schema to the newest revision of the runtime's and the service's branches.

        On PostgreSQL, replicas starting together take turns: the first holds a transaction-scoped
        advisory lock while it migrates, the others wait for it and then find the schema current
        (without it, two replicas could both run the same revision and one would fail half way).
        SQLite's own write lock serialises migrations already.
        """
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            await conn.run_sync(_upgrade, [Path(p) for p in version_locations])

    @property
    def direct_sqlite(self) -> bool:
        """Whether ``write_sqlite`` is available: a SQLite database in a file."""
        return bool(self._sqlite_path) and self._sqlite_path != ":memory:"

    async def write_sqlite(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one write transaction on this database's own sqlite3 connection, in
        its own thread: ``BEGIN IMMEDIATE``, ``work(connection)``, ``COMMIT`` (or ``ROLLBACK`` if
        it raises), under the same write lock as every other writer of this process.

        For small, hot transactions of Core-level rows (the fact recorder's, the relay's):
        through the async engine each statement, cursor and commit is a round trip to
        aiosqlite's thread; here the whole transaction is one (figures: docs/performance.md).
        Only for ``direct_sqlite`` databases; ``work`` gets a connection in autocommit mode with
        the engine's pragmas.
        """
        async with self.writing():
            return await self._direct(self._own_writer, work, "BEGIN IMMEDIATE")

    async def read_sqlite(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``write_sqlite`` for a transaction that only reads: deferred, no write lock, on a
        connection and thread of its own (in WAL mode it reads one snapshot beside the writer,
        and never waits behind a write transaction)."""
        return await self._direct(self._own_reader, work, "BEGIN")

    async def _direct(self, own: OwnConnection, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        if not self.direct_sqlite:
            raise RuntimeError("direct SQLite transactions need a SQLite database in a file")
        return await own.transaction(work, begin)

    @property
    def runs_direct(self) -> bool:
        """Whether ``run_direct`` is available: SQLite in a file, or PostgreSQL through asyncpg."""
        return self.direct_sqlite or self.engine.dialect.driver == "asyncpg"

    async def run_direct(self, program: Program[T], *, readonly: bool = False, on_loop: bool = False) -> T:
        """Run a direct program (``baylink.runtime.direct``) in one write transaction on the driver's
        own connection: on SQLite all of it in ``write_sqlite``'s thread, one round trip; on
        PostgreSQL op by op on the asyncpg connection under a pooled one. Rolls back if the
        program or a statement raises (the driver's error, as ``DBAPIError`` on SQLite).
        ``readonly`` promises the program only reads: on SQLite it takes no write lock.
        ``on_loop`` (a write, on SQLite): run it on the event loop's own thread, no hop to a thread
        and back, for a short program of a few statements by key that is run on every request
        (figures: docs/performance.md); the loop waits for it, so nothing long. It still takes
        turns on the write lock; if SQLite's lock is held all the same (a writer that takes no
        turns), the program waits in ``write_sqlite``'s thread instead."""
        dialect = self.engine.dialect
        if self.direct_sqlite:
            work = functools.partial(run_sqlite, program, dialect=dialect)
            if on_loop and not readonly:
                async with self.writing():
                    done, result = self._loop_writer.transaction(work)
                    if done:
                        return result  # type: ignore[return-value]  # the work's own result
                    return await self._direct(self._own_writer, work, "BEGIN IMMEDIATE")
            run = self.read_sqlite if readonly else self.write_sqlite
            return await run(work)
        if dialect.driver != "asyncpg":
            raise RuntimeError("direct programs need SQLite in a file or PostgreSQL through asyncpg")
        conn, raw = await self._direct_connection()
        try:
            await raw.execute(_PG_DIRECT_BEGIN)  # one round trip (the simple protocol takes both)
            result = await run_asyncpg(program, raw, dialect)
            await raw.execute("COMMIT")
        except BaseException:
            await self._direct_done(conn, raw, failed=True)
            raise
        await self._direct_done(conn, raw)
        return result

    @asynccontextmanager
    async def direct_transaction(self) -> AsyncIterator[Callable[[Program[T]], Awaitable[T]]]:
        """A write transaction on the driver's own connection that stays open across awaits, for
        a unit of work that awaits between its statements: yields ``run``, and ``await
        run(program)`` runs a direct program in it (SQLite: one hop to ``write_sqlite``'s thread
        per program, under the same write lock; PostgreSQL: op by op, as ``run_direct``).
        Commits on exit; rolls back if the body raises (a program's error, a deadline)."""
        dialect = self.engine.dialect
        if self.direct_sqlite:
            own = self._own_writer
            async with self.writing(), own.held_transaction("BEGIN IMMEDIATE") as run:
                yield lambda program: run(functools.partial(run_sqlite, program, dialect=dialect))
            return
        if dialect.driver != "asyncpg":
            raise RuntimeError("direct transactions need SQLite in a file or PostgreSQL through asyncpg")
        conn, raw = await self._direct_connection()
        try:
            await raw.execute(_PG_DIRECT_BEGIN)
            yield lambda program: run_asyncpg(program, raw, dialect)
            await raw.execute("COMMIT")
        except BaseException:
            await self._direct_done(conn, raw, failed=True)
            raise
        await self._direct_done(conn, raw)

    async def run_within(self, transaction: AsyncSession | AsyncConnection, program: Program[T]) -> T:
        """Run a direct program inside a transaction the engine holds (a consumer's session, which
        commits it with the inbox row), on that transaction's own driver connection: SQLite, the
        whole program in aiosqlite's thread (one hop); PostgreSQL, op by op on the asyncpg
        connection, once SQLAlchemy's transaction on it has begun."""
        conn = await transaction.connection() if isinstance(transaction, AsyncSession) else transaction
        return await run_adapted(program, (await conn.get_raw_connection()).dbapi_connection, self.engine.dialect)

    async def _direct_connection(self) -> tuple[AsyncConnection, Any]:
        """A pooled connection for a direct program, and its asyncpg connection: one kept from an
        earlier program if one is alive and was used recently, else a checkout (pinged)."""
        now = time.monotonic()
        while self._direct_kept:
            conn, raw, since = self._direct_kept.pop()
            if now - since <= _PG_DIRECT_IDLE_SECONDS and not raw.is_closed():
                return conn, raw
            await conn.close()  # back to the pool, which pings it before its next use
        conn = await self.engine.connect()
        try:
            return conn, (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.close()
            raise

    async def _direct_done(self, conn: AsyncConnection, raw: Any, *, failed: bool = False) -> None:
        """After a direct program: a failed one's transaction rolled back; the connection kept for
        the next program, or back to the pool; dropped if it is not known to be idle (a statement
        cut off, a BEGIN or COMMIT that failed)."""
        if failed and not await _rolled_back(raw):
            await conn.invalidate()  # the pool drops it
            await conn.close()
            return
        if len(self._direct_kept) < _PG_DIRECT_KEEP:
            self._direct_kept.append((conn, raw, time.monotonic()))
        else:
            await conn.close()

    async def checkpoint(self) -> WalCheckpoint:
        """Copy what the WAL holds into the database file as far as no reader still needs it
        (``PRAGMA wal_checkpoint(PASSIVE)``), on a connection and thread of its own: writers go on
        meanwhile. Only for ``direct_sqlite`` databases."""
        if not self.direct_sqlite:
            raise RuntimeError("checkpoints are for a SQLite database in a file")
        return await self._own_checkpointer.checkpoint()

    async def dispose(self) -> None:
        kept, self._direct_kept = self._direct_kept, []
        for conn, _, _ in kept:
            await conn.close()
        await self.engine.dispose()
        for own in (self._own_writer, self._own_reader, self._own_checkpointer):
            await own.close()
        self._loop_writer.close()
        if self._write_lock is not None:
            self._write_lock.close()


async def _rolled_back(raw: Any) -> bool:
    """Whether the asyncpg connection's transaction could be rolled back (it is then idle)."""
    if not raw.is_in_transaction():
        return False
    try:
        await raw.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - cut off mid-statement, or gone
        return False
    return True


# The socket refused or reset, or what asyncpg raises when the server went away or will not take
# connections now: the connection exception class (SQLSTATE 08), operator intervention (57: shutting
# down, starting up, crashed).
_PG_GONE = (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)
# The classes such an error arrives as, for handlers registered by class (the kiosk's HTTP edge).
DATABASE_ERRORS: tuple[type[Exception], ...] = (*_PG_GONE, asyncpg.InterfaceError, DBAPIError)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (refused, reset, shutting down, starting
    up), not that a statement failed: a condition that passes, which callers should retry.

    Looks through the chain of causes and SQLAlchemy's wrapping (``.orig``): the pool's connect
    raises the socket's ``ConnectionError`` as it is, a statement on a dropped connection comes
    wrapped in a ``DBAPIError`` marked ``connection_invalidated``.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _PG_GONE):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True  # a statement on the raw connection (run_direct) after the server dropped it
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        orig = getattr(current, "orig", None)
        todo.extend([current.__cause__, current.__context__, orig if isinstance(orig, BaseException) else None])
    return False


DATABASE_RETRY_SECONDS = 1.0


def database_down() -> errors.Unavailable:
    """What a caller is told while ``database_unavailable``: try again shortly (RetryInfo / Retry-After)."""
    down = errors.Unavailable("the service's database is unavailable; try again shortly", reason="DATABASE_UNAVAILABLE")
    down.retry_after_seconds = DATABASE_RETRY_SECONDS
    return down


def _upgrade(connection: Connection, version_locations: list[Path]) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *version_locations]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")
