"""Phase one: PrepareTransfer.

Checks run cheapest first: the request's own shape (refused, nothing recorded);
then, in one transaction, idempotency, the parties, the quote, screening,
the payer's corridor limits and velocity, and the reservation within the
payer's net debit cap. A refusal there rolls the whole transaction back (no
partial reservation can survive) and is then recorded on its own as an ABORTED
transfer with its error, so that a retry of the same request gets the same
answer and a changed request is still refused as modified.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from baylink.errors import BaylinkError, InvalidInput, NotFound
from services.payments.domain.acceptance import PrepareRules, QuoteTerms, Refused, cap_exceeded, quote_used
from services.payments.domain.events import TransferAborted, TransferReserved
from services.payments.domain.ledger import position_account
from services.payments.domain.limits import corridor_of, limit_refusal
from services.payments.domain.transfer import PrepareTransfer, Transfer
from services.payments.service_layer.group_commit import group_of
from services.payments.service_layer.ports import DuplicateKey
from services.payments.service_layer.quotes import check_id
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork

# A keyed pseudonym is an HMAC output (hex or base64url), never an identity number.
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MAX_TEXT = 140


class _Refused(Exception):
    def __init__(self, error: BaylinkError, transfer: Transfer):
        self.error = error
        self.transfer = transfer


def validate(req: PrepareTransfer, now: datetime, max_ttl: float) -> None:
    check_id(req.transfer_id, "transfer_id")
    if req.quote_id:
        check_id(req.quote_id, "quote_id")
    if not _PSEUDONYM.match(req.payer_pseudonym):
        raise InvalidInput.field("payer_pseudonym", "required: a keyed pseudonym (32-128 chars), never an ID number")
    if not req.payer_name.strip():
        raise InvalidInput.field("payer_name", "required for screening")
    for field, value in (("payer_name", req.payer_name), ("payee_name", req.payee_name), ("reference", req.reference)):
        if len(value) > MAX_TEXT:
            raise InvalidInput.field(field, f"at most {MAX_TEXT} characters")
    if req.expires_at is not None:
        if req.expires_at <= now:
            raise InvalidInput.field("expires_at", "must be in the future")
        if req.expires_at > now + timedelta(seconds=max_ttl):
            raise InvalidInput.field("expires_at", f"at most {max_ttl:g} s ahead")


async def prepare_transfer(deps: Deps, req: PrepareTransfer) -> Transfer:
    """Reserve the transfer, in a group-committed batch when it can, else on its own."""
    validate(req, deps.clock(), deps.policy.max_transfer_ttl_seconds)
    fingerprint = req.fingerprint()
    group = group_of(deps)
    if group is not None and (reserved := await group.prepare(req, fingerprint)) is not None:
        return reserved
    return await prepare_one(deps, req, fingerprint)


async def prepare_one(deps: Deps, req: PrepareTransfer, fingerprint: str) -> Transfer:
    """Every check and the reservation in a transaction of its own (retries, refusals, races)."""
    now = deps.clock()
    try:
        async with deps.uow() as uow:
            existing = await uow.transfers.get(req.transfer_id)
            if existing is not None:
                return _replay(existing, fingerprint)
            transfer = await _reserve(deps, uow, req, fingerprint, now)
            await uow.transfers.add(transfer)
            uow.record(TransferReserved(transfer))
            return transfer
    except _Refused as refused:
        return await _record_refusal(deps, refused, fingerprint)
    except DuplicateKey:  # the same id raced in beside us: answer as its retry
        return await _replay_from_db(deps, req.transfer_id, fingerprint)


def _replay(existing: Transfer, fingerprint: str) -> Transfer:
    existing.check_same_request(fingerprint)
    if existing.refusal is not None:
        raise existing.refusal.to_error()
    return existing


async def _replay_from_db(deps: Deps, transfer_id: str, fingerprint: str) -> Transfer:
    async with deps.read() as repos:
        existing = await repos.transfers.get(transfer_id)
    if existing is None:  # pragma: no cover - an integrity error without the row is a bug
        raise NotFound("transfer", transfer_id)
    return _replay(existing, fingerprint)


async def _record_refusal(deps: Deps, refused: _Refused, fingerprint: str) -> Transfer:
    try:
        async with deps.uow() as uow:
            await uow.transfers.add(refused.transfer)
            uow.record(TransferAborted(refused.transfer))
    except DuplicateKey:
        return await _replay_from_db(deps, refused.transfer.transfer_id, fingerprint)
    raise refused.error


async def _reserve(deps: Deps, uow: UnitOfWork, req: PrepareTransfer, fingerprint: str, now: datetime) -> Transfer:
    """Read what the rules look at, let them decide (``domain/acceptance.py``), then reserve through
    the database's guards, which refuse only if a concurrent transaction changed a row meanwhile."""
    parties = await uow.participants.get([req.payer_id, req.payee_id])
    found = await uow.transfers.quote(req.quote_id) if req.quote_id else None
    corridor = corridor_of(req.send.currency, req.receive.currency)
    usage = None
    if corridor in deps.policy.limits:
        usage = await uow.ledger.usage(req.payer_pseudonym, corridor)
    account = position_account(req.payer_id, req.send.currency)
    balance = await uow.ledger.balance(account)
    rules = PrepareRules(deps.screener, deps.policy.limits, deps.policy.zone)
    decision = rules.decide(req, now, parties, QuoteTerms.of(found) if found else None, usage, balance)
    ttl = deps.policy.transfer_ttl_seconds
    if isinstance(decision, Refused):
        if not decision.recorded:
            raise decision.error
        raise _Refused(decision.error, decision.aborted(req, fingerprint, now, ttl))
    accepted = decision

    def refuse(error: BaylinkError) -> _Refused:
        return _Refused(error, accepted.refused(error).aborted(req, fingerprint, now, ttl))

    if req.quote_id and not await uow.transfers.claim_quote(req.quote_id, req.transfer_id):
        used = Refused(quote_used(req.quote_id))  # refused at the quote: nothing of it kept
        raise _Refused(used.error, used.aborted(req, fingerprint, now, ttl))
    if accepted.limit is not None and accepted.periods is not None:
        taken = await uow.ledger.take_usage(
            req.payer_pseudonym, corridor, accepted.periods, req.send.minor, accepted.limit
        )
        if not taken:
            fresh = await uow.ledger.usage(req.payer_pseudonym, corridor)
            raise refuse(limit_refusal(fresh, accepted.periods, accepted.limit, req.send, corridor))
    if not await uow.ledger.reserve(account, req.send.minor):
        raise refuse(cap_exceeded(req, await uow.ledger.balance(account)))
    return accepted.reserved(req, fingerprint, now, ttl)
