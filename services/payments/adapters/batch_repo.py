"""Set-at-a-time reads and writes for a group-committed batch of transfers, as direct program steps
(and the expiry sweeper's read of what is due). Kept in one module although over 300 lines: every
statement a batch runs is here, beside the one place that picks each database's way of writing.

Each function here is a step of a direct program (``baylink.runtime.direct``):
``result = yield from step(...)``; the group committer runs the whole batch as
one program, one transaction on the driver's own connection. A batch reads
every row it needs in one SELECT per table. It writes (``save_prepared``,
``save_committed``) on SQLite in one statement or executemany per table, on
PostgreSQL in one call of a function of the schema (migration payments_0002)
that takes all the rows. Rows whose
values the batch checks in memory (quotes, accounts against their caps,
per-payer usage) are read ``FOR UPDATE`` on PostgreSQL, so no other transaction
changes them before the batch commits; SQLite has one writer (the clause is not
rendered there). Writes that could still meet a concurrent change (a quote
claimed, a transfer finished by someone else) carry their guard in the
statement, and callers compare the row count with what they expected.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from baylink.runtime.direct import Program, Reads, Statement, execute, execute_many, fetch, fetch_all, insert
from services.payments.adapters.ledger_repo import balance_from, posting_rows
from services.payments.adapters.rows import participant_from, transfer_from, transfer_values, window_values
from services.payments.adapters.tables import accounts, participants, payer_usage, postings, quotes, transfers, windows
from services.payments.domain.acceptance import QuoteTerms
from services.payments.domain.ledger import Posting
from services.payments.domain.limits import Usage
from services.payments.domain.money import Money
from services.payments.domain.participants import Balance, Participant
from services.payments.domain.settlement import SettlementWindow, WindowState
from services.payments.domain.transfer import Transfer, TransferState

_t, _q, _a, _u, _p, _w = transfers.c, quotes.c, accounts.c, payer_usage.c, participants.c, windows.c
UsageKey = tuple[str, str]  # (payer pseudonym, corridor)


def _ids(column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return column.in_(sa.bindparam("ids", expanding=True))


_TRANSFERS = Statement(sa.select(transfers).where(_ids(_t.transfer_id)))
_TRANSFER_IDS = Statement(sa.select(_t.transfer_id).where(_ids(_t.transfer_id)))
# Only what a prepare checks a quote for: each datetime column read costs a parse per row.
_QUOTE_TERMS = Statement(
    sa.select(
        _q.quote_id, _q.payer_id, _q.payee_id, _q.send_currency, _q.send_minor, _q.receive_currency,
        _q.receive_minor, _q.fee_minor, _q.customer_rate, _q.expires_at, _q.transfer_id,
    )
    .where(_ids(_q.quote_id))
    .order_by(_q.quote_id)
    .with_for_update()
)  # fmt: skip
_PARTICIPANTS = Statement(sa.select(participants).where(_ids(_p.participant_id)))
_CLAIM_QUOTE = Statement(
    sa.update(quotes)
    .where(_q.quote_id == sa.bindparam("b_quote"), _q.transfer_id.is_(None))
    .values(transfer_id=sa.bindparam("b_transfer"))
)
_ACCOUNTS = Statement(sa.select(accounts).where(_ids(_a.account_id)).order_by(_a.account_id).with_for_update())
_USAGE = Statement(
    sa.select(payer_usage).where(_ids(_u.payer_pseudonym)).order_by(_u.payer_pseudonym, _u.corridor).with_for_update()
)
_USAGE_COLUMNS = ("day_key", "day_minor", "day_count", "year_key", "year_minor", "bucket_key", "bucket_count")
_SET_USAGE = Statement(
    sa.update(payer_usage)
    .where(_u.payer_pseudonym == sa.bindparam("b_payer_pseudonym"), _u.corridor == sa.bindparam("b_corridor"))
    .values({c: sa.bindparam(f"b_{c}") for c in _USAGE_COLUMNS})
)
_ADD_USAGE = insert(payer_usage)
_CHANGE_BALANCE = Statement(
    sa.update(accounts)
    .where(_a.account_id == sa.bindparam("b_account"))
    .values(
        debits_posted=_a.debits_posted + sa.bindparam("b_debit"),
        credits_posted=_a.credits_posted + sa.bindparam("b_credit"),
        debits_pending=_a.debits_pending + sa.bindparam("b_pending"),
    )
)
_COMMIT = Statement(
    sa.update(transfers)
    .where(
        _ids(_t.transfer_id),
        _t.state == TransferState.RESERVED.value,
        _t.expires_at > sa.bindparam("now", type_=transfers.c.expires_at.type),
    )
    .values(
        state=TransferState.COMMITTED.value,
        completed_at=sa.bindparam("now", type_=transfers.c.completed_at.type),
        settlement_window_id=sa.bindparam("window_id"),
    )
    .returning(_t.transfer_id)
)
# The expiry sweeper's read: reserved transfers past their deadline, soonest first.
_DUE = Statement(
    sa.select(transfers)
    .where(_t.state == TransferState.RESERVED.value, _t.expires_at <= sa.bindparam("now", type_=_t.expires_at.type))
    .order_by(_t.expires_at)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_ADD_TRANSFERS = insert(transfers)
_ADD_POSTINGS = insert(postings)
# Share-locked on PostgreSQL: a close waits for the commits posting into the window.
_OPEN_WINDOW = Statement(
    sa.select(_w.settlement_window_id).where(_w.state == WindowState.OPEN.value).with_for_update(read=True)
)
_ADD_WINDOW = insert(windows)
# PostgreSQL: a batch's writes, one call each (migration payments_0002), the rows as JSON.
_PREPARE_WRITES = Statement(
    sa.text(
        "SELECT pay_prepare_writes(CAST(:claims AS json), CAST(:usage_new AS json), CAST(:usage_changed AS json), "
        "CAST(:balances AS json), CAST(:transfers AS json))"
    )
)
_COMMIT_WRITES = Statement(sa.text("SELECT pay_commit_writes(CAST(:postings AS json), CAST(:balances AS json))"))


class BatchConflict(Exception):
    """A guarded write met a change made outside the batch: the batch rolls back, every request goes one by one."""


def transfers_by_id(ids: Collection[str]) -> Program[dict[str, Transfer]]:
    if not ids:
        return {}
    rows = yield fetch(_TRANSFERS, ids=list(ids))
    return {r.transfer_id: transfer_from(r) for r in rows}


def due_for_expiry(now: datetime, limit: int) -> Program[list[Transfer]]:
    """Up to ``limit`` reserved transfers whose deadline is ``now`` or earlier, soonest first."""
    rows = yield fetch(_DUE, now=now, limit=limit)
    return [transfer_from(r) for r in rows]


@dataclass(frozen=True, slots=True)
class PrepareReads:
    """What a batch of prepares reads before deciding (``prepare_reads``)."""

    existing: set[str]  # transfer ids the table already holds
    quotes: dict[str, QuoteTerms]
    participants: dict[str, Participant]
    usage: dict[UsageKey, Usage]  # the payers' counters, where they have any
    balances: dict[str, Balance]  # by account id


_PREPARE_READS = Reads(_TRANSFER_IDS, _QUOTE_TERMS, _PARTICIPANTS, _USAGE, _ACCOUNTS)


def prepare_reads(
    transfer_ids: Collection[str],
    quote_ids: Collection[str],
    participant_ids: Collection[str],
    usage_keys: Collection[UsageKey],
    account_ids: Collection[str],
) -> Program[PrepareReads]:
    """Everything a batch of prepares needs, read together (one round trip on PostgreSQL): which of
    ``transfer_ids`` exist, the quotes' terms, the participants, the payers' usage and the
    accounts' balances; quotes, usage and accounts locked on PostgreSQL (in that order)."""
    params = [
        {"ids": sorted(transfer_ids)},
        {"ids": sorted(quote_ids)},
        {"ids": sorted(participant_ids)},
        {"ids": sorted({k[0] for k in usage_keys})},
        {"ids": sorted(account_ids)},
    ]
    transfer_rows, quote_rows, participant_rows, usage_rows, account_rows = yield fetch_all(_PREPARE_READS, params)
    quotes_found = {
        r.quote_id: QuoteTerms(
            r.quote_id, r.payer_id, r.payee_id, Money(r.send_currency, r.send_minor),
            Money(r.receive_currency, r.receive_minor), Money(r.send_currency, r.fee_minor), r.customer_rate,
            r.expires_at, r.transfer_id,
        )
        for r in quote_rows
    }  # fmt: skip
    usage: dict[UsageKey, Usage] = {}
    for r in usage_rows:
        key = (r.payer_pseudonym, r.corridor)
        if key in usage_keys:
            usage[key] = Usage(
                r.day_key, r.day_minor, r.day_count, r.year_key, r.year_minor, r.bucket_key, r.bucket_count
            )
    return PrepareReads(
        {r.transfer_id for r in transfer_rows},
        quotes_found,
        {r.participant_id: participant_from(r) for r in participant_rows},
        usage,
        {r.account_id: balance_from(r) for r in account_rows},
    )


