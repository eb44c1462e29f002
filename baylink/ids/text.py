"""Input clean-up shared by all kinds: width folding, case folding, separator removal."""

from __future__ import annotations

import unicodedata

from baylink.ids.model import IdResult, Kind, Reason, fail

MAX_CLEAN_LENGTH = 64
"""Longer cleaned input is refused outright; no identifier is anywhere near this long."""

_MAX_ROUNDS = 8


def _round(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if not ch.isspace() and unicodedata.category(ch) != "Cf")


def clean(value: str) -> str:
    """Fold full-width forms (NFKC), upper-case, and drop whitespace and invisible format characters.

    Upper-casing can produce text that NFKC changes again (e.g. U+01C6 → U+01C4 → "DŽ"), so the
    step is repeated until it is stable, which makes ``clean`` idempotent.
    """
    text = value
    for _ in range(_MAX_ROUNDS):
        nxt = _round(text)
        if nxt == text:
            break
        text = nxt
    return text


def prepare(value: object, kind: Kind | None) -> str | IdResult:
    """Clean ``value`` or explain why there is nothing to check."""
    if not isinstance(value, str):
        return fail(kind, Reason.NOT_A_STRING, f"expected text, got {type(value).__name__}")
    text = clean(value)
    if not text:
        return fail(kind, Reason.EMPTY, "the value is empty")
    if len(text) > MAX_CLEAN_LENGTH:
        return fail(kind, Reason.TOO_LONG, f"the value is {len(text)} characters long; no identifier is")
    return text


def first_outside(text: str, allowed: str) -> tuple[int, str] | None:
    """The 1-based position and character of the first character of ``text`` not in ``allowed``."""
    for index, ch in enumerate(text, start=1):
        if ch not in allowed:
            return index, ch
    return None


DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
