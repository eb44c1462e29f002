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


def unsupported_critical_extensions(certificate: x509.Certificate) -> frozenset[str]:
    return frozenset(certificate.critical_extensions - SUPPORTED_EXTENSIONS)


def validity(certificate: x509.Certificate) -> tuple[datetime, datetime]:
    period = certificate["tbs_certificate"]["validity"]
    return period["not_before"].native, period["not_after"].native
