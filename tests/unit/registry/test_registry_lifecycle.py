"""The application's life through the use cases: the state machine, its events, the USCC."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.ids import check_uscc
from baylink.runtime.schema import outbox
from services.registry.domain.application import State
from services.registry.domain.catalogue import SubjectCategory
from services.registry.domain.names import NameDeclaration
from services.registry.domain.uscc import issue_uscc
from services.registry.service_layer import applicant, authority
from services.registry.service_layer.background import flag_overdue
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import company
from tests.unit.registry.flow import AUTHORITY, REASON, attach_all, drafted, paid, submitted, under_review


async def event_types(registry: Registry, application_id: str) -> list[str]:
    async with registry.uow.db.transaction(readonly=True) as session:  # type: ignore[attr-defined]
        rows = await session.execute(
            sa.select(outbox.c.event_type).where(outbox.c.subject == application_id).order_by(outbox.c.id)
        )
        return [t.removeprefix("baylink.registry.application.").removesuffix(".v1") for t in rows.scalars()]


async def test_an_application_goes_from_draft_to_approved_with_a_valid_uscc_and_licence(registry: Registry) -> None:
    app = await under_review(registry, trade_name="湾联")
    app = await authority.approve(registry, authority.ApproveApplication(app.application_id, "officer-7", AUTHORITY))

    assert app.state is State.APPROVED
    result = check_uscc(app.uscc)
    assert result.valid, result.message
    assert app.uscc.startswith("91440605MA4")  # market regulation, enterprise, Nanhai, Nanhai's block
    assert app.licence is not None and app.licence.name == "佛山市南海区湾联贸易有限公司"
    assert await event_types(registry, app.application_id) == [
        "drafted",
        "name_approved",
        "material_verified",
        "material_verified",
        "material_verified",
        "submitted",
        "fee_requested",
        "fee_paid",
        "review_started",
        "approved",
    ]


async def test_consecutive_approvals_take_consecutive_sequence_numbers(registry: Registry) -> None:
    codes = []
    for _ in range(3):
        app = await under_review(registry)
        app = await authority.approve(registry, authority.ApproveApplication(app.application_id, "o", AUTHORITY))
        codes.append(app.uscc)
    assert [c[11:16] for c in codes] == ["00001", "00002", "00003"]


async def test_an_illegal_transition_is_failed_precondition_naming_the_current_state(registry: Registry) -> None:
    app = await drafted(registry)
    with pytest.raises(errors.FailedPrecondition) as raised:
        await authority.approve(registry, authority.ApproveApplication(app.application_id, "officer-7", AUTHORITY))
    assert "DRAFT" in raised.value.message
    assert raised.value.violations[0].description == "DRAFT"


async def test_review_waits_for_the_fee(registry: Registry) -> None:
    app = await submitted(registry)
    with pytest.raises(errors.FailedPrecondition) as raised:
        await authority.start_review(registry, authority.StartReview(app.application_id, "o", AUTHORITY))
    assert "fee_paid" in raised.value.message


async def test_another_authority_may_not_decide(registry: Registry) -> None:
    app = await under_review(registry)
    with pytest.raises(errors.PermissionDenied):
        await authority.approve(registry, authority.ApproveApplication(app.application_id, "o", "440300"))


async def test_a_returned_application_is_corrected_and_resubmitted_with_a_new_deadline(registry: Registry) -> None:
    app = await under_review(registry)
    command = authority.ReturnApplication(app.application_id, "o", AUTHORITY, REASON, ("articles_of_association",))
    app = await authority.return_for_correction(registry, command)
    assert app.state is State.RETURNED and "articles_of_association" not in app.materials

    with pytest.raises(errors.InvalidInput) as raised:  # the returned material must come back
        await applicant.resubmit(registry, applicant.ResubmitApplication(app.application_id))
    assert raised.value.violations[0].field == "materials[articles_of_association]"

    from tests.unit.registry.flow import attach_all

    app = await attach_all(registry, app)
    app = await applicant.resubmit(registry, applicant.ResubmitApplication(app.application_id))
    assert app.state is State.SUBMITTED and app.resubmissions == 1 and app.fee.paid
    assert (await event_types(registry, app.application_id))[-1] == "submitted"


async def test_rejection_records_the_paid_fee_for_refund(registry: Registry) -> None:
    app = await under_review(registry)
    app = await authority.reject(registry, authority.RejectApplication(app.application_id, "o", AUTHORITY, REASON))
    assert app.state is State.REJECTED
    assert app.last_decision is not None and app.last_decision.reason == REASON
    assert (await event_types(registry, app.application_id))[-1] == "rejected"


async def test_a_reason_is_required_to_reject(registry: Registry) -> None:
    from services.registry.domain.text import LocalText

    app = await under_review(registry)
    with pytest.raises(errors.InvalidInput):
        await authority.reject(
            registry,
            authority.RejectApplication(app.application_id, "o", AUTHORITY, LocalText(zh_hant="", zh_hans="", en=" ")),
        )


async def test_only_the_applicant_may_withdraw(registry: Registry) -> None:
    app = await submitted(registry)
    with pytest.raises(errors.PermissionDenied):
        await applicant.withdraw(registry, applicant.WithdrawApplication(app.application_id, "pseud-someone-else"))
    app = await applicant.withdraw(registry, applicant.WithdrawApplication(app.application_id, "pseud-alice"))
    assert app.state is State.WITHDRAWN
    with pytest.raises(errors.FailedPrecondition) as raised:
        await applicant.withdraw(registry, applicant.WithdrawApplication(app.application_id, "pseud-alice"))
    assert "WITHDRAWN" in raised.value.message


async def test_the_fee_is_marked_paid_once_however_often_the_transfer_arrives(registry: Registry) -> None:
    app = await submitted(registry)
    app = await paid(registry, app, "tr-1")
    app = await paid(registry, app, "tr-1")
    app = await paid(registry, app, "tr-2")
    assert app.fee.paid and app.fee.transfer_id == "tr-1"
    assert (await event_types(registry, app.application_id)).count("fee_paid") == 1


async def test_a_transfer_short_of_the_fee_does_not_pay_it(registry: Registry) -> None:
    from services.registry.service_layer.background import mark_fee_paid

    app = await submitted(registry)
    async with registry.uow() as work:
        assert not await mark_fee_paid(work, app.fee.payment_reference, "tr", "CNY", app.fee.minor_units - 1)
        assert not await mark_fee_paid(work, app.fee.payment_reference, "tr", "HKD", app.fee.minor_units)
        assert not await mark_fee_paid(work, "REG-unknown", "tr", "CNY", 10**9)


async def test_a_passed_deadline_raises_one_overdue_event(registry: Registry) -> None:
    app = await submitted(registry)
    assert app.deadline is not None
    assert await flag_overdue(registry, app.deadline) == 0  # at the deadline itself: not yet
    later = app.deadline + timedelta(seconds=1)
    assert await flag_overdue(registry, later) == 1
    assert await flag_overdue(registry, later + timedelta(days=1)) == 0
    assert (await event_types(registry, app.application_id))[-1] == "overdue"


async def test_drafting_twice_with_one_request_id_gives_one_draft(registry: Registry) -> None:
    first = await drafted(registry, request_id="kiosk-42-1")
    again = await drafted(registry, request_id="kiosk-42-1")
    assert again.application_id == first.application_id


async def test_an_individual_business_gets_category_2(registry: Registry) -> None:
    app = await drafted(registry, item="440605-HKMO-IND-REG")
    declaration = NameDeclaration("", "阿明", "奶茶", "店")
    app = await applicant.declare_name(registry, applicant.DeclareName(app.application_id, declaration))
    app = await attach_all(registry, app)
    app = await paid(registry, await applicant.submit(registry, applicant.SubmitApplication(app.application_id)))
    await authority.start_review(registry, authority.StartReview(app.application_id, "o", AUTHORITY))
    app = await authority.approve(registry, authority.ApproveApplication(app.application_id, "o", AUTHORITY))
    assert app.uscc.startswith("92440605") and check_uscc(app.uscc).valid
    assert app.licence is not None and app.licence.name == "佛山市南海区阿明奶茶店"


async def test_a_deregistration_names_the_entity_needs_no_fee_and_issues_no_new_code(registry: Registry) -> None:
    existing = issue_uscc(registry.catalogue.get("440605-HKMO-CO-EST").authority, SubjectCategory.ENTERPRISE, 99)
    with pytest.raises(errors.InvalidInput) as raised:
        await drafted(registry, company(), item="440605-HKMO-CO-DRG")
    assert [v.field for v in raised.value.violations] == ["enterprise.subject_uscc"]

    app = await drafted(registry, replace(company(), subject_uscc=existing), item="440605-HKMO-CO-DRG")
    app = await attach_all(registry, app)
    app = await applicant.submit(registry, applicant.SubmitApplication(app.application_id))
    assert app.fee.paid and "fee_requested" not in await event_types(registry, app.application_id)
    await authority.start_review(registry, authority.StartReview(app.application_id, "o", AUTHORITY))
    app = await authority.approve(registry, authority.ApproveApplication(app.application_id, "o", AUTHORITY))
    assert app.uscc == existing and app.licence is None


async def test_a_read_sees_the_latest_commit_and_a_reading_unit_of_work_refuses_a_write(registry: Registry) -> None:
    app = await drafted(registry)
    async with registry.uow.reading() as work:
        first = await work.applications.get(app.application_id)
    updated = await applicant.update_draft(
        registry, applicant.UpdateDraftApplication(app.application_id, "pseud-alice", company(), first.version)
    )
    async with registry.uow.reading() as work:
        seen = await work.applications.get(app.application_id)
        assert seen.version == updated.version == first.version + 1
        with pytest.raises(RuntimeError, match="a write in a reading unit of work"):
            await work.applications.save(seen)
    async with registry.uow.reading() as work:
        assert (await work.applications.get(app.application_id)).version == updated.version
