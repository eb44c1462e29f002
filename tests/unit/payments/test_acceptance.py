"""The prepare rules, decided in memory: each refusal, and the boundaries of each rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.payments.domain.acceptance import Accepted, PrepareRules, QuoteTerms, Refused
from services.payments.domain.limits import CorridorLimit, Usage, periods
from services.payments.domain.money import Money
from services.payments.domain.participants import Balance, Jurisdiction, Participant, ParticipantKind
from services.payments.domain.screening import ListedParty, SanctionsList, Screener
from services.payments.domain.transfer import PrepareTransfer, TransferState
from tests.unit.payments.conftest import PSEUDONYM, START, cny, hkd

ZONE = ZoneInfo("Asia/Hong_Kong")
LIMIT = CorridorLimit(daily_minor=100_000, yearly_minor=500_000, max_per_day=3, max_per_bucket=2, bucket_seconds=600)


def participant(pid: str, *currencies: str, active: bool = True) -> Participant:
    return Participant(pid, pid, "", "", "", Jurisdiction.HK, ParticipantKind.PSP, "", currencies, active, START)


PARTIES = {"HKBANK": participant("HKBANK", "HKD"), "GDBANK": participant("GDBANK", "CNY")}
QUOTE = QuoteTerms("q1", "HKBANK", "GDBANK", hkd("100.00"), cny("90.00"), hkd("5.00"), "0.9", START, None)


def request(**overrides: Any) -> PrepareTransfer:
    values: dict[str, Any] = {
        "transfer_id": "t1",
        "payer_id": "HKBANK",
        "payee_id": "GDBANK",
        "send": hkd("100.00"),
        "receive": cny("90.00"),
        "reference": "REF",
        "payer_pseudonym": PSEUDONYM,
        "payer_name": "Chan Tai Man",
        "payee_name": "Guangdong Test Bank",
        "quote_id": "q1",
    }
    values.update(overrides)
    return PrepareTransfer(**values)


def rules(limits: dict[str, CorridorLimit] | None = None) -> PrepareRules:
    listed = SanctionsList("test", "2026-11-27", (ListedParty("QDi.001", ("Boris Testarov Fictivich",)),))
    screener = Screener(listed, threshold=90)
    return PrepareRules(screener, limits if limits is not None else {}, ZONE)


def balance(cap: int = 1_000_000, posted: int = 0, credits: int = 0, pending: int = 0) -> Balance:
    return Balance("HKD", posted, credits, pending, cap)


def decide(req: PrepareTransfer | None = None, *, quote: QuoteTerms | None = None, usage: Usage | None = None,
           bal: Balance | None = None, also_reserved: int = 0, limits: dict[str, CorridorLimit] | None = None,
           now: Any = None) -> Accepted | Refused:  # fmt: skip
    quote = QUOTE if quote is None else quote
    return rules(limits).decide(
        req or request(), now or START - timedelta(seconds=1), PARTIES, quote, usage, bal or balance(), also_reserved
    )


def refusal(decision: Accepted | Refused) -> tuple[str, bool]:
    assert isinstance(decision, Refused), decision
    return decision.error.reason, decision.recorded


def test_a_request_passing_every_rule_is_accepted_with_the_quotes_terms() -> None:
    decision = decide()
    assert isinstance(decision, Accepted)
    assert (decision.fee, decision.customer_rate, decision.limit, decision.usage) == (hkd("5.00"), "0.9", None, None)
    t = decision.reserved(request(), "fp", START, 300)
    assert t.state is TransferState.RESERVED and t.reserved_at == START and t.fee == hkd("5.00")


def test_unknown_inactive_or_same_parties_are_refused_outright_and_not_recorded() -> None:
    assert refusal(decide(request(payer_id="NOBANK"))) == ("NOT_FOUND", False)
    inactive = {**PARTIES, "GDBANK": participant("GDBANK", "CNY", active=False)}
    decision = rules().decide(request(), START, inactive, QUOTE, None, balance())
    assert refusal(decision) == ("PARTICIPANT_INACTIVE", False)
    assert refusal(decide(request(payee_id="HKBANK"))) == ("INVALID_INPUT", False)


def test_a_missing_or_mismatched_quote_is_refused_outright() -> None:
    missing = rules().decide(request(), START, PARTIES, None, None, balance())
    assert refusal(missing) == ("NOT_FOUND", False)
    assert refusal(decide(request(send=hkd("100.01")))) == ("INVALID_INPUT", False)
    no_quote = rules().decide(request(quote_id=""), START, PARTIES, None, None, balance())
    assert refusal(no_quote) == ("INVALID_INPUT", False)  # no quote, yet the amounts differ


def test_a_quote_expiring_at_the_instant_is_expired_and_a_moment_before_is_not() -> None:
    assert refusal(decide(now=START)) == ("QUOTE_EXPIRED", True)
    assert isinstance(decide(now=START - timedelta(microseconds=1)), Accepted)


def test_a_quote_another_transfer_has_is_refused_as_used() -> None:
    assert refusal(decide(quote=replace(QUOTE, transfer_id="t0"))) == ("QUOTE_ALREADY_USED", True)


def test_a_sanctions_hit_is_refused_and_keeps_the_quotes_terms() -> None:
    decision = decide(request(payer_name="Boris Testarov Fictivich"))
    assert refusal(decision) == ("SANCTIONS_HIT", True)
    aborted = decision.aborted(request(), "fp", START, 300)  # type: ignore[union-attr]
    assert aborted.state is TransferState.ABORTED and aborted.abort_code == "SANCTIONS_HIT"
    assert aborted.fee == hkd("5.00") and aborted.usage_day == ""


def test_the_daily_limit_accepts_exactly_up_to_it_and_refuses_beyond() -> None:
    limits = {"HKD>CNY": LIMIT}
    p = periods(START - timedelta(seconds=1), ZONE, LIMIT.bucket_seconds)
    at_limit = Usage(p.day, 90_000, 1, p.year, 90_000, "old-bucket", 0)  # 900 + 100 = the daily 1,000
    accepted = decide(usage=at_limit, limits=limits)
    assert isinstance(accepted, Accepted) and accepted.usage is not None and accepted.usage.day_minor == 100_000
    over = replace(at_limit, day_minor=90_001)
    decision = decide(usage=over, limits=limits)
    assert refusal(decision) == ("PAYER_DAILY_LIMIT_EXCEEDED", True)
    assert decision.error.metadata["remaining_minor_units"] == "9999"  # type: ignore[union-attr]


def test_the_yearly_and_velocity_limits_refuse_with_their_own_reasons() -> None:
    limits = {"HKD>CNY": LIMIT}
    p = periods(START - timedelta(seconds=1), ZONE, LIMIT.bucket_seconds)
    yearly = Usage(p.day, 0, 0, p.year, 490_001, p.bucket, 0)
    assert refusal(decide(usage=yearly, limits=limits)) == ("PAYER_YEARLY_LIMIT_EXCEEDED", True)
    per_day = Usage(p.day, 0, 3, p.year, 0, "old-bucket", 0)
    assert refusal(decide(usage=per_day, limits=limits)) == ("VELOCITY_LIMIT_EXCEEDED", True)
    per_bucket = Usage(p.day, 0, 2, p.year, 0, p.bucket, 2)
    assert refusal(decide(usage=per_bucket, limits=limits)) == ("VELOCITY_LIMIT_EXCEEDED", True)


def test_a_reservation_exactly_at_the_cap_is_accepted_and_one_minor_unit_beyond_is_refused() -> None:
    # Cap 1,000.00; owes 500.00 net (600 posted, 100 credited) and 400.00 reserved: exactly 100.00 left.
    exact = balance(cap=100_000, posted=60_000, credits=10_000, pending=40_000)
    assert isinstance(decide(bal=exact), Accepted)
    over = replace(exact, debits_pending=40_001)
    decision = decide(bal=over)
    assert refusal(decision) == ("NET_DEBIT_CAP_EXCEEDED", True)
    assert decision.error.metadata["available_minor_units"] == "9999"  # type: ignore[union-attr]


def test_what_earlier_transfers_of_a_batch_reserve_counts_against_the_cap() -> None:
    exact = balance(cap=10_000, pending=0)  # exactly the 100.00 asked for
    assert isinstance(decide(bal=exact, also_reserved=0), Accepted)
    assert refusal(decide(bal=exact, also_reserved=1)) == ("NET_DEBIT_CAP_EXCEEDED", True)


def test_the_first_rule_broken_answers() -> None:
    # Sanctioned, over the limit and over the cap: screening comes first; then the limit; then the cap.
    limits = {"HKD>CNY": replace(LIMIT, daily_minor=1)}
    tight = balance(cap=0)
    both = decide(request(payer_name="Boris Testarov Fictivich"), limits=limits, bal=tight)
    assert refusal(both) == ("SANCTIONS_HIT", True)
    assert refusal(decide(limits=limits, bal=tight)) == ("PAYER_DAILY_LIMIT_EXCEEDED", True)
    assert refusal(decide(bal=tight)) == ("NET_DEBIT_CAP_EXCEEDED", True)


def test_a_transfer_without_a_quote_pays_no_fee_in_one_currency() -> None:
    same = request(quote_id="", receive=hkd("100.00"), payee_id="HKBANK2")
    parties = {**PARTIES, "HKBANK2": participant("HKBANK2", "HKD")}
    decision = rules().decide(same, START, parties, None, None, balance())
    assert isinstance(decision, Accepted) and decision.fee is None
    assert decision.reserved(same, "fp", START, 300).fee == Money("HKD", 0)
