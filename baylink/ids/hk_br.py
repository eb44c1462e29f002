"""Hong Kong Business Registration numbers: the 8-digit number, format only."""

from __future__ import annotations

import re

from baylink.ids.model import IdResult, Kind, Reason, fail, ok
from baylink.ids.text import DIGITS, first_outside, prepare

_PATTERN = re.compile(r"[0-9]{8}", re.ASCII)


def matches_shape(text: str) -> bool:
    """True for cleaned text of exactly 8 digits."""
    return _PATTERN.fullmatch(text) is not None


def check_clean(text: str) -> IdResult:
    """Check already-cleaned text as a business registration number."""
    bad = first_outside(text, DIGITS)
    if bad is not None:
        return fail(
            Kind.HK_BR,
            Reason.INVALID_CHARACTER,
            f"character {bad[1]!r} at position {bad[0]} is not a digit",
        )
    if len(text) != 8:
        return fail(Kind.HK_BR, Reason.INVALID_LENGTH, f"expected 8 digits, got {len(text)}")
    return ok(
        Kind.HK_BR,
        text,
        "format valid; business registration numbers carry no published check digit",
        check_verified=False,
    )


def check_hk_br(value: str) -> IdResult:
    """Parse and format-check a Hong Kong Business Registration number. Never raises."""
    text = prepare(value, Kind.HK_BR)
    return text if isinstance(text, IdResult) else check_clean(text)
