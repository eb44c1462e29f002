"""The authority's commands: start review, approve (issuing the USCC and licence), reject, return; and
reading a material's content, checked the same way (only the application's own authority)."""

from __future__ import annotations

from dataclasses import dataclass

from baylink import errors
from services.registry.domain.application import Application, Licence, State
from services.registry.domain.materials import Material
from services.registry.domain.messages import precondition, say
from services.registry.domain.text import LocalText
from services.registry.domain.uscc import issue_uscc
from services.registry.service_layer.context import Registry, check_authority, check_version


@dataclass(frozen=True)
class StartReview:
    """Who starts reviewing a handed-in application, for which authority."""

    application_id: str
    reviewer_id: str
    authority_code: str
    expected_version: int = 0


@dataclass(frozen=True)
class ApproveApplication:
    """Who approves, for which authority (a licence and USCC are issued if the item issues one)."""

    application_id: str
    reviewer_id: str
    authority_code: str
    expected_version: int = 0


@dataclass(frozen=True)
class RejectApplication:
    """With the reason the applicant is told."""

    application_id: str
    reviewer_id: str
    authority_code: str
    reason: LocalText
    expected_version: int = 0


@dataclass(frozen=True)
class ReturnApplication:
    """For correction: with the reason the applicant is told and the materials to correct."""

    application_id: str
    reviewer_id: str
    authority_code: str
    reason: LocalText
    material_types_to_correct: tuple[str, ...] = ()
    expected_version: int = 0


DEFAULT_PIECE_BYTES = 1024 * 1024
MAX_PIECE_BYTES = 3 * 1024 * 1024  # with the message around it, under gRPC's default 4 MiB receive limit


@dataclass(frozen=True)
class GetMaterialContent:
    """A piece of a material's content: ``max_bytes`` from ``offset`` (0: the default piece)."""

    application_id: str
    material_id: str
    authority_code: str
    offset: int = 0
    max_bytes: int = 0


async def material_content(registry: Registry, query: GetMaterialContent) -> tuple[Application, Material, bytes]:
    """A piece of a current material of a handed-in application, for the deciding authority."""
    if not query.material_id:
        raise errors.InvalidInput.field("material_id", say("required"))
    if query.offset < 0:
        raise errors.InvalidInput.field("offset", say("not_negative"))
    if query.max_bytes < 0:
        raise errors.InvalidInput.field("max_bytes", say("not_negative"))
    async with registry.uow.reading() as work:
        app = await work.applications.get(query.application_id)
        check_authority(app, query.authority_code)
        if app.state == State.DRAFT:  # not handed in: not the authority's to read yet
            raise precondition(app.application_id, app.state.value, "illegal_transition", action="material_read")
        material = app.material(query.material_id)
        if material is None:  # unknown, or a version the applicant has since replaced
            raise errors.NotFound("material", query.material_id)
        content = await work.applications.content(material.material_id)
    if query.offset > len(content):
        raise errors.InvalidInput.field("offset", say("offset_past_end", size=len(content)))
    piece = min(query.max_bytes or DEFAULT_PIECE_BYTES, MAX_PIECE_BYTES)
    return app, material, content[query.offset : query.offset + piece]


async def start_review(registry: Registry, command: StartReview) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_authority(app, command.authority_code)
        check_version(app, command.expected_version)
        app.start_review(registry.item_of(app), command.reviewer_id)
        await work.applications.save(app)
    return app


async def approve(registry: Registry, command: ApproveApplication) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_authority(app, command.authority_code)
        check_version(app, command.expected_version)
        item = registry.item_of(app)
        app.check_approvable(item)
        now = registry.clock()
        licence = None
        if item.issues_licence:
            # Same transaction as the approval: if anything below fails, the number is not used up.
            sequence = await work.registrations.next_sequence(item.authority.division_code)
            capital = app.enterprise.registered_capital
            licence = Licence(
                uscc=issue_uscc(item.authority, item.category, sequence),
                name=app.name.full_name if app.name else "",
                legal_representative_name=app.enterprise.legal_representative_name,
                registered_capital_currency=capital.currency if capital else "",
                registered_capital_minor_units=capital.minor_units if capital else 0,
                address=app.enterprise.address,
                business_scope=app.enterprise.business_scope,
                authority_code=app.authority_code,
                issued_at=now,
            )
            await work.registrations.add_licence(app.application_id, licence, sequence)
            await work.names.register(app.application_id)
        app.approve(item, command.reviewer_id, now, licence)
        await work.applications.save(app)
    return app


async def reject(registry: Registry, command: RejectApplication) -> Application:
    _require_reason(command.reason)
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_authority(app, command.authority_code)
        check_version(app, command.expected_version)
        app.reject(command.reviewer_id, command.reason, registry.clock())
        await work.names.release(app.application_id)
        await work.applications.save(app)
    return app


async def return_for_correction(registry: Registry, command: ReturnApplication) -> Application:
    _require_reason(command.reason)
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_authority(app, command.authority_code)
        check_version(app, command.expected_version)
        item = registry.item_of(app)
        unknown = [t for t in command.material_types_to_correct if item.requirement(t) is None]
        if unknown:
            raise errors.InvalidInput.field("material_types_to_correct", say("material_type_unknown", type=unknown[0]))
        app.return_for_correction(
            command.reviewer_id, command.reason, tuple(command.material_types_to_correct), registry.clock()
        )
        await work.applications.save(app)
    return app


def _require_reason(reason: LocalText) -> None:
    if not (reason.zh_hans.strip() or reason.zh_hant.strip() or reason.en.strip()):
        raise errors.InvalidInput.field("reason", say("reasons_required"))
