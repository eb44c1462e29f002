"""Identity binding: the value objects of binding a Hong Kong or Macau person to a mainland subject.

A binding ties verified documents, a declared name and date of birth, and a certificate the
identity service validated, to the *mainland subject*: the residence-permit number where one
exists, else the travel-permit base number (issue count stripped, so a renewed permit keeps it).

The subject is fixed at first binding. Documents presented later (a residence permit obtained
after the person first bound with a travel permit, a renewed travel permit) are linked to the
existing subject instead of replacing it: every partner city keeps seeing the same pseudonym and
in-flight mainland cases keep their identifier. Mainland services that need the residence-permit
number of such a person read it from the binding's documents.

Nothing here carries a raw number, name or date of birth into an exception message: refusals
name the field and a stable reason, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from baylink import errors


class Refusal(StrEnum):
    """Why a binding was refused. Stable lower_snake codes; errors carry them upper-cased as
    ``reason`` and as ``metadata["refusal"]``."""

    INVALID_DOCUMENT = "invalid_document"
    MISSING_DOCUMENT = "missing_document"
    DOCUMENTS_INCONSISTENT = "documents_inconsistent"
    NAME_MISSING = "name_missing"
    NAME_MISMATCH = "name_mismatch"
    DATE_OF_BIRTH_MISMATCH = "date_of_birth_mismatch"
    CERTIFICATE_INVALID = "certificate_invalid"
    CERTIFICATE_NOT_PASSED = "certificate_not_passed"
    CERTIFICATE_JURISDICTION_MISMATCH = "certificate_jurisdiction_mismatch"
    CERTIFICATE_HAS_NO_DATE_OF_BIRTH = "certificate_has_no_date_of_birth"
    CERTIFICATE_BOUND_TO_ANOTHER_PERSON = "certificate_bound_to_another_person"
    DOCUMENTS_BOUND_TO_DIFFERENT_PEOPLE = "documents_bound_to_different_people"
    DOCUMENT_DIFFERS_FROM_BINDING = "document_differs_from_binding"
    TRAVEL_PERMIT_SUPERSEDED = "travel_permit_superseded"
    UNKNOWN_CITY = "unknown_city"


class SubjectKind(StrEnum):
    """Which mainland identifier is the person's subject."""

    RESIDENCE_PERMIT = "residence_permit"
    TRAVEL_PERMIT = "travel_permit"


INDICATION_PASSED = "TOTAL_PASSED"
CERTIFICATE_JURISDICTIONS = ("HK", "MO", "GD")


@dataclass(frozen=True)
class Documents:
    """The person's documents as presented: one identity card (HKID or Macau ID), the Mainland
    Travel Permit, optionally the Residence Permit. Any spelling ``baylink.ids`` accepts."""

    travel_permit: str
    hkid: str | None = None
    macau_id: str | None = None
    residence_permit: str | None = None

    def __repr__(self) -> str:  # never print the numbers
        present = [n for n in ("hkid", "macau_id", "travel_permit", "residence_permit") if getattr(self, n)]
        return f"Documents(<{', '.join(present)}>)"


@dataclass(frozen=True)
class DeclaredPerson:
    """What the person declares at the kiosk: a name in Chinese and/or English, and a date of birth."""

    date_of_birth: date
    name_zh: str | None = None
    name_en: str | None = None

    def __repr__(self) -> str:
        return "DeclaredPerson(<redacted>)"


@dataclass(frozen=True)
class CertificateFacts:
    """What the identity service's validation report says about the person's certificate.

    ``fingerprint`` is the SHA-256 of the certificate (hex); ``jurisdiction`` the trust list that
    anchored it (HK, MO or GD); ``indication`` the report's indication; ``common_name`` the
    subject's CN; ``date_of_birth`` the date the certificate states, None when it states none.
    """

    fingerprint: str
    jurisdiction: str
    indication: str
    common_name: str
    date_of_birth: date | None = None

    def __repr__(self) -> str:
        return f"CertificateFacts(jurisdiction={self.jurisdiction!r}, indication={self.indication!r}, <redacted>)"


