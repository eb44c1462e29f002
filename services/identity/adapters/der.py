"""Turn caller-supplied bytes into parsed X.509 / CMS objects, or InvalidInput naming the field.

Untrusted input is bounded first (size, count), then parsed strictly and completely up front, so
that malformed structures fail here with a clear error instead of deep inside the engine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, core, x509

from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import MAX_SIGNATURE_BYTES

MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_CHAIN_CERTIFICATES = 10
PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeError, AttributeError)

_PARSED: OrderedDict[bytes, x509.Certificate] = OrderedDict()
_PARSED_MAX = 4096
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n(.*?)-----END CERTIFICATE-----", re.DOTALL)


def load_certificate(data: bytes, field: str) -> x509.Certificate:
    """DER or PEM. Text around a PEM block is ignored (RFC 7468 §2: tools such as
    `openssl pkcs12` print "Bag Attributes" before it); junk inside the block is not."""
    _require_size(data, MAX_CERTIFICATE_BYTES, field)
    der = bytes(_pem_body(data, field) if b"-----BEGIN" in data else data)
    # A full decode costs milliseconds and the same signers and CAs come back all day.
    key = hashlib.sha256(der).digest()
    cached = _PARSED.get(key)
    if cached is not None:
        _PARSED.move_to_end(key)
        return cached
    certificate = _parse_certificate(der, field)
    _PARSED[key] = certificate
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return certificate


def _parse_certificate(der: bytes, field: str) -> x509.Certificate:
    try:
        certificate = x509.Certificate.load(der, strict=True)
        certificate.native  # noqa: B018 - force a full decode so every field is checked now
        _ = certificate.critical_extensions, certificate.key_usage_value, certificate.public_key.algorithm
    except PARSE_ERRORS as exc:
        raise InvalidInput(field, "malformed", f"not a DER or PEM X.509 certificate ({type(exc).__name__})") from exc
    return certificate


def load_certificates(items: Sequence[bytes], field: str) -> list[x509.Certificate]:
    if len(items) > MAX_CHAIN_CERTIFICATES:
        raise InvalidInput(field, "too_many", f"at most {MAX_CHAIN_CERTIFICATES} certificates may be supplied")
    return [load_certificate(item, f"{field}[{i}]") for i, item in enumerate(items)]


def load_signed_data(data: bytes, field: str) -> tuple[cms.SignedData, list[x509.Certificate]]:
    """The SignedData and the certificates it carries (each parsed like `load_certificate`)."""
    _require_size(data, MAX_SIGNATURE_BYTES, field)
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise InvalidInput(field, "unsupported", "expected CMS SignedData")
        signed_data = info["content"]
        signed_data["version"].native  # noqa: B018 - full decode now, see load_certificate
        decode_once(signed_data["digest_algorithms"], "digest_algorithms")
        decode_once(signed_data["encap_content_info"], "encap_content_info")
        for signer_info in signed_data["signer_infos"]:
            for name in _SIGNER_INFO_FIELDS:
                part = signer_info[name]
                if name in _REPEATING_SIGNER_INFO_FIELDS:
                    decode_once(part, name)
                elif name == "unsigned_attrs":
                    frame_unsigned(part)
                else:
                    part.native  # noqa: B018 - varies with every signature: decoded every time
        choices = signed_data["certificates"]
        ders = [] if isinstance(choices, core.Void) else [c.chosen.dump() for c in choices if c.name == "certificate"]
    except InvalidInput:
        raise
    except PARSE_ERRORS as exc:
        raise InvalidInput(field, "malformed", f"not a DER CMS SignedData ({type(exc).__name__})") from exc
    return signed_data, [load_certificate(d, f"{field}.certificates[{i}]") for i, d in enumerate(ders)]


# The parts of a SignedData that a signer repeats in every signature (who they are, which
# algorithms): decoded in full the first time their exact bytes are seen, then remembered. Same
# bytes in the same place decode the same way, so the check stays complete; signed attributes and
# signature values differ every time and are decoded every time.
_SIGNER_INFO_FIELDS = (
    "version",
    "sid",
    "digest_algorithm",
    "signed_attrs",
    "signature_algorithm",
    "signature",
    "unsigned_attrs",
)
_REPEATING_SIGNER_INFO_FIELDS = frozenset({"sid", "digest_algorithm", "signature_algorithm"})
_DECODED: OrderedDict[tuple[str, bytes], None] = OrderedDict()
_DECODED_MAX = 4096


def frame_unsigned(attributes: cms.CMSAttributes | core.Void) -> None:
    """Unsigned attributes are read down to each value's framing, not decoded in full: what they
    hold (time-stamp tokens) is a CMS of its own, decoded in full where it is checked, and
    asn1crypto's full decode of a token nested in a SignerInfo costs up to seconds."""
    if isinstance(attributes, core.Void):
        return
    for attribute in attributes:
        attribute["type"].native  # noqa: B018 - an OID: cheap, and it picks the values' class
        for value in attribute["values"]:
            value.dump()  # the framing of each value (tag, definite length, within bounds)


def decode_once(value: core.Asn1Value, role: str) -> None:
    """Decode `value` in full the first time its exact bytes are seen in `role`; then remember it."""
    key = (role, value.dump())
    if key in _DECODED:
        _DECODED.move_to_end(key)
        return
    value.native  # noqa: B018 - full decode; raises for anything malformed
    _DECODED[key] = None
    if len(_DECODED) > _DECODED_MAX:
        _DECODED.popitem(last=False)


