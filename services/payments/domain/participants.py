"""Participants of the link and their positions."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from baylink.errors import InvalidInput
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
        return Money(self.currency, self.net_debit_cap.minor - self.position.minor - self.reserved.minor)


def validate_participant_id(value: str, field: str = "participant_id") -> str:
    if not _ID.match(value):
        raise InvalidInput.field(field, "2-40 characters: A-Z, 0-9, '_' or '-', starting with a letter or digit")
    return value


def validate_bic(value: str) -> str:
    if value and not _BIC.match(value):
        raise InvalidInput.field("bic", "not an ISO 9362 BIC (8 or 11 characters)")
    return value
