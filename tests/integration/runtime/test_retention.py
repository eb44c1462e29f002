"""The retention sweep: sent outbox rows and remembered inbox ids go after their time, nothing else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from baylink.runtime.db import Database
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.outbox import add_events
from baylink.runtime.retention import Pruned, Retention, prune, run_retention
from baylink.runtime.schema import inbox, outbox
from baylink.runtime.settings import KafkaSettings
from tests.integration.runtime.conftest import probe_event
from tests.integration.runtime.test_workers import WorkerSettings, build_host

WEEK, DAYS_35 = timedelta(days=7), timedelta(days=35)


async def stage(db: Database, now: datetime, sent_ago: list[timedelta | None], topic: str = "t") -> list[str]:
    """Outbox rows created long ago, each sent that long before ``now`` (None: never sent)."""
    events = [probe_event("agg", n) for n in range(len(sent_ago))]
    async with db.begin() as conn:
        await add_events(conn, events, topic=topic)  # type: ignore[arg-type]
        for event, ago in zip(events, sent_ago, strict=True):
            values = {"created_at": now - timedelta(days=100)}
            if ago is not None:
                values["sent_at"] = now - ago
            await conn.execute(sa.update(outbox).where(outbox.c.event_id == event.id).values(**values))
    return [e.id for e in events]


async def remember(db: Database, now: datetime, processed_ago: list[timedelta]) -> list[str]:
    ids = [f"ev-{n}" for n in range(len(processed_ago))]
    async with db.begin() as conn:
        await conn.execute(
            sa.insert(inbox),
            [
                {"consumer_group": "g", "event_id": i, "event_type": "x", "processed_at": now - ago}
                for i, ago in zip(ids, processed_ago, strict=True)
            ],
        )
    return ids


async def remaining(db: Database) -> tuple[set[str], set[str]]:
    async with db.begin(readonly=True) as conn:
        kept_outbox = set((await conn.execute(sa.select(outbox.c.event_id))).scalars())
        kept_inbox = set((await conn.execute(sa.select(inbox.c.event_id))).scalars())
    return kept_outbox, kept_inbox


def pruned(metrics: ServiceMetrics, table: str) -> float | None:
    return metrics.registry.get_sample_value("baylink_retention_pruned_rows_total", {"table": table})


async def test_only_rows_sent_or_processed_before_their_retention_are_deleted(database: Database) -> None:
    now = datetime.now(UTC)
    old_sent, new_sent, never_sent = await stage(
        database, now, [WEEK + timedelta(minutes=1), WEEK - timedelta(minutes=1), None]
    )
    old_id, new_id = await remember(database, now, [DAYS_35 + timedelta(minutes=1), DAYS_35 - timedelta(minutes=1)])

    assert await prune(database, Retention(WEEK, DAYS_35), now) == Pruned(outbox=1, inbox=1)
    kept_outbox, kept_inbox = await remaining(database)
    assert kept_outbox == {new_sent, never_sent}  # an undelivered event stays, however old
    assert old_sent not in kept_outbox
    assert kept_inbox == {new_id} and old_id not in kept_inbox
    assert await prune(database, Retention(WEEK, DAYS_35), now) == Pruned(0, 0)  # nothing twice


async def test_the_sweep_repeats_counts_what_it_deleted_and_ends_when_told(database: Database) -> None:
    now = datetime.now(UTC)
    metrics, stopping = ServiceMetrics(), asyncio.Event()
    sweep = asyncio.create_task(run_retention(database, Retention(WEEK, DAYS_35), 0.05, stopping, metrics))
    await stage(database, now, [WEEK * 2, None])
    await remember(database, now, [DAYS_35 * 2])
    for _ in range(100):  # the next sweeps find the rows staged after the first
        if (pruned(metrics, "outbox"), pruned(metrics, "inbox")) == (1, 1):
            break
        await asyncio.sleep(0.05)
    assert (pruned(metrics, "outbox"), pruned(metrics, "inbox")) == (1, 1)
    stopping.set()
    await asyncio.wait_for(sweep, 5)
    assert len((await remaining(database))[0]) == 1


@pytest.mark.kafka
async def test_a_running_service_deletes_what_its_relay_published_once_retention_passes(
    tmp_path, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    settings = WorkerSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        kafka=kafka_settings,
        outbox_poll_seconds=0.05,
        outbox_retention_hours=1 / 3600,  # a second
        retention_sweep_seconds=0.2,
        drain_delay_seconds=0,
    )
    host = build_host(settings)
    topic = await new_topic("retention")
    await host.start()
    try:
        async with host.db.begin() as conn:
            await add_events(conn, [probe_event("agg", 1)], topic=topic)  # type: ignore[arg-type]
        host.relay.wake()
        for _ in range(100):
            if not (await remaining(host.db))[0]:
                break
            await asyncio.sleep(0.1)
        assert (await remaining(host.db))[0] == set()  # published, then pruned a second later
        assert pruned(host.metrics, "outbox") == 1
    finally:
        await host.shutdown()
