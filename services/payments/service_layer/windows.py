"""The open settlement window a commit posts into."""

from __future__ import annotations

from datetime import datetime

from services.payments.domain.settlement import SettlementWindow
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork


async def current_window(deps: Deps, uow: UnitOfWork, now: datetime) -> SettlementWindow:
    """The open settlement window (share-locked on PostgreSQL so a close waits for this commit)."""
    for _ in range(2):  # on PostgreSQL a close that just committed has opened the next one: look again
        window = await uow.windows.open_window(share_lock=deps.postgres)
        if window is not None:
            return window
    window = SettlementWindow.opened_by_commit(now)
    await uow.windows.add(window)
    return window
