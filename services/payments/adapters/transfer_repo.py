"""Transfers and quotes in the database. State changes are guarded by the state they leave."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.payments.adapters.rows import quote_from, quote_values, transfer_from, transfer_values
from services.payments.adapters.tables import quotes, transfers
from services.payments.domain.pricing import Quote
from services.payments.domain.transfer import Transfer, TransferState
from services.payments.service_layer.ports import TransferFilter

_t = transfers.c
_q = quotes.c


async def get_transfer(conn: AsyncConnection, transfer_id: str) -> Transfer | None:
    row = (await conn.execute(sa.select(transfers).where(_t.transfer_id == transfer_id))).first()
    return transfer_from(row) if row else None


async def add_transfer(conn: AsyncConnection, transfer: Transfer) -> None:
    await conn.execute(sa.insert(transfers).values(**transfer_values(transfer)))


async def finish(conn: AsyncConnection, before: Transfer, after: Transfer, *, now: datetime | None = None) -> bool:
    """Move a RESERVED transfer to its final state; False if someone else moved it first.

    With ``now`` the change also requires the transfer not to have expired by then
    (a commit), so a commit and the expiry sweep can never both win.
    """
    query = (
        sa.update(transfers)
        .where(_t.transfer_id == before.transfer_id, _t.state == TransferState.RESERVED.value)
        .values(
            state=after.state.value,
            completed_at=after.completed_at,
            abort_code=after.abort_code,
            abort_reason=after.abort_reason,
            settlement_window_id=after.settlement_window_id,
        )
    )
    if now is not None:
        query = query.where(_t.expires_at > now)
    return bool((await conn.execute(query)).rowcount)  # type: ignore[attr-defined]


async def list_transfers(
    conn: AsyncConnection, f: TransferFilter, after: tuple[datetime, str] | None, limit: int
) -> list[Transfer]:
    """Oldest first, keyset-paged on (created_at, transfer_id)."""
    query = sa.select(transfers)
    if f.participant_id:
        query = query.where(sa.or_(_t.payer_id == f.participant_id, _t.payee_id == f.participant_id))
    if f.states:
        query = query.where(_t.state.in_([s.value for s in f.states]))
    if f.reference:
        query = query.where(_t.reference == f.reference)
    if f.created_after:
        query = query.where(_t.created_at >= f.created_after)
    if f.created_before:
        query = query.where(_t.created_at < f.created_before)
    if after is not None:
        created, last_id = after
        query = query.where(
            sa.or_(_t.created_at > created, sa.and_(_t.created_at == created, _t.transfer_id > last_id))
        )
    query = query.order_by(_t.created_at, _t.transfer_id).limit(limit)
    return [transfer_from(r) for r in await conn.execute(query)]


async def get_quote(conn: AsyncConnection, quote_id: str) -> Quote | None:
    row = (await conn.execute(sa.select(quotes).where(_q.quote_id == quote_id))).first()
    return quote_from(row) if row else None


async def add_quote(conn: AsyncConnection, quote: Quote) -> None:
    await conn.execute(sa.insert(quotes).values(**quote_values(quote)))


async def claim_quote(conn: AsyncConnection, quote_id: str, transfer_id: str) -> bool:
    """Bind a quote to the transfer it pays for; a quote serves exactly one transfer. The
    concurrency guard for the quote rule in ``domain.acceptance`` (a quote not yet claimed)."""
    result = await conn.execute(
        sa.update(quotes).where(_q.quote_id == quote_id, _q.transfer_id.is_(None)).values(transfer_id=transfer_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
