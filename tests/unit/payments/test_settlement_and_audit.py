"""Settlement windows and the ledger audit: what it accepts, and each tampering it catches."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from baylink.errors import FailedPrecondition
from services.payments.adapters.tables import accounts, postings, transfers
from services.payments.bootstrap import Payments
from services.payments.domain.money import Money
from services.payments.domain.settlement import WindowState
from services.payments.service_layer import audit, complete, participants, prepare, settlement
from tests.unit.payments.conftest import hkd, quote, request_for


async def run_some_transfers(app: Payments) -> str:
    """Three committed (two corridors), one reserved, one aborted. Returns the window id."""
    window = ""
    for i, (payer, amount, counter) in enumerate(
        [("HKBANK", hkd("1000.00"), "CNY"), ("HKBANK", hkd("250.50"), "CNY"), ("MOBANK", Money("MOP", 88_800), "CNY")]
    ):
        q = await quote(app, f"q{i}", amount, counter, payer=payer)
        await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}"))
        window = (await complete.commit_transfer(app.deps, f"t{i}")).settlement_window_id
    q = await quote(app, "q3", hkd("10.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t3"))
    q = await quote(app, "q4", hkd("20.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t4"))
    await complete.abort_transfer(app.deps, "t4", "changed mind")
    return window


async def test_closing_a_window_nets_every_currency_to_zero_and_opens_the_next(app: Payments) -> None:
    window = await run_some_transfers(app)
    report = await settlement.close_window(app.deps, window, "end of cycle")
    assert report.window.state is WindowState.CLOSED and report.transfer_count == 3
    totals: dict[str, int] = {}
    for p in report.positions:
        totals[p.net.currency] = totals.get(p.net.currency, 0) + p.net.minor
    assert totals == {"HKD": 0, "MOP": 0, "CNY": 0}
    nets = {(p.participant_id, p.net.currency): p.net.minor for p in report.positions}
    assert nets[("HKBANK", "HKD")] == 125_050  # it pays in what it sent
    assert nets[("REGISTRY", "CNY")] < 0  # the fee collector receives
    (opened,) = await settlement.list_windows(app.deps, [WindowState.OPEN])
    assert opened.settlement_window_id != window
    with pytest.raises(FailedPrecondition) as caught:
        await settlement.close_window(app.deps, window)
    assert caught.value.reason == "WINDOW_CLOSED"


async def test_settling_a_window_brings_positions_back_and_keeps_the_ledger_balanced(app: Payments) -> None:
    window = await run_some_transfers(app)
    with pytest.raises(FailedPrecondition):
        await settlement.settle_window(app.deps, window)  # still open
    await settlement.close_window(app.deps, window)
    report = await settlement.settle_window(app.deps, window)
    assert report.window.state is WindowState.SETTLED
    (hk,) = await participants.positions(app.deps, "HKBANK")
    assert hk.position.minor == 0 and hk.reserved == hkd("10.00")  # t3 is still reserved
    result = await audit.audit(app.deps)
    assert result.breaches == [] and result.committed == 3


async def test_a_transfer_committed_after_the_close_goes_into_the_next_window(app: Payments) -> None:
    window = await run_some_transfers(app)
    await settlement.close_window(app.deps, window)
    committed = await complete.commit_transfer(app.deps, "t3")
    assert committed.settlement_window_id not in ("", window)


async def test_audit_passes_on_a_consistent_ledger(app: Payments) -> None:
    await run_some_transfers(app)
    result = await audit.audit(app.deps)
    assert result.ok and result.transfers == 5 and result.postings == 9


async def tamper(app: Payments, statement: sa.Executable) -> list[str]:
    async with app.deps.db.transaction() as session:
        await session.execute(statement)
    return (await audit.audit(app.deps)).breaches


async def test_audit_catches_a_stored_balance_that_differs_from_its_postings(app: Payments) -> None:
    await run_some_transfers(app)
    a = accounts.c
    breaches = await tamper(
        app, sa.update(accounts).where(a.account_id == "FX:CNY").values(debits_posted=a.debits_posted + 1)
    )
    assert any("FX:CNY" in b and "postings sum" in b for b in breaches)
    assert any(b.startswith("CNY: debits") for b in breaches)


async def test_audit_catches_a_committed_transfer_with_a_missing_posting(app: Payments) -> None:
    await run_some_transfers(app)
    p = postings.c
    breaches = await tamper(app, sa.delete(postings).where(p.journal_id == "t1", p.leg == 1))
    assert any("transfer t1" in b for b in breaches)


async def test_audit_catches_postings_for_a_transfer_that_was_not_committed(app: Payments) -> None:
    await run_some_transfers(app)
    breaches = await tamper(app, sa.update(transfers).where(transfers.c.transfer_id == "t0").values(state="ABORTED"))
    assert any("transfer t0: ABORTED but has" in b for b in breaches)


async def test_audit_catches_an_account_beyond_its_cap(app: Payments) -> None:
    await run_some_transfers(app)
    a = accounts.c
    breaches = await tamper(app, sa.update(accounts).where(a.account_id == "POS:HKBANK:HKD").values(net_debit_cap=1))
    assert any("beyond its cap" in b for b in breaches)


async def test_audit_catches_a_reservation_that_no_transfer_holds(app: Payments) -> None:
    await run_some_transfers(app)
    a = accounts.c
    breaches = await tamper(
        app, sa.update(accounts).where(a.account_id == "POS:HKBANK:HKD").values(debits_pending=a.debits_pending + 7)
    )
    assert any("pending" in b for b in breaches)


@pytest.mark.parametrize("group_commit", [True, False], ids=["batch", "one-by-one"])
async def test_a_commit_with_no_window_open_opens_one_the_same_way_on_either_path(
    tmp_path, clock, group_commit: bool
) -> None:  # type: ignore[no-untyped-def]
    from services.payments.adapters.tables import windows
    from tests.unit.payments.conftest import make_app

    app = await make_app(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", clock, group_commit=group_commit)
    try:
        async with app.deps.db.begin() as conn:  # none open yet: as before a first commit ever
            await conn.execute(sa.delete(windows))
        q = await quote(app, "q1", hkd("10.00"))
        await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
        committed = await complete.commit_transfer(app.deps, "t1")
        (opened,) = await settlement.list_windows(app.deps, [WindowState.OPEN, WindowState.CLOSED])
        assert opened.settlement_window_id == committed.settlement_window_id
        assert opened.settlement_window_id.startswith("sw-")
        assert (opened.state, opened.opened_at, opened.closed_at, opened.reason) == (
            WindowState.OPEN, clock(), None, "opened on first commit"
        )  # fmt: skip
        assert (app.deps.group is not None) == group_commit  # the path under test was the one taken
    finally:
        await app.deps.db.dispose()
