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
import fcntl
import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from baylink.runtime.direct import Program, run_asyncpg, run_sqlite

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WAL_BACKSTOP_PAGES = 10_000  # a commit checkpoints itself only past this (about 40 MB of WAL)
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
    # The WAL is checkpointed in the background (checkpoint.py, run by every service host), not by
    # the commit that happens to cross 1,000 pages: that commit (and every writer queued behind it)
    # would wait for the copy and its fsync. The automatic checkpoint stays as a backstop.
    cursor = dbapi_connection.cursor()
    pragmas = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON")
    for pragma in (*pragmas, f"wal_autocheckpoint={WAL_BACKSTOP_PAGES}"):
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


@dataclass(frozen=True)
class WalCheckpoint:
    """What a checkpoint found: another checkpoint was running (busy), how many pages the WAL
    holds, and how many of them are now in the database file."""

    busy: bool
    wal_pages: int
    checkpointed_pages: int


# A direct program reads and writes by key. PostgreSQL makes a prepared statement's generic plan
# once per connection (from its sixth run) and keeps it: made from statistics taken while a table
# was small (a young database; autovacuum analyzes again only after it has grown by a tenth), the
# plan for ``key = ANY($1)`` is a sequential scan, whose cost then grows with the table (the
# payments batch's read of payer usage; docs/performance.md).
# Inside a direct transaction the planner takes an index wherever the statement has one.
_PG_DIRECT_BEGIN = "BEGIN; SET LOCAL enable_seqscan = off"


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
        self._sqlite_path = make_url(url).database if self.dialect == "sqlite" else None
        # The database's own sqlite3 connections, each used by a thread of its own: the writer's
        # (write_sqlite), the readers' (read_sqlite: in WAL mode a read never waits in the
        # writer's queue) and the checkpointer's.
        self._own_writer = _OwnConnection(self._sqlite_path, "sqlite-direct")
        self._own_reader = _OwnConnection(self._sqlite_path, "sqlite-read")
        self._own_checkpointer = _OwnConnection(self._sqlite_path, "sqlite-checkpoint")
        self._lock_fd: int | None = None
        self._flock_thread: ThreadPoolExecutor | None = None

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
                if self.direct_sqlite:
                    async with self._between_processes():
                        yield
                else:
                    yield
            finally:
                self._lock_owner = None

    @asynccontextmanager
    async def _between_processes(self) -> AsyncIterator[None]:
        """Hold the database's writer lock file (``flock``) against writers in other processes.

        Without it a writer that finds another process's transaction in the way sleeps in SQLite's
        busy handler, in growing steps, and retries however soon the other one commits (figures:
        docs/performance.md); a process waiting on the lock file wakes as soon as it is free.
        Taken without blocking when free (a system call); else waited for in a thread of its own.
        SQLite's busy handler stays for writers that take no lock file (the sqlite3 shell)."""
        if self._lock_fd is None:
            assert self._sqlite_path is not None
            self._lock_fd = os.open(f"{self._sqlite_path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fd = self._lock_fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if self._flock_thread is None:
                self._flock_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-flock")
            taken = asyncio.get_running_loop().run_in_executor(self._flock_thread, fcntl.flock, fd, fcntl.LOCK_EX)
            try:
                await asyncio.shield(taken)
            except asyncio.CancelledError:  # the thread still takes it: give it back once it has
                taken.add_done_callback(lambda _: fcntl.flock(fd, fcntl.LOCK_UN))
                raise
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

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

    async def _direct(self, own: _OwnConnection, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        if not self.direct_sqlite:
            raise RuntimeError("direct SQLite transactions need a SQLite database in a file")
        return await own.run(functools.partial(_in_transaction, work, begin))

    @property
    def runs_direct(self) -> bool:
        """Whether ``run_direct`` is available: SQLite in a file, or PostgreSQL through asyncpg."""
        return self.direct_sqlite or self.engine.dialect.driver == "asyncpg"

    async def run_direct(self, program: Program[T], *, readonly: bool = False) -> T:
        """Run a direct program (``baylink.runtime.direct``) in one write transaction on the driver's
        own connection: on SQLite all of it in ``write_sqlite``'s thread, one round trip; on
        PostgreSQL op by op on the asyncpg connection under a pooled one. Rolls back if the
        program or a statement raises (the driver's error, as ``DBAPIError`` on SQLite).
        ``readonly`` promises the program only reads: on SQLite it takes no write lock."""
        dialect = self.engine.dialect
        if self.direct_sqlite:
            run = self.read_sqlite if readonly else self.write_sqlite
            return await run(functools.partial(run_sqlite, program, dialect=dialect))
        if dialect.driver != "asyncpg":
            raise RuntimeError("direct programs need SQLite in a file or PostgreSQL through asyncpg")
        async with self.engine.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            await raw.execute(_PG_DIRECT_BEGIN)  # one round trip (the simple protocol takes both)
            try:
                result = await run_asyncpg(program, raw, dialect)
            except BaseException:
                try:
                    await raw.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - cut off mid-statement: the pool drops it instead
                    await conn.invalidate()
                raise
            await raw.execute("COMMIT")
            return result

    async def checkpoint(self) -> WalCheckpoint:
        """Copy what the WAL holds into the database file as far as no reader still needs it
        (``PRAGMA wal_checkpoint(PASSIVE)``), on a connection and thread of its own: writers go on
        meanwhile. Only for ``direct_sqlite`` databases."""
        if not self.direct_sqlite:
            raise RuntimeError("checkpoints are for a SQLite database in a file")
        return await self._own_checkpointer.run(_checkpoint)

    async def dispose(self) -> None:
        await self.engine.dispose()
        for own in (self._own_writer, self._own_reader, self._own_checkpointer):
            await own.close()
        if self._flock_thread is not None:
            self._flock_thread.shutdown(wait=False)
            self._flock_thread = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class _OwnConnection:
    """A sqlite3 connection of the database's own (outside the engine's pool, with its pragmas),
    opened on first use by the one thread that uses it."""

    def __init__(self, path: str | None, name: str):
        self.path = path
        self.name = name
        self._thread: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` in the connection's thread; SQLite's errors as through the engine."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._call, work)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            assert self.path is not None
            self._connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            _sqlite_pragmas(self._connection, None)
        return work(self._connection)

    async def close(self) -> None:
        if self._thread is None:
            return
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, connection.close)
        self._thread.shutdown(wait=True)
        self._thread = None


def _in_transaction(work: Callable[[sqlite3.Connection], T], begin: str, connection: sqlite3.Connection) -> T:
    connection.execute(begin)
    try:
        result = work(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


def _checkpoint(connection: sqlite3.Connection) -> WalCheckpoint:
    busy, wal, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return WalCheckpoint(bool(busy), max(wal, 0), max(done, 0))


def _upgrade(connection: Connection, version_locations: list[Path]) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *version_locations]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")
