"""Validating a person's documents with ``baylink.ids`` and checking that they belong together.

Every number is checked by the shared identifier kernel (never re-implemented here). Its
messages quote parts of the number (an expected check character, an embedded birth date), so
they are not passed on: a refusal carries the kernel's reason code and a fixed description.
"""

from __future__ import annotations

from datetime import date

from baylink import errors, ids
from baylink.ids import IdResult
from baylink.ids import Reason as IdReason
from services.gateway.binding.domain.model import Documents, Refusal, VerifiedDocuments, invalid

_SAFE_TEXT: dict[IdReason, str] = {
    IdReason.NOT_A_STRING: "must be text",
    IdReason.EMPTY: "is required",
    IdReason.TOO_LONG: "is too long for this document",
    IdReason.INVALID_LENGTH: "has the wrong number of characters",
    IdReason.INVALID_CHARACTER: "contains a character this document never has",
    IdReason.INVALID_FORMAT: "does not have this document's format",
    IdReason.INVALID_PREFIX: "does not start the way this document starts",
    IdReason.CHECK_DIGIT_MISMATCH: "check character does not match (mistyped?)",
    IdReason.NOT_HK_MACAU_AREA_CODE: "is not a Hong Kong or Macau residents' permit (area code 810000 or 820000)",
    IdReason.INVALID_BIRTH_DATE: "embeds a birth date that is not possible",
    IdReason.BIRTH_DATE_IN_FUTURE: "embeds a birth date in the future",
}
_CARD_JURISDICTION = {"hkid": "HK", "macau_id": "MO"}
_AREA_CODE = {"HK": "810000", "MO": "820000"}
_PERMIT_LETTER = {"HK": "H", "MO": "M"}


def _violation(field_path: str, result: IdResult) -> errors.FieldViolation:
    reason = result.reason if result.reason is not None else IdReason.INVALID_FORMAT
    return errors.FieldViolation(field_path, f"{reason.value}: {_SAFE_TEXT.get(reason, 'is not valid')}")


def _card(documents: Documents) -> tuple[str, str]:
    """The identity card's kind and value; exactly one must be given."""
    given = [(kind, getattr(documents, kind)) for kind in ("hkid", "macau_id") if getattr(documents, kind)]
    if not given:
        raise invalid(Refusal.MISSING_DOCUMENT, "documents.hkid", "an HKID or a Macau identity card number is required")
    if len(given) > 1:
        raise invalid(
            Refusal.DOCUMENTS_INCONSISTENT, "documents.macau_id", "give one identity card: an HKID or a Macau ID"
        )
    return given[0]


def _check_all(documents: Documents, today: date | None) -> dict[str, IdResult]:
    """Check every document given; raise one InvalidInput listing every bad one."""
    card_kind, card_value = _card(documents)
    results = {
        card_kind: ids.check_hkid(card_value) if card_kind == "hkid" else ids.check_macau_id(card_value),
        "travel_permit": ids.check_travel_permit(documents.travel_permit),
    }
    if documents.residence_permit:
        results["residence_permit"] = ids.check_residence_permit(documents.residence_permit, today=today)
    bad = [_violation(f"documents.{kind}", result) for kind, result in results.items() if not result.valid]
    if bad:
        error = errors.InvalidInput(
            "invalid documents: " + "; ".join(f"{v.field}: {v.description}" for v in bad),
            bad,
            reason=Refusal.INVALID_DOCUMENT.value.upper(),
        )
        error.metadata["refusal"] = Refusal.INVALID_DOCUMENT.value
        raise error
    return results


def _normalised(result: IdResult) -> str:
    if result.normalised is None:  # a valid result always has one; guard against a kernel change
        raise ValueError("a valid identifier result without a normalised form")
    return result.normalised


def verify_documents(documents: Documents, date_of_birth: date, *, today: date | None = None) -> VerifiedDocuments:
    """Validate each document and check they describe one person of one jurisdiction.

    The travel permit's H/M prefix and the residence permit's area code must match the identity
    card's jurisdiction (HKID → HK, Macau ID → MO); the residence permit's embedded birth date
    must equal the declared ``date_of_birth``. ``today`` bounds embedded birth dates.
    """
    results = _check_all(documents, today)
    card_kind = "hkid" if "hkid" in results else "macau_id"
    jurisdiction = _CARD_JURISDICTION[card_kind]
    permit = results["travel_permit"]
    if permit.details.get("jurisdiction") != jurisdiction:
        raise invalid(
            Refusal.DOCUMENTS_INCONSISTENT,
            "documents.travel_permit",
            f"a {jurisdiction} resident's travel permit starts with {_PERMIT_LETTER[jurisdiction]}",
        )
    residence = results.get("residence_permit")
    if residence is not None:
        if residence.details.get("jurisdiction") != jurisdiction:
            raise invalid(
                Refusal.DOCUMENTS_INCONSISTENT,
                "documents.residence_permit",
                f"a {jurisdiction} resident's residence permit has area code {_AREA_CODE[jurisdiction]}",
            )
        if residence.details.get("birth_date") != date_of_birth.isoformat():
            raise invalid(
                Refusal.DATE_OF_BIRTH_MISMATCH,
                "documents.residence_permit",
                "the birth date in the residence permit number differs from the declared date of birth",
            )
    count = permit.details.get("issue_count")
    return VerifiedDocuments(
        jurisdiction=jurisdiction,
        travel_permit=_normalised(permit),
        travel_permit_issue_count=int(count) if count is not None else None,
        hkid=_normalised(results["hkid"]) if "hkid" in results else None,
        macau_id=_normalised(results["macau_id"]) if "macau_id" in results else None,
        residence_permit=_normalised(residence) if residence is not None else None,
    )
