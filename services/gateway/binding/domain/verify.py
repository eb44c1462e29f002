"""The rules a person must pass before being bound: a validated certificate that names them, and
documents that are valid, consistent with each other and with the declared date of birth."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.gateway.binding.domain.documents import verify_documents
from services.gateway.binding.domain.model import (
    CERTIFICATE_JURISDICTIONS,
    INDICATION_PASSED,
    BindingPolicy,
    CertificateFacts,
    DeclaredPerson,
    Documents,
    Refusal,
    VerifiedDocuments,
    denied,
    invalid,
    precondition,
)
from services.gateway.binding.domain.names import check_names

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class VerifiedPerson:
    """A person who passed every rule: canonical documents and the certificate's fingerprint."""

    documents: VerifiedDocuments
    certificate_fingerprint: str
    certificate_jurisdiction: str

    def __repr__(self) -> str:
        return f"VerifiedPerson(jurisdiction={self.documents.jurisdiction!r}, <redacted>)"


def normalise_fingerprint(fingerprint: str) -> str:
    """Lower-case hex without separators; InvalidInput unless it is a SHA-256 fingerprint."""
    text = fingerprint.replace(":", "").replace(" ", "").lower() if isinstance(fingerprint, str) else ""
    if _FINGERPRINT.fullmatch(text) is None:
        raise invalid(Refusal.CERTIFICATE_INVALID, "certificate.fingerprint", "must be a SHA-256 fingerprint in hex")
    return text


def _check_certificate(certificate: CertificateFacts) -> str:
    if certificate.indication != INDICATION_PASSED:
        raise denied(
            Refusal.CERTIFICATE_NOT_PASSED,
            f"the certificate's validation did not pass (indication {certificate.indication})",
        )
    fingerprint = normalise_fingerprint(certificate.fingerprint)
    if certificate.jurisdiction not in CERTIFICATE_JURISDICTIONS:
        raise invalid(Refusal.CERTIFICATE_INVALID, "certificate.jurisdiction", "must be HK, MO or GD")
    return fingerprint


def _check_jurisdiction(certificate: CertificateFacts, documents: VerifiedDocuments, policy: BindingPolicy) -> None:
    if certificate.jurisdiction == documents.jurisdiction:
        return
    mainland_ok = policy.allow_mainland_certificates and documents.residence_permit is not None
    if certificate.jurisdiction == "GD" and mainland_ok:
        return
    raise precondition(
        Refusal.CERTIFICATE_JURISDICTION_MISMATCH,
        "certificate",
        f"a {certificate.jurisdiction} certificate cannot identify the holder of a {documents.jurisdiction} card",
    )


def _check_date_of_birth(certificate: CertificateFacts, declared: DeclaredPerson, policy: BindingPolicy) -> None:
    if certificate.date_of_birth is None:
        if policy.allow_name_only:
            return
        raise precondition(
            Refusal.CERTIFICATE_HAS_NO_DATE_OF_BIRTH,
            "certificate",
            "the certificate states no date of birth, and binding on the name alone is not allowed",
        )
    if certificate.date_of_birth != declared.date_of_birth:
        raise invalid(
            Refusal.DATE_OF_BIRTH_MISMATCH,
            "declared.date_of_birth",
            "the declared date of birth differs from the certificate's",
        )


def verify_person(
    documents: Documents,
    declared: DeclaredPerson,
    certificate: CertificateFacts,
    policy: BindingPolicy,
    *,
    today: date | None = None,
) -> VerifiedPerson:
    """Apply every binding rule, in this order: the certificate passed validation; the documents
    are valid and consistent; the certificate's jurisdiction fits the identity card; the names
    match the certificate's CN; the date of birth matches the certificate's. The first failure
    is raised (InvalidInput, FailedPrecondition or PermissionDenied with a ``Refusal`` reason)."""
    fingerprint = _check_certificate(certificate)
    verified = verify_documents(documents, declared.date_of_birth, today=today)
    _check_jurisdiction(certificate, verified, policy)
    check_names(declared, certificate.common_name)
    _check_date_of_birth(certificate, declared, policy)
    return VerifiedPerson(verified, fingerprint, certificate.jurisdiction)
