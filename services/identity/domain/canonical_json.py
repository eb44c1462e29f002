"""Canonical JSON: the byte form over which trust-list signatures are computed.

Rules (kept deliberately small so another language can reproduce them):
UTF-8 without BOM; objects with keys sorted by code point; no insignificant whitespace
(separators "," and ":"); strings as JSON escapes only what it must (non-ASCII stays literal);
only strings, integers, booleans, null, arrays and objects — floats are refused because their
text form is not portable. Parsing is strict too: duplicate keys, floats, NaN and trailing
garbage are refused, since two parsers that disagree on such input would see different lists.
"""

from __future__ import annotations

import json
from typing import Any

from services.identity.domain.errors import InvalidInput

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


def dumps(value: Any) -> bytes:
    _refuse_floats(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def dumps_readable(value: Any) -> bytes:
    """Indented form for files people read; equal to `dumps` after a parse, so signatures hold."""
    _refuse_floats(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False).encode("utf-8")


def loads(data: bytes, field: str = "document") -> Any:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(field, "too_large", f"document exceeds {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except InvalidInput:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(field, "malformed", f"not valid JSON: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInput("document", "duplicate_key", f"key {key!r} appears twice")
        result[key] = value
    return result


def _no_float(text: str) -> Any:
    raise InvalidInput("document", "float", f"non-integer number {text!r} is not allowed")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise InvalidInput("document", "float", "floats have no canonical form")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)