@dataclass(frozen=True)
class BindingPolicy:
    """How strict binding is.

    ``allow_name_only``: bind on the name alone when the certificate states no date of birth
    (the declared date is still checked against a residence permit). Off by default.
    ``allow_mainland_certificates``: accept a GD (mainland) certificate from a person who holds a
    residence permit. Off by default: the certificate must come from the identity card's jurisdiction.
    """

    allow_name_only: bool = False
    allow_mainland_certificates: bool = False


@dataclass(frozen=True)
class VerifiedDocuments:
    """Documents after validation, in canonical spelling. ``travel_permit`` is the base number."""

    jurisdiction: str
    travel_permit: str
    travel_permit_issue_count: int | None = None
    hkid: str | None = None
    macau_id: str | None = None
    residence_permit: str | None = None

    def numbers(self) -> dict[str, str]:
        """The document numbers to index, by kind (travel permit as its base number)."""
        found = {
            "hkid": self.hkid,
            "macau_id": self.macau_id,
            "travel_permit": self.travel_permit,
            "residence_permit": self.residence_permit,
        }
        return {kind: number for kind, number in found.items() if number is not None}

    def __repr__(self) -> str:
        return f"VerifiedDocuments(jurisdiction={self.jurisdiction!r}, <redacted>)"


@dataclass
class PersonRecord:
    """One bound person, in clear, as the binding store hands it to the service (never logged)."""

    subject_id: str
    subject_kind: SubjectKind
    subject_number: str
    documents: VerifiedDocuments
    name_zh: str | None
    name_en: str | None
    date_of_birth: date
    version: int = 0
    certificates: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"PersonRecord(subject_id={self.subject_id!r}, kind={self.subject_kind.value!r}, <redacted>)"


@dataclass(frozen=True)
class MainlandSubject:
    """The identifier mainland services know the person by."""

    kind: SubjectKind
    number: str

    def __repr__(self) -> str:
        return f"MainlandSubject(kind={self.kind.value!r}, <redacted>)"


def subject_of(documents: VerifiedDocuments) -> MainlandSubject:
    """The subject a first binding fixes: the residence permit where given, else the permit's base number."""
    if documents.residence_permit is not None:
        return MainlandSubject(SubjectKind.RESIDENCE_PERMIT, documents.residence_permit)
    return MainlandSubject(SubjectKind.TRAVEL_PERMIT, documents.travel_permit)


def invalid(refusal: Refusal, field_path: str, description: str) -> errors.InvalidInput:
    """An InvalidInput naming one field; the description starts with the refusal code."""
    error = errors.InvalidInput(
        f"{field_path}: {refusal.value}: {description}",
        [errors.FieldViolation(field_path, f"{refusal.value}: {description}")],
        reason=refusal.value.upper(),
    )
    error.metadata["refusal"] = refusal.value
    return error


def precondition(refusal: Refusal, subject: str, description: str) -> errors.FailedPrecondition:
    """A FailedPrecondition with one violation (``subject`` names what is in the way, never a value)."""
    error = errors.FailedPrecondition(
        f"{refusal.value}: {description}",
        [errors.PreconditionViolation(refusal.value.upper(), subject, description)],
        reason=refusal.value.upper(),
    )
    error.metadata["refusal"] = refusal.value
    return error


def denied(refusal: Refusal, description: str) -> errors.PermissionDenied:
    """A PermissionDenied carrying the refusal."""
    return errors.PermissionDenied(
        f"{refusal.value}: {description}", reason=refusal.value.upper(), metadata={"refusal": refusal.value}
    )


def refusal_of(error: errors.BaylinkError) -> str | None:
    """The refusal code an error carries, if it is a binding refusal."""
    return error.metadata.get("refusal")
