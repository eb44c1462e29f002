"""The fast path of CommitTransfer for a group-committed batch (a step of its direct program).

The batch's transfers that are still RESERVED and not expired move to
COMMITTED in one guarded UPDATE (``state = 'RESERVED' AND expires_at > now``)
that returns the ids it changed: no read before it, and nothing a concurrent
abort, commit or expiry finished can be overwritten (the guard leaves it out).
A committed transfer is the reserved one this process prepared (``reserved``:
what a RESERVED transfer holds cannot change before it ends, so the copy is
the row) with the commit applied, or, when another process prepared it or it
has been forgotten, read back from the table.
The postings go in together (their unique key still allows each transfer's
legs once) and each account's balance changes once per batch
(``batch_repo.save_committed``).
Anything the UPDATE left out (unknown, already final, expired, a second commit
of one id) is answered by the one-by-one path afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from contextvars import Context
from datetime import datetime

from baylink.runtime.direct import Program
from services.payments.adapters import batch_repo
from services.payments.domain.events import Event, TransferCommitted
from services.payments.domain.ledger import commit_postings, position_account
from services.payments.domain.transfer import Transfer


def commit_batch(
    postgres: bool,
    ids: list[str],
    now: datetime,
    events: list[tuple[Event, Context | None]],
    contexts: list[Context] | None = None,
    reserved: dict[str, Transfer] | None = None,
) -> Program[list[Transfer | None]]:
    """Commit what the fast path can; None for an id left to the one-by-one path. A direct program
    step: the events go to ``events``, each with its caller's context from ``contexts`` (one per
    request). ``reserved``: transfers this process reserved, by id; those committed are taken out.
    ``postgres``: the open window is share-locked, and looked for twice; the writes are one call
    (``batch_repo.save_committed``)."""
    window_id = yield from batch_repo.open_window_id(now, postgres=postgres)
    done_ids = yield from batch_repo.commit_reserved(set(ids), now, window_id)
    if not done_ids:
        return [None] * len(ids)
    known = reserved if reserved is not None else {}
    remembered = [known.pop(i) for i in done_ids if i in known]
    committed = {t.transfer_id: t.committed(now, window_id) for t in remembered}
    unknown = [i for i in done_ids if i not in committed]
    committed |= yield from batch_repo.transfers_by_id(unknown)  # already COMMITTED in the table
    done = [committed[i] for i in done_ids]
    journals = [(t.transfer_id, commit_postings(t)) for t in done]
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # debits, credits, pending
    for t in done:
        deltas[position_account(t.payer_id, t.send.currency)][2] -= t.send.minor
    for _, entries in journals:
        for p in entries:
            deltas[p.debit][0] += p.amount.minor
            deltas[p.credit][1] += p.amount.minor
    balances = {a: (d[0], d[1], d[2]) for a, d in deltas.items()}
    yield from batch_repo.save_committed(postgres, journals, window_id, now, balances)
    # The first request for an id gets the commit (its event is built in that caller's context);
    # a repeat is answered by the one-by-one path afterwards, as the replay it is.
    results: list[Transfer | None] = []
    for index, transfer_id in enumerate(ids):
        t = committed.pop(transfer_id, None)
        if t is not None:
            events.append((TransferCommitted(t), contexts[index] if contexts else None))
        results.append(t)
    return results
