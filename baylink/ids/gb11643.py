"""Citizen identity numbers in the GB 11643 layout.

Two kinds share the layout: the Mainland Resident Identity Card and the Residence Permit for
Hong Kong and Macau Residents (area code 810000 for Hong Kong, 820000 for Macau).

Layout: 6-digit area code, 8-digit birth date ``YYYYMMDD``, 3-digit sequence (odd for men, even
for women), check character. Check (ISO 7064 MOD 11-2): weights ``2**(17-i) mod 11`` for
positions i = 0..16, check ``(12 - sum mod 11) mod 11`` where 10 is written ``X``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from baylink.ids.model import IdResult, Kind, Reason, fail, ok
from baylink.ids.text import DIGITS, first_outside, prepare

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_PATTERN = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_EARLIEST_BIRTH = date(1900, 1, 1)
_CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

PROVINCES: dict[str, str] = {
    "11": "Beijing",
    "12": "Tianjin",
    "13": "Hebei",
    "14": "Shanxi",
    "15": "Inner Mongolia",
    "21": "Liaoning",
    "22": "Jilin",
    "23": "Heilongjiang",
    "31": "Shanghai",
    "32": "Jiangsu",
    "33": "Zhejiang",
    "34": "Anhui",
    "35": "Fujian",
    "36": "Jiangxi",
    "37": "Shandong",
    "41": "Henan",
    "42": "Hubei",
    "43": "Hunan",
    "44": "Guangdong",
    "45": "Guangxi",
    "46": "Hainan",
    "50": "Chongqing",
    "51": "Sichuan",
    "52": "Guizhou",
    "53": "Yunnan",
    "54": "Tibet",
    "61": "Shaanxi",
    "62": "Gansu",
    "63": "Qinghai",
    "64": "Ningxia",
    "65": "Xinjiang",
    "71": "Taiwan",
    "81": "Hong Kong",
    "82": "Macau",
}
"""Province-level codes of GB/T 2260 (the first two digits of an area code)."""

PROVINCE_CODES: frozenset[str] = frozenset(PROVINCES)

HK_MACAU_AREA_CODES: dict[str, str] = {"810000": "HK", "820000": "MO"}


def china_today() -> date:
    """Today's date in China Standard Time (UTC+8), the clock birth dates are judged by."""
    return datetime.now(_CHINA_STANDARD_TIME).date()


def gb11643_check_char(body17: str) -> str:
    """The check character for the first 17 digits. Raises ``ValueError`` on malformed input."""
    if len(body17) != 17 or any(ch not in DIGITS for ch in body17):
        raise ValueError(f"GB 11643 body must be 17 digits, got {body17!r}")
    total = sum(int(ch) * w for ch, w in zip(body17, _WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def matches_shape(text: str) -> bool:
    """True for cleaned text of 17 digits and a digit or X."""
    return _PATTERN.fullmatch(text) is not None


def birth_date_of(text: str) -> date | None:
    """The calendar date in positions 7-14, or None when it is not one (range not checked)."""
    try:
        return date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None


def _check(text: str, kind: Kind, today: date | None) -> IdResult:
    bad = first_outside(text[:17], DIGITS)
    if bad is None and len(text) > 17 and text[17] not in DIGITS + "X":
        bad = (18, text[17])
    if bad is not None:
        return fail(kind, Reason.INVALID_CHARACTER, f"character {bad[1]!r} at position {bad[0]} is not allowed")
    if len(text) != 18:
        return fail(kind, Reason.INVALID_LENGTH, f"expected 18 characters, got {len(text)}")
    area = text[:6]
    details = {"area_code": area}
    if kind is Kind.RESIDENCE_PERMIT:
        if area not in HK_MACAU_AREA_CODES:
            return fail(
                kind,
                Reason.NOT_HK_MACAU_AREA_CODE,
                f"area code is {area}, expected 810000 (Hong Kong) or 820000 (Macau)",
                normalised=text,
                details=details,
            )
        details["jurisdiction"] = HK_MACAU_AREA_CODES[area]
    elif area[:2] not in PROVINCE_CODES:
        return fail(
            kind,
            Reason.INVALID_AREA_CODE,
            f"area code {area} does not start with a province code",
            normalised=text,
            details=details,
        )
    else:
        details["province"] = PROVINCES[area[:2]]
    born = birth_date_of(text)
    if born is None:
        return fail(
            kind,
            Reason.INVALID_BIRTH_DATE,
            f"birth date {text[6:14]} is not a calendar date",
            normalised=text,
            details=details,
        )
    if born < _EARLIEST_BIRTH:
        return fail(
            kind,
            Reason.INVALID_BIRTH_DATE,
            f"birth date {born.isoformat()} is before 1900-01-01",
            normalised=text,
            details=details,
        )
    reference = today if today is not None else china_today()
    if born > reference:
        return fail(
            kind,
            Reason.BIRTH_DATE_IN_FUTURE,
            f"birth date {born.isoformat()} is after today ({reference.isoformat()})",
            normalised=text,
            details=details,
        )
    details["birth_date"] = born.isoformat()
    details["sex"] = "male" if int(text[16]) % 2 else "female"
    expected = gb11643_check_char(text[:17])
    if text[17] != expected:
        return fail(
            kind,
            Reason.CHECK_DIGIT_MISMATCH,
            f"check character is {text[17]}, expected {expected}",
            normalised=text,
            details=details,
        )
    label = "residence permit number" if kind is Kind.RESIDENCE_PERMIT else "mainland identity card number"
    return ok(kind, text, f"valid {label}", check_verified=True, details=details)


def check_clean_mainland_id(text: str, today: date | None = None) -> IdResult:
    """Check already-cleaned text as a Mainland Resident Identity Card number."""
    return _check(text, Kind.MAINLAND_ID, today)


def check_clean_residence_permit(text: str, today: date | None = None) -> IdResult:
    """Check already-cleaned text as a Residence Permit for Hong Kong and Macau Residents number."""
    return _check(text, Kind.RESIDENCE_PERMIT, today)


def check_mainland_id(value: str, *, today: date | None = None) -> IdResult:
    """Parse and validate a Mainland Resident Identity Card number. Never raises.

    ``today`` (default: today in China Standard Time) bounds the birth date.
    """
    text = prepare(value, Kind.MAINLAND_ID)
    return text if isinstance(text, IdResult) else _check(text, Kind.MAINLAND_ID, today)


def check_residence_permit(value: str, *, today: date | None = None) -> IdResult:
    """Parse and validate a Residence Permit for Hong Kong and Macau Residents number. Never raises."""
    text = prepare(value, Kind.RESIDENCE_PERMIT)
    return text if isinstance(text, IdResult) else _check(text, Kind.RESIDENCE_PERMIT, today)
