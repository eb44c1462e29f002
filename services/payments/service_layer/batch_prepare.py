"""The fast path of PrepareTransfer for a group-committed batch.

A step of the batch's direct program (``group_commit``). Everything a batch of
prepares needs is read in one SELECT per table (existing transfers, quotes,
participants, per-payer usage and payer positions; quotes, usage and positions
locked on PostgreSQL); every check of the one-by-one path
is then made in memory, in arrival order, against running totals, so the batch as a whole can
never overshoot a cap or a limit; the accepted transfers are written in one
statement per table. A request the fast path would not simply accept (a
retry, a refusal of any kind, a second request for the same id or quote) is
left out of the batch and answered afterwards by the one-by-one path, which
records refusals exactly as before and sees the batch's reservations.
"""

from __future__ import annotations

from contextvars import Context
from datetime import datetime
from typing import Any

from baylink.errors import BaylinkError
from baylink.runtime.direct import Program
from services.payments.adapters import batch_repo
from services.payments.adapters.batch_repo import QuoteTerms
from services.payments.domain.events import Event, TransferReserved
from services.payments.domain.ledger import position_account
from services.payments.domain.limits import Usage, corridor_of, periods
from services.payments.domain.participants import Participant
from services.payments.domain.transfer import PrepareRequest, Transfer, TransferState, received
from services.payments.service_layer.quotes import check_parties
from services.payments.service_layer.unit_of_work import Deps


class BatchConflict(Exception):
    """A guarded write met a change made outside the batch: the batch rolls back, every request goes one by one."""


def prepare_batch(
    deps: Deps,
    batch: list[tuple[PrepareRequest, str]],
    now: datetime,
    events: list[tuple[Event, Context | None]],
    contexts: list[Context] | None = None,
) -> Program[list[Transfer | None]]:
    """Reserve what the fast path can; None for a request left to the one-by-one path. A direct
    program step: the events go to ``events``, each with its caller's context from ``contexts``
    (one per request), for the batch to stage in its transaction."""
    reqs = [req for req, _ in batch]
    existing = yield from batch_repo.existing_transfer_ids({r.transfer_id for r in reqs})
    found_quotes = yield from batch_repo.quote_terms_by_id({r.quote_id for r in reqs if r.quote_id})
    parties = yield from batch_repo.participants_by_id({p for r in reqs for p in (r.payer_id, r.payee_id)})
    corridors = {r.transfer_id: f"{r.send.currency}>{r.receive.currency}" for r in reqs}
    usage_keys = {(r.payer_pseudonym, corridors[r.transfer_id]) for r in reqs}
    usage = yield from batch_repo.usage_by_key(usage_keys)
    stored_usage = set(usage)
    positions = {position_account(r.payer_id, r.send.currency) for r in reqs}
    accounts = yield from batch_repo.accounts_by_id(positions)
    reserved: dict[str, int] = {}

    seen_ids: set[str] = set()
    seen_quotes: set[str] = set()
    results: list[Transfer | None] = []
    for req, fingerprint in batch:
        if req.transfer_id in existing or req.transfer_id in seen_ids or req.quote_id in seen_quotes:
            results.append(None)  # a retry or a duplicate: answered from the stored row afterwards
            continue
        seen_ids.add(req.transfer_id)
        transfer = _accepted(deps, req, fingerprint, now, parties, found_quotes, usage, accounts, reserved)
        if transfer is not None and req.quote_id:
            seen_quotes.add(req.quote_id)
        results.append(transfer)

    accepted = [t for t in results if t is not None]
    if not accepted:
        return results
    claims = {t.quote_id: t.transfer_id for t in accepted if t.quote_id}
    if (yield from batch_repo.claim_quotes(claims)) not in (len(claims), None):
        raise BatchConflict("a quote was claimed outside the batch")
    touched = {(t.payer_pseudonym, t.corridor) for t in accepted if t.usage_day}
    yield from batch_repo.save_usage(
        new={k: usage[k] for k in touched if k not in stored_usage},
        changed={k: usage[k] for k in touched if k in stored_usage},
    )
    yield from batch_repo.change_balances({a: (0, 0, amount) for a, amount in reserved.items()})
    yield from batch_repo.add_transfers(accepted)
    for index, t in enumerate(results):
        if t is not None:
            events.append((TransferReserved(t), contexts[index] if contexts else None))
    return results


def _accepted(
    deps: Deps,
    req: PrepareRequest,
    fingerprint: str,
    now: datetime,
    parties: dict[str, Participant],
    found_quotes: dict[str, QuoteTerms],
    usage: dict[tuple[str, str], Usage],
    accounts: dict[str, Any],
    reserved: dict[str, int],
) -> Transfer | None:
    """The reserved transfer if every check passes; the running totals then include it."""
    try:
        check_parties(parties, req.payer_id, req.payee_id, req.send.currency, req.receive.currency)
    except BaylinkError:
        return None
    corridor = corridor_of(req.send.currency, req.receive.currency)
    changes: dict[str, Any] = {}
    if req.quote_id:
        quote = found_quotes.get(req.quote_id)
        if quote is None or quote.transfer_id is not None or now >= quote.expires_at:
            return None
        if (quote.payer_id, quote.payee_id, quote.send, quote.receive) != (
            req.payer_id,
            req.payee_id,
            req.send,
            req.receive,
        ):
            return None
        changes.update(fee=quote.fee, customer_rate=quote.customer_rate)
    elif req.send != req.receive:
        return None
    if deps.screener.screen({"payer": req.payer_name, "payee": req.payee_name}) is not None:
        return None

    key = (req.payer_pseudonym, corridor)
    limit = deps.policy.limits.get(corridor)
    after: Usage | None = None
    if limit is not None:
        usage_periods = periods(now, deps.policy.zone, limit.bucket_seconds)
        after = usage.get(key, Usage.empty(usage_periods)).taken(usage_periods, req.send.minor, limit)
        if after is None:
            return None
        changes.update(usage_day=usage_periods.day, usage_year=usage_periods.year)

    account_id = position_account(req.payer_id, req.send.currency)
    row = accounts.get(account_id)
    if row is None or row.net_debit_cap is None:
        return None
    pending = row.debits_pending + reserved.get(account_id, 0)
    if row.debits_posted - row.credits_posted + pending + req.send.minor > row.net_debit_cap:
        return None

    if after is not None:
        usage[key] = after
    reserved[account_id] = reserved.get(account_id, 0) + req.send.minor
    # One construction with every change (dataclasses.replace per step cost more than the checks).
    ttl = deps.policy.transfer_ttl_seconds
    return received(req, fingerprint, now, ttl, state=TransferState.RESERVED, reserved_at=now, **changes)
