"""Concurrent bursts against one payer near its cap, on SQLite and PostgreSQL: exactly the ones that fit."""

from __future__ import annotations

import asyncio

import pytest

from baylink.errors import BaylinkError, FailedPrecondition
from services.payments.bootstrap import Payments
from services.payments.domain.money import Money
from services.payments.domain.transfer import TransferState
from services.payments.service_layer import audit, complete, participants, prepare, queries
from tests.unit.payments.conftest import hkd, quote, request_for


def person(i: int) -> str:
    return f"{i:04x}" * 16  # a distinct pseudonym per person, so only the cap binds


async def test_a_burst_of_prepares_against_one_payer_near_its_cap_reserves_exactly_what_fits(app: Payments) -> None:
    await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("1000.00"))
    quotes = [await quote(app, f"q{i}", hkd("70.00")) for i in range(40)]
    results = await asyncio.gather(
        *(
            prepare.prepare_transfer(app.deps, request_for(q, f"t{i}", payer_pseudonym=person(i)))
            for i, q in enumerate(quotes)
        ),
        return_exceptions=True,
    )
    reserved = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(reserved) == 14  # 14 × 70 = 980 ≤ 1000 < 15 × 70
    assert all(isinstance(r, FailedPrecondition) and r.reason == "NET_DEBIT_CAP_EXCEEDED" for r in refused)
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == hkd("980.00") and position.available == hkd("20.00")
    report = await audit.audit(app.deps)
    assert report.breaches == []


async def test_ledger_invariants_hold_after_a_concurrent_burst_of_prepares_commits_and_aborts(app: Payments) -> None:
    await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("5000.00"))

    async def one(i: int) -> None:
        q = await quote(app, f"q{i}", hkd(f"{50 + i}.25"))
        await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}", payer_pseudonym=person(i)))
        if i % 5 == 0:
            await complete.abort_transfer(app.deps, f"t{i}", "test")
        else:
            await complete.commit_transfer(app.deps, f"t{i}")

    results = await asyncio.gather(*(one(i) for i in range(60)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(f, BaylinkError) and f.reason == "NET_DEBIT_CAP_EXCEEDED" for f in failures), failures
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 60 - 12 - len(failures)


async def test_a_commit_racing_an_abort_and_a_retry_posts_at_most_once(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    outcomes = await asyncio.gather(
        complete.commit_transfer(app.deps, "t1"),
        complete.commit_transfer(app.deps, "t1"),
        complete.abort_transfer(app.deps, "t1", "race"),
        return_exceptions=True,
    )
    final = await queries.get_transfer(app.deps, "t1")
    assert final.state in (TransferState.COMMITTED, TransferState.ABORTED)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, FailedPrecondition), outcome
        else:
            assert outcome.state is final.state
    assert (await audit.audit(app.deps)).breaches == []


async def test_the_same_transfer_id_prepared_concurrently_reserves_once(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    results = await asyncio.gather(*(prepare.prepare_transfer(app.deps, request_for(q, "t1")) for _ in range(8)))
    assert len({r.uetr for r in results}) == 1
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == Money("HKD", 10_000)


@pytest.mark.parametrize("n", [30])
async def test_same_person_burst_stays_within_the_daily_limit(app: Payments, n: int) -> None:
    quotes = [await quote(app, f"q{i}", hkd("900.00")) for i in range(n)]
    results = await asyncio.gather(
        *(prepare.prepare_transfer(app.deps, request_for(q, f"t{i}")) for i, q in enumerate(quotes)),
        return_exceptions=True,
    )
    reserved = [r for r in results if not isinstance(r, BaseException)]
    assert len(reserved) == 10  # the 10-per-window velocity rule binds before HK$10,000 (11 × 900)
    assert (await audit.audit(app.deps)).breaches == []
