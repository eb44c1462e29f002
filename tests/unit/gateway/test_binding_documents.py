"""Documents: validated by baylink.ids, consistent with each other and with the declared birth date."""

from __future__ import annotations

from datetime import date

import pytest

from baylink import errors
from services.gateway.binding.domain.documents import verify_documents
from services.gateway.binding.domain.model import Documents, SubjectKind, subject_of
from tests.unit.gateway.test_binding_kit import (
    BIRTH,
    HKID,
    MACAU_ID,
    MACAU_PERMIT,
    PERMIT,
    PERMIT_ISSUE_1,
    PERMIT_ISSUE_2,
    RESIDENCE_PERMIT,
    hk_documents,
    residence_permit,
)


def refused(documents: Documents, born: date = BIRTH) -> errors.InvalidInput:
    with pytest.raises(errors.InvalidInput) as caught:
        verify_documents(documents, born)
    return caught.value


def test_a_hong_kong_person_without_residence_permit_has_the_permit_base_number_as_subject() -> None:
    verified = verify_documents(hk_documents(travel_permit=PERMIT_ISSUE_1), BIRTH)

    assert verified.jurisdiction == "HK"
    assert verified.hkid == HKID
    assert (verified.travel_permit, verified.travel_permit_issue_count) == (PERMIT, 1)
    assert subject_of(verified).kind is SubjectKind.TRAVEL_PERMIT
    assert subject_of(verified).number == PERMIT


def test_a_renewed_permit_has_the_same_base_number() -> None:
    first = verify_documents(hk_documents(travel_permit=PERMIT_ISSUE_1), BIRTH)
    renewed = verify_documents(hk_documents(travel_permit=PERMIT_ISSUE_2), BIRTH)

    assert subject_of(first) == subject_of(renewed)
    assert renewed.travel_permit_issue_count == 2


def test_the_residence_permit_is_the_subject_when_given() -> None:
    verified = verify_documents(hk_documents(residence_permit=RESIDENCE_PERMIT), BIRTH)

    assert subject_of(verified).kind is SubjectKind.RESIDENCE_PERMIT
    assert subject_of(verified).number == RESIDENCE_PERMIT


def test_documents_are_accepted_in_any_spelling_the_identifier_kernel_accepts() -> None:
    verified = verify_documents(Documents(travel_permit=" h 12345678 ", hkid="a1234563"), BIRTH)

    assert (verified.hkid, verified.travel_permit) == (HKID, PERMIT)


def test_a_macau_person_binds_with_a_macau_id_and_an_m_permit() -> None:
    verified = verify_documents(
        Documents(travel_permit=MACAU_PERMIT, macau_id=MACAU_ID, residence_permit=residence_permit("820000")), BIRTH
    )

    assert verified.jurisdiction == "MO"
    assert verified.macau_id == MACAU_ID


def test_a_wrong_hkid_check_digit_is_refused_naming_the_field_and_the_kernel_reason() -> None:
    error = refused(hk_documents(hkid="A123456(4)"))

    assert error.reason == "INVALID_DOCUMENT"
    assert [v.field for v in error.violations] == ["documents.hkid"]
    assert error.violations[0].description.startswith("check_digit_mismatch")


def test_every_bad_document_is_reported_at_once() -> None:
    error = refused(hk_documents(hkid="A123456(4)", travel_permit="X12345678", residence_permit="810000198507141239"))

    assert {v.field for v in error.violations} == {
        "documents.hkid",
        "documents.travel_permit",
        "documents.residence_permit",
    }


def test_refusals_never_quote_the_numbers_or_birth_dates() -> None:
    bad_permit = residence_permit(born=date(2090, 1, 1))
    error = refused(hk_documents(hkid="A123456(4)", residence_permit=bad_permit))

    text = str(error) + " ".join(v.description for v in error.violations)
    for secret in ("A123456", "2090", "H12345678", bad_permit, "expected 3"):
        assert secret not in text


def test_an_identity_card_is_required() -> None:
    error = refused(Documents(travel_permit=PERMIT))

    assert error.reason == "MISSING_DOCUMENT"
    assert error.violations[0].field == "documents.hkid"


def test_two_identity_cards_are_refused() -> None:
    error = refused(Documents(travel_permit=PERMIT, hkid=HKID, macau_id=MACAU_ID))

    assert error.reason == "DOCUMENTS_INCONSISTENT"


def test_a_macau_travel_permit_with_an_hkid_is_refused() -> None:
    error = refused(hk_documents(travel_permit=MACAU_PERMIT))

    assert error.reason == "DOCUMENTS_INCONSISTENT"
    assert error.violations[0].field == "documents.travel_permit"


def test_a_macau_residence_permit_with_an_hkid_is_refused() -> None:
    error = refused(hk_documents(residence_permit=residence_permit("820000")))

    assert error.reason == "DOCUMENTS_INCONSISTENT"
    assert error.violations[0].field == "documents.residence_permit"
    assert "810000" in error.violations[0].description


def test_a_residence_permit_born_on_another_day_than_declared_is_refused() -> None:
    error = refused(hk_documents(residence_permit=residence_permit(born=date(1985, 7, 15))))

    assert error.reason == "DATE_OF_BIRTH_MISMATCH"
    assert error.metadata["refusal"] == "date_of_birth_mismatch"
    assert error.violations[0].field == "documents.residence_permit"


def test_a_mainland_identity_card_number_is_not_a_residence_permit() -> None:
    error = refused(hk_documents(residence_permit=residence_permit("440300")))

    assert error.violations[0].description.startswith("not_hk_macau_area_code")


def test_documents_do_not_show_their_numbers_when_printed() -> None:
    documents = hk_documents(residence_permit=RESIDENCE_PERMIT)

    printed = repr(documents) + repr(verify_documents(documents, BIRTH))
    assert HKID not in printed and PERMIT not in printed and RESIDENCE_PERMIT not in printed
