"""Mainland Travel Permits for Hong Kong and Macau Residents (港澳居民来往内地通行证, 回乡证).

Shapes (format only, no check character):

* ``H`` (Hong Kong) or ``M`` (Macau) + 8 digits: the permit number of Chinese-citizen residents.
  Older permits append a 2-digit issue count (``H1234567801``); it changes on renewal while the
  9-character base number stays, so the base is the normalised form and the count is reported
  in ``details["issue_count"]``.
* ``HA`` / ``MA`` + 7 digits: permits for non-Chinese permanent residents.
"""

from __future__ import annotations

import re

from baylink.ids.model import IdResult, Kind, Reason, fail, ok
from baylink.ids.text import DIGITS, LETTERS, first_outside, prepare

_CITIZEN = re.compile(r"([HM])([0-9]{8})([0-9]{2})?", re.ASCII)
_NON_CHINESE = re.compile(r"([HM])A([0-9]{7})", re.ASCII)
_JURISDICTION = {"H": "HK", "M": "MO"}


def matches_shape(text: str) -> bool:
    """True when cleaned text has one of the permit shapes."""
    return _CITIZEN.fullmatch(text) is not None or _NON_CHINESE.fullmatch(text) is not None


def check_clean(text: str) -> IdResult:
    """Check already-cleaned text as a travel permit number."""
    citizen = _CITIZEN.fullmatch(text)
    if citizen is not None:
        letter, digits, count = citizen.group(1), citizen.group(2), citizen.group(3)
        details = {"jurisdiction": _JURISDICTION[letter], "holder": "chinese_citizen"}
        message = "format valid; travel permits carry no check character"
        if count is not None:
            details["issue_count"] = str(int(count))
            message += f"; issue count {int(count)} reported separately from the base number"
        return ok(Kind.TRAVEL_PERMIT, letter + digits, message, check_verified=False, details=details)
    non_chinese = _NON_CHINESE.fullmatch(text)
    if non_chinese is not None:
        letter = non_chinese.group(1)
        details = {"jurisdiction": _JURISDICTION[letter], "holder": "non_chinese_permanent_resident"}
        return ok(
            Kind.TRAVEL_PERMIT,
            text,
            "format valid; travel permits carry no check character",
            check_verified=False,
            details=details,
        )
    bad = first_outside(text, DIGITS + LETTERS)
    if bad is not None:
        return fail(
            Kind.TRAVEL_PERMIT,
            Reason.INVALID_CHARACTER,
            f"character {bad[1]!r} at position {bad[0]} cannot appear in a travel permit number",
        )
    if text[0] not in _JURISDICTION:
        return fail(
            Kind.TRAVEL_PERMIT,
            Reason.INVALID_PREFIX,
            f"first letter is {text[0]!r}, expected H (Hong Kong) or M (Macau)",
        )
    return fail(
        Kind.TRAVEL_PERMIT,
        Reason.INVALID_FORMAT,
        "expected H/M + 8 digits (optionally + a 2-digit issue count) or HA/MA + 7 digits",
    )


def check_travel_permit(value: str) -> IdResult:
    """Parse, normalise and format-check a Mainland Travel Permit number. Never raises."""
    text = prepare(value, Kind.TRAVEL_PERMIT)
    return text if isinstance(text, IdResult) else check_clean(text)
