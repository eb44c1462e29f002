"""Use cases: settlement windows OPEN → CLOSED → SETTLED, and their reports.

Closing a window fixes each account's multilateral net over the window's
committed postings (participants, plus the scheme's FX and fee accounts, so
that every currency nets to zero) and opens the next window in the same
transaction, so commits always have a window to go into. Settling posts each
net against the settlement account: participants' positions come down by what
they paid in (or up by what they received) outside the link.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa

from baylink.errors import FailedPrecondition, NotFound, PreconditionViolation
from services.payments.adapters import admin_repo, ledger_repo
from services.payments.adapters.tables import transfers
from services.payments.domain.events import SettlementWindowClosed
from services.payments.domain.ledger import settlement_postings
from services.payments.domain.settlement import SettlementReport, SettlementWindow, WindowState
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork


async def open_window(deps: Deps, reason: str = "") -> SettlementWindow:
    now = deps.clock()
    async with deps.uow() as uow:
        current = await admin_repo.open_window(uow.session)
        if current is not None:
            raise FailedPrecondition(
                f"settlement window {current.settlement_window_id} is already open",
                [PreconditionViolation("STATE", f"settlement_window/{current.settlement_window_id}", "OPEN")],
                reason="WINDOW_ALREADY_OPEN",
            )
        window = SettlementWindow(f"sw-{uuid.uuid4()}", WindowState.OPEN, now, reason=reason[:500])
        await admin_repo.add_window(uow.session, window)
    return window


async def ensure_open_window(deps: Deps) -> None:
    """At start-up: make sure commits have a window to go into."""
    async with deps.read() as session:
        if await admin_repo.open_window(session) is not None:
            return
    with contextlib.suppress(FailedPrecondition):  # another replica opened it first
        await open_window(deps, "opened at start-up")


async def close_window(deps: Deps, window_id: str, reason: str = "") -> SettlementReport:
    now = deps.clock()
    async with deps.uow() as uow:
        window = await _window(uow, window_id, deps.postgres)
        window.require(WindowState.OPEN, "close")
        closed = replace(window, state=WindowState.CLOSED, closed_at=now, reason=reason[:500] or "closed")
        await admin_repo.update_window(uow.session, closed, WindowState.OPEN)
        next_window = SettlementWindow(f"sw-{uuid.uuid4()}", WindowState.OPEN, now, reason=f"after {window_id}")
        await admin_repo.add_window(uow.session, next_window)
        nets = await admin_repo.compute_net_positions(uow.session, window_id)
        await admin_repo.save_net_positions(uow.session, window_id, nets)
        report = SettlementReport(closed, tuple(nets), await _committed_count(uow, window_id))
        report.check_balanced()
        uow.record(
            SettlementWindowClosed(
                closed, report.transfer_count, tuple((n.participant_id, n.net) for n in nets if n.net.minor)
            )
        )
    return report


async def settle_window(deps: Deps, window_id: str) -> SettlementReport:
    now = deps.clock()
    async with deps.uow() as uow:
        window = await _window(uow, window_id, deps.postgres)
        window.require(WindowState.CLOSED, "settle")
        nets = await admin_repo.saved_net_positions(uow.session, window_id)
        postings = settlement_postings({n.account_id: n.net for n in nets})
        if postings:
            await ledger_repo.post(
                uow.session, postings, journal_kind="SETTLEMENT", journal_id=window_id, window_id=window_id, now=now
            )
        settled = replace(window, state=WindowState.SETTLED, settled_at=now)
        await admin_repo.update_window(uow.session, settled, WindowState.CLOSED)
        return SettlementReport(settled, tuple(nets), await _committed_count(uow, window_id))


async def report(deps: Deps, window_id: str) -> SettlementReport:
    """A closed window's fixed report, or an open one's provisional figures."""
    async with deps.read() as session:
        window = await admin_repo.get_window(session, window_id)
        if window is None:
            raise NotFound("settlement_window", window_id)
        if window.state is WindowState.OPEN:
            nets = await admin_repo.compute_net_positions(session, window_id)
        else:
            nets = await admin_repo.saved_net_positions(session, window_id)
        count = await _count(session, window_id)
    return SettlementReport(window, tuple(nets), count)


async def list_windows(deps: Deps, states: Sequence[WindowState] = (), limit: int = 50) -> list[SettlementWindow]:
    async with deps.read() as session:
        return await admin_repo.list_windows(session, states, limit)


async def _window(uow: UnitOfWork, window_id: str, lock: bool) -> SettlementWindow:
    window = await admin_repo.get_window(uow.session, window_id, for_update=lock)
    if window is None:
        raise NotFound("settlement_window", window_id)
    return window


async def _committed_count(uow: UnitOfWork, window_id: str) -> int:
    return await _count(uow.session, window_id)


async def _count(session: object, window_id: str) -> int:
    t = transfers.c
    query = sa.select(sa.func.count()).where(t.settlement_window_id == window_id, t.state == "COMMITTED")
    return int((await session.execute(query)).scalar_one())  # type: ignore[attr-defined]
