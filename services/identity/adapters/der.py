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

from asn1crypto import cms, core, x509

from services.identity.domain.errors import InvalidInput

MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_CHAIN_CERTIFICATES = 10
MAX_SIGNATURE_BYTES = 1024 * 1024
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
        for part in ("version", "digest_algorithms", "encap_content_info", "signer_infos"):
            signed_data[part].native  # noqa: B018 - full decode now, see load_certificate
        choices = signed_data["certificates"]
        ders = [] if isinstance(choices, core.Void) else [c.chosen.dump() for c in choices if c.name == "certificate"]
    except InvalidInput:
        raise
    except PARSE_ERRORS as exc:
        raise InvalidInput(field, "malformed", f"not a DER CMS SignedData ({type(exc).__name__})") from exc
    return signed_data, [load_certificate(d, f"{field}.certificates[{i}]") for i, d in enumerate(ders)]


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
