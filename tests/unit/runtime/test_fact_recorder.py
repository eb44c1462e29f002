from __future__ import annotations

import asyncio
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
