"""Participants, rates and settlement windows in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.payments.adapters.rows import participant_from, rate_from, window_from, window_values
from services.payments.adapters.tables import (
    accounts,
    participants,
    postings,
    rates,
    transfers,
    window_positions,
    windows,
)
from services.payments.domain.ledger import owner_of
from services.payments.domain.money import Money
from services.payments.domain.participants import Participant
from services.payments.domain.pricing import Rate
from services.payments.domain.settlement import NetPosition, SettlementWindow, WindowState

_p = participants.c
_r = rates.c
_w = windows.c


async def get_participants(conn: AsyncConnection, ids: Sequence[str] = ()) -> dict[str, Participant]:
    query = sa.select(participants).order_by(_p.participant_id)
    if ids:
        query = query.where(_p.participant_id.in_(list(ids)))
    return {r.participant_id: participant_from(r) for r in await conn.execute(query)}


async def add_participant(conn: AsyncConnection, p: Participant) -> None:
    await conn.execute(
        sa.insert(participants).values(
            participant_id=p.participant_id,
            name_en=p.name_en,
            name_zh_hant=p.name_zh_hant,
            name_zh_hans=p.name_zh_hans,
            name_pt=p.name_pt,
            jurisdiction=p.jurisdiction.value,
            kind=p.kind.value,
            bic=p.bic,
            currencies=",".join(p.currencies),
            active=p.active,
            created_at=p.created_at,
        )
    )


async def set_active(conn: AsyncConnection, participant_id: str, active: bool) -> None:
    await conn.execute(sa.update(participants).where(_p.participant_id == participant_id).values(active=active))


async def set_cap(conn: AsyncConnection, account_id: str, cap: int) -> bool:
    """Set a cap no lower than what the account already owes and has reserved."""
    a = accounts.c
    result = await conn.execute(
        sa.update(accounts)
        .where(a.account_id == account_id)
        .where(a.debits_posted - a.credits_posted + a.debits_pending <= cap)
        .values(net_debit_cap=cap)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def add_rate(conn: AsyncConnection, rate: Rate, now: datetime) -> None:
    await conn.execute(
        sa.insert(rates).values(
            source_currency=rate.source_currency,
            target_currency=rate.target_currency,
            mid=str(rate.mid),
            valid_from=rate.valid_from,
            valid_until=rate.valid_until,
            spread_bps=rate.spread_bps,
            fee_fixed_minor=rate.fee_fixed_minor,
            fee_bps=rate.fee_bps,
            created_at=now,
        )
    )


async def rate_at(conn: AsyncConnection, source: str, target: str, when: datetime) -> Rate | None:
    """The newest rate for the pair that took effect by ``when`` and has not lapsed."""
    query = (
        sa.select(rates)
        .where(_r.source_currency == source, _r.target_currency == target, _r.valid_from <= when)
        .where(sa.or_(_r.valid_until.is_(None), _r.valid_until > when))
        .order_by(_r.valid_from.desc(), _r.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return rate_from(row) if row else None


async def list_rates(conn: AsyncConnection) -> list[Rate]:
    query = sa.select(rates).order_by(_r.source_currency, _r.target_currency, _r.valid_from)
    return [rate_from(r) for r in await conn.execute(query)]


# -- settlement windows ------------------------------------------------------------------


async def open_window(conn: AsyncConnection, *, share_lock: bool = False) -> SettlementWindow | None:
    query = sa.select(windows).where(_w.state == WindowState.OPEN.value)
    if share_lock:  # PostgreSQL: a close waits for commits that are posting into the window
        query = query.with_for_update(read=True)
    row = (await conn.execute(query)).first()
    return window_from(row) if row else None


async def get_window(conn: AsyncConnection, window_id: str, *, for_update: bool = False) -> SettlementWindow | None:
    query = sa.select(windows).where(_w.settlement_window_id == window_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return window_from(row) if row else None


async def list_windows(conn: AsyncConnection, states: Sequence[WindowState], limit: int) -> list[SettlementWindow]:
    query = sa.select(windows).order_by(_w.opened_at.desc()).limit(limit)
    if states:
        query = query.where(_w.state.in_([s.value for s in states]))
    return [window_from(r) for r in await conn.execute(query)]


async def add_window(conn: AsyncConnection, window: SettlementWindow) -> None:
    await conn.execute(sa.insert(windows).values(window_values(window)))


async def update_window(conn: AsyncConnection, window: SettlementWindow, expected: WindowState) -> bool:
    result = await conn.execute(
        sa.update(windows)
        .where(_w.settlement_window_id == window.settlement_window_id, _w.state == expected.value)
        .values(
            state=window.state.value, closed_at=window.closed_at, settled_at=window.settled_at, reason=window.reason
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def compute_net_positions(conn: AsyncConnection, window_id: str) -> list[NetPosition]:
    """Each account's net debit over the window's committed postings, from the ledger itself."""
    pc = postings.c
    in_window = sa.and_(pc.settlement_window_id == window_id, pc.journal_kind == "COMMIT")
    debit = sa.select(
        pc.debit_account.label("account"), pc.currency, pc.amount_minor.label("amount"), pc.journal_id
    ).where(in_window)
    credit = sa.select(
        pc.credit_account.label("account"), pc.currency, (-pc.amount_minor).label("amount"), pc.journal_id
    ).where(in_window)
    legs = sa.union_all(debit, credit).subquery()
    query = (
        sa.select(
            legs.c.account,
            legs.c.currency,
            sa.func.sum(legs.c.amount).label("net"),
            sa.func.count(sa.distinct(legs.c.journal_id)).label("transfers"),
        )
        .group_by(legs.c.account, legs.c.currency)
        .order_by(legs.c.account)
    )
    return [
        NetPosition(owner_of(r.account), r.account, Money(r.currency, int(r.net)), int(r.transfers))
        for r in await conn.execute(query)
    ]


async def save_net_positions(conn: AsyncConnection, window_id: str, nets: list[NetPosition]) -> None:
    if nets:
        await conn.execute(
            sa.insert(window_positions),
            [
                {
                    "settlement_window_id": window_id,
                    "account_id": n.account_id,
                    "participant_id": n.participant_id,
                    "currency": n.net.currency,
                    "net_minor": n.net.minor,
                    "transfer_count": n.transfer_count,
                }
                for n in nets
            ],
        )


async def saved_net_positions(conn: AsyncConnection, window_id: str) -> list[NetPosition]:
    wp = window_positions.c
    query = sa.select(window_positions).where(wp.settlement_window_id == window_id).order_by(wp.account_id)
    return [
        NetPosition(r.participant_id, r.account_id, Money(r.currency, r.net_minor), r.transfer_count)
        for r in await conn.execute(query)
    ]


async def committed_count(conn: AsyncConnection, window_id: str) -> int:
    """How many transfers committed into the window."""
    t = transfers.c
    query = sa.select(sa.func.count()).where(t.settlement_window_id == window_id, t.state == "COMMITTED")
    return int((await conn.execute(query)).scalar_one())
