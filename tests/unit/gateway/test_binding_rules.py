"""The certificate: validated (TOTAL_PASSED), of the card's jurisdiction, stating the person's birth date."""

from __future__ import annotations

from datetime import date

import pytest

from baylink import errors
from baylink.common.v1 import common_pb2
from baylink.identity.v1 import validation_pb2
from services.gateway.binding.adapters.identity import certificate_facts
from services.gateway.binding.domain.model import BindingPolicy
from services.gateway.binding.domain.verify import verify_person
from tests.unit.gateway.test_binding_kit import (
    FINGERPRINT,
    RESIDENCE_PERMIT,
    certificate,
    declared,
    hk_documents,
)

STRICT = BindingPolicy()


def test_a_validated_certificate_naming_the_person_verifies_them() -> None:
    person = verify_person(hk_documents(), declared(), certificate(fingerprint=FINGERPRINT.upper()), STRICT)

    assert person.certificate_fingerprint == FINGERPRINT
    assert person.certificate_jurisdiction == "HK"


@pytest.mark.parametrize("indication", ["TOTAL_FAILED", "INDETERMINATE", "total_passed", ""])
def test_a_certificate_that_did_not_pass_validation_is_refused(indication: str) -> None:
    with pytest.raises(errors.PermissionDenied) as caught:
        verify_person(hk_documents(), declared(), certificate(indication=indication), STRICT)

    assert caught.value.reason == "CERTIFICATE_NOT_PASSED"


def test_a_certificate_without_birth_date_is_refused_by_default() -> None:
    with pytest.raises(errors.FailedPrecondition) as caught:
        verify_person(hk_documents(), declared(), certificate(date_of_birth=None), STRICT)

    assert caught.value.metadata["refusal"] == "certificate_has_no_date_of_birth"


def test_a_certificate_without_birth_date_binds_on_the_name_when_policy_allows() -> None:
    policy = BindingPolicy(allow_name_only=True)

    verify_person(hk_documents(), declared(), certificate(date_of_birth=None), policy)


def test_name_only_policy_still_checks_the_residence_permit_birth_date() -> None:
    policy = BindingPolicy(allow_name_only=True)

    with pytest.raises(errors.InvalidInput) as caught:
        verify_person(
            hk_documents(residence_permit=RESIDENCE_PERMIT),
            declared(date_of_birth=date(1985, 7, 15)),
            certificate(date_of_birth=None),
            policy,
        )
    assert caught.value.reason == "DATE_OF_BIRTH_MISMATCH"


def test_another_birth_date_than_the_certificate_states_is_refused() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        verify_person(hk_documents(), declared(date_of_birth=date(1985, 7, 15)), certificate(), STRICT)

    assert caught.value.reason == "DATE_OF_BIRTH_MISMATCH"
    assert caught.value.violations[0].field == "declared.date_of_birth"
    assert "1985" not in str(caught.value)


def test_a_name_that_is_not_the_certificates_is_refused() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        verify_person(hk_documents(), declared(name_en="LEE Siu Ming"), certificate(), STRICT)

    assert caught.value.reason == "NAME_MISMATCH"


def test_a_macau_certificate_cannot_identify_an_hkid_holder() -> None:
    with pytest.raises(errors.FailedPrecondition) as caught:
        verify_person(hk_documents(), declared(), certificate(jurisdiction="MO"), STRICT)

    assert caught.value.reason == "CERTIFICATE_JURISDICTION_MISMATCH"


def test_a_mainland_certificate_is_accepted_from_a_residence_permit_holder_only_when_policy_allows() -> None:
    mainland = certificate(jurisdiction="GD")
    documents = hk_documents(residence_permit=RESIDENCE_PERMIT)
    with pytest.raises(errors.FailedPrecondition):
        verify_person(documents, declared(), mainland, STRICT)

    verify_person(documents, declared(), mainland, BindingPolicy(allow_mainland_certificates=True))
    with pytest.raises(errors.FailedPrecondition):
        verify_person(hk_documents(), declared(), mainland, BindingPolicy(allow_mainland_certificates=True))


@pytest.mark.parametrize("fingerprint", ["", "ab" * 31, "zz" * 32])
def test_a_malformed_fingerprint_is_refused(fingerprint: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        verify_person(hk_documents(), declared(), certificate(fingerprint=fingerprint), STRICT)

    assert caught.value.violations[0].field == "certificate.fingerprint"


def test_an_unknown_certificate_jurisdiction_is_refused() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        verify_person(hk_documents(), declared(), certificate(jurisdiction="TW"), STRICT)

    assert caught.value.violations[0].field == "certificate.jurisdiction"


def test_certificate_facts_do_not_show_the_name_when_printed() -> None:
    assert "CHAN" not in repr(certificate()) and "陳" not in repr(certificate())
    assert "CHAN" not in repr(declared()) and "1985" not in repr(declared())


def test_a_validation_report_from_the_identity_service_gives_the_certificate_facts() -> None:
    report = validation_pb2.ValidationReport(
        indication=validation_pb2.INDICATION_TOTAL_PASSED,
        jurisdiction=common_pb2.JURISDICTION_HK,
        chain=[validation_pb2.CertificateRef(sha256_fingerprint=FINGERPRINT), validation_pb2.CertificateRef()],
        subject=validation_pb2.SubjectSummary(common_name="陳大文 CHAN Tai Man"),
    )

    facts = certificate_facts(report, date(1985, 7, 14))

    assert facts == certificate()
    verify_person(hk_documents(), declared(), facts, STRICT)


def test_a_failed_report_without_chain_is_refused_as_not_passed() -> None:
    facts = certificate_facts(validation_pb2.ValidationReport(indication=validation_pb2.INDICATION_TOTAL_FAILED))

    assert (facts.indication, facts.jurisdiction, facts.date_of_birth) == ("TOTAL_FAILED", "", None)
    with pytest.raises(errors.PermissionDenied) as caught:
        verify_person(hk_documents(), declared(), facts, STRICT)
    assert caught.value.reason == "CERTIFICATE_NOT_PASSED"
