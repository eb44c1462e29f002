"""Facts handed to the relay in memory: the same rows as in the table, published once, in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from baylink.runtime.db import Database
from baylink.runtime.outbox import FactRecorder, OutboxRow, add_events, backlog
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.schema import outbox
from baylink.runtime.sent_marks import consecutive_runs, mark_sent
from baylink.runtime.settings import KafkaSettings
from tests.integration.runtime.conftest import probe_event, read_topic


def test_consecutive_runs_cover_every_id_once_and_only_whole_runs() -> None:
    assert consecutive_runs([1, 2, 3, 4, 7, 9, 10, 11, 20]) == ([(1, 4), (9, 11)], [7, 20])
    assert consecutive_runs([5, 6]) == ([], [5, 6])
    assert consecutive_runs([]) == ([], [])


async def test_rows_handed_over_are_the_rows_the_table_holds(database: Database) -> None:
    handed: list[OutboxRow] = []
    recorder = FactRecorder(database, handoff=handed.extend, topic="facts.test")
    await asyncio.gather(*(recorder.record([probe_event(f"s{n % 3}", n), probe_event("t", n)]) for n in range(60)))
    # What a relay that was handed nothing reads back from the table.
    stored = await OutboxRelay(database, KafkaSettings(), name="reader", batch_size=1000).fetch_unsent()
    assert len(stored) == 120
    assert sorted(handed, key=lambda row: row.id) == stored


async def test_marking_stamps_exactly_the_ids_given_in_runs_and_singles(database: Database) -> None:
    await FactRecorder(database, topic="facts.test").record([probe_event("m", n) for n in range(12)])
    relay = OutboxRelay(database, KafkaSettings(), name="marker", batch_size=100)
    ids = [row.id for row in await relay.fetch_unsent()]
    marked = [ids[0], *ids[2:6], ids[7], ids[9], ids[10], ids[11]]  # runs and odd ones, out of order
    relay.marks.add(list(reversed(marked)))
    await relay.stamp_marks()
    assert not relay.marks.skip()
    assert [row.id for row in await relay.fetch_unsent()] == [ids[1], ids[6], ids[8]]
    async with database.begin(readonly=True) as conn:
        stamped = {r.id: r.sent_at for r in await conn.execute(sa.select(outbox.c.id, outbox.c.sent_at))}
    assert {i for i, at in stamped.items() if at is not None} == set(marked)
    now = datetime.now(UTC)  # SQLite gives the stored UTC time back without its zone
    assert all(abs(at.replace(tzinfo=UTC) - now) < timedelta(minutes=1) for at in stamped.values() if at)


@pytest.mark.kafka
async def test_handed_and_written_rows_go_out_once_in_commit_order_and_stale_ones_are_forgotten(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("handoff", partitions=3)
    relay = OutboxRelay(database, kafka_settings, name="handoff", batch_size=50)
    recorder = FactRecorder(database, handoff=relay.hand_over, topic=topic)
    events = []
    for n in range(40):  # facts handed over, interleaved with a use case's own transactions
        fact, staged = probe_event(f"agg-{n % 4}", 2 * n), probe_event(f"agg-{n % 4}", 2 * n + 1)
        await recorder.record([fact])
        async with database.transaction() as session:
            await add_events(session, [staged], topic=topic)
        events += [fact, staged]
    # A row handed over that another relay has already published (it is marked sent) is not
    # published again, and is forgotten once a round has looked past it.
    foreign = await OutboxRelay(database, kafka_settings, name="other", batch_size=1).fetch_unsent()
    other = OutboxRelay(database, kafka_settings, name="other")
    other.marks.add([foreign[0].id])
    await other.stamp_marks()
    assert await relay.drain() == 79
    assert relay._handed == {}
    await relay.stop()
    async with database.transaction() as session:
        assert await backlog(session) == 0
    published = await read_topic(kafka_settings, topic, expected=79)
    assert len(published) == 79
    order = {e.id: n for n, e in enumerate(events)}
    per_subject: dict[str, list[int]] = {}
    for r in sorted(published, key=lambda r: (r.partition, r.offset)):
        per_subject.setdefault(r.key.decode(), []).append(order[dict(r.headers)["ce_id"].decode()])
    assert all(seq == sorted(seq) for seq in per_subject.values())
    assert sum(len(seq) for seq in per_subject.values()) == 79
    produced = relay.metrics.registry.get_sample_value(
        "baylink_events_produced_total", {"topic": topic, "type": events[0].type}
    )
    assert produced == 79  # counted once per event published, in one increment per round and type


async def test_rows_dropped_from_the_handoff_during_a_read_wait_for_the_next_round(database: Database) -> None:
    relay = OutboxRelay(database, KafkaSettings(), name="racing", batch_size=100)
    recorder = FactRecorder(database, handoff=relay.hand_over, topic="facts.test")
    await recorder.record([probe_event("a", n) for n in range(10)])
    assert len(relay._handed) == 10
    run_direct = database.run_direct

    async def read_then_drop(program, **kwargs):  # type: ignore[no-untyped-def]
        result = await run_direct(program, **kwargs)
        relay._handed.clear()  # what hand_over's bound does when a replica without the lease piles up rows
        return result

    database.run_direct = read_then_drop  # type: ignore[method-assign]
    try:
        assert await relay.fetch_unsent() == []  # nothing in memory any more, nothing was read
    finally:
        database.run_direct = run_direct  # type: ignore[method-assign]
    again = await relay.fetch_unsent()
    assert [row.subject for row in again] == ["a"] * 10 and [r.id for r in again] == sorted(r.id for r in again)


@pytest.mark.kafka
async def test_published_rows_wait_for_a_write_to_stamp_them_and_are_never_published_twice(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("marks", partitions=2)
    relay = OutboxRelay(database, kafka_settings, name="marks", batch_size=100, mark_delay_seconds=60)
    recorder = FactRecorder(database, handoff=relay.hand_over, topic=topic)
    await recorder.record([probe_event("a", n) for n in range(10)])

    assert await relay.run_once() == 10
    assert await relay.run_once() == 0  # published, not yet stamped: skipped, not sent again
    async with database.transaction() as session:
        assert await backlog(session) == 10  # the table still says unsent
    ids = relay.marks.take()  # a write transaction of the service's carries the stamp
    await database.run_direct(mark_sent(datetime.now(UTC), ids))
    relay.marks.stamped(ids)
    async with database.transaction() as session:
        assert await backlog(session) == 0

    await recorder.record([probe_event("b", n) for n in range(5)])
    assert await relay.run_once() == 5
    assert len(relay.marks) == 5
    assert await relay.drain() == 0  # nothing new, and what waited is stamped on the way out
    async with database.transaction() as session:
        assert await backlog(session) == 0
    await relay.stop()
    assert len(await read_topic(kafka_settings, topic, expected=15)) == 15


@pytest.mark.kafka
async def test_concurrent_facts_in_spaced_group_commits_all_reach_kafka_once_in_order_per_subject(
    database: Database, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("facts", partitions=3)
    relay = OutboxRelay(database, kafka_settings, name="facts", batch_size=50)
    commits = 0

    def counted() -> None:
        nonlocal commits
        commits += 1

    # As a busy identity worker records them: many callers at once, commits at most every 5 ms.
    recorder = FactRecorder(database, handoff=relay.hand_over, topic=topic, commit_interval=0.005, on_commit=counted)
    running = asyncio.create_task(relay.run())
    events = [probe_event(f"agg-{n % 5}", n) for n in range(300)]

    async def caller(first: int) -> None:
        for event in events[first::30]:  # each caller's events in order: one subject's order is theirs
            await recorder.record([event])
            await asyncio.sleep(0.001)

    await asyncio.gather(*(caller(k) for k in range(30)))
    assert commits < 150  # grouped: fewer commits than half the events
    published = await read_topic(kafka_settings, topic, expected=300)
    await relay.stop()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert sorted(dict(r.headers)["ce_id"].decode() for r in published) == sorted(e.id for e in events)
    async with database.transaction() as session:
        assert await backlog(session) == 0
    order = {e.id: n for n, e in enumerate(events)}
    per_caller: dict[tuple[str, int], list[int]] = {}
    for r in sorted(published, key=lambda r: (r.partition, r.offset)):
        n = order[dict(r.headers)["ce_id"].decode()]
        per_caller.setdefault((r.key.decode(), n % 30), []).append(n)
    assert all(seq == sorted(seq) for seq in per_caller.values())  # one caller's events of a subject in order