def save_prepared(
    postgres: bool,
    claims: dict[str, str],
    new_usage: dict[UsageKey, Usage],
    changed_usage: dict[UsageKey, Usage],
    reserved: dict[str, int],
    accepted: list[Transfer],
) -> Program[None]:
    """What a batch of prepares decided: each quote of ``claims`` bound to its transfer (only
    while free: one claimed meanwhile raises ``BatchConflict`` on SQLite, fails the call on
    PostgreSQL), the payers' usage (``save_usage``), ``reserved`` added to each account's pending
    debits, and the ``accepted`` transfers. On PostgreSQL one call of ``pay_prepare_writes``;
    on SQLite a statement (or executemany) per table, in one round trip to its thread anyway."""
    claim_rows = [{"quote_id": q, "transfer_id": t} for q, t in sorted(claims.items())]
    balances = {a: (0, 0, amount) for a, amount in reserved.items()}
    if postgres:
        yield execute(
            _PREPARE_WRITES,
            claims=_json(claim_rows),
            usage_new=_json([_usage_values(k, u) for k, u in sorted(new_usage.items())]),
            usage_changed=_json([_usage_values(k, u) for k, u in sorted(changed_usage.items())]),
            balances=_json(_balance_rows(balances)),
            transfers=_json([transfer_values(t) for t in accepted]),
        )
        return
    if claim_rows:
        params = [{"b_quote": c["quote_id"], "b_transfer": c["transfer_id"]} for c in claim_rows]
        if (yield execute_many(_CLAIM_QUOTE, params)) != len(params):
            raise BatchConflict("a quote was claimed outside the batch")
    yield from save_usage(new_usage, changed_usage)
    yield from change_balances(balances)
    yield execute_many(_ADD_TRANSFERS, [transfer_values(t) for t in accepted])


