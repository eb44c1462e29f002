"""The fast path of CommitTransfer for a group-committed batch.

One SELECT for the batch's transfers; the ones still RESERVED and not expired
move to COMMITTED in one guarded UPDATE (``state = 'RESERVED' AND expires_at >
now``) whose row count must equal the batch's, so a concurrent abort, commit
or expiry rolls the whole batch back rather than being overwritten; the
postings go in with one executemany (their unique key still allows each
transfer's legs once) and each account's balance changes once per batch.
Anything else (already final, expired, a second commit of one id) is answered
by the one-by-one path afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from services.payments.adapters import batch_repo
from services.payments.domain.events import TransferCommitted
from services.payments.domain.ledger import commit_postings, position_account
from services.payments.domain.transfer import Transfer, TransferState
from services.payments.service_layer.batch_prepare import BatchConflict
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork
from services.payments.service_layer.windows import current_window


async def commit_batch(deps: Deps, uow: UnitOfWork, ids: list[str], now: datetime) -> list[Transfer | None]:
    """Commit what the fast path can; None for an id left to the one-by-one path."""
    found = await batch_repo.transfers_by_id(uow.session, set(ids))
    seen: set[str] = set()
    todo: list[Transfer] = []
    for transfer_id in ids:
        t = found.get(transfer_id)
        if t is None or transfer_id in seen or t.state is not TransferState.RESERVED or t.expired_at(now):
            continue
        seen.add(transfer_id)
        todo.append(t)
    if not todo:
        return [None] * len(ids)

    window = await current_window(deps, uow, now)
    committed = {t.transfer_id: t.committed(now, window.settlement_window_id) for t in todo}
    if await batch_repo.mark_committed(uow.session, committed, now, window.settlement_window_id) != len(committed):
        raise BatchConflict("a transfer of the batch was finished outside it")
    journals = [(t.transfer_id, commit_postings(t)) for t in committed.values()]
    await batch_repo.add_postings(uow.session, journals, window.settlement_window_id, now)
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # debits, credits, pending
    for t in todo:
        deltas[position_account(t.payer_id, t.send.currency)][2] -= t.send.minor
    for _, entries in journals:
        for p in entries:
            deltas[p.debit][0] += p.amount.minor
            deltas[p.credit][1] += p.amount.minor
    await batch_repo.change_balances(uow.session, {a: (d[0], d[1], d[2]) for a, d in deltas.items()})
    for t in committed.values():
        uow.record(TransferCommitted(t))
    answered: set[str] = set()
    results: list[Transfer | None] = []
    for transfer_id in ids:
        if transfer_id in committed and transfer_id not in answered:
            answered.add(transfer_id)
            results.append(committed[transfer_id])
        else:
            results.append(None)
    return results
