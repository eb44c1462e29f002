"""Set-at-a-time reads and writes for a group-committed batch of transfers.

A batch reads every row it needs in one SELECT per table and writes in one
statement (or one executemany) per table. Rows whose values the batch checks
in memory (accounts against their caps, per-payer usage) are read ``FOR
UPDATE`` on PostgreSQL, so no other transaction changes them before the batch
commits; SQLite has one writer. Writes that could still meet a concurrent
change (a quote claimed, a transfer finished by someone else) carry their
guard in the statement, and callers compare the row count with what they
expected.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.adapters.ledger_repo import posting_rows
from services.payments.adapters.rows import transfer_from, transfer_values
from services.payments.adapters.tables import accounts, payer_usage, postings, quotes, transfers
from services.payments.domain.ledger import Posting
from services.payments.domain.limits import Usage
from services.payments.domain.money import Money
from services.payments.domain.transfer import Transfer, TransferState

_t, _q, _a, _u = transfers.c, quotes.c, accounts.c, payer_usage.c
UsageKey = tuple[str, str]  # (payer pseudonym, corridor)

# Built once: constructing a statement costs more Python than the cached compile of a built one.
_TRANSFERS = sa.select(transfers).where(_t.transfer_id.in_(sa.bindparam("ids", expanding=True)))
# Only what a prepare checks a quote for: each datetime column read costs a parse per row.
_QUOTE_TERMS = (
    sa.select(
        _q.quote_id, _q.payer_id, _q.payee_id, _q.send_currency, _q.send_minor, _q.receive_currency,
        _q.receive_minor, _q.fee_minor, _q.customer_rate, _q.expires_at, _q.transfer_id,
    )
    .where(_q.quote_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_q.quote_id)
)  # fmt: skip
_CLAIM_QUOTE = (
    sa.update(quotes)
    .where(_q.quote_id == sa.bindparam("b_quote"), _q.transfer_id.is_(None))
    .values(transfer_id=sa.bindparam("b_transfer"))
)
_ACCOUNTS = sa.select(accounts).where(_a.account_id.in_(sa.bindparam("ids", expanding=True))).order_by(_a.account_id)
_USAGE = (
    sa.select(payer_usage)
    .where(_u.payer_pseudonym.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_u.payer_pseudonym, _u.corridor)
)
_USAGE_COLUMNS = ("day_key", "day_minor", "day_count", "year_key", "year_minor", "bucket_key", "bucket_count")
_SET_USAGE = (
    sa.update(payer_usage)
    .where(_u.payer_pseudonym == sa.bindparam("b_payer_pseudonym"), _u.corridor == sa.bindparam("b_corridor"))
    .values({c: sa.bindparam(f"b_{c}") for c in _USAGE_COLUMNS})
)
_CHANGE_BALANCE = (
    sa.update(accounts)
    .where(_a.account_id == sa.bindparam("b_account"))
    .values(
        debits_posted=_a.debits_posted + sa.bindparam("b_debit"),
        credits_posted=_a.credits_posted + sa.bindparam("b_credit"),
        debits_pending=_a.debits_pending + sa.bindparam("b_pending"),
    )
)
_COMMIT = (
    sa.update(transfers)
    .where(
        _t.transfer_id.in_(sa.bindparam("ids", expanding=True)),
        _t.state == TransferState.RESERVED.value,
        _t.expires_at > sa.bindparam("now", type_=transfers.c.expires_at.type),
    )
    .values(
        state=TransferState.COMMITTED.value,
        completed_at=sa.bindparam("now", type_=transfers.c.completed_at.type),
        settlement_window_id=sa.bindparam("window_id"),
    )
)
_COMMIT_RETURNING = _COMMIT.returning(_t.transfer_id)


async def transfers_by_id(session: AsyncSession, ids: Collection[str]) -> dict[str, Transfer]:
    if not ids:
        return {}
    result = await session.execute(_TRANSFERS, {"ids": list(ids)})
    return {r.transfer_id: transfer_from(r) for r in result}


@dataclass(frozen=True, slots=True)
class QuoteTerms:
    """What a quote fixes for the transfer that uses it."""

    quote_id: str
    payer_id: str
    payee_id: str
    send: Money
    receive: Money
    fee: Money
    customer_rate: str  # as stored: the str() of the quote's Decimal rate
    expires_at: datetime
    transfer_id: str | None


async def quote_terms_by_id(
    session: AsyncSession, ids: Collection[str], *, lock: bool = False
) -> dict[str, QuoteTerms]:
    if not ids:
        return {}
    query = _QUOTE_TERMS.with_for_update() if lock else _QUOTE_TERMS
    found = {}
    for r in await session.execute(query, {"ids": sorted(ids)}):
        found[r.quote_id] = QuoteTerms(
            r.quote_id, r.payer_id, r.payee_id, Money(r.send_currency, r.send_minor),
            Money(r.receive_currency, r.receive_minor), Money(r.send_currency, r.fee_minor), r.customer_rate,
            r.expires_at, r.transfer_id,
        )  # fmt: skip
    return found


async def accounts_by_id(session: AsyncSession, ids: Collection[str], *, lock: bool) -> dict[str, Any]:
    if not ids:
        return {}
    query = _ACCOUNTS.with_for_update() if lock else _ACCOUNTS
    return {r.account_id: r for r in await session.execute(query, {"ids": sorted(ids)})}


async def usage_by_key(session: AsyncSession, keys: Collection[UsageKey], *, lock: bool) -> dict[UsageKey, Usage]:
    if not keys:
        return {}
    query = _USAGE.with_for_update() if lock else _USAGE
    found = {}
    for r in await session.execute(query, {"ids": sorted({k[0] for k in keys})}):
        found[(r.payer_pseudonym, r.corridor)] = Usage(
            r.day_key, r.day_minor, r.day_count, r.year_key, r.year_minor, r.bucket_key, r.bucket_count
        )
    return {k: v for k, v in found.items() if k in keys}


async def add_transfers(session: AsyncSession, batch: Iterable[Transfer]) -> None:
    rows = [transfer_values(t) for t in batch]
    if rows:
        await session.execute(sa.insert(transfers), rows)


async def claim_quotes(session: AsyncSession, claims: dict[str, str]) -> int | None:
    """Bind each quote to its transfer (one executemany of a statement built once), only where still
    free; returns how many were claimed, or None where the driver cannot count an executemany
    (asyncpg: the batch read the quotes FOR UPDATE there, so none can have been claimed since)."""
    if not claims:
        return 0
    params = [{"b_quote": q, "b_transfer": t} for q, t in sorted(claims.items())]
    result = await session.execute(_CLAIM_QUOTE, params)
    if not session.dialect.supports_sane_multi_rowcount:
        return None
    return int(result.rowcount)  # type: ignore[attr-defined]


def _usage_values(key: UsageKey, u: Usage) -> dict[str, Any]:
    return {
        "payer_pseudonym": key[0],
        "corridor": key[1],
        "day_key": u.day_key,
        "day_minor": u.day_minor,
        "day_count": u.day_count,
        "year_key": u.year_key,
        "year_minor": u.year_minor,
        "bucket_key": u.bucket_key,
        "bucket_count": u.bucket_count,
    }


async def save_usage(session: AsyncSession, new: dict[UsageKey, Usage], changed: dict[UsageKey, Usage]) -> None:
    """Insert the payers' first rows (a concurrent first insert fails the batch) and update the others."""
    if new:
        await session.execute(sa.insert(payer_usage), [_usage_values(k, u) for k, u in sorted(new.items())])
    if changed:
        params = [{f"b_{k}": v for k, v in _usage_values(key, u).items()} for key, u in sorted(changed.items())]
        await session.execute(_SET_USAGE, params)


async def change_balances(session: AsyncSession, deltas: dict[str, tuple[int, int, int]]) -> None:
    """Add (debits posted, credits posted, debits pending) to each account, in account-id order."""
    if not deltas:
        return
    await session.execute(
        _CHANGE_BALANCE,
        [
            {"b_account": account, "b_debit": d, "b_credit": c, "b_pending": p}
            for account, (d, c, p) in sorted(deltas.items())
        ],
    )


async def commit_reserved(session: AsyncSession, ids: Collection[str], now: datetime, window_id: str) -> list[str]:
    """RESERVED → COMMITTED for every id not yet expired at ``now``, in one guarded UPDATE; returns
    the ids it committed: whatever it leaves out (unknown, final, expired) was not touched."""
    if not ids:
        return []
    result = await session.execute(_COMMIT_RETURNING, {"ids": sorted(ids), "now": now, "window_id": window_id})
    return list(result.scalars())


async def add_postings(
    session: AsyncSession, journals: Iterable[tuple[str, list[Posting]]], window_id: str, now: datetime
) -> None:
    rows = [row for journal, entries in journals for row in posting_rows("COMMIT", journal, entries, window_id, now)]
    if rows:
        await session.execute(sa.insert(postings), rows)
