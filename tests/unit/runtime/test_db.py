"""SQLite transactions: writers of one process take turns on the write lock, readers take none."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from baylink.runtime import direct
from baylink.runtime.db import Database
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.settings import KafkaSettings

NOTES = sa.table("notes", sa.column("n", sa.Integer))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await database.migrate()
    async with database.transaction() as session:
        await session.execute(sa.text("CREATE TABLE notes (n INTEGER)"))
        await session.execute(sa.insert(NOTES).values(n=1))
    yield database
    await database.dispose()


def begins_of(db: Database) -> list[str]:
    """The BEGIN statements the database's connections issue, in order."""
    seen: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            seen.append(statement)

    return seen


async def test_a_read_only_transaction_runs_beside_a_writer_and_sees_the_last_commit(db: Database) -> None:
    writer_inside, reader_done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as session:
            await session.execute(sa.insert(NOTES).values(n=2))
            writer_inside.set()
            await reader_done.wait()

    task = asyncio.create_task(writer())
    await writer_inside.wait()
    async with asyncio.timeout(5):  # a reader that began IMMEDIATE would wait out the writer
        async with db.transaction(readonly=True) as session:
            seen = (await session.execute(sa.select(NOTES.c.n))).scalars().all()
        async with db.begin(readonly=True) as conn:
            seen_core = (await conn.execute(sa.select(NOTES.c.n))).scalars().all()
    reader_done.set()
    await task
    assert seen == seen_core == [1]  # the writer's row is not committed yet


async def test_a_second_writer_waits_in_process_before_it_begins(db: Database) -> None:
    begins = begins_of(db)
    first_inside, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with db.transaction() as session:
            await session.execute(sa.insert(NOTES).values(n=2))
            first_inside.set()
            await release.wait()

    async def second() -> None:
        async with db.begin() as conn:
            await conn.execute(sa.insert(NOTES).values(n=3))

    one = asyncio.create_task(first())
    await first_inside.wait()
    two = asyncio.create_task(second())
    await asyncio.sleep(0.2)
    assert begins == ["BEGIN IMMEDIATE"]  # the second has not begun: it waits on the lock, not on SQLite
    release.set()
    await asyncio.gather(one, two)
    assert begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
    async with db.transaction(readonly=True) as session:
        assert sorted((await session.execute(sa.select(NOTES.c.n))).scalars()) == [1, 2, 3]


async def test_read_only_transactions_begin_deferred(db: Database) -> None:
    begins = begins_of(db)
    async with db.transaction(readonly=True) as session:
        await session.execute(sa.select(NOTES.c.n))
    async with db.begin(readonly=True) as conn:
        await conn.execute(sa.select(NOTES.c.n))
    async with db.transaction() as session:
        await session.execute(sa.select(NOTES.c.n))
    assert begins == ["BEGIN", "BEGIN", "BEGIN IMMEDIATE"]


async def test_a_transaction_opened_inside_another_of_the_same_task_does_not_wait_on_itself(db: Database) -> None:
    # The outer one has executed nothing yet, so SQLite has not begun it.
    async with asyncio.timeout(5), db.transaction(), db.transaction() as inner:
        await inner.execute(sa.insert(NOTES).values(n=2))
    async with db.transaction(readonly=True) as session:
        assert sorted((await session.execute(sa.select(NOTES.c.n))).scalars()) == [1, 2]


