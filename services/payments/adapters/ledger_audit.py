"""The ledger audit (``Store.audit``): recompute everything from postings and transfers, compare
with what is stored, reading the tables themselves.

Invariants checked (each breach is reported, none stops the others):

1. every posting's debit and credit accounts are in the posting's currency, so
   each posting balances per currency; and debits = credits per currency overall;
2. every account's stored debits and credits equal the sums of its postings, and
   its pending debits equal the send amounts of its RESERVED transfers;
3. no account is beyond its limit (position + reserved ≤ net debit cap) or has
   negative pending debits;
4. every COMMITTED transfer is posted exactly once, with exactly the legs its
   amounts require, in the window it names; no other transfer has postings;
5. the settlement accounts are back at zero, and every closed window's nets sum
   to zero per currency; at most one window is open.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from services.payments.adapters.rows import transfer_from
from services.payments.adapters.tables import accounts, postings, transfers, window_positions, windows
from services.payments.domain.ledger import AccountKind, Posting, commit_postings, position_account
from services.payments.domain.money import Money
from services.payments.service_layer.ports import AuditReport


async def audit(db: Database) -> AuditReport:
    report = AuditReport()
    # One snapshot: on SQLite (WAL) a read transaction sees the database as of its first read.
    if db.dialect != "postgresql":
        async with db.transaction(readonly=True) as session:
            await _run(session, report)
    else:
        async with db.transaction() as session:
            await session.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            await _run(session, report)
    return report


async def _run(session: AsyncSession, report: AuditReport) -> None:
    accts = {r.account_id: r for r in await session.execute(sa.select(accounts))}
    report.accounts = len(accts)
    by_journal: dict[str, list[Posting]] = defaultdict(list)
    journal_window: dict[str, set[str]] = defaultdict(set)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in await session.execute(sa.select(postings)):
        report.postings += 1
        for side, account_id in ((0, p.debit_account), (1, p.credit_account)):
            account = accts.get(account_id)
            if account is None or account.currency != p.currency:
                report.breaches.append(f"posting {p.id}: account {account_id} is not a {p.currency} account")
            sums[account_id][side] += p.amount_minor
        if p.amount_minor <= 0:
            report.breaches.append(f"posting {p.id}: non-positive amount {p.amount_minor}")
        if p.journal_kind == "COMMIT":
            by_journal[p.journal_id].append(
                Posting(p.leg, p.debit_account, p.credit_account, Money(p.currency, p.amount_minor))
            )
            journal_window[p.journal_id].add(p.settlement_window_id)

    pending: dict[str, int] = defaultdict(int)
    for row in await session.execute(sa.select(transfers)):
        t = transfer_from(row)
        report.transfers += 1
        legs = sorted(by_journal.pop(t.transfer_id, []), key=lambda p: p.leg)
        if t.state.value == "RESERVED":
            pending[position_account(t.payer_id, t.send.currency)] += t.send.minor
        if t.state.value == "COMMITTED":
            report.committed += 1
            if legs != commit_postings(t):
                report.breaches.append(f"transfer {t.transfer_id}: committed but posted {len(legs)} legs, not as due")
            elif journal_window[t.transfer_id] != {t.settlement_window_id}:
                report.breaches.append(f"transfer {t.transfer_id}: posted outside its settlement window")
        elif legs:
            report.breaches.append(f"transfer {t.transfer_id}: {t.state.value} but has {len(legs)} postings")
    for journal_id in by_journal:
        report.breaches.append(f"postings for unknown transfer {journal_id}")

    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for account_id, a in accts.items():
        debits, credits = sums.get(account_id, [0, 0])
        if (a.debits_posted, a.credits_posted) != (debits, credits):
            report.breaches.append(
                f"account {account_id}: stored debits/credits {a.debits_posted}/{a.credits_posted} "
                f"but postings sum to {debits}/{credits}"
            )
        if a.debits_pending != pending.get(account_id, 0):
            report.breaches.append(
                f"account {account_id}: pending {a.debits_pending} but reserved transfers hold "
                f"{pending.get(account_id, 0)}"
            )
        if a.debits_pending < 0:
            report.breaches.append(f"account {account_id}: negative pending debits")
        exposure = a.debits_posted - a.credits_posted + a.debits_pending
        if a.net_debit_cap is not None and exposure > a.net_debit_cap:
            report.breaches.append(f"account {account_id}: exposure {exposure} beyond its cap {a.net_debit_cap}")
        if a.kind == AccountKind.SETTLEMENT.value and a.debits_posted != a.credits_posted:
            report.breaches.append(f"account {account_id}: settlement account not back at zero")
        totals[a.currency][0] += a.debits_posted
        totals[a.currency][1] += a.credits_posted
    for currency, (debits, credits) in sorted(totals.items()):
        if debits != credits:
            report.breaches.append(f"{currency}: debits {debits} != credits {credits}")
    await _check_windows(session, report)


async def _check_windows(session: AsyncSession, report: AuditReport) -> None:
    open_count = (
        await session.execute(sa.select(sa.func.count()).select_from(windows).where(windows.c.state == "OPEN"))
    ).scalar_one()
    if open_count > 1:
        report.breaches.append(f"{open_count} settlement windows are open at once")
    wp = window_positions.c
    query = (
        sa.select(wp.settlement_window_id, wp.currency, sa.func.sum(wp.net_minor).label("total"))
        .group_by(wp.settlement_window_id, wp.currency)
        .having(sa.func.sum(wp.net_minor) != 0)
    )
    for row in await session.execute(query):
        report.breaches.append(f"window {row.settlement_window_id}: {row.currency} nets sum to {row.total}, not 0")
