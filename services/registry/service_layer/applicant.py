"""The applicant's commands: draft, update, declare a name, attach and sign materials, submit, withdraw."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import timedelta

from baylink import errors
from services.registry.domain.application import EDITABLE, Application
from services.registry.domain.catalogue import CatalogueItem
from services.registry.domain.enterprise import EnterpriseDetails, check_details
from services.registry.domain.materials import Material
from services.registry.domain.messages import Problem, raise_if_any, say
from services.registry.domain.names import NameDeclaration, check_name, complete, key_of
from services.registry.service_layer.context import Registry, check_applicant, check_version


@dataclass(frozen=True)
class DraftApplication:
    request_id: str
    catalogue_item_id: str
    applicant_ref: str
    enterprise: EnterpriseDetails


@dataclass(frozen=True)
class UpdateDraftApplication:
    application_id: str
    applicant_ref: str
    enterprise: EnterpriseDetails
    expected_version: int = 0


@dataclass(frozen=True)
class DeclareName:
    application_id: str
    name: NameDeclaration
    expected_version: int = 0
    applicant_ref: str = ""


@dataclass(frozen=True)
class AttachMaterial:
    application_id: str
    material_type: str
    filename: str
    media_type: str
    content: bytes
    sha256: bytes = b""
    applicant_ref: str = ""


@dataclass(frozen=True)
class SubmitApplication:
    """Hand in a draft."""

    application_id: str
    expected_version: int = 0
    applicant_ref: str = ""


@dataclass(frozen=True)
class ResubmitApplication:
    """Hand in a returned application again."""

    application_id: str
    expected_version: int = 0
    applicant_ref: str = ""


@dataclass(frozen=True)
class WithdrawApplication:
    application_id: str
    applicant_ref: str
    reason: str = ""


async def draft(registry: Registry, command: DraftApplication) -> Application:
    problems = [Problem(f, "required") for f in ("request_id", "applicant_ref") if not getattr(command, f).strip()]
    item = registry.catalogue.find(command.catalogue_item_id)
    if item is None:
        problems.append(Problem("catalogue_item_id", "unknown_item", {"item": command.catalogue_item_id}))
    raise_if_any(problems)
    assert item is not None
    raise_if_any(check_details(command.enterprise, item))
    fingerprint = hashlib.sha256(repr((command.catalogue_item_id, command.applicant_ref, command.enterprise)).encode())
    for attempt in range(2):
        try:
            return await _draft_once(registry, command, item, fingerprint.hexdigest())
        except errors.Aborted:
            if attempt:  # the same request raced with itself; the retry finds the winner's draft
                raise
    raise AssertionError("unreachable")


async def _draft_once(
    registry: Registry, command: DraftApplication, item: CatalogueItem, fingerprint: str
) -> Application:
    async with registry.uow() as work:
        known = await work.applications.draft_for_request(command.request_id)
        if known is not None:
            if known[1] != fingerprint:
                raise errors.InvalidInput.field("request_id", say("request_id_reused"))
            return await work.applications.get(known[0])
        # The flow id is a business key: the registry makes it (the application's own id), never the
        # caller (a correlation id is the caller's word, for tracing only; it stays the causation id).
        app_id = registry.new_id()
        app = Application.draft(app_id, item, command.applicant_ref, command.enterprise, registry.clock())
        await work.applications.add(app)
        await work.applications.remember_request(command.request_id, app.application_id, fingerprint)
    return app


async def update_draft(registry: Registry, command: UpdateDraftApplication) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        check_version(app, command.expected_version)
        raise_if_any(check_details(command.enterprise, registry.item_of(app)))
        app.update_details(command.enterprise)
        await work.applications.save(app)
    return app


async def declare_name(registry: Registry, command: DeclareName) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        check_version(app, command.expected_version)
        app.require(EDITABLE, "named")
        item = registry.item_of(app)
        raise_if_any(check_name(command.name, item, registry.name_rules), reason="INVALID_NAME")
        declaration = complete(replace(command.name, trade_name=command.name.trade_name.strip()), item)
        now = registry.clock()
        until = now + timedelta(days=registry.name_reservation_days)
        await work.names.reserve(key_of(declaration, item), declaration.full_name, app.application_id, until, now)
        app.declare_name(declaration)
        await work.applications.save(app)
    return app


async def attach_material(registry: Registry, command: AttachMaterial) -> tuple[Application, Material]:
    digest = hashlib.sha256(command.content).digest()
    problems = []
    if not command.content:
        problems.append(Problem("content", "material_empty"))
    elif len(command.content) > registry.max_material_bytes:
        problems.append(Problem("content", "material_too_large", {"max": registry.max_material_bytes}))
    if command.sha256 and command.sha256 != digest:
        problems.append(Problem("sha256", "digest_mismatch"))
    if not command.filename.strip():
        problems.append(Problem("filename", "required"))
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        app.require(EDITABLE, "attached")
        if registry.item_of(app).requirement(command.material_type) is None:
            problems.append(Problem("material_type", "material_type_unknown", {"type": command.material_type}))
        raise_if_any(problems, reason="INVALID_MATERIAL")
        material = Material(
            registry.new_id(),
            command.material_type,
            command.filename.strip(),
            command.media_type or "application/octet-stream",
            len(command.content),
            digest,
            registry.clock(),
        )
        app.attach(material)
        await work.applications.store_content(app.application_id, material.material_id, digest, command.content)
        await work.applications.save(app)
    return app, material


async def submit(registry: Registry, command: SubmitApplication) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        check_version(app, command.expected_version)
        item = registry.item_of(app)
        now = registry.clock()
        deadline = registry.calendar.deadline(now, item.time_limit_working_days)
        app.submit(item, now, deadline, payment_reference=f"REG-{app.application_id}")
        await work.applications.save(app)
    return app


async def resubmit(registry: Registry, command: ResubmitApplication) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        check_version(app, command.expected_version)
        item = registry.item_of(app)
        now = registry.clock()
        app.resubmit(item, now, registry.calendar.deadline(now, item.time_limit_working_days))
        await work.applications.save(app)
    return app


async def withdraw(registry: Registry, command: WithdrawApplication) -> Application:
    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        if not command.applicant_ref:
            raise errors.InvalidInput.field("applicant_ref", say("required"))
        check_applicant(app, command.applicant_ref)
        app.withdraw()
        await work.names.release(app.application_id)
        await work.applications.save(app)
    return app
