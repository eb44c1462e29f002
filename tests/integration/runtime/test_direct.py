"""Direct programs (baylink.runtime.direct): one transaction on the driver's own connection,
read and written exactly as through the engine, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import aiosqlite

from baylink.runtime.db import Database
from baylink.runtime.direct import (
    Program,
    Reads,
    Statement,
    execute,
    execute_many,
    fetch,
    fetch_all,
    insert,
    insert_ids,
)
from tests.conftest import postgres_database

metadata = sa.MetaData()
things = sa.Table(
    "direct_things",
    metadata,
    sa.Column("thing_id", sa.String(20), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False, default=7),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.JSON, nullable=True),
)
entries = sa.Table(
    "direct_entries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(20), nullable=False, unique=True),
    sa.Column("pairs", sa.JSON, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
)
ADD_ENTRY = insert(entries)
_c = things.c
ADD = insert(things)
BY_IDS = Statement(sa.select(things).where(_c.thing_id.in_(sa.bindparam("ids", expanding=True))).order_by(_c.thing_id))
# A literal ('OPEN'), an expanding list and a named parameter used twice, in one guarded UPDATE.
CLOSE_DUE = Statement(
    sa.update(things)
    .where(
        _c.thing_id.in_(sa.bindparam("ids", expanding=True)),
        _c.state == "OPEN",
        _c.due_at > sa.bindparam("now", type_=things.c.due_at.type),
    )
    .values(state="CLOSED", due_at=sa.bindparam("now", type_=things.c.due_at.type))
    .returning(_c.thing_id)
)
BUMP = Statement(
    sa.update(things).where(_c.thing_id == sa.bindparam("b_id")).values(count=_c.count + sa.bindparam("by"))
)
T0 = datetime(2026, 11, 28, 8, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return database


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {"thing_id": f"t{i}", "state": "OPEN", "active": i % 2 == 0, "due_at": T0 + timedelta(hours=i),
         "note": {"i": i, "zh": "商事登記"} if i else None}
        for i in range(n)
    ]  # fmt: skip


async def through_engine(db: Database) -> list[Any]:
    async with db.begin(readonly=True) as conn:
        return list(await conn.execute(sa.select(things).order_by(_c.thing_id)))


async def test_rows_written_directly_read_back_through_the_engine_as_written_and_vice_versa(db: Database) -> None:
    def program() -> Program[list[Any]]:
        yield execute_many(ADD, rows(3))
        found: list[Any] = yield fetch(BY_IDS, ids=["t0", "t1", "t2", "t9"])
        return found

    direct = await db.run_direct(program())
    engine = await through_engine(db)
    assert [tuple(r) for r in direct] == [tuple(r) for r in engine]
    assert [r.count for r in engine] == [7, 7, 7]  # the column's default, left out of each row
    assert [r.active for r in engine] == [True, False, True]
    assert [r.due_at.astimezone(UTC) for r in engine] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert engine[0].note is None and engine[2].note == {"i": 2, "zh": "商事登記"}

    async with db.begin() as conn:  # and what the engine writes, a direct read sees the same
        await conn.execute(sa.insert(things), [{**rows(4)[3], "count": 1}])

    def read() -> Program[list[Any]]:
        return (yield fetch(BY_IDS, ids=["t3"]))

    (t3,) = await db.run_direct(read())
    assert (t3.count, t3.active, t3.due_at.astimezone(UTC), t3.note) == (
        1,
        False,
        T0 + timedelta(hours=3),
        {"i": 3, "zh": "商事登記"},
    )


async def test_a_guarded_update_returns_only_what_it_changed_and_counts_come_back(db: Database) -> None:
    def program(now: datetime) -> Program[tuple[list[str], int, int | None]]:
        yield execute_many(ADD, rows(4))
        yield execute(Statement(sa.update(things).where(_c.thing_id == "t1").values(state="HELD")))
        closed = yield fetch(CLOSE_DUE, ids=["t0", "t1", "t2", "t3", "nope"], now=now)
        one: int = yield execute(BUMP, b_id="t2", by=5)
        many: int | None = yield execute_many(
            BUMP, [{"b_id": "t2", "by": 1}, {"b_id": "t3", "by": 1}, {"b_id": "x", "by": 1}]
        )
        return [r.thing_id for r in closed], one, many

    # At T0 + 90 min: t0 and t1 are due (not closed: the guard wants due_at > now), t1 is not OPEN.
    closed, one, many = await db.run_direct(program(T0 + timedelta(minutes=90)))
    assert sorted(closed) == ["t2", "t3"]
    assert one == 1
    assert many == (2 if db.dialect == "sqlite" else None)  # asyncpg's executemany counts nothing
    state = {r.thing_id: (r.state, r.count) for r in await through_engine(db)}
    assert state == {"t0": ("OPEN", 7), "t1": ("HELD", 7), "t2": ("CLOSED", 13), "t3": ("CLOSED", 8)}
    assert {r.thing_id: r.due_at.astimezone(UTC) for r in await through_engine(db)}["t2"] == T0 + timedelta(minutes=90)


async def test_a_program_that_fails_midway_leaves_nothing_behind(db: Database) -> None:
    def program() -> Program[None]:
        yield execute_many(ADD, rows(2))
        yield execute(BUMP, b_id="t0", by=1)
        raise RuntimeError("refused after two writes")

    with pytest.raises(RuntimeError, match="refused after two writes"):
        await db.run_direct(program())
    assert await through_engine(db) == []

    def duplicate() -> Program[None]:
        yield execute_many(ADD, rows(1))
        yield execute_many(ADD, rows(1))  # the same key again: the database refuses

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await db.run_direct(duplicate())
    assert await through_engine(db) == []
    await db.run_direct(_only(execute_many(ADD, rows(1))))  # the connection is usable afterwards
    assert [r.thing_id for r in await through_engine(db)] == ["t0"]


async def test_inserted_rows_come_back_with_the_keys_the_table_gave_them_in_row_order(db: Database) -> None:
    def entry(name: str) -> dict[str, Any]:
        return {"name": name, "pairs": [["k", name], ["zh", "澳門"]], "body": name.encode() + b"\x00\xff", "at": T0}

    first = await db.run_direct(_only(insert_ids(ADD_ENTRY, [entry(n) for n in ("c", "a", "b")])))
    async with db.begin() as conn:  # a row written meanwhile through the engine takes the next key
        await conn.execute(sa.insert(entries), [entry("between")])
    second = await db.run_direct(_only(insert_ids(ADD_ENTRY, [entry(f"n{i}") for i in range(50)])))
    assert await db.run_direct(_only(insert_ids(ADD_ENTRY, []))) == []

    async with db.begin(readonly=True) as conn:
        stored = {r.name: r for r in await conn.execute(sa.select(entries))}
    assert first == [stored[n].id for n in ("c", "a", "b")]
    assert second == [stored[f"n{i}"].id for i in range(50)]
    assert first == sorted(first) and second == sorted(second) and stored["between"].id < second[0]
    row = stored["n7"]  # every column as written: JSON, bytes, time, and the NULL left out
    assert (row.pairs, row.body, row.at.astimezone(UTC), row.done_at) == (
        [["k", "n7"], ["zh", "澳門"]],
        b"n7\x00\xff",
        T0,
        None,
    )


LOCKED = Statement(
    sa.select(things)
    .where(_c.thing_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_c.thing_id)
    .with_for_update()
)
DUE_AFTER = Statement(sa.select(_c.thing_id, _c.due_at).where(_c.due_at > sa.bindparam("after", type_=_c.due_at.type)))
ENTRY_NAMES = Statement(
    sa.select(entries.c.name, entries.c.pairs).where(entries.c.name.in_(sa.bindparam("ids", expanding=True)))
)
READS = Reads(BY_IDS, LOCKED, DUE_AFTER, ENTRY_NAMES)


async def test_reads_read_together_give_each_reads_rows_as_read_alone(db: Database) -> None:
    """``fetch_all``: on PostgreSQL one statement of arrays of records, its parameters numbered on;
    every column comes back through its type as a ``fetch`` gives it."""
    await db.run_direct(_only(execute_many(ADD, rows(4))))
    await db.run_direct(_only(insert_ids(ADD_ENTRY, [{"name": "e", "pairs": [["k", "澳門"]], "body": b"x", "at": T0}])))
    params: list[dict[str, Any]] = [
        {"ids": ["t2", "t0", "nope"]},
        {"ids": ["t3", "t1"]},
        {"after": T0 + timedelta(minutes=90)},
        {"ids": []},
    ]

    def together() -> Program[list[list[Any]]]:
        return (yield fetch_all(READS, params))

    def apart() -> Program[list[list[Any]]]:
        found = []
        for statement, p in zip(READS.statements, params, strict=True):
            found.append((yield fetch(statement, **p)))
        return found

    read = await db.run_direct(together())
    assert [[tuple(r) for r in rows] for rows in read] == [
        [tuple(r) for r in rows] for rows in await db.run_direct(apart())
    ]
    assert [r.thing_id for r in read[0]] == ["t0", "t2"] and [r.thing_id for r in read[1]] == ["t1", "t3"]
    assert read[1][0].due_at.astimezone(UTC) == T0 + timedelta(hours=1) and read[1][0].active is False
    assert read[0][1].note == {"i": 2, "zh": "商事登記"}
    assert sorted(r.thing_id for r in read[2]) == ["t2", "t3"] and read[3] == []
    with pytest.raises(ValueError, match="4 reads, 1 sets"):
        fetch_all(READS, params[:1])
    if db.dialect != "postgresql":
        return

    def locked_by_itself() -> Program[list[str]]:  # rows whose xmax is this transaction: its row locks
        yield fetch_all(READS, params)
        mine = yield fetch(
            Statement(
                sa.text(
                    "SELECT thing_id FROM direct_things WHERE xmax::text = pg_current_xact_id()::text ORDER BY thing_id"
                ).columns(sa.column("thing_id"))
            )
        )
        return [r.thing_id for r in mine]

    assert await db.run_direct(locked_by_itself()) == ["t1", "t3"]  # the FOR UPDATE read's rows, only


@pytest.fixture
async def pg_db() -> AsyncIterator[Database]:
    """``db`` on PostgreSQL only: for a planner setting SQLite does not have."""
    async with postgres_database() as url:
        database = Database(url)
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield database
        await database.dispose()


@pytest.mark.postgres
async def test_a_keyed_read_on_postgresql_takes_the_index_of_a_small_table_without_statistics(pg_db: Database) -> None:
    """A prepared statement's generic plan, kept for the connection: from statistics taken while
    the table was small it would be a sequential scan, growing with the table (direct
    transactions turn them off)."""
    db = pg_db
    await db.run_direct(_only(execute_many(ADD, rows(5))))
    async with db.begin() as conn:  # statistics of the table while it is small, then it grows
        await conn.execute(sa.text("ANALYZE direct_things"))
    await db.run_direct(_only(execute_many(ADD, [{**r, "thing_id": f"g{i}"} for i, r in enumerate(rows(500))])))

    def generic_plan() -> Program[list[str]]:  # the plan kept for a prepared statement, shown
        yield execute(Statement(sa.text(
            "PREPARE keyed(varchar[]) AS SELECT state FROM direct_things WHERE thing_id = ANY($1)"
        )))  # fmt: skip
        yield execute(Statement(sa.text("SET LOCAL plan_cache_mode = force_generic_plan")))
        plan = yield fetch(Statement(sa.text("EXPLAIN EXECUTE keyed('{t1,t3}')").columns(sa.column("plan"))))
        yield execute(Statement(sa.text("DEALLOCATE keyed")))
        return [r.plan for r in plan]

    plan = await db.run_direct(generic_plan())
    assert "Seq Scan" not in plan[0] and "direct_things_pkey" in " ".join(plan), plan


_BACKEND = Statement(sa.text("SELECT pg_backend_pid() AS pid").columns(sa.column("pid", sa.Integer)))


@pytest.mark.postgres
async def test_programs_on_postgresql_run_on_a_kept_connection_and_one_that_died_is_replaced(pg_db: Database) -> None:
    """A program's connection is kept for the next (no pool checkout and ping between them);
    one whose server process went away meanwhile is not used again, nor one a program left
    mid-statement."""
    db = pg_db
    first = (await db.run_direct(_only(fetch(_BACKEND))))[0].pid
    assert (await db.run_direct(_only(fetch(_BACKEND))))[0].pid == first
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await db.run_direct(_only(execute_many(ADD, rows(1) * 2)))
    assert (await db.run_direct(_only(fetch(_BACKEND))))[0].pid == first  # rolled back, still kept

    async with db.begin() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    for _ in range(100):  # until the event loop has seen the socket close
        if not db._direct_kept or db._direct_kept[-1][1].is_closed():
            break
        await asyncio.sleep(0.01)
    second = (await db.run_direct(_only(fetch(_BACKEND))))[0].pid
    assert second != first

    async def slow() -> None:
        await db.run_direct(_only(execute(Statement(sa.text("SELECT pg_sleep(5)")))))

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.3)
    task.cancel()  # cut off mid-statement: that connection is dropped, the next program runs anyway
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.run_direct(_only(execute_many(ADD, rows(2)))) is None
    assert [r.thing_id for r in await through_engine(db)] == ["t0", "t1"]


def _only(op: Any) -> Program[Any]:
    return (yield op)


def test_a_required_parameter_left_out_is_named_and_a_not_in_list_is_refused_when_compiled() -> None:
    dialect = aiosqlite.dialect()
    with pytest.raises(KeyError, match="'state'"):
        ADD.compiled(dialect).parameters({"thing_id": "t", "active": True, "due_at": T0}, list)
    not_in = Statement(sa.select(things).where(_c.thing_id.not_in(sa.bindparam("ids", expanding=True))))
    with pytest.raises(NotImplementedError, match="only IN takes a list"):
        not_in.compiled(dialect)


async def test_a_direct_transaction_stays_open_across_awaits_and_commits_or_rolls_back_whole(db: Database) -> None:
    async with db.direct_transaction() as run:
        await run(_only(execute_many(ADD, rows(2))))
        await asyncio.sleep(0)  # other tasks run meanwhile; the transaction waits
        assert [r.thing_id for r in await run(_only(fetch(BY_IDS, ids=["t0", "t1"])))] == ["t0", "t1"]
        assert await through_engine(db) == []  # not committed yet: another connection sees nothing
        await run(_only(execute(BUMP, b_id="t1", by=5)))
    assert [(r.thing_id, r.count) for r in await through_engine(db)] == [("t0", 7), ("t1", 12)]

    with pytest.raises(RuntimeError, match="changed its mind"):
        async with db.direct_transaction() as run:
            await run(_only(execute(BUMP, b_id="t0", by=1)))
            raise RuntimeError("changed its mind")
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with db.direct_transaction() as run:
            await run(_only(execute(BUMP, b_id="t0", by=1)))
            await run(_only(execute_many(ADD, rows(1))))  # t0 again: the database refuses
    assert [(r.thing_id, r.count) for r in await through_engine(db)] == [("t0", 7), ("t1", 12)]

    async def cut_off() -> None:
        async with db.direct_transaction() as run:
            await run(_only(execute(BUMP, b_id="t0", by=1)))
            await asyncio.sleep(10)

    task = asyncio.create_task(cut_off())
    await asyncio.sleep(0.2)
    task.cancel()  # a deadline passing mid-transaction: rolled back, the next transaction runs
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.direct_transaction() as run:
        await run(_only(execute(BUMP, b_id="t1", by=1)))
    assert [(r.thing_id, r.count) for r in await through_engine(db)] == [("t0", 7), ("t1", 13)]


async def test_a_program_run_within_a_session_commits_and_rolls_back_with_it(db: Database) -> None:
    async with db.transaction() as session:
        await db.run_within(session, _only(execute_many(ADD, rows(2))))
        await session.execute(sa.update(things).where(_c.thing_id == "t0").values(state="SEEN"))
        read = await db.run_within(session, _only(fetch(BY_IDS, ids=["t0", "t1"])))
        assert [(r.thing_id, r.state) for r in read] == [("t0", "SEEN"), ("t1", "OPEN")]
    assert [r.state for r in await through_engine(db)] == ["SEEN", "OPEN"]

    with pytest.raises(RuntimeError, match="undone"):
        async with db.transaction() as session:  # a program first, before any statement of the engine's
            await db.run_within(session, _only(execute(BUMP, b_id="t0", by=1)))
            raise RuntimeError("undone")
    assert [r.count for r in await through_engine(db)] == [7, 7]
