"""Accounts, postings and per-payer usage, with race-free conditional updates.

The rules themselves are decided in the domain (``domain/acceptance.py``); the
conditional updates here are their concurrency guard, not a second rule.
Reservations and usage are single conditional UPDATEs (``... WHERE balance +
amount <= cap``): the database checks and changes the row under its own row
lock (PostgreSQL re-evaluates the condition on the newest row version after a
concurrent update; SQLite has one writer), so concurrent prepares against one
payer can never overshoot its cap, and no SELECT … FOR UPDATE round trip is
needed. Balance updates go in account-id order, so two transactions never wait
on each other's rows in opposite orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.payments.adapters.tables import accounts, payer_usage, postings
from services.payments.domain.ledger import AccountKind, Posting
from services.payments.domain.limits import CorridorLimit, Usage, UsagePeriods
from services.payments.domain.participants import Balance

_a = accounts.c


async def ensure_account(
    conn: AsyncConnection,
    account_id: str,
    currency: str,
    kind: AccountKind,
    participant_id: str | None,
    cap: int | None,
) -> None:
    exists = await conn.execute(sa.select(_a.account_id).where(_a.account_id == account_id))
    if exists.first() is None:
        await conn.execute(
            sa.insert(accounts).values(
                account_id=account_id,
                participant_id=participant_id,
                currency=currency,
                kind=kind.value,
                debits_posted=0,
                credits_posted=0,
                debits_pending=0,
                net_debit_cap=cap,
            )
        )


async def get_account(conn: AsyncConnection, account_id: str, *, for_update: bool = False) -> Any:
    query = sa.select(accounts).where(_a.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def get_balance(conn: AsyncConnection, account_id: str) -> Balance | None:
    row = await get_account(conn, account_id)
    return balance_from(row) if row is not None else None


def balance_from(row: Any) -> Balance:
    return Balance(row.currency, row.debits_posted, row.credits_posted, row.debits_pending, row.net_debit_cap)


async def reserve(conn: AsyncConnection, account_id: str, amount: int) -> bool:
    """Add ``amount`` to the account's pending debits if position + reserved stays within its cap.

    The concurrency guard for the net debit cap rule (``domain.participants.available``, decided in
    ``domain.acceptance``): it re-checks the rule on the newest row, not a second rule."""
    result = await conn.execute(
        sa.update(accounts)
        .where(_a.account_id == account_id)
        .where(_a.net_debit_cap.is_not(None))
        .where(_a.debits_posted - _a.credits_posted + _a.debits_pending + amount <= _a.net_debit_cap)
        .values(debits_pending=_a.debits_pending + amount)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(conn: AsyncConnection, account_id: str, amount: int) -> None:
    await conn.execute(
        sa.update(accounts).where(_a.account_id == account_id).values(debits_pending=_a.debits_pending - amount)
    )


def posting_rows(
    journal_kind: str, journal_id: str, entries: Iterable[Posting], window_id: str, now: datetime
) -> list[dict[str, object]]:
    """The rows of one journal's postings, as the postings table takes them."""
    return [
        {
            "journal_kind": journal_kind,
            "journal_id": journal_id,
            "leg": p.leg,
            "debit_account": p.debit,
            "credit_account": p.credit,
            "currency": p.amount.currency,
            "amount_minor": p.amount.minor,
            "settlement_window_id": window_id,
            "posted_at": now,
        }
        for p in entries
    ]


async def post(
    conn: AsyncConnection,
    entries: list[Posting],
    *,
    journal_kind: str,
    journal_id: str,
    window_id: str,
    now: datetime,
    pending_release: tuple[str, int] | None = None,
) -> None:
    """Insert the postings and apply them to the accounts' stored balances, in one go."""
    await conn.execute(sa.insert(postings), posting_rows(journal_kind, journal_id, entries, window_id, now))
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # debit, credit, pending
    for p in entries:
        deltas[p.debit][0] += p.amount.minor
        deltas[p.credit][1] += p.amount.minor
    if pending_release is not None:
        deltas[pending_release[0]][2] -= pending_release[1]
    for account_id in sorted(deltas):
        debit, credit, pending = deltas[account_id]
        await conn.execute(
            sa.update(accounts)
            .where(_a.account_id == account_id)
            .values(
                debits_posted=_a.debits_posted + debit,
                credits_posted=_a.credits_posted + credit,
                debits_pending=_a.debits_pending + pending,
            )
        )


