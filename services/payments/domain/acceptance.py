"""Whether a prepare may reserve: every rule a transfer must pass, decided once, in memory.

Both ways of preparing ask ``PrepareRules.decide``: the one-by-one use case
(``service_layer/prepare.py``) with the rows it has just read, and the group
commit's batch (``adapters/batch_prepare.py``) with running totals, so that a
batch as a whole never overshoots a cap or a limit. The rules, in the order
they answer: the parties; the quote (its terms, its expiry, whether another
transfer has it); sanctions screening; the payer's corridor limits and
velocity (``domain/limits.py``); the payer's net debit cap
(``domain/participants.py``). The database's conditional updates
(``claim_quote``, ``take_usage``, ``reserve``) only enforce these same rules
against concurrent transactions; they are not rules of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from baylink.errors import BaylinkError, FailedPrecondition, InvalidInput, NotFound, PreconditionViolation
from services.payments.domain.ledger import position_account
from services.payments.domain.limits import CorridorLimit, Usage, UsagePeriods, corridor_of, limit_refusal, periods
from services.payments.domain.money import Money
from services.payments.domain.participants import Balance, Participant, check_parties
from services.payments.domain.pricing import Quote
from services.payments.domain.screening import Screener, refusal_for
from services.payments.domain.transfer import PrepareTransfer, Refusal, Transfer, TransferState, received


@dataclass(frozen=True, slots=True)
class QuoteTerms:
    """What a quote fixes for the transfer that uses it."""

    quote_id: str
    payer_id: str
    payee_id: str
    send: Money
    receive: Money
    fee: Money
    customer_rate: str  # as stored: the str() of the quote's Decimal rate
    expires_at: datetime
    transfer_id: str | None  # the transfer that has claimed it, if any

    @classmethod
    def of(cls, q: Quote) -> QuoteTerms:
        return cls(
            q.quote_id, q.payer_id, q.payee_id, q.send, q.receive, q.fee, str(q.customer_rate), q.expires_at,
            q.transfer_id,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Accepted:
    """Every rule passed: what the reservation takes and what the transfer carries."""

    fee: Money | None  # the quote's, when there is one
    customer_rate: str
    limit: CorridorLimit | None  # the corridor's limits, None when it has none
    periods: UsagePeriods | None  # the periods the transfer counts in (with ``limit``)
    usage: Usage | None  # the payer's counters with this transfer counted (with ``limit``)

    def reserved(self, req: PrepareTransfer, fingerprint: str, now: datetime, ttl_seconds: float) -> Transfer:
        """The RESERVED transfer, built in one go (a ``replace`` per step costs more than the checks)."""
        return received(req, fingerprint, now, ttl_seconds, **_terms(self.fee, self.customer_rate, self.periods),
                        state=TransferState.RESERVED, reserved_at=now)  # fmt: skip

    def refused(self, error: BaylinkError) -> Refused:
        """A refusal after these checks passed (a guard in the database found the rule broken meanwhile)."""
        return Refused(error, True, self.fee, self.customer_rate, self.periods)


@dataclass(frozen=True, slots=True)
class Refused:
    """A rule said no. ``recorded``: the transfer is kept as ABORTED with ``error``, so that a retry of
    the same request gets the same answer; otherwise the request is refused outright, nothing kept."""

    error: BaylinkError
    recorded: bool = True
    fee: Money | None = None  # what the checks had fixed before the refusal, kept on the transfer
    customer_rate: str = "1"
    periods: UsagePeriods | None = None

    def aborted(self, req: PrepareTransfer, fingerprint: str, now: datetime, ttl_seconds: float) -> Transfer:
        """The ABORTED transfer a recorded refusal keeps."""
        refusal = Refusal.of(self.error)
        return received(
            req, fingerprint, now, ttl_seconds, **_terms(self.fee, self.customer_rate, self.periods),
            state=TransferState.ABORTED, completed_at=now, abort_code=refusal.code, abort_reason=refusal.message,
            refusal=refusal,
        )  # fmt: skip


def _terms(fee: Money | None, customer_rate: str, p: UsagePeriods | None) -> dict[str, Any]:
    terms: dict[str, Any] = {"fee": fee, "customer_rate": customer_rate} if fee is not None else {}
    if p is not None:
        terms.update(usage_day=p.day, usage_year=p.year)
    return terms


@dataclass(frozen=True, slots=True)
class PrepareRules:
    """The rules of a prepare, with what they are configured with."""

    screener: Screener
    limits: Mapping[str, CorridorLimit]
    zone: ZoneInfo

    def decide(
        self,
        req: PrepareTransfer,
        now: datetime,
        parties: Mapping[str, Participant],
        quote: QuoteTerms | None,
        usage: Usage | None,
        balance: Balance | None,
        also_reserved: int = 0,
    ) -> Accepted | Refused:
        """Accept ``req`` or say which rule refuses it. ``parties``: the payer and payee found;
        ``quote``: the one ``req`` names (None if none or not found); ``usage``: the payer's stored
        counters in the corridor (None if none yet); ``balance``: the payer's position account;
        ``also_reserved``: what earlier transfers of the same batch reserve on it."""
        try:
            check_parties(parties, req.payer_id, req.payee_id, req.send.currency, req.receive.currency)
        except BaylinkError as error:
            return Refused(error, recorded=False)
        fee: Money | None = None
        rate = "1"
        if req.quote_id:
            if quote is None:
                return Refused(NotFound("quote", req.quote_id), recorded=False)
            if (quote.payer_id, quote.payee_id, quote.send, quote.receive) != (
                req.payer_id,
                req.payee_id,
                req.send,
                req.receive,
            ):
                return Refused(InvalidInput.field("quote_id", "parties and amounts must equal the quote's"), False)
            if now >= quote.expires_at:
                return Refused(quote_expired(quote.quote_id, quote.expires_at))
            if quote.transfer_id is not None:
                return Refused(quote_used(quote.quote_id))
            fee, rate = quote.fee, quote.customer_rate
        elif req.send != req.receive:
            return Refused(InvalidInput.field("quote_id", "required when send and receive amounts differ"), False)

        hit = self.screener.screen({"payer": req.payer_name, "payee": req.payee_name})
        if hit is not None:
            return Refused(refusal_for(hit), True, fee, rate)

        corridor = corridor_of(req.send.currency, req.receive.currency)
        limit = self.limits.get(corridor)
        p: UsagePeriods | None = None
        after: Usage | None = None
        if limit is not None:
            p = periods(now, self.zone, limit.bucket_seconds)
            after = (usage if usage is not None else Usage.empty(p)).taken(p, req.send.minor, limit)
            if after is None:
                return Refused(limit_refusal(usage, p, limit, req.send, corridor), True, fee, rate, p)

        if balance is None or balance.net_debit_cap is None or balance.available(also_reserved) < req.send.minor:
            return Refused(cap_exceeded(req, balance, also_reserved), True, fee, rate, p)
        return Accepted(fee, rate, limit, p, after)


def quote_expired(quote_id: str, expires_at: datetime) -> FailedPrecondition:
    return FailedPrecondition(
        f"quote {quote_id} expired at {expires_at.isoformat()}",
        [PreconditionViolation("QUOTE", f"quote/{quote_id}", "expired")],
        reason="QUOTE_EXPIRED",
    )


def quote_used(quote_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"quote {quote_id} already pays for another transfer",
        [PreconditionViolation("QUOTE", f"quote/{quote_id}", "already used")],
        reason="QUOTE_ALREADY_USED",
    )


def cap_exceeded(req: PrepareTransfer, balance: Balance | None, also_reserved: int = 0) -> FailedPrecondition:
    """The refusal of a reservation beyond the payer's net debit cap, with what it has left."""
    account = position_account(req.payer_id, req.send.currency)
    left = balance.available(also_reserved) if balance is not None and balance.net_debit_cap is not None else 0
    available = Money(req.send.currency, left)
    error = FailedPrecondition(
        f"{req.send} exceeds {req.payer_id}'s available {available} under its net debit cap",
        [PreconditionViolation("NET_DEBIT_CAP", account, f"available {available}")],
        reason="NET_DEBIT_CAP_EXCEEDED",
    )
    error.metadata.update(
        {"currency": available.currency, "available_minor_units": str(available.minor), "participant": req.payer_id}
    )
    return error
