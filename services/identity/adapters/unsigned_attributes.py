"""What a CMS signature carries outside its signature: signature time-stamp tokens (RFC 3161 in
the id-aa-signatureTimeStampToken attribute) and the marks of the long-term CAdES levels."""

from __future__ import annotations

from dataclasses import replace

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
_ARCHIVE_TIMESTAMP_ATTRIBUTES = frozenset(
    {
        "0.4.0.1733.2.4",  # id-aa-ets-archiveTimestampV3
        "1.2.840.113549.1.9.16.2.48",  # id-aa-ets-archiveTimestampV2
    }
)


def with_unsigned_attributes(
    check: SignatureCheck, signed_data: cms.SignedData, info: cms.SignerInfo
) -> SignatureCheck:
    """`check` with what the unsigned attributes (and the SignedData's revocation data) carry."""
    crls = signed_data["crls"]
    with_crls = not isinstance(crls, core.Void) and len(crls) > 0
    return _with(check, info["unsigned_attrs"], bytes(info["signature"].native), with_crls)


def with_unsigned_element(check: SignatureCheck, element: bytes, signature: bytes) -> SignatureCheck:
    """`check` with what the DER [1] element of unsigned attributes that `der.split_signed_data`
    split off carries; InvalidInput if it is not a SET OF attributes."""
    try:
        attributes = cms.CMSAttributes.load(b"\x31" + element[1:], strict=True)
        der.frame_unsigned(attributes)
    except der.PARSE_ERRORS as exc:
        raise InvalidInput("signature", "malformed", f"not a DER CMS SignedData ({type(exc).__name__})") from exc
    return _with(check, attributes, signature, False)


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
        carries_archive_timestamp=bool(oids & _ARCHIVE_TIMESTAMP_ATTRIBUTES),
    )