async def test_the_write_lock_survives_a_new_event_loop(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'loops.sqlite'}")

    async def contended_writes() -> None:
        async def write() -> None:
            async with database.transaction() as session:
                await session.execute(sa.text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
                await session.execute(sa.text("INSERT INTO t VALUES (1)"))
                await asyncio.sleep(0.01)

        await asyncio.gather(write(), write())
        await database.dispose()

    await contended_writes()
    # A CLI or a test may drive the same Database from another loop afterwards.
    await asyncio.wait_for(asyncio.to_thread(asyncio.run, contended_writes()), 10)
    async with database.transaction(readonly=True) as session:
        assert (await session.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 4
    await database.dispose()


async def test_a_round_with_nothing_to_send_sets_the_backlog_gauge_to_zero(db: Database) -> None:
    metrics = ServiceMetrics()
    metrics.outbox_backlog.set(7)  # e.g. counted before the rows went out
    relay = OutboxRelay(db, KafkaSettings(), name="gauge", metrics=metrics)
    assert await relay.run_once() == 0  # an empty fetch needs no broker
    assert metrics.registry.get_sample_value("baylink_outbox_backlog") == 0


async def test_direct_sqlite_writes_commit_whole_or_not_at_all_and_take_turns_with_the_engines(db: Database) -> None:
    def insert(values: list[int], fail: bool = False):  # type: ignore[no-untyped-def]
        def work(connection):  # type: ignore[no-untyped-def]
            connection.executemany("INSERT INTO notes (n) VALUES (?)", [(v,) for v in values])
            if fail:
                connection.execute("INSERT INTO no_such_table VALUES (1)")
            return len(values)

        return work

    assert db.direct_sqlite
    with pytest.raises(sa.exc.OperationalError):  # the engine's exception types, not sqlite3's
        await db.write_sqlite(insert([100, 101], fail=True))

    async def through_engine(n: int) -> None:
        async with db.transaction() as session:
            await session.execute(sa.insert(NOTES).values(n=n))
            await asyncio.sleep(0.01)  # hold the lock a while: the direct writer must wait, not fail

    results = await asyncio.gather(
        *(through_engine(1000 + i) for i in range(5)), *(db.write_sqlite(insert([10 + i, 60 + i])) for i in range(5))
    )
    assert results[5:] == [2] * 5
    async with db.transaction(readonly=True) as session:
        values = set((await session.execute(sa.select(NOTES.c.n))).scalars())
    assert not values & {100, 101}  # the failed transaction left nothing
    assert values == {1, *range(1000, 1005), *range(10, 15), *range(60, 65)}


async def test_a_direct_read_goes_on_beside_a_direct_write_in_progress_and_sees_its_snapshot(db: Database) -> None:
    inside, release = threading.Event(), threading.Event()

    def slow_write(connection):  # type: ignore[no-untyped-def]
        connection.execute("INSERT INTO notes (n) VALUES (7)")
        inside.set()
        release.wait(5)  # held open until the read has finished

    def count(connection):  # type: ignore[no-untyped-def]
        return connection.execute("SELECT count(*) FROM notes WHERE n = 7").fetchone()[0]

    writing = asyncio.create_task(db.write_sqlite(slow_write))
    await asyncio.to_thread(inside.wait, 5)
    try:  # the read neither queues behind the write nor sees what it has not committed
        assert await asyncio.wait_for(db.read_sqlite(count), timeout=2) == 0
    finally:
        release.set()
    await writing
    assert await db.read_sqlite(count) == 1


def other_process_lock(db: Database) -> int:
    """A descriptor of the database's writer lock file of its own: flock treats it as another
    process's (locks belong to open file descriptions)."""
    return os.open(f"{db.engine.url.database}-writer.lock", os.O_RDWR | os.O_CREAT)


def lock_is_free(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


async def test_a_write_transaction_holds_the_writer_lock_file_against_other_processes(db: Database) -> None:
    other = other_process_lock(db)
    try:
        async with db.begin() as conn:
            await conn.execute(sa.insert(NOTES).values(n=2))
            assert not lock_is_free(other)
        assert lock_is_free(other)
        async with db.begin(readonly=True) as conn:  # readers take no lock
            assert lock_is_free(other)
    finally:
        os.close(other)


async def test_a_writer_waits_for_another_processs_lock_and_a_cancelled_wait_leaves_it_free(db: Database) -> None:
    other = other_process_lock(db)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)  # another process is writing

        async def write(n: int) -> None:
            async with db.begin() as conn:
                await conn.execute(sa.insert(NOTES).values(n=n))

        waiting = asyncio.create_task(write(3))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        fcntl.flock(other, fcntl.LOCK_UN)
        await asyncio.wait_for(waiting, timeout=5)  # woken when the other process let go

        fcntl.flock(other, fcntl.LOCK_EX)
        given_up = asyncio.create_task(write(4))
        await asyncio.sleep(0.3)
        given_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await given_up
        fcntl.flock(other, fcntl.LOCK_UN)
        for _ in range(100):  # the cancelled wait's thread takes the lock, then gives it back
            await asyncio.sleep(0.02)
            if lock_is_free(other):
                break
        assert lock_is_free(other)
        await asyncio.wait_for(write(5), timeout=5)
        async with db.begin(readonly=True) as conn:
            assert sorted((await conn.execute(sa.select(NOTES.c.n))).scalars()) == [1, 3, 5]
    finally:
        os.close(other)


def _note(n: int, fail: bool = False):  # type: ignore[no-untyped-def]
    """A direct program inserting ``n`` into notes (then failing, if asked), saying which thread ran it."""
    statement = direct.Statement(sa.insert(NOTES).values(n=sa.bindparam("n")))
    broken = direct.Statement(sa.text("INSERT INTO no_such_table VALUES (1)"))

    def program():  # type: ignore[no-untyped-def]
        yield direct.execute(statement, n=n)
        if fail:
            yield direct.execute(broken)
        return threading.get_ident()

    return program()


async def notes(db: Database) -> set[int]:
    async with db.transaction(readonly=True) as session:
        return set((await session.execute(sa.select(NOTES.c.n))).scalars())


async def test_a_program_on_the_loop_runs_in_the_loops_thread_and_commits_whole_or_not_at_all(db: Database) -> None:
    assert await db.run_direct(_note(2), on_loop=True) == threading.get_ident()
    assert await db.run_direct(_note(3)) != threading.get_ident()  # without: the writer's thread
    with pytest.raises(sa.exc.OperationalError):  # the engine's exception types, not sqlite3's
        await db.run_direct(_note(4, fail=True), on_loop=True)
    assert await db.run_direct(_note(5), on_loop=True) == threading.get_ident()  # and the connection goes on
    assert await notes(db) == {1, 2, 3, 5}


async def test_a_program_on_the_loop_takes_turns_with_every_other_writer(db: Database) -> None:
    async def through_engine(n: int) -> None:
        async with db.transaction() as session:
            await session.execute(sa.insert(NOTES).values(n=n))
            await asyncio.sleep(0.01)  # hold the lock a while: the program must wait, not fail

    await asyncio.gather(*(through_engine(100 + i) for i in range(5)),
                         *(db.run_direct(_note(200 + i), on_loop=True) for i in range(5)))  # fmt: skip
    assert await notes(db) == {1, *range(100, 105), *range(200, 205)}


async def test_a_program_on_the_loop_that_meets_a_foreign_writer_waits_for_it_in_the_writers_thread(
    db: Database,
) -> None:
    foreign = sqlite3.connect(str(db.engine.url.database), isolation_level=None)  # takes no turns
    foreign.execute("BEGIN IMMEDIATE")
    foreign.execute("INSERT INTO notes (n) VALUES (7)")
    waiting = asyncio.create_task(db.run_direct(_note(8), on_loop=True))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # the loop goes on meanwhile: this sleep ended
    foreign.execute("COMMIT")
    foreign.close()
    assert await asyncio.wait_for(waiting, timeout=10) != threading.get_ident()
    assert await notes(db) == {1, 7, 8}
