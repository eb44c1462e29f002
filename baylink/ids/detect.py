"""Kind detection and the generic entry points ``check``, ``normalise`` and ``is_valid``.

``detect`` looks only at the cleaned shape (full-width folded, upper-cased, whitespace removed)
and resolves the shapes that two kinds share in this documented order:

1. Bracketed check character: letters first → HKID (``A123456(3)``); 7 digits first → Macau
   identity card (``1234567(8)``).
2. 18 characters:

   a. all digits (last may be X) with area code 810000/820000 → residence permit;
   b. all digits (last may be X) with a province code, a calendar birth date and a matching
      GB 11643 check → mainland identity card;
   c. otherwise, if every USCC rule passes → USCC;
   d. otherwise, all digits with a province code and a calendar birth date → mainland
      identity card (reported invalid by its own check);
   e. anything else of 18 characters → USCC (reported invalid with the USCC reason).

3. ``H``/``M`` + 8 digits (+ 2-digit issue count), or ``HA``/``MA`` + 7 digits → travel permit.
   An unbracketed ``HA1234567`` is therefore a travel permit; write ``HA123456(7)`` for an HKID.
4. 1-2 letters + 6 digits + check character 0-9/A, unbracketed → HKID.
5. 8 digits → Hong Kong business registration number. An unbracketed Macau number
   ``12345678`` is therefore a BR number; write ``1234567(8)`` or pass ``kind=Kind.MACAU_ID``.

Anything else has no kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from baylink.ids import gb11643, hk_br, hkid, macau_id, travel_permit, uscc
from baylink.ids.model import IdResult, Kind, Reason, fail
from baylink.ids.text import clean, prepare


def _detect_clean(text: str) -> Kind | None:
    if "(" in text or ")" in text:
        if hkid.matches_shape(text):
            return Kind.HKID
        if macau_id.matches_bracketed_shape(text):
            return Kind.MACAU_ID
        return None
    if len(text) == 18:
        if gb11643.matches_shape(text):
            if text[:6] in gb11643.HK_MACAU_AREA_CODES:
                return Kind.RESIDENCE_PERMIT
            plausible = text[:2] in gb11643.PROVINCE_CODES and gb11643.birth_date_of(text) is not None
            if plausible and gb11643.gb11643_check_char(text[:17]) == text[17]:
                return Kind.MAINLAND_ID
            if uscc.is_fully_valid(text):
                return Kind.USCC
            if plausible:
                return Kind.MAINLAND_ID
        return Kind.USCC
    if travel_permit.matches_shape(text):
        return Kind.TRAVEL_PERMIT
    if hkid.matches_shape(text):
        return Kind.HKID
    if hk_br.matches_shape(text):
        return Kind.HK_BR
    return None


def detect(value: str) -> Kind | None:
    """Guess the kind of ``value`` from its shape (see the module docstring). Never raises."""
    if not isinstance(value, str):
        return None
    text = clean(value)
    return _detect_clean(text) if text else None


def _parse_kind(kind: Kind | str) -> Kind | None:
    if isinstance(kind, Kind):
        return kind
    try:
        return Kind(str(kind).strip().lower())
    except ValueError:
        return None


def _checker(kind: Kind, today: date | None) -> Callable[[str], IdResult]:
    if kind is Kind.HKID:
        return hkid.check_clean
    if kind is Kind.MACAU_ID:
        return macau_id.check_clean
    if kind is Kind.TRAVEL_PERMIT:
        return travel_permit.check_clean
    if kind is Kind.RESIDENCE_PERMIT:
        return lambda text: gb11643.check_clean_residence_permit(text, today)
    if kind is Kind.MAINLAND_ID:
        return lambda text: gb11643.check_clean_mainland_id(text, today)
    if kind is Kind.USCC:
        return uscc.check_clean
    return hk_br.check_clean


def check(value: str, kind: Kind | str | None = None, *, today: date | None = None) -> IdResult:
    """Parse, normalise and validate ``value`` as ``kind`` (detected from the shape when None).

    ``kind`` may be a :class:`Kind` or its string value; an unknown string gives reason
    ``unknown_kind``. ``today`` bounds birth dates (default: today in China Standard Time).
    Never raises on bad input.
    """
    chosen: Kind | None = None
    if kind is not None:
        chosen = _parse_kind(kind)
        if chosen is None:
            known = ", ".join(k.value for k in Kind)
            return fail(None, Reason.UNKNOWN_KIND, f"unknown kind {str(kind)!r}; expected one of {known}")
    text = prepare(value, chosen)
    if isinstance(text, IdResult):
        return text
    if chosen is None:
        chosen = _detect_clean(text)
        if chosen is None:
            return fail(None, Reason.UNRECOGNISED_FORMAT, "the value does not have the shape of any known identifier")
    return _checker(chosen, today)(text)


def normalise(value: str, kind: Kind | str | None = None) -> str:
    """The canonical spelling of ``value``; idempotent.

    When the value has the shape of ``kind`` (or of the detected kind) this is the canonical form
    even if a check character is wrong; otherwise it is the cleaned text (full-width folded,
    upper-cased, whitespace removed). Never raises; a non-string gives ``""``.
    """
    if not isinstance(value, str):
        return ""
    result = check(value, kind)
    return result.normalised if result.normalised is not None else clean(value)


def is_valid(value: str, kind: Kind | str | None = None, *, today: date | None = None) -> bool:
    """True when ``check(value, kind)`` says valid."""
    return check(value, kind, today=today).valid
