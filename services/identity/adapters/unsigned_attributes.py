"""What a CMS signature carries outside its signature: signature time-stamp tokens (RFC 3161 in
the id-aa-signatureTimeStampToken attribute) and validation data of the CAdES B-LT level.

CAdES archive time-stamp attributes (v2, v3) are not read: a level counts only what was verified,
and Baylink verifies archive time-stamps over kept evidence and PDF document timestamps instead
(`verify_signature.LongTerm`), so such an attribute leaves a signature at B-LT."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from asn1crypto import cms, core

from services.identity.adapters import der
from services.identity.domain.errors import InvalidInput
from services.identity.service_layer.ports import SignatureCheck

# Unsigned attributes of CAdES long-term levels (EN 319 122-1 5.5, 5.6), by dotted OID.
_VALIDATION_DATA_ATTRIBUTES = frozenset(
    {
        "1.2.840.113549.1.9.16.2.23",  # id-aa-ets-certValues
        "1.2.840.113549.1.9.16.2.24",  # id-aa-ets-revocationValues
    }
)


def with_unsigned_attributes(
    check: SignatureCheck, signed_data: cms.SignedData, info: cms.SignerInfo
) -> SignatureCheck:
    """`check` with what the unsigned attributes (and the SignedData's revocation data) carry."""
    crls = signed_data["crls"]
    with_crls = not isinstance(crls, core.Void) and len(crls) > 0
    return _with(check, info["unsigned_attrs"], bytes(info["signature"].native), with_crls)


def unsigned_element(element: bytes) -> tuple[tuple[bytes, ...], bool]:
    """What the DER [1] element of unsigned attributes that `der.split_signed_data` split off
    carries: its signature time-stamp tokens and whether it holds validation data. InvalidInput
    if it is not a SET OF attributes. Read down to each value's framing, as `der.frame_unsigned`
    reads them, straight from the bytes."""
    try:
        _, start, end = der.element(element, 0, len(element))
        tokens = _only_timestamps(element, start, end)
        if tokens is not None:
            return tokens, False
        found: list[bytes] = []
        oids: set[str] = set()
        for _, at, stop in der.children(element, start, end):
            tag, attribute_at, attribute_end = der.element(element, at, stop)
            parts = der.children(element, attribute_at, attribute_end)
            if tag != 0x30 or [t for t, _, _ in parts] != [0x06, 0x31]:
                raise ValueError("an attribute is a SEQUENCE of an OID and a SET")
            oid = element[parts[0][1] : parts[0][2]]
            oids.add(_dotted(oid))
            _, values_at, values_end = der.element(element, parts[1][1], parts[1][2])
            values = der.children(element, values_at, values_end)
            if oid == _SIGNATURE_TIME_STAMP_TOKEN:
                found.extend(element[value_at:value_end] for _, value_at, value_end in values)
    except der.PARSE_ERRORS as exc:
        raise InvalidInput("signature", "malformed", f"not a DER CMS SignedData ({exc})") from exc
    return tuple(found), bool(oids & _VALIDATION_DATA_ATTRIBUTES)


def _only_timestamps(element: bytes, start: int, end: int) -> tuple[bytes, ...] | None:
    """The tokens of unsigned attributes that are one signatureTimeStampToken attribute and
    nothing else (the usual shape, framed exactly as the general reading frames it), else None."""
    tag, attribute_at, attribute_end = der.element(element, start, end)
    if tag != 0x30 or attribute_end != end or not element.startswith(_SIGNATURE_TIME_STAMP_TOKEN, attribute_at):
        return None
    tag, values_at, values_end = der.element(element, attribute_at + len(_SIGNATURE_TIME_STAMP_TOKEN), end)
    if tag != 0x31 or values_end != end:
        return None
    if values_at < values_end and der.element(element, values_at, values_end)[2] == values_end:
        return (element[values_at:values_end],)  # one token, the usual: no list of one to build
    return tuple(element[at:stop] for _, at, stop in der.children(element, values_at, values_end))


_SIGNATURE_TIME_STAMP_TOKEN = bytes.fromhex("060b2a864886f70d010910020e")  # id-aa-signatureTimeStampToken


@lru_cache(maxsize=256)
def _dotted(oid_element: bytes) -> str:
    return str(core.ObjectIdentifier.load(oid_element, strict=True).dotted)


def _with(
    check: SignatureCheck, attributes: cms.CMSAttributes | core.Void, signature: bytes, with_crls: bool
) -> SignatureCheck:
    tokens: list[bytes] = []
    oids: set[str] = set()
    for attribute in attributes if not isinstance(attributes, core.Void) else ():
        oids.add(attribute["type"].dotted)
        if attribute["type"].native == "signature_time_stamp_token":
            tokens.extend(bytes(value.dump()) for value in attribute["values"])
    return replace(
        check,
        timestamp_tokens=tuple(tokens),
        signature_value=signature,
        carries_validation_data=bool(oids & _VALIDATION_DATA_ATTRIBUTES) or with_crls,
    )
