"""PrepareTransfers / CommitTransfers in the service layer: each item answered as its own call would be."""

from __future__ import annotations

from typing import Any

import pytest

from baylink.errors import AlreadyExists, BaylinkError, FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from services.payments.bootstrap import Payments
from services.payments.domain.transfer import Transfer, TransferState
from services.payments.service_layer import audit, bulk, complete, participants, prepare, queries
from services.payments.service_layer.group_commit import group_of
from tests.unit.payments.conftest import (
    Clock,
    hkd,
    make_app,
    person,
    quote,
    request_for,
    reserved_and_one_expired,
)


def same_answer(bulk_outcome: Transfer | Exception, unary_outcome: Transfer | Exception) -> bool:
    """The two answers a caller would see are the same: the same transfer, or the same error."""
    if isinstance(bulk_outcome, Transfer) or isinstance(unary_outcome, Transfer):
        return bulk_outcome == unary_outcome
    assert isinstance(bulk_outcome, BaylinkError) and isinstance(unary_outcome, BaylinkError)
    return (type(bulk_outcome), bulk_outcome.reason, str(bulk_outcome)) == (
        type(unary_outcome),
        unary_outcome.reason,
        str(unary_outcome),
    )


async def unary_prepare(app: Payments, req: Any) -> Transfer | Exception:
    try:
        return await prepare.prepare_transfer(app.deps, req)
    except BaylinkError as error:
        return error


async def test_a_bulk_answers_each_item_as_its_own_prepare_would_and_posts_only_the_good_ones(app: Payments) -> None:
    await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("1000.00"))
    good = [await quote(app, f"q{i}", hkd("100.00")) for i in range(5)]
    too_big = await quote(app, "big", hkd("990.00"))
    sanctioned = await quote(app, "hit", hkd("10.00"))
    earlier = await quote(app, "mod", hkd("20.00"))
    await prepare.prepare_transfer(app.deps, request_for(earlier, "taken"))
    items: list[Any] = [request_for(q, f"t{i}", payer_pseudonym=person(i)) for i, q in enumerate(good)]
    items.insert(1, request_for(too_big, "t-big", payer_pseudonym=person(90)))
    items.insert(3, request_for(sanctioned, "t-hit", payer_name="Boris Testarov Fictivich", payer_pseudonym=person(91)))
    items.insert(4, request_for(earlier, "taken"))  # the same request again: the same answer
    items.insert(5, request_for(earlier, "taken", reference="CHANGED"))  # a modified request
    items.insert(6, request_for(good[0], "t-bad", payer_pseudonym="1234567"))  # not a pseudonym
    items.append(request_for(good[1], "t1", payer_pseudonym=person(1)))  # a duplicate inside the bulk
    group = group_of(app.deps)
    assert group is not None
    batches_before = group.batches

    outcomes = await bulk.prepare_transfers(app.deps, items)

    by_id = [(req.transfer_id, out) for req, out in zip(items, outcomes, strict=True)]
    assert [tid for tid, out in by_id if isinstance(out, Transfer) and out.state is TransferState.RESERVED] == [
        "t0", "t1", "taken", "t2", "t3", "t4", "t1",
    ]  # fmt: skip
    errors = {tid: out for tid, out in by_id if isinstance(out, Exception)}
    assert isinstance(errors["t-big"], FailedPrecondition) and errors["t-big"].reason == "NET_DEBIT_CAP_EXCEEDED"
    assert isinstance(errors["t-hit"], PermissionDenied)
    assert isinstance(errors["taken"], AlreadyExists) and errors["taken"].reason == "MODIFIED_REQUEST"
    bad = errors["t-bad"]
    assert isinstance(bad, InvalidInput) and [v.field for v in bad.violations] == ["payer_pseudonym"]
    assert outcomes[1] != outcomes[0] and outcomes[-1] == outcomes[2]  # the in-bulk duplicate is t1's replay
    assert group.batches - batches_before == 1  # the bulk's accepted items went in one transaction

    # Each item, asked again on its own, gets what the bulk answered (refusals were recorded as such).
    for req, outcome in zip(items, outcomes, strict=True):
        assert same_answer(outcome, await unary_prepare(app, req)), req.transfer_id
    with pytest.raises(NotFound):
        await queries.get_transfer(app.deps, "t-bad")  # refused before anything was recorded, as unary
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == hkd("520.00")  # five good ones and the earlier "taken"; nothing refused
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 0


