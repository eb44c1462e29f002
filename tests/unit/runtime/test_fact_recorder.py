from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from baylink.events.v1 import runtime_events_pb2
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.outbox import FactRecorder, backlog
from baylink.runtime.schema import outbox

TYPES = EventTypes.from_contracts()


def event(n: int):  # type: ignore[no-untyped-def]
    return TYPES.new(runtime_events_pb2.ProbeRecorded(aggregate_id="a", sequence=n), subject="a", source="/t")


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'facts.db'}")
    await database.migrate()
    yield database
    await database.dispose()


async def test_concurrent_facts_are_all_durable_when_their_callers_return_in_fewer_commits(db: Database) -> None:
    commits = 0

    def counted() -> None:
        nonlocal commits
        commits += 1

    recorder = FactRecorder(db, on_commit=counted)
    await asyncio.gather(*(recorder.record([event(n)]) for n in range(300)))
    async with db.transaction() as session:
        assert await backlog(session) == 300
        ids = (await session.execute(sa.select(outbox.c.event_id))).scalars().all()
    assert len(set(ids)) == 300
    assert 1 <= commits < 300  # group commit: calls that waited shared a transaction


async def test_callers_within_the_commit_interval_share_the_next_commit_and_an_idle_one_commits_at_once(
    db: Database,
) -> None:
    committed: list[float] = []
    recorder = FactRecorder(db, on_commit=lambda: committed.append(time.monotonic()), commit_interval=0.5)
    started = time.monotonic()
    await recorder.record([event(0)])
    assert time.monotonic() - started < 0.4  # nothing committed lately: no wait

    async def one_after_another(n: int) -> None:
        await asyncio.sleep(0.01 * n)  # each arrives well after the one before has been committed alone
        await recorder.record([event(n)])

    await asyncio.gather(*(one_after_another(n) for n in range(1, 11)))
    assert len(committed) == 2  # the ten arrived within the interval and shared the second commit
    assert committed[1] - committed[0] >= 0.45
    async with db.transaction() as session:
        assert await backlog(session) == 11


async def test_a_failed_commit_fails_only_the_caller_whose_event_failed(db: Database) -> None:
    recorder = FactRecorder(db)
    same = event(1)
    await recorder.record([same])
    results = await asyncio.gather(recorder.record([same]), recorder.record([event(2)]), return_exceptions=True)
    assert isinstance(results[0], sa.exc.IntegrityError)  # its event id was already staged
    assert results[1] is None
    await recorder.record([event(3)])  # and the recorder keeps working
    async with db.transaction() as session:
        assert await backlog(session) == 3


async def test_facts_handed_over_are_stored_as_a_use_cases_events_are(db: Database) -> None:
    """The recorder's SQLite fast path writes the very values SQLAlchemy writes for add_events."""
    from baylink.runtime.outbox import add_events

    handed: list = []
    recorder = FactRecorder(db, handoff=handed.extend)
    await recorder.record([event(1), event(2)])
    async with db.transaction() as session:
        await add_events(session, [event(3)])
    async with db.begin() as conn:
        raw = (await conn.exec_driver_sql("SELECT id, headers, created_at, typeof(created_at) FROM outbox")).all()
        typed = (await conn.execute(sa.select(outbox.c.created_at, outbox.c.headers).order_by(outbox.c.id))).all()
    assert [r[0] for r in raw] == [1, 2, 3] and [row.id for row in handed] == [1, 2]
    fast, usual = raw[0], raw[2]
    assert fast[3] == usual[3] == "text"
    assert len(fast[2]) == len(usual[2]) and fast[2][4] == usual[2][4] == "-" and fast[2][10] == " "
    assert [name for name, _ in typed[0].headers] == [name for name, _ in typed[2].headers]
    assert typed[0].created_at.tzinfo is None and typed[0].created_at.year == typed[2].created_at.year
