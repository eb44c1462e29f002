"""Participants of the link and their positions."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from baylink.errors import FailedPrecondition, InvalidInput, NotFound, PreconditionViolation
from services.payments.domain.money import Money

_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")
_BIC = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


class ParticipantKind(enum.Enum):
    PSP = "PSP"
    FEE_COLLECTOR = "FEE_COLLECTOR"


class Jurisdiction(enum.Enum):
    HK = "HK"
    MO = "MO"
    GD = "GD"


@dataclass(frozen=True)
class Participant:
    participant_id: str
    name_en: str
    name_zh_hant: str
    name_zh_hans: str
    name_pt: str
    jurisdiction: Jurisdiction
    kind: ParticipantKind
    bic: str
    currencies: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Position:
    participant_id: str
    currency: str
    position: Money  # committed net debit: positive owes the scheme
    reserved: Money
    net_debit_cap: Money

    @property
    def available(self) -> Money:
        return Money(self.currency, available(self.net_debit_cap.minor, self.position.minor, self.reserved.minor))


def available(net_debit_cap: int, position: int, reserved: int) -> int:
    """The net debit cap rule: what a participant may still reserve is its cap less what it owes
    (its position) and what it has reserved. A reservation must fit within it."""
    return net_debit_cap - position - reserved


@dataclass(frozen=True, slots=True)
class Balance:
    """A position account's stored balances, in minor units, as the net debit cap rule reads them."""

    currency: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    net_debit_cap: int | None  # None: an account without a cap (the scheme's), never a payer's

    def available(self, also_reserved: int = 0) -> int:
        """What may still be reserved, with ``also_reserved`` more already spoken for."""
        position = self.debits_posted - self.credits_posted
        return available(self.net_debit_cap or 0, position, self.debits_pending + also_reserved)


def validate_participant_id(value: str, field: str = "participant_id") -> str:
    if not _ID.match(value):
        raise InvalidInput.field(field, "2-40 characters: A-Z, 0-9, '_' or '-', starting with a letter or digit")
    return value


def validate_bic(value: str) -> str:
    if value and not _BIC.match(value):
        raise InvalidInput.field("bic", "not an ISO 9362 BIC (8 or 11 characters)")
    return value


def check_parties(found: Mapping[str, Participant], payer_id: str, payee_id: str, source: str, target: str) -> None:
    """Both participants exist, are active, differ, and hold the currencies they pay and receive in."""
    if payer_id == payee_id:
        raise InvalidInput.field("payee_participant_id", "must differ from the payer")
    for role, pid, currency in (("payer", payer_id, source), ("payee", payee_id, target)):
        participant = found.get(pid)
        if participant is None:
            raise NotFound("participant", pid)
        if not participant.active:
            raise FailedPrecondition(
                f"{role} {pid} is not active",
                [PreconditionViolation("PARTICIPANT", pid, "inactive")],
                reason="PARTICIPANT_INACTIVE",
            )
        if currency not in participant.currencies:
            raise FailedPrecondition(
                f"{role} {pid} holds no {currency} position",
                [PreconditionViolation("CURRENCY", pid, f"no {currency} position")],
                reason="CURRENCY_NOT_HELD",
            )