async def test_a_bulk_commit_answers_reserved_unknown_expired_and_repeated_items_each_on_its_own(
    app: Payments, clock: Clock
) -> None:
    await reserved_and_one_expired(app, clock)  # "short" is past its deadline now
    ids = ["t1", "nobody", "short", "t2", "t1", "t3"]

    outcomes = await bulk.commit_transfers(app.deps, ids)

    committed = [o.transfer_id for o in outcomes if isinstance(o, Transfer)]
    assert committed == ["t1", "t2", "t1", "t3"]
    assert all(o.state is TransferState.COMMITTED for o in outcomes if isinstance(o, Transfer))
    assert isinstance(outcomes[1], NotFound)
    assert isinstance(outcomes[2], FailedPrecondition) and outcomes[2].reason == "TRANSFER_EXPIRED"
    assert outcomes[0] == outcomes[4]  # asked twice: committed once, the same answer twice
    for transfer_id, outcome in zip(ids, outcomes, strict=True):
        try:
            again: Transfer | Exception = await complete.commit_transfer(app.deps, transfer_id)
        except BaylinkError as error:
            again = error
        assert same_answer(outcome, again), transfer_id
    assert (await queries.get_transfer(app.deps, "short")).state is TransferState.EXPIRED
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 3  # each posted once


async def test_an_item_that_did_not_parse_stays_its_own_error_and_the_others_go_on(app: Payments) -> None:
    q = await quote(app, "q1", hkd("10.00"))
    unparsed = InvalidInput.field("send_amount", "required")

    outcomes = await bulk.prepare_transfers(app.deps, [unparsed, request_for(q, "t1")])

    assert outcomes[0] is unparsed
    assert isinstance(outcomes[1], Transfer) and outcomes[1].state is TransferState.RESERVED


async def test_a_bulk_without_group_commit_answers_the_same(tmp_path, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(f"sqlite+aiosqlite:///{tmp_path / 'off.db'}", clock, group_commit=False)
    try:
        good = await quote(app, "q1", hkd("10.00"))
        hit = await quote(app, "q2", hkd("10.00"))
        items = [request_for(good, "t1"), request_for(hit, "t2", payer_name="Boris Testarov Fictivich")]
        prepared = await bulk.prepare_transfers(app.deps, items)
        assert isinstance(prepared[0], Transfer) and isinstance(prepared[1], PermissionDenied)
        committed = await bulk.commit_transfers(app.deps, ["t1", "t2"])
        assert isinstance(committed[0], Transfer) and committed[0].state is TransferState.COMMITTED
        assert isinstance(committed[1], FailedPrecondition) and committed[1].reason == "TRANSFER_ABORTED"
        assert app.deps.group is None
    finally:
        await app.deps.db.dispose()


async def outbox_correlation_ids(app: Payments) -> dict[tuple[str, str], str]:
    """(subject, event type) → the ce_correlationid the outbox will publish it with."""
    import sqlalchemy as sa

    from baylink.runtime.schema import outbox

    async with app.deps.db.begin(readonly=True) as session:
        rows = (await session.execute(sa.select(outbox.c.subject, outbox.c.event_type, outbox.c.headers))).all()
    return {(r.subject, r.event_type): dict(r.headers).get("ce_correlationid", "") for r in rows}


async def test_events_written_together_keep_the_correlation_id_of_the_call_that_caused_each(
    app: Payments,
) -> None:
    import asyncio

    from baylink.runtime.context import correlation_scope

    qs = [await quote(app, f"q{i}", hkd("10.00")) for i in range(4)]

    async def unary_call(i: int) -> None:
        with correlation_scope(f"flow-{i}"):
            await prepare.prepare_transfer(app.deps, request_for(qs[i], f"t{i}", payer_pseudonym=person(i)))

    async def bulk_call() -> None:
        with correlation_scope("flow-bulk"):
            items: list[Any] = [request_for(qs[i], f"t{i}", payer_pseudonym=person(i)) for i in (2, 3)]
            await bulk.prepare_transfers(app.deps, items)

    group = group_of(app.deps)
    assert group is not None
    before = group.batches
    await asyncio.gather(unary_call(0), unary_call(1), bulk_call())
    assert group.batches - before < 3  # written together, so the events were built together
    with correlation_scope("flow-commit"):
        await bulk.commit_transfers(app.deps, ["t0", "t2"])

    found = await outbox_correlation_ids(app)
    reserved = "baylink.payments.transfer.reserved.v1"
    assert [found[(f"t{i}", reserved)] for i in range(4)] == ["flow-0", "flow-1", "flow-bulk", "flow-bulk"]
    committed = "baylink.payments.transfer.committed.v1"
    assert found[("t0", committed)] == found[("t2", committed)] == "flow-commit"
