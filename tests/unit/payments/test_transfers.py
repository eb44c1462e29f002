"""Two-phase transfers through the use cases, on a real SQLite database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from baylink.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from services.payments.bootstrap import Payments
from services.payments.domain.money import Money
from services.payments.domain.transfer import TransferState
from services.payments.service_layer import audit, complete, participants, prepare, queries
from tests.unit.payments.conftest import PSEUDONYM, Clock, hkd, quote, request_for


async def positions(app: Payments, pid: str) -> tuple[int, int]:
    (p,) = await participants.positions(app.deps, pid)
    return p.position.minor, p.reserved.minor


async def assert_ledger_consistent(app: Payments) -> None:
    report = await audit.audit(app.deps)
    assert report.breaches == []


async def test_prepare_reserves_and_commit_posts_through_fx_and_fee_accounts(app: Payments) -> None:
    q = await quote(app, "q1", hkd("1000.00"))
    t = await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    assert t.state is TransferState.RESERVED and t.fee == hkd("5.00") and t.uetr
    assert await positions(app, "HKBANK") == (0, 100_000)
    t = await complete.commit_transfer(app.deps, "t1")
    assert t.state is TransferState.COMMITTED and t.settlement_window_id
    assert await positions(app, "HKBANK") == (100_000, 0)
    assert await positions(app, "REGISTRY") == (-q.receive.minor, 0)  # the scheme owes the payee
    await assert_ledger_consistent(app)


async def test_same_transfer_id_with_the_same_request_returns_the_same_transfer(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    first = await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    again = await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    assert again == first
    assert await positions(app, "HKBANK") == (0, 10_000)  # reserved once


async def test_same_transfer_id_with_a_different_request_is_refused_as_modified(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    for change in ({"reference": "OTHER"}, {"payer_name": "Someone Else"}, {"payer_pseudonym": "b2" * 32}):
        with pytest.raises(AlreadyExists) as caught:
            await prepare.prepare_transfer(app.deps, request_for(q, "t1", **change))
        assert caught.value.reason == "MODIFIED_REQUEST" and "modified request" in caught.value.message


async def test_a_refused_prepare_retried_gets_the_same_refusal_and_its_id_stays_taken(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    hit = request_for(q, "t1", payer_name="Boris Testarov Fictivich")
    for _ in range(2):
        with pytest.raises(PermissionDenied) as caught:
            await prepare.prepare_transfer(app.deps, hit)
        assert caught.value.reason == "SANCTIONS_HIT"
        assert caught.value.metadata["list_reference"] == "QDi.901"
    t = await queries.get_transfer(app.deps, "t1")
    assert t.state is TransferState.ABORTED and t.abort_code == "SANCTIONS_HIT"
    assert await positions(app, "HKBANK") == (0, 0)  # nothing reserved, nothing posted
    with pytest.raises(AlreadyExists):
        await prepare.prepare_transfer(app.deps, replace(hit, payer_name="Chan Tai Man"))


async def test_a_sanctioned_payee_name_is_refused_too(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    with pytest.raises(PermissionDenied) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q, "t1", payee_name="GREATER SHELL TRADING CO LTD"))
    assert caught.value.metadata["party"] == "payee"


async def test_commit_is_idempotent_and_posts_once(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    first = await complete.commit_transfer(app.deps, "t1")
    assert await complete.commit_transfer(app.deps, "t1") == first
    report = await audit.audit(app.deps)
    assert report.postings == 3 and report.ok


async def test_abort_releases_the_reservation_and_the_payers_limit(app: Payments) -> None:
    q = await quote(app, "q1", hkd("9000.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    aborted = await complete.abort_transfer(app.deps, "t1", "customer cancelled")
    assert aborted.state is TransferState.ABORTED and aborted.abort_code == "ABORTED_BY_REQUEST"
    assert await positions(app, "HKBANK") == (0, 0)
    q2 = await quote(app, "q2", hkd("9000.00"))  # the daily allowance is back
    await prepare.prepare_transfer(app.deps, request_for(q2, "t2"))
    with pytest.raises(FailedPrecondition) as caught:
        await complete.commit_transfer(app.deps, "t1")
    assert caught.value.reason == "TRANSFER_ABORTED"
    await assert_ledger_consistent(app)


async def test_a_reserved_transfer_expires_at_its_deadline_and_releases_the_reservation(
    app: Payments, clock: Clock
) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    t = await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    clock.advance(299)
    assert await complete.expire_due(app.deps) == 0
    clock.now = t.expires_at
    assert await complete.expire_due(app.deps) == 1
    t = await queries.get_transfer(app.deps, "t1")
    assert t.state is TransferState.EXPIRED and t.abort_code == "TRANSFER_EXPIRED"
    assert await positions(app, "HKBANK") == (0, 0)
    await assert_ledger_consistent(app)


async def test_committing_an_expired_transfer_is_refused_and_expires_it(app: Payments, clock: Clock) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    t = await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    clock.now = t.expires_at  # the sweeper has not run yet
    with pytest.raises(FailedPrecondition) as caught:
        await complete.commit_transfer(app.deps, "t1")
    assert caught.value.reason == "TRANSFER_EXPIRED"
    assert (await queries.get_transfer(app.deps, "t1")).state is TransferState.EXPIRED
    assert await positions(app, "HKBANK") == (0, 0)
    await assert_ledger_consistent(app)


async def test_an_expired_quote_is_refused(app: Payments, clock: Clock) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    clock.now = q.expires_at
    with pytest.raises(FailedPrecondition) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    assert caught.value.reason == "QUOTE_EXPIRED"


async def test_a_quote_pays_for_one_transfer_only(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    with pytest.raises(FailedPrecondition) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q, "t2"))
    assert caught.value.reason == "QUOTE_ALREADY_USED"


async def test_amounts_that_differ_from_the_quote_are_refused(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    with pytest.raises(InvalidInput):
        await prepare.prepare_transfer(app.deps, request_for(q, "t1", receive=Money("CNY", q.receive.minor + 1)))


async def test_a_cross_currency_transfer_needs_a_quote(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    with pytest.raises(InvalidInput) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q, "t1", quote_id=""))
    assert caught.value.violations[0].field == "quote_id"


async def test_a_payer_beyond_its_net_debit_cap_is_refused_with_the_available_amount(app: Payments) -> None:
    await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("150.00"))
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    q2 = await quote(app, "q2", hkd("60.00"))
    with pytest.raises(FailedPrecondition) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q2, "t2", payer_pseudonym="c3" * 32))
    assert caught.value.reason == "NET_DEBIT_CAP_EXCEEDED"
    assert caught.value.metadata["available_minor_units"] == "5000"
    assert await positions(app, "HKBANK") == (0, 10_000)  # the refused one left no trace
    await assert_ledger_consistent(app)


async def test_the_cap_cannot_be_set_below_what_is_owed_and_reserved(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    with pytest.raises(FailedPrecondition) as caught:
        await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("99.99"))
    assert caught.value.reason == "CAP_BELOW_EXPOSURE"


async def test_the_daily_person_limit_counts_across_transfers(app: Payments) -> None:
    for i, amount in enumerate(("6000.00", "4000.00")):
        q = await quote(app, f"q{i}", hkd(amount))
        await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}"))
    q = await quote(app, "q9", hkd("100.00"))
    with pytest.raises(Exception) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q, "t9"))
    assert caught.value.reason == "PAYER_DAILY_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
    assert caught.value.metadata["remaining_minor_units"] == "0"  # type: ignore[attr-defined]
    # another person is not affected
    await prepare.prepare_transfer(app.deps, request_for(q, "t10", payer_pseudonym="d4" * 32))


async def test_the_daily_limit_resets_on_the_next_hong_kong_day_but_the_yearly_one_does_not(
    app: Payments, clock: Clock
) -> None:
    for day in range(21):
        q = await quote(app, f"q{day}", hkd("10000.00"))
        if day == 20:
            with pytest.raises(Exception) as caught:
                await prepare.prepare_transfer(app.deps, request_for(q, f"t{day}"))
            assert caught.value.reason == "PAYER_YEARLY_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
        else:
            await prepare.prepare_transfer(app.deps, request_for(q, f"t{day}"))
            await complete.commit_transfer(app.deps, f"t{day}")
        clock.advance(86_400)


async def test_velocity_limits_the_number_of_transfers_per_window(app: Payments) -> None:
    for i in range(10):
        q = await quote(app, f"q{i}", hkd("10.00"))
        await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}"))
    q = await quote(app, "q10", hkd("10.00"))
    with pytest.raises(Exception) as caught:
        await prepare.prepare_transfer(app.deps, request_for(q, "t10"))
    assert caught.value.reason == "VELOCITY_LIMIT_EXCEEDED"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payer_pseudonym": "A123456(3)"}, "payer_pseudonym"),  # a raw HKID is not a pseudonym
        ({"payer_pseudonym": ""}, "payer_pseudonym"),
        ({"payer_name": " "}, "payer_name"),
        ({"transfer_id": ""}, "transfer_id"),
        ({"reference": "x" * 141}, "reference"),
    ],
)
async def test_malformed_prepare_requests_are_refused_before_anything_is_recorded(
    app: Payments, change: dict[str, str], field: str
) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    with pytest.raises(InvalidInput) as caught:
        await prepare.prepare_transfer(app.deps, replace(request_for(q, "t1"), **change))
    assert caught.value.violations[0].field == field
    with pytest.raises(NotFound):
        await queries.get_transfer(app.deps, "t1")


async def test_unknown_participants_and_transfers_are_not_found(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    with pytest.raises(NotFound):
        await prepare.prepare_transfer(app.deps, request_for(q, "t1", payer_id="NOBANK", quote_id=""))
    with pytest.raises(NotFound):
        await complete.commit_transfer(app.deps, "missing")


async def test_same_currency_transfers_need_no_quote(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    req = request_for(q, "t1", quote_id="", payer_id="GDBANK", send=Money("CNY", 5_000), receive=Money("CNY", 5_000))
    t = await prepare.prepare_transfer(app.deps, req)
    await complete.commit_transfer(app.deps, t.transfer_id)
    assert t.fee == Money("CNY", 0) and t.customer_rate == "1"
    await assert_ledger_consistent(app)


async def test_listing_pages_through_transfers_by_participant_and_state(app: Payments) -> None:
    from services.payments.service_layer.ports import TransferFilter

    for i in range(5):
        q = await quote(app, f"q{i}", hkd("10.00"))
        await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}", payer_pseudonym=f"{i:02d}" * 32))
    await complete.commit_transfer(app.deps, "t0")
    seen, token = [], ""
    while True:
        page, token = await queries.list_transfers(app.deps, TransferFilter(participant_id="REGISTRY"), 2, token)
        seen += [t.transfer_id for t in page]
        if not token:
            break
    assert sorted(seen) == [f"t{i}" for i in range(5)]
    committed, _ = await queries.list_transfers(app.deps, TransferFilter(states=[TransferState.COMMITTED]), 10, "")
    assert [t.transfer_id for t in committed] == ["t0"]
    with pytest.raises(InvalidInput):
        await queries.list_transfers(app.deps, TransferFilter(), 10, "garbage")
    assert PSEUDONYM
