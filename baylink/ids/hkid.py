"""Hong Kong Identity Card numbers.

Shape: one or two letters, six digits and a check character 0-9 or A, usually written with the
check character in brackets: ``A123456(3)``, ``AB987654(2)``.

Check: letters count A=10 … Z=35; a one-letter prefix is padded on the left with a space worth
36, giving eight values that are weighted 9, 8, …, 2. The check is ``11 - (sum mod 11)``, where
10 is written ``A`` and 11 is written ``0``.
"""

from __future__ import annotations

import re

from baylink.ids.model import IdResult, Kind, Reason, fail, ok
from baylink.ids.text import DIGITS, LETTERS, first_outside, prepare

_PATTERN = re.compile(r"([A-Z]{1,2})([0-9]{6})(?:\(([0-9A])\)|([0-9A]))", re.ASCII)
_ALLOWED = DIGITS + LETTERS + "()"
_SPACE_VALUE = 36
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def _letter_value(letter: str) -> int:
    return LETTERS.index(letter) + 10


def hkid_check_char(prefix: str, digits: str) -> str:
    """The check character for ``prefix`` (1-2 upper-case letters) and ``digits`` (6 digits).

    Raises ``ValueError`` when the parts are malformed (this is a computing helper, not a validator).
    """
    if not 1 <= len(prefix) <= 2 or any(ch not in LETTERS for ch in prefix):
        raise ValueError(f"HKID prefix must be 1-2 upper-case letters, got {prefix!r}")
    if len(digits) != 6 or any(ch not in DIGITS for ch in digits):
        raise ValueError(f"HKID body must be 6 digits, got {digits!r}")
    values = [_SPACE_VALUE] if len(prefix) == 1 else []
    values += [_letter_value(ch) for ch in prefix]
    values += [int(ch) for ch in digits]
    total = sum(v * w for v, w in zip(values, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return "0"
    if check == 10:
        return "A"
    return str(check)


def matches_shape(text: str) -> bool:
    """True when cleaned ``text`` has the HKID shape (check character not verified)."""
    return _PATTERN.fullmatch(text) is not None


def check_clean(text: str) -> IdResult:
    """Check already-cleaned text as an HKID."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        bad = first_outside(text, _ALLOWED)
        if bad is not None:
            return fail(
                Kind.HKID,
                Reason.INVALID_CHARACTER,
                f"character {bad[1]!r} at position {bad[0]} cannot appear in an HKID",
            )
        return fail(
            Kind.HKID,
            Reason.INVALID_FORMAT,
            "expected 1-2 letters, 6 digits and a check character 0-9 or A, e.g. A123456(3)",
        )
    prefix, digits = match.group(1), match.group(2)
    given = match.group(3) or match.group(4)
    normalised = f"{prefix}{digits}({given})"
    expected = hkid_check_char(prefix, digits)
    details = {"prefix": prefix}
    if given != expected:
        return fail(
            Kind.HKID,
            Reason.CHECK_DIGIT_MISMATCH,
            f"check character is {given}, expected {expected}",
            normalised=normalised,
            details=details,
        )
    return ok(Kind.HKID, normalised, "valid HKID", check_verified=True, details=details)


def check_hkid(value: str) -> IdResult:
    """Parse, normalise and validate a Hong Kong Identity Card number. Never raises."""
    text = prepare(value, Kind.HKID)
    return text if isinstance(text, IdResult) else check_clean(text)
