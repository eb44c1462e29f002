"""SQLite's WAL is checkpointed in the background, never in the way of a commit or a reader."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from baylink.runtime.checkpoint import run_checkpoints
from baylink.runtime.db import Database
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.sqlite import WAL_BACKSTOP_PAGES

metadata = sa.MetaData()
blobs = sa.Table("ck_blobs", metadata, sa.Column("n", sa.Integer, primary_key=True), sa.Column("b", sa.LargeBinary))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ck.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def write(db: Database, first: int, count: int) -> None:
    """``count`` rows of 16 KiB (4 pages each), one transaction each."""
    for n in range(first, first + count):
        async with db.begin() as conn:
            await conn.execute(sa.insert(blobs).values(n=n, b=bytes([n % 256]) * 16384))


async def test_a_checkpoint_copies_the_wal_and_the_next_write_starts_it_again(db: Database) -> None:
    await write(db, 0, 300)
    first = await db.checkpoint()
    # No commit checkpointed on its own (SQLite's default would have at 1,000 pages; the backstop
    # is far off): all ~1,200 pages were waiting.
    assert 1200 <= first.wal_pages < WAL_BACKSTOP_PAGES
    assert (first.busy, first.checkpointed_pages) == (False, first.wal_pages)
    await write(db, 300, 1)
    second = await db.checkpoint()
    assert 0 < second.wal_pages < 20  # the WAL started over from its beginning
    async with db.begin(readonly=True) as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(blobs))).scalar_one() == 301


async def test_a_checkpoint_neither_waits_for_nor_disturbs_a_reader_on_an_older_snapshot(
    db: Database, tmp_path: Path
) -> None:
    await write(db, 0, 10)
    reader = sqlite3.connect(tmp_path / "ck.db", isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM ck_blobs").fetchone() == (10,)
    await write(db, 10, 50)  # pages the reader's snapshot must not see
    partial = await asyncio.wait_for(db.checkpoint(), timeout=5)
    assert partial.checkpointed_pages < partial.wal_pages  # it stopped where the reader's snapshot is
    assert reader.execute("SELECT count(*) FROM ck_blobs").fetchone() == (10,)
    reader.execute("COMMIT")
    reader.close()
    complete = await db.checkpoint()
    assert complete.checkpointed_pages == complete.wal_pages >= partial.wal_pages


async def test_the_hosts_loop_keeps_the_wal_checkpointed_and_stops_when_told(db: Database) -> None:
    metrics, stopping = ServiceMetrics(), asyncio.Event()

    def behind() -> float | None:
        return metrics.registry.get_sample_value("baylink_sqlite_wal_pages_behind")

    loop = asyncio.create_task(run_checkpoints(db, 0.05, stopping, metrics))
    await write(db, 0, 30)
    reader = sqlite3.connect(db.engine.url.database or "", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ck_blobs").fetchone()
    await write(db, 30, 30)
    for _ in range(100):  # a reader on an old snapshot holds pages back: the gauge shows them
        await asyncio.sleep(0.05)  # (a sample taken while the second write was under way shows fewer)
        if (behind() or 0) >= 100:
            break
    assert (behind() or 0) >= 100
    reader.execute("COMMIT")
    reader.close()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if (behind() or 0) == 0:
            break
    assert (behind() or 0) == 0
    stopping.set()
    await asyncio.wait_for(loop, timeout=2)
