"""The TSTInfo of an RFC 3161 time-stamp token (RFC 3161 2.4.2), read for `timestamp_tokens`.

`read` decodes it completely: the usual shape straight from its DER, what a TSA repeats in every
token decoded in full once per bytes; any other shape with asn1crypto.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import algos, core, tsp, x509

from services.identity.adapters import der
from services.identity.adapters.cms_signer import digest_name


def read(info_der: bytes) -> TstFacts:
    """The facts of a TSTInfo; ValueError (or another of `der.PARSE_ERRORS`) if it does not decode."""
    return _from_der(info_der) or _in_full(info_der)


@dataclass(frozen=True)
class TstFacts:
    """What the checks need of a TSTInfo (the rest is decoded, for strictness, and not used)."""

    version: int
    hash_name: str  # of the message imprint: a DIGESTS name, or asn1crypto's name for another
    hashed_message: bytes
    gen_time: datetime


def _in_full(info_der: bytes) -> TstFacts:
    """The TSTInfo decoded in full with asn1crypto (every shape `_from_der` does not read)."""
    info = tsp.TSTInfo.load(info_der, strict=True)
    for name in ("version", "message_imprint", "serial_number", "gen_time", "ordering", "nonce"):
        info[name].native  # noqa: B018 - varies with every token: decoded every time
    for name in ("policy", "accuracy", "tsa", "extensions"):
        der.decode_once(info[name], f"tst_info.{name}")
    imprint = info["message_imprint"]
    return TstFacts(
        1 if info["version"].native == "v1" else 0,
        _hash_name(imprint["hash_algorithm"].dump()),
        imprint["hashed_message"].native,
        info["gen_time"].native,
    )


def _from_der(info_der: bytes) -> TstFacts | None:
    """The TSTInfo of the usual shape read straight from its DER, else None (`_in_full`).

    Version 1; the policy, the imprint's algorithm, the accuracy, the TSA's name and extensions
    are what a TSA repeats and are decoded in full the first time their bytes are seen; the
    imprint, serial, time and nonce are read here: a primitive OCTET STRING, INTEGERs and a
    GeneralizedTime `YYYYMMDDHHMMSS[.f]Z` (RFC 3161 2.4.2), as asn1crypto reads them."""
    try:
        _, start, end = der.element(info_der, 0, len(info_der))
        if end != len(info_der):
            return None
        kids = der.children(info_der, start, end)
        tags = [t for t, _, _ in kids]
        if tags[:5] != [0x02, 0x06, 0x30, 0x02, 0x18] or info_der[kids[0][1] : kids[0][2]] != b"\x02\x01\x01":
            return None
        optional = [0x30, 0x01, 0x02, 0xA0, 0xA1]  # accuracy, ordering, nonce, tsa, extensions, in order
        for tag, at, stop in kids[5:]:
            while optional and optional[0] != tag:
                optional.pop(0)
            if not optional:
                return None
            optional.pop(0)
            if tag in (0x30, 0xA0, 0xA1):
                _decoded_once(info_der[at:stop], tag)
            elif (tag == 0x01 and stop - at != 3) or (tag == 0x02 and stop - at < 3):
                return None
        _decoded_once(info_der[kids[1][1] : kids[1][2]], 0x06)
        _, imprint_at, imprint_end = der.element(info_der, kids[2][1], kids[2][2])
        imprint = der.children(info_der, imprint_at, imprint_end)
        if [t for t, _, _ in imprint] != [0x30, 0x04]:
            return None
        _, hashed_at, hashed_end = der.element(info_der, imprint[1][1], imprint[1][2])
        _, time_at, time_end = der.element(info_der, kids[4][1], kids[4][2])
        gen_time = _generalized_time(info_der[time_at:time_end])
        _, serial_at, serial_end = der.element(info_der, kids[3][1], kids[3][2])
        if gen_time is None or serial_end == serial_at:
            return None
        algorithm = _hash_name(info_der[imprint[0][1] : imprint[0][2]])
        return TstFacts(1, algorithm, info_der[hashed_at:hashed_end], gen_time)
    except (ValueError, IndexError):
        return None


Span = tuple[int, int]
TST_INFO_OID = bytes.fromhex("060b2a864886f70d0109100104")  # the OID element of id-ct-TSTInfo


def encapsulated_span(encap: bytes) -> tuple[int, int] | None:
    """Where the TSTInfo DER is in an encapContentInfo element of the usual shape, else None."""
    try:
        _, start, end = der.element(encap, 0, len(encap))
        kids = der.children(encap, start, end)
        if [t for t, _, _ in kids] != [0x06, 0xA0] or encap[kids[0][1] : kids[0][2]] != TST_INFO_OID:
            return None
        _, at, stop = der.element(encap, kids[1][1], kids[1][2])
        tag, value_at, value_end = der.element(encap, at, stop)
        if tag != 0x04 or value_end != stop:
            return None
        return value_at, value_end
    except ValueError:
        return None


def windows(info_der: bytes) -> tuple[Span, Span, Span, Span] | None:
    """Where the values that change from one token of a TSA to the next are in a TSTInfo of the
    usual shape (one `_from_der` reads), as (start, end) of their contents: the hashedMessage, the
    serial number, the genTime text and the nonce ((0, 0) without one). None for any other shape."""
    if _from_der(info_der) is None:
        return None
    _, start, end = der.element(info_der, 0, len(info_der))
    kids = der.children(info_der, start, end)
    _, imprint_at, imprint_end = der.element(info_der, kids[2][1], kids[2][2])
    hashed = der.children(info_der, imprint_at, imprint_end)[1]
    value = [der.element(info_der, at, stop)[1:] for _, at, stop in (hashed, kids[3], kids[4])]
    nonces = [der.element(info_der, at, stop)[1:] for tag, at, stop in kids[5:] if tag == 0x02]
    return value[0], value[1], value[2], nonces[0] if nonces else (0, 0)


def generalized_time(text: bytes) -> datetime | None:
    """A genTime's text `YYYYMMDDHHMMSS[.f]Z` as asn1crypto reads it, or None for any other form."""
    return _generalized_time(text)