@dataclass(frozen=True)
class SignedDataParts:
    """The DER elements of a ContentInfo holding a detached SignedData with one SignerInfo, as
    byte strings: what a signer repeats in every signature (`repeated`), and what is new each
    time (the signed attributes and the signature value). See `split_signed_data`."""

    repeated: tuple[bytes, ...]  # SignedData version, digestAlgorithms, encapContentInfo, certificates
    # (b"" if absent), SignerInfo version, sid, digestAlgorithm, signatureAlgorithm
    signed_attrs: bytes  # the [0] IMPLICIT element, tag and length included
    signature: bytes  # the OCTET STRING's contents
    unsigned_attrs: bytes = b""  # the [1] IMPLICIT element (e.g. signature time-stamps); b"" if absent

    @property
    def signed_attrs_as_set(self) -> bytes:
        """The signed attributes as the universal SET OF that the signature covers (RFC 5652 5.4)."""
        return b"\x31" + self.signed_attrs[1:]


_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def split_signed_data(data: bytes, field: str) -> SignedDataParts | None:
    """Split the common shape of a detached signature into its parts without decoding them, or
    None for any other shape (several or no SignerInfos, CRLs, missing signed attributes, BER
    forms, trailing bytes...), which `load_signed_data` then handles. Unsigned attributes (a
    signature time-stamp) are split off as they are, to be read by `unsigned_attributes`.

    Only exact tags and minimal definite lengths are accepted, so the elements found here are the
    ones asn1crypto finds. Nothing is checked beyond the framing: the parts still need decoding."""
    _require_size(data, MAX_SIGNATURE_BYTES, field)
    if type(data) is not bytes:
        return None
    try:
        tag, start, end = element(data, 0, len(data))
        if tag != 0x30 or end != len(data):
            return None
        oid_end = start + len(_SIGNED_DATA_OID)
        if data[start:oid_end] != _SIGNED_DATA_OID:
            return None
        tag, start, end = element(data, oid_end, end)
        if tag != 0xA0 or end != len(data):
            return None
        sd_tag, at, sd_end = element(data, start, end)
        if sd_tag != 0x30 or sd_end != end:
            return None
        top = children(data, at, sd_end)
        tags = [t for t, _, _ in top]
        if tags == [0x02, 0x31, 0x30, 0xA0, 0x31]:
            certificates = data[top[3][1] : top[3][2]]
        elif tags == [0x02, 0x31, 0x30, 0x31]:
            certificates = b""
        else:
            return None
        _, infos_at, infos_end = element(data, top[-1][1], top[-1][2])
        infos = children(data, infos_at, infos_end)
        if len(infos) != 1 or infos[0][0] != 0x30:
            return None
        _, info_at, info_end = element(data, infos[0][1], infos[0][2])
        fields = children(data, info_at, info_end)
        tags = [t for t, _, _ in fields][:1] + [t for t, _, _ in fields][2:]
        if tags != [0x02, 0x30, 0xA0, 0x30, 0x04] and tags != [0x02, 0x30, 0xA0, 0x30, 0x04, 0xA1]:
            return None
        whole = [data[s:e] for _, s, e in top]
        parts = [data[s:e] for _, s, e in fields]
        _, signature_at, signature_end = element(data, fields[5][1], fields[5][2])
    except ValueError:
        return None
    return SignedDataParts(
        (whole[0], whole[1], whole[2], certificates, parts[0], parts[1], parts[2], parts[4]),
        parts[3],
        data[signature_at:signature_end],
        parts[6] if len(parts) == 7 else b"",
    )


def element(data: bytes, at: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the element at `at`: one tag byte, a minimal definite
    length, all within `end`. ValueError for anything else."""
    if at + 2 > end:
        raise ValueError("truncated")
    tag, first = data[at], data[at + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tag")
    if first < 0x80:
        length, start = first, at + 2
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or at + 2 + count > end or data[at + 2] == 0:
            raise ValueError("indefinite, oversized or non-minimal length")
        length, start = int.from_bytes(data[at + 2 : at + 2 + count], "big"), at + 2 + count
        if length < 0x80:
            raise ValueError("non-minimal length")
    if start + length > end:
        raise ValueError("truncated")
    return tag, start, start + length


def last_element(data: bytes, at: int, tag: int) -> bool:
    """Whether the bytes from `at` are one element of `tag` that ends exactly with `data`."""
    try:
        found, _, end = element(data, at, len(data))
    except ValueError:
        return False
    return found == tag and end == len(data)


def children(data: bytes, at: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, start, end) of each element from `at` to exactly `end`, as whole elements."""
    found = []
    while at < end:
        tag, _, stop = element(data, at, end)
        found.append((tag, at, stop))
        at = stop
    return found


def load_signed_attributes(parts: SignedDataParts, field: str) -> cms.CMSAttributes:
    """The signed attributes of `parts`, decoded in full like `load_signed_data` decodes them."""
    try:
        attributes = cms.CMSAttributes.load(parts.signed_attrs_as_set, strict=True)
        attributes.native  # noqa: B018 - full decode now, see load_certificate
    except PARSE_ERRORS as exc:
        raise InvalidInput(field, "malformed", f"not a DER CMS SignedData ({type(exc).__name__})") from exc
    return attributes


def _pem_body(data: bytes, field: str) -> bytes:
    blocks = _PEM_CERT.findall(data)
    if len(blocks) != 1:
        raise InvalidInput(field, "malformed", "expected exactly one PEM CERTIFICATE block")
    try:
        return base64.b64decode(b"".join(blocks[0].split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(field, "malformed", "the PEM block is not valid base64") from exc


def _require_size(data: bytes, limit: int, field: str) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInput(field, "wrong_type", "expected bytes")
    if len(data) > limit:
        raise InvalidInput(field, "too_large", f"{len(data)} bytes exceed the limit of {limit}")
    if not data:
        raise InvalidInput(field, "empty", "no data")
