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
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from baylink.errors import BaylinkError, FailedPrecondition, InvalidInput, NotFound, PreconditionViolation
from services.payments.adapters import admin_repo, ledger_repo, transfer_repo
from services.payments.domain.events import TransferAborted, TransferReserved
from services.payments.domain.ledger import position_account
from services.payments.domain.limits import periods
from services.payments.domain.money import Money
from services.payments.domain.screening import refusal_for
from services.payments.domain.transfer import PrepareRequest, Refusal, Transfer, TransferState, received
from services.payments.service_layer.group_commit import group_of
from services.payments.service_layer.limits import limit_refusal
from services.payments.service_layer.quotes import check_id, check_parties, quote_expired
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork

# A keyed pseudonym is an HMAC output (hex or base64url), never an identity number.
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MAX_TEXT = 140


class _Refused(Exception):
    def __init__(self, error: BaylinkError, transfer: Transfer):
        self.error = error
        self.transfer = transfer


def validate(req: PrepareRequest, now: datetime, max_ttl: float) -> None:
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


async def prepare_transfer(deps: Deps, req: PrepareRequest) -> Transfer:
    """Reserve the transfer, in a group-committed batch when it can, else on its own."""
    validate(req, deps.clock(), deps.policy.max_transfer_ttl_seconds)
    fingerprint = req.fingerprint()
    group = group_of(deps)
    if group is not None and (reserved := await group.prepare(req, fingerprint)) is not None:
        return reserved
    return await prepare_one(deps, req, fingerprint)


async def prepare_one(deps: Deps, req: PrepareRequest, fingerprint: str) -> Transfer:
    """Every check and the reservation in a transaction of its own (retries, refusals, races)."""
    now = deps.clock()
    try:
        async with deps.uow() as uow:
            existing = await transfer_repo.get_transfer(uow.session, req.transfer_id)
            if existing is not None:
                return _replay(existing, fingerprint)
            transfer = await _reserve(deps, uow, req, fingerprint, now)
            await transfer_repo.add_transfer(uow.session, transfer)
            uow.record(TransferReserved(transfer))
            return transfer
    except _Refused as refused:
        return await _record_refusal(deps, refused, fingerprint)
    except IntegrityError:  # the same id raced in beside us: answer as its retry
        return await _replay_from_db(deps, req.transfer_id, fingerprint)


def _replay(existing: Transfer, fingerprint: str) -> Transfer:
    existing.check_same_request(fingerprint)
    if existing.refusal is not None:
        raise existing.refusal.to_error()
    return existing


async def _replay_from_db(deps: Deps, transfer_id: str, fingerprint: str) -> Transfer:
    async with deps.read() as session:
        existing = await transfer_repo.get_transfer(session, transfer_id)
    if existing is None:  # pragma: no cover - an integrity error without the row is a bug
        raise NotFound("transfer", transfer_id)
    return _replay(existing, fingerprint)


async def _record_refusal(deps: Deps, refused: _Refused, fingerprint: str) -> Transfer:
    try:
        async with deps.uow() as uow:
            await transfer_repo.add_transfer(uow.session, refused.transfer)
            uow.record(TransferAborted(refused.transfer))
    except IntegrityError:
        return await _replay_from_db(deps, refused.transfer.transfer_id, fingerprint)
    raise refused.error


async def _reserve(deps: Deps, uow: UnitOfWork, req: PrepareRequest, fingerprint: str, now: datetime) -> Transfer:
    session = uow.session
    found = await admin_repo.get_participants(session, [req.payer_id, req.payee_id])
    check_parties(found, req.payer_id, req.payee_id, req.send.currency, req.receive.currency)
    transfer = received(req, fingerprint, now, deps.policy.transfer_ttl_seconds)

    def refuse(error: BaylinkError) -> _Refused:
        refusal = Refusal.of(error)
        aborted = replace(
            transfer, state=TransferState.ABORTED, completed_at=now, abort_code=refusal.code,
            abort_reason=refusal.message, refusal=refusal,
        )  # fmt: skip
        return _Refused(error, aborted)

    if req.quote_id:
        quote = await transfer_repo.get_quote(session, req.quote_id)
        if quote is None:
            raise NotFound("quote", req.quote_id)
        if (quote.payer_id, quote.payee_id, quote.send, quote.receive) != (
            req.payer_id,
            req.payee_id,
            req.send,
            req.receive,
        ):
            raise InvalidInput.field("quote_id", "parties and amounts must equal the quote's")
        if quote.expired(now):
            raise refuse(quote_expired(quote, now))
        if not await transfer_repo.claim_quote(session, quote.quote_id, req.transfer_id):
            raise refuse(
                FailedPrecondition(
                    f"quote {quote.quote_id} already pays for another transfer",
                    [PreconditionViolation("QUOTE", f"quote/{quote.quote_id}", "already used")],
                    reason="QUOTE_ALREADY_USED",
                )
            )
        transfer = replace(transfer, fee=quote.fee, customer_rate=str(quote.customer_rate))
    elif req.send != req.receive:
        raise InvalidInput.field("quote_id", "required when send and receive amounts differ")

    hit = deps.screener.screen({"payer": req.payer_name, "payee": req.payee_name})
    if hit is not None:
        raise refuse(refusal_for(hit))

    limit = deps.policy.limits.get(transfer.corridor)
    if limit is not None:
        usage = periods(now, deps.policy.zone, limit.bucket_seconds)
        transfer = replace(transfer, usage_day=usage.day, usage_year=usage.year)
        amount = req.send.minor
        if not await ledger_repo.take_usage(session, req.payer_pseudonym, transfer.corridor, usage, amount, limit):
            row = await ledger_repo.usage_row(session, req.payer_pseudonym, transfer.corridor)
            raise refuse(limit_refusal(row, usage, limit, req.send, transfer.corridor))

    account = position_account(req.payer_id, req.send.currency)
    if not await ledger_repo.reserve(session, account, req.send.minor):
        row = await ledger_repo.get_account(session, account)
        available = Money(
            req.send.currency, row.net_debit_cap - row.debits_posted + row.credits_posted - row.debits_pending
        )
        error = FailedPrecondition(
            f"{req.send} exceeds {req.payer_id}'s available {available} under its net debit cap",
            [PreconditionViolation("NET_DEBIT_CAP", account, f"available {available}")],
            reason="NET_DEBIT_CAP_EXCEEDED",
        )
        error.metadata.update(
            {"currency": available.currency, "available_minor_units": str(available.minor), "participant": req.payer_id}
        )
        raise refuse(error)
    return replace(transfer, state=TransferState.RESERVED, reserved_at=now)
