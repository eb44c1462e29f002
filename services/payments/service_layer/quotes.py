"""Use cases: set a rate, create a quote."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from baylink.errors import AlreadyExists, FailedPrecondition, InvalidInput, PreconditionViolation
from services.payments.domain.events import QuoteCreated
from services.payments.domain.money import Money, exponent
from services.payments.domain.participants import check_parties
from services.payments.domain.pricing import AmountType, Quote, Rate, price, validate_rate
from services.payments.service_layer.unit_of_work import Deps

MAX_ID = 64


async def set_rate(deps: Deps, rate: Rate) -> Rate:
    validate_rate(rate)
    async with deps.uow() as uow:
        await uow.participants.add_rate(rate, deps.clock())
    return rate


async def list_rates(deps: Deps) -> list[Rate]:
    async with deps.read() as repos:
        return await repos.participants.rates()


@dataclass(frozen=True)
class CreateQuote:
    quote_id: str
    payer_id: str
    payee_id: str
    amount_type: AmountType
    amount: Money
    counter_currency: str

    def fingerprint(self) -> str:
        body = [
            self.quote_id,
            self.payer_id,
            self.payee_id,
            self.amount_type.value,
            self.amount.currency,
            self.amount.minor,
            self.counter_currency,
        ]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


async def create_quote(deps: Deps, cmd: CreateQuote) -> Quote:
    check_id(cmd.quote_id, "quote_id")
    exponent(cmd.counter_currency, "counter_currency")
    if cmd.amount_type is AmountType.SEND:
        source, target = cmd.amount.currency, cmd.counter_currency
    else:
        source, target = cmd.counter_currency, cmd.amount.currency
    now = deps.clock()
    async with deps.uow() as uow:
        existing = await uow.transfers.quote(cmd.quote_id)
        if existing is not None:
            if existing.request_hash != cmd.fingerprint():
                raise AlreadyExists(f"quote {cmd.quote_id}: modified request", reason="MODIFIED_REQUEST")
            return existing
        found = await uow.participants.get([cmd.payer_id, cmd.payee_id])
        check_parties(found, cmd.payer_id, cmd.payee_id, source, target)
        rate = await uow.participants.rate_at(source, target, now)
        if rate is None:
            if source != target:
                raise FailedPrecondition(
                    f"no rate for {source}>{target} is in effect",
                    [PreconditionViolation("RATE", f"{source}>{target}", "no rate in effect")],
                    reason="RATE_UNAVAILABLE",
                )
            rate = Rate(source, target, Decimal(1), now)
        priced = price(rate, cmd.amount_type, cmd.amount)
        expires = now + timedelta(seconds=deps.policy.quote_ttl_seconds)
        if rate.valid_until is not None:
            expires = min(expires, rate.valid_until)
        quote = Quote(
            quote_id=cmd.quote_id,
            request_hash=cmd.fingerprint(),
            payer_id=cmd.payer_id,
            payee_id=cmd.payee_id,
            amount_type=cmd.amount_type,
            send=priced.send,
            receive=priced.receive,
            fee=priced.fee,
            mid_rate=rate.mid,
            customer_rate=priced.customer_rate,
            rate_valid_from=rate.valid_from,
            created_at=now,
            expires_at=expires,
        )
        await uow.transfers.add_quote(quote)
        uow.record(QuoteCreated(quote))
    return quote


def check_id(value: str, field: str) -> None:
    if not value or len(value) > MAX_ID or not value.isascii() or not value.isprintable() or " " in value:
        raise InvalidInput.field(field, f"1-{MAX_ID} printable ASCII characters without spaces")
