"""Macau Resident Identity Card (BIR) numbers.

Shape: a first digit 1, 5 or 7, six digits, and a check digit written in brackets:
``1234567(8)``. The check-digit algorithm is not published, so only the format is validated and
the result says so (``check_verified`` is false).
"""

from __future__ import annotations

import re

from baylink.ids.model import IdResult, Kind, Reason, fail, ok
from baylink.ids.text import DIGITS, first_outside, prepare

_PATTERN = re.compile(r"([0-9])([0-9]{6})(?:\(([0-9])\)|([0-9]))", re.ASCII)
_BRACKETED = re.compile(r"[0-9]{7}\([0-9]\)", re.ASCII)
_FIRST_DIGITS = "157"
_UNVERIFIED = "the Macau check-digit algorithm is not published, so the check digit was not verified"


def matches_bracketed_shape(text: str) -> bool:
    """True for cleaned text like ``1234567(8)`` (any first digit)."""
    return _BRACKETED.fullmatch(text) is not None


def check_clean(text: str) -> IdResult:
    """Check already-cleaned text as a Macau identity card number."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        bad = first_outside(text, DIGITS + "()")
        if bad is not None:
            return fail(
                Kind.MACAU_ID,
                Reason.INVALID_CHARACTER,
                f"character {bad[1]!r} at position {bad[0]} cannot appear in a Macau identity card number",
            )
        return fail(
            Kind.MACAU_ID,
            Reason.INVALID_FORMAT,
            "expected 7 digits and a check digit in brackets, e.g. 1234567(8)",
        )
    first, rest = match.group(1), match.group(2)
    check = match.group(3) or match.group(4)
    normalised = f"{first}{rest}({check})"
    if first not in _FIRST_DIGITS:
        return fail(
            Kind.MACAU_ID,
            Reason.INVALID_PREFIX,
            f"first digit is {first}, expected 1, 5 or 7",
            normalised=normalised,
        )
    return ok(Kind.MACAU_ID, normalised, f"format valid; {_UNVERIFIED}", check_verified=False)


def check_macau_id(value: str) -> IdResult:
    """Parse, normalise and format-check a Macau Resident Identity Card number. Never raises."""
    text = prepare(value, Kind.MACAU_ID)
    return text if isinstance(text, IdResult) else check_clean(text)
