"""Facts read off parsed certificates for reports and rules."""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509
from pyhanko_certvalidator.validate import SUPPORTED_EXTENSIONS

from services.identity.domain.report import ChainElement


def fingerprint(certificate: x509.Certificate) -> str:
    # asn1crypto keeps the SHA-256 of the DER on the object; hashing `dump()` anew walks the whole
    # parsed tree first, which costs more than the hash. Certificates are never mutated here.
    return str(certificate.sha256.hex())


def chain_element(certificate: x509.Certificate) -> ChainElement:
    return ChainElement(
        fingerprint_sha256=fingerprint(certificate),
        subject=certificate.subject.human_friendly,
        issuer=certificate.issuer.human_friendly,
        serial_hex=format(certificate.serial_number, "x"),
        not_after=certificate["tbs_certificate"]["validity"]["not_after"].native,
    )


def key_usage(certificate: x509.Certificate) -> frozenset[str] | None:
    value = certificate.key_usage_value
    return None if value is None else frozenset(value.native)


def extended_key_usage(certificate: x509.Certificate) -> frozenset[str] | None:
    value = certificate.extended_key_usage_value
    return None if value is None else frozenset(purpose.dotted for purpose in value)


def unsupported_critical_extensions(certificate: x509.Certificate) -> frozenset[str]:
    return frozenset(certificate.critical_extensions - SUPPORTED_EXTENSIONS)


def validity(certificate: x509.Certificate) -> tuple[datetime, datetime]:
    """(not before, not after), remembered per certificate (by its SHA-256): asked of every
    signer on every verification, and reading it off the parsed tree costs more than the lookup."""
    key = certificate.sha256
    period = _VALIDITY.get(key)
    if period is None:
        fields = certificate["tbs_certificate"]["validity"]
        period = fields["not_before"].native, fields["not_after"].native
        if len(_VALIDITY) >= _VALIDITY_MAX:
            _VALIDITY.clear()
        _VALIDITY[key] = period
    return period


_VALIDITY: dict[bytes, tuple[datetime, datetime]] = {}
_VALIDITY_MAX = 10_000
