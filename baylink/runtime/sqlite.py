"""SQLite under ``Database``: the engine's connections, the database's own connections, the WAL.

- The engine's connections get the pragmas (WAL, busy timeout, foreign keys) and SQLAlchemy
  begins every transaction itself: ``BEGIN IMMEDIATE`` for writers, deferred ``BEGIN`` for
  connections with ``READONLY_OPTION``.
- ``OwnConnection``: a sqlite3 connection of the database's own, outside the engine's pool, used
  by one thread of its own, so a whole transaction is one hop from the event loop.
- ``LoopConnection``: one used on the event loop's thread, for short write transactions that need
  not wait for the write lock (no hop at all).
- ``WalCheckpoint``: what a background checkpoint on such a connection found.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")
WAL_BACKSTOP_PAGES = 10_000  # a commit checkpoints itself only past this (about 40 MB of WAL)
# Execution option on a connection: its SQLite transaction begins deferred (it only reads).
READONLY_OPTION = "baylink_readonly"


def create_sqlite_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine on a SQLite URL (its directory made), its connections set up as above."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
    event.listen(engine.sync_engine, "connect", _pragmas)
    event.listen(engine.sync_engine, "begin", _begin)
    return engine


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
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


def _begin(connection: Connection) -> None:
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


# Work done on a connection in its thread (a direct program run by ``direct_drivers.run_sqlite``).
Work = Callable[[sqlite3.Connection], Any]


class OwnConnection:
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

    async def transaction(self, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        """``begin``, ``work(connection)``, ``COMMIT`` (or ``ROLLBACK`` if it raises), in one hop."""
        return await self.run(functools.partial(_in_transaction, work, begin))

    @asynccontextmanager
    async def held_transaction(self, begin: str) -> AsyncIterator[Callable[[Work], Awaitable[Any]]]:
        """A transaction that stays open across awaits: yields ``run``, and ``await run(work)`` runs
        ``work(connection)`` in it. ``begin`` goes with the first work (one hop, none for a body
        that runs none), ``COMMIT`` on exit, ``ROLLBACK`` if the body raises or is cancelled. The
        end runs even if the caller is cancelled meanwhile (shielded), so the connection is never
        left inside a transaction."""
        begun = False

        async def run(work: Work) -> Any:
            nonlocal begun
            if begun:
                return await self.run(work)
            begun = True  # before the hop: if it is cut off, the end below still runs
            return await self.run(functools.partial(_begin_afresh, begin, work))

        try:
            yield run
        except BaseException:
            if begun:
                await asyncio.shield(self.run(_end("ROLLBACK")))
            raise
        if not begun:
            return
        try:
            await asyncio.shield(self.run(_end("COMMIT")))
        except BaseException:
            await asyncio.shield(self.run(_end("ROLLBACK")))
            raise

    async def checkpoint(self) -> WalCheckpoint:
        """``PRAGMA wal_checkpoint(PASSIVE)``: it never waits for a reader or a writer."""
        return await self.run(_checkpoint)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            assert self.path is not None
            self._connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            _pragmas(self._connection, None)
        return work(self._connection)

    async def close(self) -> None:
        if self._thread is None:
            return
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, connection.close)
        self._thread.shutdown(wait=True)
        self._thread = None


class LoopConnection:
    """A sqlite3 connection of the database's own used on the event loop's thread itself, for short
    write transactions that should not pay a hop to a thread and back (``Database.run_direct``'s
    ``on_loop``). It never waits: if another connection holds SQLite's write lock (busy timeout 0),
    or the caller is not the thread that opened it, the work is not run and the caller hands it to
    the writer's thread instead. Its commits checkpoint the WAL only past the backstop, as every
    connection's do (the host's background checkpoint keeps the WAL far shorter)."""

    def __init__(self, path: str | None):
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._thread: int | None = None

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> tuple[bool, T | None]:
        """``BEGIN IMMEDIATE``, ``work(connection)``, ``COMMIT`` (or ``ROLLBACK``) here and now: (True,
        its result); (False, None), ``work`` not run, when it cannot begin without waiting."""
        if self._thread is not None and self._thread != threading.get_ident():
            return False, None
        try:
            connection = self._connection or self._open()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    return False, None
                raise
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return True, result
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    def _open(self) -> sqlite3.Connection:
        assert self.path is not None
        connection = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        _pragmas(connection, None)
        connection.execute("PRAGMA busy_timeout=0")
        self._connection, self._thread = connection, threading.get_ident()
        return connection

    def close(self) -> None:
        connection, self._connection, self._thread = self._connection, None, None
        if connection is not None:
            connection.close()


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


def _begin_afresh(begin: str, work: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    if connection.in_transaction:  # left open by a body cut off while its rollback was queued
        connection.execute("ROLLBACK")
    connection.execute(begin)
    return work(connection)


def _end(statement: str) -> Callable[[sqlite3.Connection], None]:
    def end(connection: sqlite3.Connection) -> None:
        if connection.in_transaction:
            connection.execute(statement)

    return end
