"""The relay's heartbeat: the lease holder renews every third of the lease's term, a replica
without the lease tries every second (each try is a write transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baylink.runtime.db import Database
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.settings import KafkaSettings


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await database.migrate()
    yield database
    await database.dispose()


def counting(relay: OutboxRelay) -> list[bool]:
    """The outcomes of the relay's lease attempts, as they happen (the real attempts, counted)."""
    attempts: list[bool] = []
    hold = relay.lease.hold

    async def counted() -> bool:
        attempts.append(await hold())
        return attempts[-1]

    relay.lease.hold = counted  # type: ignore[method-assign]
    return attempts


async def test_the_holder_renews_every_third_of_the_term_and_a_bystander_tries_every_second(db: Database) -> None:
    holder = OutboxRelay(db, KafkaSettings(), name="svc", lease_seconds=9.0, poll_seconds=5.0)
    bystander = OutboxRelay(db, KafkaSettings(), name="svc", lease_seconds=9.0, poll_seconds=5.0)
    held, tried = counting(holder), counting(bystander)
    holding = asyncio.create_task(holder.run())  # an empty outbox: no round needs the broker
    await asyncio.sleep(0.3)  # the holder takes the lease first
    standing_by = asyncio.create_task(bystander.run())
    try:
        await asyncio.sleep(4.0)
        held, tried = list(held), list(tried)  # before the holder, stopping, lets the lease go
    finally:
        await bystander.stop(drain_timeout=2)
        await holder.stop(drain_timeout=2)
        await asyncio.gather(holding, standing_by, return_exceptions=True)
    assert held and all(held) and not any(tried)
    assert len(held) == 2  # at 0 s and 3 s (a third of 9 s), not every second
    assert 4 <= len(tried) <= 5  # every second: it takes over soon after the lease expires
