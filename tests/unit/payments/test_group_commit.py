"""Group commit: concurrent prepares and commits share a transaction, each keeps its own outcome."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from baylink.errors import AlreadyExists, BaylinkError, FailedPrecondition, PermissionDenied, ResourceExhausted
from baylink.runtime.db import Database
from baylink.runtime.outbox import OutboxRow
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.sent_marks import SentMarks
from baylink.runtime.settings import KafkaSettings
from services.payments.adapters import group_writer
from services.payments.bootstrap import Payments
from services.payments.domain.limits import CorridorLimit, Usage, periods
from services.payments.domain.transfer import TransferState
from services.payments.service_layer import audit, complete, participants, prepare, queries
from services.payments.service_layer.group_commit import group_of
from tests.unit.payments.conftest import (
    START,
    Clock,
    hkd,
    mixed_batch,
    person,
    quote,
    request_for,
    reserved_and_one_expired,
)


async def test_a_refused_transfer_in_a_batch_neither_fails_nor_half_posts_the_others(app: Payments) -> None:
    requests, _ = await mixed_batch(app)
    group = group_of(app.deps)
    assert group is not None
    batches_before = group.batches

    results = await asyncio.gather(*(prepare.prepare_transfer(app.deps, r) for r in requests), return_exceptions=True)

    outcome = {r.transfer_id: res for r, res in zip(requests, results, strict=True)}
    assert all(outcome[f"t{i}"].state is TransferState.RESERVED for i in range(6))  # type: ignore[union-attr]
    assert isinstance(outcome["t-big"], FailedPrecondition) and outcome["t-big"].reason == "NET_DEBIT_CAP_EXCEEDED"
    assert isinstance(outcome["t-hit"], PermissionDenied)
    assert isinstance(outcome["taken"], AlreadyExists) and outcome["taken"].reason == "MODIFIED_REQUEST"
    assert group.batches - batches_before < len(requests)  # they really were written together
    refused = await queries.get_transfer(app.deps, "t-big")
    assert refused.state is TransferState.ABORTED and refused.abort_code == "NET_DEBIT_CAP_EXCEEDED"
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == hkd("620.00")  # six good ones and the first "taken"; nothing of the refused

    commits = await asyncio.gather(
        *(complete.commit_transfer(app.deps, f"t{i}") for i in range(6)),
        complete.commit_transfer(app.deps, "t-big"),  # refused at prepare: cannot commit
        return_exceptions=True,
    )
    assert all(c.state is TransferState.COMMITTED for c in commits[:6])  # type: ignore[union-attr]
    assert isinstance(commits[6], FailedPrecondition) and commits[6].reason == "TRANSFER_ABORTED"
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 6


async def test_a_batch_commits_each_transfer_once_even_when_asked_twice_and_expires_the_late_one(
    app: Payments, clock: Clock
) -> None:
    await reserved_and_one_expired(app, clock)  # "short" is past its deadline now

    results = await asyncio.gather(
        *(complete.commit_transfer(app.deps, tid) for tid in ("t1", "t2", "t1", "short", "t3", "t2")),
        return_exceptions=True,
    )

    assert [r.state for r in results if not isinstance(r, BaseException)] == [TransferState.COMMITTED] * 5
    late = [r for r in results if isinstance(r, BaseException)]
    assert len(late) == 1 and isinstance(late[0], FailedPrecondition) and late[0].reason == "TRANSFER_EXPIRED"
    assert (await queries.get_transfer(app.deps, "short")).state is TransferState.EXPIRED
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 3  # posted once each


async def test_the_limits_bind_inside_one_batch_exactly_as_one_by_one(app: Payments) -> None:
    qs = [await quote(app, f"q{i}", hkd("900.00")) for i in range(14)]
    results = await asyncio.gather(
        *(prepare.prepare_transfer(app.deps, request_for(q, f"t{i}")) for i, q in enumerate(qs)),
        return_exceptions=True,
    )
    reserved = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(reserved) == 10  # velocity: 10 per bucket, before the HK$10,000 day (11 × 900)
    assert all(isinstance(r, ResourceExhausted) and r.reason == "VELOCITY_LIMIT_EXCEEDED" for r in refused)


async def test_answers_come_only_after_the_batch_is_durable(app: Payments) -> None:
    qs = [await quote(app, f"q{i}", hkd("10.00")) for i in range(20)]
    answered = await asyncio.gather(
        *(
            prepare.prepare_transfer(app.deps, request_for(q, f"t{i}", payer_pseudonym=person(i)))
            for i, q in enumerate(qs)
        )
    )
    # A second engine on the same file sees every answered transfer: it was committed before the answer.
    other = replace(app.deps, db=Database(app.deps.db.url), group=None)
    try:
        for t in answered:
            assert (await queries.get_transfer(other, t.transfer_id)).state is TransferState.RESERVED
    finally:
        await other.db.dispose()


async def test_group_commit_can_be_switched_off(tmp_path, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.payments.conftest import make_app

    app = await make_app(f"sqlite+aiosqlite:///{tmp_path / 'off.db'}", clock, group_commit=False)
    try:
        q = await quote(app, "q1", hkd("10.00"))
        assert (await prepare.prepare_transfer(app.deps, request_for(q, "t1"))).state is TransferState.RESERVED
        assert group_of(app.deps) is None and app.deps.group is None
    finally:
        await app.deps.db.dispose()


def test_usage_counted_in_memory_follows_the_same_rule_as_the_database() -> None:
    from zoneinfo import ZoneInfo

    limit = CorridorLimit(daily_minor=1000, yearly_minor=1500, max_per_day=3, max_per_bucket=2, bucket_seconds=600)
    p = periods(START, ZoneInfo("Asia/Hong_Kong"), 600)
    u = Usage.empty(p).taken(p, 400, limit)
    assert u is not None and (u.day_minor, u.day_count, u.bucket_count) == (400, 1, 1)
    u2 = u.taken(p, 400, limit)
    assert u2 is not None and u2.taken(p, 1, limit) is None  # the bucket's 2 transfers are used up
    later = periods(START.replace(hour=4), ZoneInfo("Asia/Hong_Kong"), 600)  # same day, a new bucket
    assert u2.taken(later, 300, limit) is None  # 800 + 300 > the daily 1,000
    next_day = periods(START.replace(day=28), ZoneInfo("Asia/Hong_Kong"), 600)
    u3 = u2.taken(next_day, 600, limit)
    assert u3 is not None and (u3.day_minor, u3.year_minor) == (600, 1400)  # the day resets, the year does not
    assert u3.taken(periods(START.replace(day=28, hour=5), ZoneInfo("Asia/Hong_Kong"), 600), 200, limit) is None


async def test_errors_of_the_one_by_one_path_still_reach_the_caller(app: Payments) -> None:
    q = await quote(app, "q1", hkd("10.00"))
    results = await asyncio.gather(
        prepare.prepare_transfer(app.deps, request_for(q, "t1")),
        prepare.prepare_transfer(app.deps, request_for(q, "t2")),  # the same quote: only one may use it
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], BaylinkError) and errors[0].reason == "QUOTE_ALREADY_USED"


async def test_a_commit_from_the_remembered_reservation_is_the_row_the_table_holds(app: Payments) -> None:
    group = group_of(app.deps)
    assert group is not None
    qs = [await quote(app, f"q{i}", hkd("10.00")) for i in range(6)]
    await asyncio.gather(
        *(
            prepare.prepare_transfer(app.deps, request_for(q, f"t{i}", payer_pseudonym=person(i)))
            for i, q in enumerate(qs)
        )
    )
    assert {f"t{i}" for i in range(6)} <= set(group.reserved)  # remembered once durable
    group.reserved.pop("t5")  # forgotten (or prepared by another process): read back instead
    aborted = await complete.abort_transfer(app.deps, "t4", "changed mind")  # ended another way meanwhile
    commits = await asyncio.gather(
        *(complete.commit_transfer(app.deps, f"t{i}") for i in range(6)), return_exceptions=True
    )
    for i, answer in enumerate(commits[:4] + commits[5:]):
        assert answer == await queries.get_transfer(app.deps, answer.transfer_id), i  # type: ignore[union-attr]
    assert isinstance(commits[4], FailedPrecondition) and commits[4].reason == "TRANSFER_ABORTED"
    assert aborted == await queries.get_transfer(app.deps, "t4")
    assert not {f"t{i}" for i in range(6)} & set(group.reserved) - {"t4"}  # the committed ones are let go
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 5


async def test_the_rows_a_batch_hands_to_the_relay_are_the_rows_the_outbox_holds(app: Payments) -> None:
    handed: list[OutboxRow] = []
    app.deps.handoff = handed.extend
    qs = [await quote(app, f"q{i}", hkd("10.00")) for i in range(8)]
    requests = [request_for(q, f"t{i}", payer_pseudonym=person(i)) for i, q in enumerate(qs)]
    await asyncio.gather(*(prepare.prepare_transfer(app.deps, r) for r in requests))
    await asyncio.gather(*(complete.commit_transfer(app.deps, f"t{i}") for i in range(8)))

    # What a relay that was handed nothing reads back from the table.
    stored = await OutboxRelay(app.deps.db, KafkaSettings(), name="reader", batch_size=1000).fetch_unsent()
    transfers = [row for row in stored if ".transfer." in row.event_type]
    assert len(transfers) == 16  # reserved and committed, each once
    assert sorted(handed, key=lambda row: row.id) == transfers  # SQLite: ids known without a read


async def test_a_batch_stamps_the_relays_published_rows_sent_and_gives_them_back_when_it_fails(
    app: Payments,
) -> None:
    handed: list[OutboxRow] = []
    app.deps.handoff, app.deps.marks = handed.extend, SentMarks()
    qs = [await quote(app, f"q{i}", hkd("10.00")) for i in range(4)]
    await asyncio.gather(*(prepare.prepare_transfer(app.deps, request_for(q, f"t{i}")) for i, q in enumerate(qs)))
    published = [row.id for row in handed]  # as if the relay had published them
    app.deps.marks.add(published)
    reader = OutboxRelay(app.deps.db, KafkaSettings(), name="reader", batch_size=1000)
    unsent_before = {row.id for row in await reader.fetch_unsent()}
    assert set(published) <= unsent_before

    group = group_of(app.deps)
    assert group is not None
    real_program = group_writer._program

    def failing(*args: Any) -> Any:  # the batch's transaction fails after its last statement
        yield from real_program(*args)
        raise RuntimeError("the database failed")

    group_writer._program = failing  # type: ignore[assignment]
    try:
        committed = await complete.commit_transfer(app.deps, "t0")  # taken one by one after the failure
    finally:
        group_writer._program = real_program  # type: ignore[assignment]
    assert committed.state is TransferState.COMMITTED
    assert app.deps.marks.take() == published  # given back, still unstamped
    app.deps.marks.give_back(published)
    assert {row.id for row in await reader.fetch_unsent()} >= set(published)

    await asyncio.gather(*(complete.commit_transfer(app.deps, f"t{i}") for i in range(1, 4)))

    unsent_after = {row.id for row in await reader.fetch_unsent()}
    assert not unsent_after & set(published)  # stamped by the commits' batch
    assert unsent_before - set(published) <= unsent_after  # and nothing else was
    assert not app.deps.marks.skip()