_GENERALIZED_TIME = re.compile(rb"(\d{14})(?:\.(\d{0,5}[1-9]))?Z")


def _generalized_time(text: bytes) -> datetime | None:
    if len(text) == 15 and text[14] == 0x5A and text[:14].isdigit():  # whole seconds: no fraction to read
        # Fourteen ASCII digits as ISO 8601 basic format, which `fromisoformat` reads in C and
        # refuses where `datetime(...)` would (month 13, hour 24, second 60): a quarter of six int().
        try:
            return datetime.fromisoformat(f"{text[:8].decode()}T{text[8:14].decode()}+00:00")
        except ValueError:
            return None
    found = _GENERALIZED_TIME.fullmatch(text)
    if found is None:
        return None
    digits, fraction = found.group(1), found.group(2) or b""
    n = [int(digits[0:4]), *(int(digits[i : i + 2]) for i in range(4, 14, 2))]
    try:
        moment = datetime(n[0], n[1], n[2], n[3], n[4], n[5], tzinfo=UTC)
    except ValueError:
        return None
    return moment.replace(microsecond=int(fraction.ljust(6, b"0"))) if fraction else moment


# Elements a TSA repeats, decoded in full once: (tag, bytes) of those that decoded.
_DECODED: OrderedDict[tuple[int, bytes], None] = OrderedDict()
_DECODED_MAX = 1024
_SPECS: dict[int, type[core.Asn1Value]] = {0x30: tsp.Accuracy, 0x06: core.ObjectIdentifier}


def _decoded_once(element: bytes, tag: int) -> None:
    """Decode a repeated TSTInfo element in full the first time its bytes are seen; ValueError if
    it does not decode. [0] is the TSA's name, [1] the extensions (IMPLICIT SEQUENCE OF)."""
    key = (tag, element)
    if key in _DECODED:
        return
    try:
        if tag == 0xA0:
            _, start, end = der.element(element, 0, len(element))
            x509.GeneralName.load(element[start:end], strict=True).native  # noqa: B018 - full decode
        elif tag == 0xA1:
            tsp.Extensions.load(b"\x30" + element[1:], strict=True).native  # noqa: B018 - full decode
        else:
            _SPECS[tag].load(element, strict=True).native  # noqa: B018 - full decode
    except der.PARSE_ERRORS as exc:
        raise ValueError(f"a TSTInfo element does not decode ({type(exc).__name__})") from exc
    _DECODED[key] = None
    if len(_DECODED) > _DECODED_MAX:
        _DECODED.popitem(last=False)


@lru_cache(maxsize=64)
def _hash_name(algorithm_der: bytes) -> str:
    """The message imprint's hash algorithm by its DER, named as `DIGESTS` or asn1crypto names it."""
    algorithm = algos.DigestAlgorithm.load(algorithm_der, strict=True)
    return digest_name(algorithm) or str(algorithm["algorithm"].native)