def save_committed(
    postgres: bool,
    journals: list[tuple[str, list[Posting]]],
    window_id: str,
    now: datetime,
    deltas: dict[str, tuple[int, int, int]],
) -> Program[None]:
    """What a batch of commits did: each transfer's postings (``journals``) in window
    ``window_id``, and the balances' ``deltas`` (``change_balances``). On PostgreSQL one call of
    ``pay_commit_writes``; on SQLite an executemany each."""
    rows = [row for journal, entries in journals for row in posting_rows("COMMIT", journal, entries, window_id, now)]
    if postgres:
        yield execute(_COMMIT_WRITES, postings=_json(rows), balances=_json(_balance_rows(deltas)))
        return
    yield execute_many(_ADD_POSTINGS, rows)
    yield from change_balances(deltas)


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_json_value, ensure_ascii=False, separators=(",", ":"))


def _json_value(value: object) -> str:
    """A timestamp for PostgreSQL's input (what ``UtcDateTime`` stores: aware, any zone)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    raise TypeError(f"not a column value: {type(value).__name__}")


def _balance_rows(deltas: dict[str, tuple[int, int, int]]) -> list[dict[str, Any]]:
    return [
        {"account_id": account, "debit": d, "credit": c, "pending": p} for account, (d, c, p) in sorted(deltas.items())
    ]


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


def save_usage(new: dict[UsageKey, Usage], changed: dict[UsageKey, Usage]) -> Program[None]:
    """Insert the payers' first rows (a concurrent first insert fails the batch) and update the others."""
    if new:
        yield execute_many(_ADD_USAGE, [_usage_values(k, u) for k, u in sorted(new.items())])
    if changed:
        params = [{f"b_{k}": v for k, v in _usage_values(key, u).items()} for key, u in sorted(changed.items())]
        yield execute_many(_SET_USAGE, params)


def change_balances(deltas: dict[str, tuple[int, int, int]]) -> Program[None]:
    """Add (debits posted, credits posted, debits pending) to each account, in account-id order."""
    if deltas:
        rows = [
            {"b_account": account, "b_debit": d, "b_credit": c, "b_pending": p}
            for account, (d, c, p) in sorted(deltas.items())
        ]
        yield execute_many(_CHANGE_BALANCE, rows)


def commit_reserved(ids: Collection[str], now: datetime, window_id: str) -> Program[list[str]]:
    """RESERVED → COMMITTED for every id not yet expired at ``now``, in one guarded UPDATE; returns
    the ids it committed: whatever it leaves out (unknown, final, expired) was not touched."""
    if not ids:
        return []
    rows = yield fetch(_COMMIT, ids=sorted(ids), now=now, window_id=window_id)
    return [r.transfer_id for r in rows]


def open_window_id(now: datetime, *, postgres: bool) -> Program[str]:
    """The open settlement window's id (share-locked on PostgreSQL, so a close waits for this
    transaction); opened here if there is none, as ``windows.current_window`` does."""
    for _ in range(2 if postgres else 1):  # on PostgreSQL a close that just committed has opened the next one
        rows = yield fetch(_OPEN_WINDOW)
        if rows:
            return str(rows[0].settlement_window_id)
    window = SettlementWindow.opened_by_commit(now)
    yield execute_many(_ADD_WINDOW, [window_values(window)])
    return window.settlement_window_id
