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

from baylink.errors import FailedPrecondition, NotFound, PreconditionViolation
from services.payments.domain.events import SettlementWindowClosed
from services.payments.domain.ledger import settlement_postings
from services.payments.domain.settlement import SettlementReport, SettlementWindow, WindowState
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork


async def open_window(deps: Deps, reason: str = "") -> SettlementWindow:
    now = deps.clock()
    async with deps.uow() as uow:
        current = await uow.windows.open_window()
        if current is not None:
            raise FailedPrecondition(
                f"settlement window {current.settlement_window_id} is already open",
                [PreconditionViolation("STATE", f"settlement_window/{current.settlement_window_id}", "OPEN")],
                reason="WINDOW_ALREADY_OPEN",
            )
        window = SettlementWindow(f"sw-{uuid.uuid4()}", WindowState.OPEN, now, reason=reason[:500])
        await uow.windows.add(window)
    return window


async def ensure_open_window(deps: Deps) -> None:
    """At start-up: make sure commits have a window to go into."""
    async with deps.read() as repos:
        if await repos.windows.open_window() is not None:
            return
    with contextlib.suppress(FailedPrecondition):  # another replica opened it first
        await open_window(deps, "opened at start-up")


async def close_window(deps: Deps, window_id: str, reason: str = "") -> SettlementReport:
    now = deps.clock()
    async with deps.uow() as uow:
        window = await _window(uow, window_id, deps.postgres)
        window.require(WindowState.OPEN, "close")
        closed = replace(window, state=WindowState.CLOSED, closed_at=now, reason=reason[:500] or "closed")
        await uow.windows.update(closed, WindowState.OPEN)
        next_window = SettlementWindow(f"sw-{uuid.uuid4()}", WindowState.OPEN, now, reason=f"after {window_id}")
        await uow.windows.add(next_window)
        nets = await uow.windows.compute_net_positions(window_id)
        await uow.windows.save_net_positions(window_id, nets)
        report = SettlementReport(closed, tuple(nets), await uow.windows.committed_count(window_id))
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
        nets = await uow.windows.saved_net_positions(window_id)
        postings = settlement_postings({n.account_id: n.net for n in nets})
        if postings:
            await uow.ledger.post(
                postings, journal_kind="SETTLEMENT", journal_id=window_id, window_id=window_id, now=now
            )
        settled = replace(window, state=WindowState.SETTLED, settled_at=now)
        await uow.windows.update(settled, WindowState.CLOSED)
        return SettlementReport(settled, tuple(nets), await uow.windows.committed_count(window_id))


async def report(deps: Deps, window_id: str) -> SettlementReport:
    """A closed window's fixed report, or an open one's provisional figures."""
    async with deps.read() as repos:
        window = await repos.windows.get(window_id)
        if window is None:
            raise NotFound("settlement_window", window_id)
        if window.state is WindowState.OPEN:
            nets = await repos.windows.compute_net_positions(window_id)
        else:
            nets = await repos.windows.saved_net_positions(window_id)
        count = await repos.windows.committed_count(window_id)
    return SettlementReport(window, tuple(nets), count)


async def list_windows(deps: Deps, states: Sequence[WindowState] = (), limit: int = 50) -> list[SettlementWindow]:
    async with deps.read() as repos:
        return await repos.windows.page(states, limit)


async def _window(uow: UnitOfWork, window_id: str, lock: bool) -> SettlementWindow:
    window = await uow.windows.get(window_id, for_update=lock)
    if window is None:
        raise NotFound("settlement_window", window_id)
    return window
