"""The group commit decides and writes alike on SQLite (table by table) and on PostgreSQL (one call of
``pay_prepare_writes`` / ``pay_commit_writes`` per batch): the same refusals, limits, duplicates and
rows, and a batch whose writes meet a change made outside it leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from baylink.errors import BaylinkError, NotFound, PermissionDenied
from baylink.runtime.direct import Program
from services.payments.adapters import batch_repo
from services.payments.adapters.tables import accounts, payer_usage, quotes, transfers
from services.payments.bootstrap import Payments
from services.payments.domain.limits import Usage
from services.payments.domain.transfer import Transfer, TransferState
from services.payments.service_layer import audit, complete, participants, prepare, queries
from services.payments.service_layer.group_commit import group_of
from tests.integration.payments.conftest import database_url
from tests.unit.payments.conftest import START, Clock, hkd, make_app, mixed_batch, person, quote, request_for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def app(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> AsyncIterator[Payments]:
    """A seeded service on each database, with a clock the test moves."""
    async with database_url(request.param, tmp_path) as url:
        payments = await make_app(url, clock)
        yield payments
        await payments.deps.db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _summary(outcome: Any) -> str:
    if isinstance(outcome, BaylinkError):
        return f"{type(outcome).__name__} {getattr(outcome, 'reason', '')}".strip()
    return str(outcome.state.value)


async def test_a_mixed_batch_gets_the_same_answers_and_rows_on_either_database(app: Payments) -> None:
    requests, good = await mixed_batch(app)
    requests.append(request_for(good[0], "t-again", payer_pseudonym=person(91)))  # its quote, twice in one batch
    requests.append(request_for(good[1], "t-ghost", quote_id="no-such-quote"))
    group = group_of(app.deps)
    assert group is not None
    batches_before = group.batches

    results = await asyncio.gather(*(prepare.prepare_transfer(app.deps, r) for r in requests), return_exceptions=True)

    outcome = {r.transfer_id: _summary(res) for r, res in zip(requests, results, strict=True)}
    assert outcome == {
        **{f"t{i}": "RESERVED" for i in range(6)},
        "t-big": "FailedPrecondition NET_DEBIT_CAP_EXCEEDED",
        "t-hit": "PermissionDenied SANCTIONS_HIT",
        "taken": "AlreadyExists MODIFIED_REQUEST",
        "t-again": "FailedPrecondition QUOTE_ALREADY_USED",
        "t-ghost": "NotFound NOT_FOUND",
    }, outcome
    assert isinstance(results[-1], NotFound) and isinstance(results[4], PermissionDenied)
    assert group.batches - batches_before < len(requests)  # they really were written together
    for r, res in zip(requests, results, strict=True):  # the rows hold what the callers were told
        if not isinstance(res, BaseException):
            assert await queries.get_transfer(app.deps, r.transfer_id) == res
    assert (await queries.get_transfer(app.deps, "t-big")).abort_code == "NET_DEBIT_CAP_EXCEEDED"
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == hkd("620.00")  # six good ones and the first "taken"; nothing of the refused
    async with app.deps.db.begin(readonly=True) as conn:
        claimed = dict((await conn.execute(sa.select(quotes.c.quote_id, quotes.c.transfer_id))).all())
        usage = {r.payer_pseudonym: r.day_count for r in await conn.execute(sa.select(payer_usage))}
    assert {q: claimed[q] for q in ("q0", "q1", "q5")} == {"q0": "t0", "q1": "t1", "q5": "t5"}
    assert all(usage[person(i)] == 1 for i in range(6)) and person(91) not in usage

    commits = await asyncio.gather(
        *(complete.commit_transfer(app.deps, f"t{i}") for i in range(6)),
        complete.commit_transfer(app.deps, "t-big"),  # refused at prepare: cannot commit
        return_exceptions=True,
    )
    assert [_summary(c) for c in commits] == ["COMMITTED"] * 6 + ["FailedPrecondition TRANSFER_ABORTED"]
    for c in commits[:6]:
        assert await queries.get_transfer(app.deps, c.transfer_id) == c  # type: ignore[union-attr]
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 6
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == hkd("20.00")  # "taken", still reserved


async def test_limits_bind_inside_one_batch_and_commits_end_once_on_either_database(
    app: Payments, clock: Clock
) -> None:
    qs = [await quote(app, f"q{i}", hkd("900.00")) for i in range(14)]
    short = await quote(app, "short", hkd("10.00"))
    results = await asyncio.gather(
        prepare.prepare_transfer(
            app.deps, request_for(short, "short", payer_pseudonym=person(1), expires_at=START.replace(minute=1))
        ),
        *(prepare.prepare_transfer(app.deps, request_for(q, f"t{i}")) for i, q in enumerate(qs)),
        return_exceptions=True,
    )
    assert sorted(_summary(r) for r in results) == ["RESERVED"] * 11 + ["ResourceExhausted VELOCITY_LIMIT_EXCEEDED"] * 4
    clock.advance(120)  # "short" is past its deadline

    done = await asyncio.gather(
        *(complete.commit_transfer(app.deps, tid) for tid in ("t1", "t2", "t1", "short", "t3", "t2")),
        return_exceptions=True,
    )
    assert [_summary(r) for r in done] == ["COMMITTED"] * 3 + ["FailedPrecondition TRANSFER_EXPIRED"] + [
        "COMMITTED"
    ] * 2
    assert (await queries.get_transfer(app.deps, "short")).state is TransferState.EXPIRED
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 3  # posted once each


def _written(app: Payments, claims: dict[str, str], accepted: list[Any]) -> Program[None]:
    postgres = app.deps.db.dialect == "postgresql"
    usage = Usage("2026-11-27", 100, 1, "2026", 100, "b", 1)
    yield from batch_repo.save_prepared(
        postgres, claims, {(person(7), "HKD>CNY"): usage}, {}, {"POS:HKBANK:HKD": 5_000}, accepted
    )


async def _state(app: Payments) -> tuple[Any, ...]:
    async with app.deps.db.begin(readonly=True) as conn:
        return (
            sorted((await conn.execute(sa.select(quotes.c.quote_id, quotes.c.transfer_id))).all()),
            sorted((await conn.execute(sa.select(transfers.c.transfer_id, transfers.c.state))).all()),
            sorted((await conn.execute(sa.select(payer_usage.c.payer_pseudonym))).all()),
            sorted((await conn.execute(sa.select(accounts.c.account_id, accounts.c.debits_pending))).all()),
        )


async def test_a_batch_whose_writes_meet_a_claimed_quote_or_a_taken_id_leaves_nothing_behind(app: Payments) -> None:
    """What the batch read can have changed by the time it writes (another replica claimed the quote,
    reserved the id): the writes refuse it, and the whole transaction rolls back."""
    await quote(app, "free", hkd("50.00"))
    existing = await prepare.prepare_transfer(
        app.deps, request_for(await quote(app, "taken", hkd("50.00")), "existing")
    )
    fresh = replace_id(existing, "fresh", "free")
    before = await _state(app)

    with pytest.raises(Exception, match=r"(?i)claimed outside the batch"):
        await app.deps.db.run_direct(_written(app, {"free": "fresh", "taken": "other"}, [fresh]))
    assert await _state(app) == before
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await app.deps.db.run_direct(_written(app, {"free": "existing"}, [replace_id(existing, "existing", "free")]))
    assert await _state(app) == before

    await app.deps.db.run_direct(_written(app, {"free": "fresh"}, [fresh]))  # and what fits is written
    assert await queries.get_transfer(app.deps, "fresh") == fresh
    after = await _state(app)
    assert ("free", "fresh") in after[0] and (person(7),) in after[2]
    assert dict(after[3])["POS:HKBANK:HKD"] == dict(before[3])["POS:HKBANK:HKD"] + 5_000


def replace_id(t: Transfer, transfer_id: str, quote_id: str) -> Transfer:
    """``t`` as another transfer (its own id, quote and UETR)."""
    return replace(t, transfer_id=transfer_id, quote_id=quote_id, uetr=f"{transfer_id:0>36}"[:36])
