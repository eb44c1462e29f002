"""The signed attributes of a CMS SignerInfo (RFC 5652 5.3), as the signature check reads them.

`read_signed_attributes` answers exactly what decoding the whole SET OF with asn1crypto and taking
each single-valued attribute's native value answers, and refuses what it refuses, but it decodes
only what is new. A signer repeats most attributes byte for byte (content type, signing-certificate
references, algorithm protection): each distinct attribute is decoded in full by asn1crypto once
and its answer kept by its exact bytes. The two that change with every signature have a fixed
shape and are read directly: message-digest (one primitive OCTET STRING) and signing-time (one
UTCTime `YYMMDDHHMMSSZ`). Anything else - another shape, a second value, BER lengths, a time with
an offset - goes the asn1crypto way, which gives the same answer or the same error as before.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

from asn1crypto import cms, core

from services.identity.adapters import der

Attributes = dict[str, object]  # attribute name (as asn1crypto names it) -> its one value's native form

_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")  # the OID element of id-messageDigest
_SIGNING_TIME = bytes.fromhex("06092a864886f70d010905")  # the OID element of id-signingTime
_MULTI_VALUED = object()  # an attribute with other than one value: read by nobody, as before

# Each distinct attribute decoded once: its exact DER -> (name, native value or _MULTI_VALUED).
_KNOWN: OrderedDict[bytes, tuple[str, object]] = OrderedDict()
_KNOWN_MAX = 4096


def read_signed_attributes(parts: der.SignedDataParts, field: str) -> Attributes:
    """The signed attributes of `parts`; InvalidInput naming `field` if they do not decode."""
    found = _read(parts.signed_attrs_as_set)
    if found is not None:
        return found
    return attributes_of(der.load_signed_attributes(parts, field))


def attributes_of(signed_attrs: cms.CMSAttributes | core.Void) -> Attributes:
    """The single-valued attributes of a decoded SET OF (RFC 5652 demands exactly one value for
    the attributes we read); a later attribute of the same type wins."""
    attrs: Attributes = {}
    if isinstance(signed_attrs, core.Void):
        return attrs
    for attr in signed_attrs:
        values = attr["values"]
        if len(values) == 1:
            attrs[attr["type"].native] = values[0].native
    return attrs


def _read(data: bytes) -> Attributes | None:
    """The attributes, or None where only asn1crypto can say (then it decodes all of them)."""
    try:
        tag, start, end = der.element(data, 0, len(data))
        if tag != 0x31 or end != len(data):
            return None
        attrs: Attributes = {}
        for tag, at, stop in der.children(data, start, end):
            if tag != 0x30:
                return None
            whole = data[at:stop]
            known = _KNOWN.get(whole)
            if known is None:
                known = _changing(whole) or _decode_once(whole)
                if known is None:
                    return None
            name, value = known
            if value is not _MULTI_VALUED:
                attrs[name] = value
    except ValueError:
        return None
    return attrs


def _changing(whole: bytes) -> tuple[str, object] | None:
    """message-digest or signing-time in their one usual shape, read directly; else None.

    `whole` is one complete SEQUENCE (the caller framed it). The usual shape is the OID, then a
    SET holding exactly one value of the expected tag, both with short (so minimal) lengths, the
    value ending exactly where the SET and the SEQUENCE end."""
    _, start, end = der.element(whole, 0, len(whole))
    oid = whole[start : start + 11]
    if oid != _MESSAGE_DIGEST and oid != _SIGNING_TIME:
        return None
    at = start + 11
    if not 4 <= end - at < 0x80 or whole[at] != 0x31 or whole[at + 1] != end - at - 2 or whole[at + 3] != end - at - 4:
        return None  # (end - at < 0x80: both lengths are in the short form, not a long form's first byte)
    tag, value = whole[at + 2], whole[at + 4 : end]
    if oid == _MESSAGE_DIGEST:
        return ("message_digest", value) if tag == 0x04 else None
    moment = _utc_time(value) if tag == 0x17 else None
    return ("signing_time", moment) if moment is not None else None


def _utc_time(text: bytes) -> datetime | None:
    """`YYMMDDHHMMSSZ` as asn1crypto reads it (years 1950-2049), or None for any other form."""
    if len(text) != 13 or text[12:] != b"Z" or not text[:12].isdigit():
        return None
    n = [int(text[i : i + 2]) for i in range(0, 12, 2)]
    try:
        return datetime(n[0] + (2000 if n[0] < 50 else 1900), n[1], n[2], n[3], n[4], n[5], tzinfo=UTC)
    except ValueError:
        return None  # e.g. month 13: asn1crypto refuses it, with its own error


def _decode_once(whole: bytes) -> tuple[str, object] | None:
    """Decode one attribute in full as asn1crypto does inside the SET OF; keep the answer by its
    bytes. None (nothing kept) if it does not decode: the caller lets asn1crypto raise for all."""
    try:
        attribute = cms.CMSAttribute.load(whole, strict=True)
        attribute.native  # noqa: B018 - full decode: raises for anything malformed
        values = attribute["values"]
        known = (attribute["type"].native, values[0].native if len(values) == 1 else _MULTI_VALUED)
    except der.PARSE_ERRORS:
        return None
    _KNOWN[whole] = known
    if len(_KNOWN) > _KNOWN_MAX:
        _KNOWN.popitem(last=False)
    return known


def changing_windows(data: bytes) -> tuple[int, int, int] | None:
    """Where, in a SET OF signed attributes, the message-digest value and the signing-time text
    are: (digest at, digest length, time at), or None unless each of the two appears exactly once,
    in the shape `read_signed_attributes` reads directly (the time as a 13-byte UTCTime). Another
    SET OF with the same bytes outside these two windows then has the same attributes but for
    those two values."""
    try:
        _, start, end = der.element(data, 0, len(data))
        found: dict[str, tuple[int, int]] = {}
        for _, at, stop in der.children(data, start, end):
            whole = data[at:stop]
            _, oid_at, _ = der.element(whole, 0, len(whole))
            if whole[oid_at : oid_at + 11] not in (_MESSAGE_DIGEST, _SIGNING_TIME):
                continue
            known = _changing(whole)
            if known is None or known[0] in found:
                return None
            value_at = at + oid_at + 11 + 4  # after the OID, the SET's and the value's headers
            found[known[0]] = (value_at, stop - value_at)
    except (ValueError, IndexError):
        return None
    if set(found) != {"message_digest", "signing_time"} or found["signing_time"][1] != 13:
        return None
    return found["message_digest"][0], found["message_digest"][1], found["signing_time"][0]


def digest_value_window(data: bytes) -> tuple[int, int] | None:
    """Where, in a SET OF signed attributes without a signing-time (a time-stamp token's), the
    message-digest value is: (start, end), or None unless it appears exactly once, in the shape
    `read_signed_attributes` reads directly. Another SET OF with the same bytes outside this window
    then has the same attributes but for the message-digest."""
    try:
        _, start, end = der.element(data, 0, len(data))
        found: list[tuple[int, int]] = []
        for _, at, stop in der.children(data, start, end):
            whole = data[at:stop]
            _, oid_at, _ = der.element(whole, 0, len(whole))
            if whole[oid_at : oid_at + 11] == _SIGNING_TIME:
                return None
            if whole[oid_at : oid_at + 11] != _MESSAGE_DIGEST:
                continue
            known = _changing(whole)
            if known is None:
                return None
            value_at = at + oid_at + 11 + 4  # after the OID, the SET's and the value's headers
            found.append((value_at, stop))
    except (ValueError, IndexError):
        return None
    return found[0] if len(found) == 1 else None


def utc_time(text: bytes) -> datetime | None:
    """`_utc_time`, for the signature template of cms_verify."""
    return _utc_time(text)
