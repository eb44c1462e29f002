"""A payments service of the test's own: real SQLite database, a clock the test moves, seeded participants and rates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.payments.bootstrap import Payments, bootstrap
from services.payments.config import PaymentsSettings
from services.payments.domain.money import Money
from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind
from services.payments.domain.pricing import AmountType, Rate
from services.payments.domain.transfer import PrepareTransfer
from services.payments.service_layer import participants, prepare, quotes
from services.payments.service_layer.settlement import ensure_open_window

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Hong Kong
PSEUDONYM = "a1" * 32  # what an HMAC-SHA256 hex pseudonym looks like


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def hkd(amount: str) -> Money:
    return Money("HKD", int(Decimal(amount) * 100))


def cny(amount: str) -> Money:
    return Money("CNY", int(Decimal(amount) * 100))


PARTICIPANTS = [
    ("HKBANK", "Hong Kong Test Bank", Jurisdiction.HK, ("HKD",), ParticipantKind.PSP, "HKTBHKHH"),
    ("MOBANK", "Macau Test Bank", Jurisdiction.MO, ("MOP",), ParticipantKind.PSP, ""),
    ("GDBANK", "Guangdong Test Bank", Jurisdiction.GD, ("CNY",), ParticipantKind.PSP, ""),
    ("REGISTRY", "Nanhai Registry Fees", Jurisdiction.GD, ("CNY",), ParticipantKind.FEE_COLLECTOR, ""),
]
RATES = [
    # pair, mid, spread bps, fixed fee (minor units of the source currency), fee bps
    ("HKD", "CNY", "0.92", 50, 500, 0),
    ("MOP", "CNY", "0.8930", 50, 500, 0),
    ("CNY", "HKD", "1.0870", 50, 400, 0),
    ("CNY", "MOP", "1.1200", 50, 400, 10),
]


async def seed(app: Payments, cap_minor: int = 100_000_000) -> None:
    for pid, name, jurisdiction, currencies, kind, bic in PARTICIPANTS:
        p = Participant(pid, name, "", "", "", jurisdiction, kind, bic, currencies, True, START)
        await participants.create_participant(app.deps, participants.CreateParticipant(p))
        for currency in currencies:
            await participants.set_net_debit_cap(app.deps, pid, Money(currency, cap_minor))
    for src, dst, mid, spread, fee, fee_bps in RATES:
        await quotes.set_rate(
            app.deps, Rate(src, dst, Decimal(mid), START - timedelta(hours=1), None, spread, fee, fee_bps)
        )


async def make_app(database_url: str, clock: Clock, **settings: Any) -> Payments:
    app = bootstrap(PaymentsSettings(database_url=database_url, **settings), clock=clock)
    await app.migrate()
    await seed(app)
    await ensure_open_window(app.deps)
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(tmp_path, clock: Clock) -> AsyncIterator[Payments]:  # type: ignore[no-untyped-def]
    payments = await make_app(f"sqlite+aiosqlite:///{tmp_path / 'payments.db'}", clock)
    yield payments
    await payments.deps.db.dispose()


async def quote(app: Payments, quote_id: str, amount: Money, counter: str = "CNY", *, payer: str = "HKBANK",
                payee: str = "REGISTRY", amount_type: AmountType = AmountType.SEND) -> Any:  # fmt: skip
    return await quotes.create_quote(app.deps, quotes.CreateQuote(quote_id, payer, payee, amount_type, amount, counter))


def request_for(q: Any, transfer_id: str, **overrides: Any) -> PrepareTransfer:
    values: dict[str, Any] = {
        "transfer_id": transfer_id,
        "payer_id": q.payer_id,
        "payee_id": q.payee_id,
        "send": q.send,
        "receive": q.receive,
        "reference": f"FEE-{transfer_id}",
        "payer_pseudonym": PSEUDONYM,
        "payer_name": "Chan Tai Man",
        "payee_name": "Foshan Nanhai Market Supervision Bureau",
        "quote_id": q.quote_id,
    }
    values.update(overrides)
    return PrepareTransfer(**values)


def person(i: int) -> str:
    """A payer pseudonym of its own for each i (per-person limits then do not bind)."""
    return f"{i:04x}" * 16


async def mixed_batch(app: Payments) -> tuple[list[PrepareTransfer], list[Any]]:
    """Six good requests t0-t5 among three bad: "t-big" over HKBANK's net debit cap of 1,000 HKD,
    "t-hit" a sanctioned payer, "taken" a modified repeat of a transfer already prepared; and the six
    good requests' quotes."""
    await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("1000.00"))
    good = [await quote(app, f"q{i}", hkd("100.00")) for i in range(6)]
    too_big = await quote(app, "big", hkd("990.00"))  # 20 already reserved + 990 > 1000, whatever the order
    sanctioned = await quote(app, "hit", hkd("10.00"))
    first = await quote(app, "mod", hkd("20.00"))
    await prepare.prepare_transfer(app.deps, request_for(first, "taken"))
    requests = [request_for(q, f"t{i}", payer_pseudonym=person(i)) for i, q in enumerate(good)]
    requests.insert(2, request_for(too_big, "t-big", payer_pseudonym=person(90)))
    requests.insert(4, request_for(sanctioned, "t-hit", payer_name="Boris Testarov Fictivich"))
    requests.insert(5, request_for(first, "taken", reference="CHANGED"))  # a modified request
    return requests, good


async def reserved_and_one_expired(app: Payments, clock: Clock) -> None:
    """Transfers t1-t3 reserved, and "short" reserved but past its deadline (the clock moved on)."""
    from services.payments.service_layer import prepare

    qs = [await quote(app, f"q{i}", hkd("50.00")) for i in range(4)]
    await prepare.prepare_transfer(app.deps, request_for(qs[0], "short", expires_at=START.replace(minute=1)))
    for i in range(1, 4):
        await prepare.prepare_transfer(app.deps, request_for(qs[i], f"t{i}", payer_pseudonym=person(i)))
    clock.advance(120)
