"""The fast path of PrepareTransfer for a group-committed batch.

A step of the batch's direct program (``group_writer``, for ``service_layer/group_commit``). Everything a batch of
prepares needs is read in one SELECT per table (existing transfers, quotes,
participants, per-payer usage and payer positions; quotes, usage and positions
locked on PostgreSQL); the rules the one-by-one path applies
(``domain/acceptance.py``) then decide each request in memory, in arrival order, against running
totals, so the batch as a whole can never overshoot a cap or a limit; the accepted transfers are written
together (``batch_repo.save_prepared``). A request the fast path would not simply accept (a
retry, a refusal of any kind, a second request for the same id or quote) is
left out of the batch and answered afterwards by the one-by-one path, which
records refusals exactly as before and sees the batch's reservations.
"""

from __future__ import annotations

from contextvars import Context
from datetime import datetime

from baylink.runtime.direct import Program
from services.payments.adapters import batch_repo
from services.payments.domain.acceptance import PrepareRules, Refused
from services.payments.domain.events import Event, TransferReserved
from services.payments.domain.ledger import position_account
from services.payments.domain.transfer import PrepareTransfer, Transfer


def prepare_batch(
    postgres: bool,
    rules: PrepareRules,
    ttl: float,
    batch: list[tuple[PrepareTransfer, str]],
    now: datetime,
    events: list[tuple[Event, Context | None]],
    contexts: list[Context] | None = None,
) -> Program[list[Transfer | None]]:
    """Reserve what the fast path can; None for a request left to the one-by-one path. A direct
    program step: the events go to ``events``, each with its caller's context from ``contexts``
    (one per request), for the batch to stage in its transaction. ``ttl``: a new transfer's
    seconds to live, unless its request says otherwise. ``postgres``: the writes are one call
    (``batch_repo.save_prepared``)."""
    reqs = [req for req, _ in batch]
    corridors = {r.transfer_id: f"{r.send.currency}>{r.receive.currency}" for r in reqs}
    usage_keys = {(r.payer_pseudonym, corridors[r.transfer_id]) for r in reqs}
    read = yield from batch_repo.prepare_reads(
        {r.transfer_id for r in reqs},
        {r.quote_id for r in reqs if r.quote_id},
        {p for r in reqs for p in (r.payer_id, r.payee_id)},
        usage_keys,
        {position_account(r.payer_id, r.send.currency) for r in reqs},
    )
    existing, found_quotes, parties, usage, balances = (
        read.existing, read.quotes, read.participants, read.usage, read.balances
    )  # fmt: skip
    stored_usage = set(usage)
    reserved: dict[str, int] = {}

    seen_ids: set[str] = set()
    seen_quotes: set[str] = set()
    results: list[Transfer | None] = []
    for req, fingerprint in batch:
        if req.transfer_id in existing or req.transfer_id in seen_ids or req.quote_id in seen_quotes:
            results.append(None)  # a retry or a duplicate: answered from the stored row afterwards
            continue
        seen_ids.add(req.transfer_id)
        account_id = position_account(req.payer_id, req.send.currency)
        quote = found_quotes.get(req.quote_id) if req.quote_id else None
        key = (req.payer_pseudonym, corridors[req.transfer_id])
        decision = rules.decide(
            req, now, parties, quote, usage.get(key), balances.get(account_id), reserved.get(account_id, 0)
        )
        if isinstance(decision, Refused):
            results.append(None)  # the one-by-one path records the refusal (or raises it) afterwards
            continue
        if decision.usage is not None:  # the running totals now include it
            usage[key] = decision.usage
        reserved[account_id] = reserved.get(account_id, 0) + req.send.minor
        if req.quote_id:
            seen_quotes.add(req.quote_id)
        results.append(decision.reserved(req, fingerprint, now, ttl))

    accepted = [t for t in results if t is not None]
    if not accepted:
        return results
    touched = {(t.payer_pseudonym, t.corridor) for t in accepted if t.usage_day}
    yield from batch_repo.save_prepared(
        postgres,
        claims={t.quote_id: t.transfer_id for t in accepted if t.quote_id},
        new_usage={k: usage[k] for k in touched if k not in stored_usage},
        changed_usage={k: usage[k] for k in touched if k in stored_usage},
        reserved=reserved,
        accepted=accepted,
    )
    for index, t in enumerate(results):
        if t is not None:
            events.append((TransferReserved(t), contexts[index] if contexts else None))
    return results
