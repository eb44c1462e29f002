"""Binding use cases on a SQLite file: subjects, renewals, linked documents, conflicts, pseudonyms, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from baylink import errors
from baylink.runtime.db import Database
from services.gateway.audit.domain.chain import AuditEntry
from services.gateway.binding.adapters.store import SqlBindingStore
from services.gateway.binding.domain.model import SubjectKind
from services.gateway.binding.service_layer.audit import decision_recorder
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.shared.adapters.crypto_hmac import LookupHasher, Pseudonymiser
from tests.unit.gateway.test_binding_kit import (
    FINGERPRINT,
    FOSHAN,
    GUANGZHOU,
    HKID,
    MACAU_ID,
    NAME_EN,
    NAME_ZH,
    OTHER_FINGERPRINT,
    OTHER_HKID,
    PERMIT,
    PERMIT_ISSUE_1,
    PERMIT_ISSUE_2,
    RESIDENCE_PERMIT,
    SHENZHEN,
    Decisions,
    Keys,
    binding_service,
    certificate,
    declared,
    hk_documents,
    sqlite_database,
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await sqlite_database(tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def decisions() -> Decisions:
    return Decisions()


@pytest.fixture
def binding_keys() -> Keys:
    return Keys()


@pytest.fixture
def service(db: Database, binding_keys: Keys, decisions: Decisions) -> BindingService:
    return binding_service(db, binding_keys, decisions=decisions)


async def test_a_hong_kong_person_binds_to_the_travel_permit_base_number(service: BindingService) -> None:
    result = await service.bind(hk_documents(travel_permit=PERMIT_ISSUE_1), declared(), certificate())

    assert result.created and result.subject_kind is SubjectKind.TRAVEL_PERMIT
    subject = await service.subject_number(result.subject_id)
    assert (subject.kind, subject.number) == (SubjectKind.TRAVEL_PERMIT, PERMIT)
    assert PERMIT not in result.subject_id


async def test_a_person_with_a_residence_permit_binds_to_it(service: BindingService) -> None:
    result = await service.bind(hk_documents(residence_permit=RESIDENCE_PERMIT), declared(), certificate())

    assert result.subject_kind is SubjectKind.RESIDENCE_PERMIT
    assert (await service.subject_number(result.subject_id)).number == RESIDENCE_PERMIT


async def test_a_renewed_travel_permit_keeps_the_subject_and_every_pseudonym(service: BindingService) -> None:
    cities = [SHENZHEN, GUANGZHOU]
    first = await service.bind(hk_documents(travel_permit=PERMIT_ISSUE_1), declared(), certificate(), cities=cities)

    renewed = await service.bind(
        hk_documents(travel_permit=PERMIT_ISSUE_2),
        declared(),
        certificate(fingerprint=OTHER_FINGERPRINT),
        cities=cities,
    )

    assert not renewed.created and renewed.subject_id == first.subject_id
    assert renewed.pseudonyms == first.pseudonyms
    assert renewed.changes == ("travel_permit",)
    assert (await service.documents(first.subject_id)).travel_permit_issue_count == 2


async def test_the_permit_issue_before_the_one_on_record_is_refused(service: BindingService) -> None:
    await service.bind(hk_documents(travel_permit=PERMIT_ISSUE_2), declared(), certificate())

    with pytest.raises(errors.FailedPrecondition) as caught:
        await service.bind(hk_documents(travel_permit=PERMIT_ISSUE_1), declared(), certificate())
    assert caught.value.reason == "TRAVEL_PERMIT_SUPERSEDED"


async def test_pseudonyms_differ_per_city_and_are_stable(service: BindingService) -> None:
    result = await service.bind(hk_documents(), declared(), certificate(), cities=[SHENZHEN, GUANGZHOU])

    assert result.pseudonyms[SHENZHEN] != result.pseudonyms[GUANGZHOU]
    assert await service.pseudonym_for(result.subject_id, SHENZHEN) == result.pseudonyms[SHENZHEN]
    again = await service.bind(hk_documents(), declared(), certificate(), cities=[GUANGZHOU])
    assert again.pseudonyms[GUANGZHOU] == result.pseudonyms[GUANGZHOU]


async def test_a_city_resolves_only_pseudonyms_it_was_given(service: BindingService, binding_keys: Keys) -> None:
    result = await service.bind(hk_documents(), declared(), certificate(), cities=[SHENZHEN])

    assert await service.resolve_pseudonym(SHENZHEN, result.pseudonyms[SHENZHEN]) == result.subject_id
    with pytest.raises(errors.NotFound):
        await service.resolve_pseudonym(GUANGZHOU, result.pseudonyms[SHENZHEN])
    not_yet_issued = Pseudonymiser(binding_keys.pseudonym)(FOSHAN, PERMIT)
    with pytest.raises(errors.NotFound):
        await service.resolve_pseudonym(FOSHAN, not_yet_issued)
    assert await service.pseudonym_for(result.subject_id, FOSHAN) == not_yet_issued
    assert await service.resolve_pseudonym(FOSHAN, not_yet_issued) == result.subject_id


async def test_pseudonyms_for_a_city_that_is_not_a_partner_are_refused(service: BindingService) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        await service.bind(hk_documents(), declared(), certificate(), cities=[SHENZHEN, "110000"])
    assert caught.value.violations[0].field == "cities[1]"
    result = await service.bind(hk_documents(), declared(), certificate())
    with pytest.raises(errors.InvalidInput):
        await service.pseudonym_for(result.subject_id, "110000")


async def test_a_residence_permit_added_later_is_linked_and_the_subject_stays(service: BindingService) -> None:
    first = await service.bind(hk_documents(), declared(), certificate(), cities=[SHENZHEN])

    later = await service.bind(
        hk_documents(residence_permit=RESIDENCE_PERMIT), declared(), certificate(), cities=[SHENZHEN]
    )

    assert later.subject_id == first.subject_id and later.changes == ("residence_permit",)
    assert later.subject_kind is SubjectKind.TRAVEL_PERMIT and later.pseudonyms == first.pseudonyms
    assert (await service.documents(first.subject_id)).residence_permit == RESIDENCE_PERMIT
    by_permit_only = await service.bind(
        hk_documents(travel_permit=PERMIT_ISSUE_2, hkid=HKID), declared(), certificate(), cities=[SHENZHEN]
    )
    assert by_permit_only.subject_id == first.subject_id


async def test_updated_names_are_kept_and_reported(service: BindingService) -> None:
    first = await service.bind(hk_documents(), declared(name_zh=None), certificate())

    again = await service.bind(hk_documents(), declared(), certificate())

    assert again.changes == ("name",)
    assert again.subject_id == first.subject_id


async def test_another_hkid_with_a_bound_travel_permit_is_refused(service: BindingService) -> None:
    await service.bind(hk_documents(), declared(), certificate())

    with pytest.raises(errors.FailedPrecondition) as caught:
        await service.bind(hk_documents(hkid=OTHER_HKID), declared(), certificate())
    assert caught.value.reason == "DOCUMENT_DIFFERS_FROM_BINDING"
    assert caught.value.violations[0].subject == "documents.hkid"


async def test_documents_bound_to_two_different_people_are_refused(service: BindingService) -> None:
    await service.bind(hk_documents(), declared(), certificate())
    await service.bind(
        hk_documents(hkid=OTHER_HKID, travel_permit="H99999999"), declared(), certificate(fingerprint=OTHER_FINGERPRINT)
    )

    with pytest.raises(errors.FailedPrecondition) as caught:
        await service.bind(hk_documents(hkid=OTHER_HKID), declared(), certificate())
    assert caught.value.reason == "DOCUMENTS_BOUND_TO_DIFFERENT_PEOPLE"


async def test_a_certificate_bound_to_one_person_cannot_bind_another(service: BindingService) -> None:
    await service.bind(hk_documents(), declared(), certificate())

    with pytest.raises(errors.PermissionDenied) as caught:
        await service.bind(hk_documents(hkid=OTHER_HKID, travel_permit="H99999999"), declared(), certificate())
    assert caught.value.reason == "CERTIFICATE_BOUND_TO_ANOTHER_PERSON"


async def test_a_rebinding_with_another_birth_date_is_refused(service: BindingService) -> None:
    await service.bind(hk_documents(), declared(), certificate())
    other_day = date(1985, 7, 15)

    with pytest.raises(errors.FailedPrecondition) as caught:
        await service.bind(
            hk_documents(),
            declared(date_of_birth=other_day),
            certificate(date_of_birth=other_day, fingerprint="ef" * 32),
        )
    assert caught.value.metadata["refusal"] == "date_of_birth_mismatch"


async def test_a_macau_person_binds_too(service: BindingService) -> None:
    result = await service.bind(
        hk_documents(hkid=None, macau_id=MACAU_ID, travel_permit="M1234567803"),
        declared(),
        certificate(jurisdiction="MO"),
    )

    assert result.jurisdiction == "MO"
    assert (await service.subject_number(result.subject_id)).number == "M12345678"


async def test_an_unknown_subject_is_not_found(service: BindingService) -> None:
    with pytest.raises(errors.NotFound):
        await service.subject_number("00000000-0000-0000-0000-000000000000")


async def test_every_decision_is_reported_without_personal_data(service: BindingService, decisions: Decisions) -> None:
    bound = await service.bind(hk_documents(), declared(), certificate())
    with pytest.raises(errors.InvalidInput):
        await service.bind(hk_documents(), declared(name_en="LEE Siu Ming"), certificate())
    with pytest.raises(errors.PermissionDenied):
        await service.bind(hk_documents(), declared(), certificate(indication="TOTAL_FAILED"))

    assert [(d.outcome, d.refusal) for d in decisions] == [
        ("bound", ""),
        ("refused", "name_mismatch"),
        ("refused", "certificate_not_passed"),
    ]
    assert decisions[0].subject_id == bound.subject_id and decisions[0].created
    assert decisions[0].certificate_ref == decisions[1].certificate_ref != FINGERPRINT
    text = repr(list(decisions))
    for secret in (HKID, PERMIT, NAME_EN, NAME_ZH, "1985", FINGERPRINT):
        assert secret not in text


async def test_nothing_is_stored_for_a_refused_person(service: BindingService) -> None:
    with pytest.raises(errors.InvalidInput):
        await service.bind(hk_documents(), declared(name_en="LEE Siu Ming"), certificate())

    result = await service.bind(hk_documents(), declared(), certificate())
    assert result.created


async def test_decisions_reach_the_audit_log_as_records_without_personal_data(db: Database) -> None:
    calls: list[tuple[Any, ...]] = []

    async def record(actor: str, action: str, result: str, *, subject: str, details: dict[str, Any]) -> None:
        entry = AuditEntry(actor, action, result, subject=subject, details=details)  # validates like the log
        calls.append((entry.actor, entry.action, entry.result, entry.subject, dict(entry.details)))

    service = BindingService(
        SqlBindingStore(db, (keys := Keys()).cipher(), LookupHasher(keys.lookup)),
        Pseudonymiser(keys.pseudonym),
        on_decision=decision_recorder(record, actor=lambda: "kiosk:HK-TST-01"),
    )
    bound = await service.bind(hk_documents(), declared(), certificate())
    with pytest.raises(errors.InvalidInput):
        await service.bind(hk_documents(), declared(date_of_birth=date(1985, 7, 15)), certificate())

    assert [c[:4] for c in calls] == [
        ("kiosk:HK-TST-01", "identity.bind", "bound", bound.subject_id),
        ("kiosk:HK-TST-01", "identity.bind", "refused:date_of_birth_mismatch", ""),
    ]
    assert calls[0][4]["created"] is True and calls[1][4]["refusal"] == "date_of_birth_mismatch"