# -- per-payer usage ------------------------------------------------------------------

_u = payer_usage.c


def _current(key_col: sa.Column[Any], value_col: sa.Column[Any], key: str) -> Any:
    """The counter's value in the current period (a row from an older period counts as zero)."""
    return sa.case((key_col == key, value_col), else_=0)


async def take_usage(
    conn: AsyncConnection, pseudonym: str, corridor: str, periods: UsagePeriods, amount: int, limit: CorridorLimit
) -> bool:
    """Count one transfer of ``amount`` against the payer's limits; False if any would be exceeded.

    The concurrency guard for the limits rule (``domain.limits.Usage.taken``, decided in
    ``domain.acceptance``): it re-checks the rule on the newest row, not a second rule."""
    day = _current(_u.day_key, _u.day_minor, periods.day)
    day_count = _current(_u.day_key, _u.day_count, periods.day)
    year = _current(_u.year_key, _u.year_minor, periods.year)
    bucket = _current(_u.bucket_key, _u.bucket_count, periods.bucket)
    statement = (
        sa.update(payer_usage)
        .where(_u.payer_pseudonym == pseudonym, _u.corridor == corridor)
        .where(day + amount <= limit.daily_minor)
        .where(year + amount <= limit.yearly_minor)
        .where(day_count + 1 <= limit.max_per_day)
        .where(bucket + 1 <= limit.max_per_bucket)
        .values(
            day_minor=day + amount,
            day_count=day_count + 1,
            day_key=periods.day,
            year_minor=year + amount,
            year_key=periods.year,
            bucket_count=bucket + 1,
            bucket_key=periods.bucket,
        )
    )
    if (await conn.execute(statement)).rowcount:  # type: ignore[attr-defined]
        return True
    if await usage_row(conn, pseudonym, corridor) is not None:
        return False
    await _insert_empty_usage(conn, pseudonym, corridor, periods)
    return bool((await conn.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def _insert_empty_usage(conn: AsyncConnection, pseudonym: str, corridor: str, periods: UsagePeriods) -> None:
    values = {
        "payer_pseudonym": pseudonym,
        "corridor": corridor,
        "day_key": periods.day,
        "day_minor": 0,
        "day_count": 0,
        "year_key": periods.year,
        "year_minor": 0,
        "bucket_key": periods.bucket,
        "bucket_count": 0,
    }
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    await conn.execute(insert(payer_usage).values(**values).on_conflict_do_nothing())


async def usage_row(conn: AsyncConnection, pseudonym: str, corridor: str) -> Any:
    query = sa.select(payer_usage).where(_u.payer_pseudonym == pseudonym, _u.corridor == corridor)
    return (await conn.execute(query)).first()


async def get_usage(conn: AsyncConnection, pseudonym: str, corridor: str) -> Usage | None:
    """The payer's stored counters in the corridor, None if it has none yet."""
    r = await usage_row(conn, pseudonym, corridor)
    if r is None:
        return None
    return Usage(r.day_key, r.day_minor, r.day_count, r.year_key, r.year_minor, r.bucket_key, r.bucket_count)


async def give_back_usage(
    conn: AsyncConnection, pseudonym: str, corridor: str, day: str, year: str, amount: int
) -> None:
    """Return an aborted or expired transfer's amount to the periods it was counted in, if still current.

    Counts are not given back: velocity counts attempts, not only what went through.
    """
    await conn.execute(
        sa.update(payer_usage)
        .where(_u.payer_pseudonym == pseudonym, _u.corridor == corridor)
        .values(
            day_minor=sa.case((_u.day_key == day, _u.day_minor - amount), else_=_u.day_minor),
            year_minor=sa.case((_u.year_key == year, _u.year_minor - amount), else_=_u.year_minor),
        )
    )
