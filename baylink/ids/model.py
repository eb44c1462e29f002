"""The result type shared by every identifier check.

A check never raises on bad input: it answers with an :class:`IdResult` that says which kind
of document the value is (when known), its normalised form, whether it is valid and, when it
is not, a machine reason code plus an English message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """The identifier kinds Baylink understands."""

    HKID = "hkid"
    """Hong Kong Identity Card."""
    MACAU_ID = "macau_id"
    """Macau Resident Identity Card (BIR)."""
    TRAVEL_PERMIT = "travel_permit"
    """Mainland Travel Permit for Hong Kong and Macau Residents (回乡证)."""
    RESIDENCE_PERMIT = "residence_permit"
    """Residence Permit for Hong Kong and Macau Residents (GB 11643 layout, area 810000/820000)."""
    MAINLAND_ID = "mainland_id"
    """Mainland Resident Identity Card (GB 11643)."""
    USCC = "uscc"
    """Unified Social Credit Code (GB 32100-2015)."""
    HK_BR = "hk_br"
    """Hong Kong Business Registration number."""


class Reason(StrEnum):
    """Why a value is not a valid identifier. Stable strings: callers may match on them."""

    NOT_A_STRING = "not_a_string"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    UNKNOWN_KIND = "unknown_kind"
    UNRECOGNISED_FORMAT = "unrecognised_format"
    INVALID_LENGTH = "invalid_length"
    INVALID_CHARACTER = "invalid_character"
    INVALID_FORMAT = "invalid_format"
    INVALID_PREFIX = "invalid_prefix"
    CHECK_DIGIT_MISMATCH = "check_digit_mismatch"
    INVALID_AREA_CODE = "invalid_area_code"
    NOT_HK_MACAU_AREA_CODE = "not_hk_macau_area_code"
    INVALID_BIRTH_DATE = "invalid_birth_date"
    BIRTH_DATE_IN_FUTURE = "birth_date_in_future"
    UNKNOWN_REGISTRATION_AUTHORITY = "unknown_registration_authority"
    INVALID_CATEGORY_FOR_AUTHORITY = "invalid_category_for_authority"
    INVALID_DIVISION_CODE = "invalid_division_code"
    ORGANISATION_CODE_CHECK_MISMATCH = "organisation_code_check_mismatch"
    """USCC positions 9-17: the inner GB 11714 organisation-code check failed."""
    USCC_CHECK_MISMATCH = "uscc_check_mismatch"
    """USCC position 18: the outer GB 32100 mod-31 check failed."""


@dataclass(frozen=True, slots=True)
class IdResult:
    """The answer of a check.

    ``normalised`` is the canonical spelling whenever the value has the document's shape (even if
    a check character is wrong), else ``None``. ``reason`` is ``None`` exactly when ``valid``.
    ``check_verified`` is true when a check character was computed and matched; format-only
    kinds are valid with ``check_verified=False``. ``details`` carries kind-specific parsed
    fields (e.g. ``birth_date``, ``issue_count``) as strings.
    """

    kind: Kind | None
    normalised: str | None
    valid: bool
    reason: Reason | None
    message: str
    check_verified: bool = False
    details: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary."""
        return {
            "kind": None if self.kind is None else self.kind.value,
            "normalised": self.normalised,
            "valid": self.valid,
            "reason": None if self.reason is None else self.reason.value,
            "message": self.message,
            "check_verified": self.check_verified,
            "details": dict(self.details),
        }


def ok(
    kind: Kind,
    normalised: str,
    message: str,
    *,
    check_verified: bool,
    details: Mapping[str, str] | None = None,
) -> IdResult:
    """A valid result."""
    return IdResult(kind, normalised, True, None, message, check_verified, details or {})


def fail(
    kind: Kind | None,
    reason: Reason,
    message: str,
    *,
    normalised: str | None = None,
    details: Mapping[str, str] | None = None,
) -> IdResult:
    """An invalid result."""
    return IdResult(kind, normalised, False, reason, message, False, details or {})
