"""Kiosk use cases of an application: catalogue, draft (with its name), materials, signatures, submit, track.

The people on an application are the session's identified people: the gateway fills each one's
reference (the authority's pseudonym for them) and the SHA-256 of the certificate bound to them,
so the registry can hold every signature to the right certificate without seeing a document number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from baylink import errors
from services.gateway.kiosk.service_layer.access import KioskCall
from services.gateway.kiosk.service_layer.deps import KioskDeps, own_applicant, own_application, pseudonym, signers_of
from services.gateway.kiosk.service_layer.model import (
    ApplicationView,
    CatalogueItemView,
    EnterpriseDraft,
    InvestorDraft,
    MaterialUpload,
    MaterialView,
    Money,
    NameCheckView,
    NameDraft,
)
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson
from services.gateway.kiosk.service_layer.signing import SigningInstruction, instruction

_DRAFT_REQUESTS = uuid.UUID("3c0f6a1e-5d2b-4f7e-8a41-9b6d2e7c5f10")  # namespace of the registry's draft request ids


def registry_request_id(applicant_ref: str, request_id: str) -> str:
    """The kiosk's idempotency key within its applicant: the registry's key space is shared by every
    caller, so a key chosen by one person must never meet (or squat) another's."""
    return f"kiosk-{uuid.uuid5(_DRAFT_REQUESTS, applicant_ref + chr(0) + request_id)}"


@dataclass(frozen=True)
class InvestorInput:
    """A natural person (``person``: a handle of this session) or an enterprise (name and registration)."""

    subscribed_capital: Money | None
    person: str | None = None
    enterprise_name: str = ""
    enterprise_jurisdiction: str = ""
    registration_number: str = ""


@dataclass(frozen=True)
class DraftInput:
    request_id: str
    catalogue_item_id: str
    applicant: str
    legal_representative: str
    registered_capital: Money
    address: str
    business_scope: str
    investors: tuple[InvestorInput, ...]
    name: NameDraft | None = None


async def catalogue(deps: KioskDeps, call: KioskCall, authority_code: str) -> list[CatalogueItemView]:
    call.note(authority_code=authority_code or None)
    return await deps.registry.catalogue(authority_code)


async def draft(deps: KioskDeps, call: KioskCall, command: DraftInput) -> tuple[ApplicationView, NameCheckView | None]:
    session = call.live
    item = await deps.registry.catalogue_item(command.catalogue_item_id)
    city = item.authority_code
    applicant = session.person(command.applicant, "applicant")
    representative = session.person(command.legal_representative, "legal_representative")
    investors = []
    for index, given in enumerate(command.investors):
        if given.person:
            person = session.person(given.person, f"investors[{index}].person")
            investors.append(
                InvestorDraft("natural_person", person.display_name, person.jurisdiction,
                              await pseudonym(deps, person, city), given.subscribed_capital,
                              person.certificate_sha256)
            )  # fmt: skip
        else:
            investors.append(
                InvestorDraft("enterprise", given.enterprise_name, given.enterprise_jurisdiction,
                              given.registration_number, given.subscribed_capital)
            )  # fmt: skip
    enterprise = EnterpriseDraft(
        registered_capital=command.registered_capital,
        address=command.address,
        business_scope=command.business_scope,
        investors=tuple(investors),
        legal_representative_name=representative.display_name,
        legal_representative_ref=await pseudonym(deps, representative, city),
        legal_representative_certificate_sha256=representative.certificate_sha256,
    )
    applicant_ref = await pseudonym(deps, applicant, city)
    call.about(applicant.subject_id)
    request_id = registry_request_id(applicant_ref, command.request_id)
    app = await deps.registry.draft(request_id, item.item_id, applicant_ref, enterprise)
    deps.owners.remember(app)
    call.note(application_id=app.application_id, catalogue_item_id=item.item_id)
    if command.name is None:
        return app, None
    return await deps.registry.declare_name(app.application_id, applicant_ref, command.name)


async def declare_name(
    deps: KioskDeps, call: KioskCall, application_id: str, name: NameDraft
) -> tuple[ApplicationView, NameCheckView]:
    applicant_ref = await _applicant(deps, call, application_id)
    result = await deps.registry.declare_name(application_id, applicant_ref, name)
    call.note(name_check=result[1].outcome)
    return result


async def attach(
    deps: KioskDeps, call: KioskCall, application_id: str, upload: MaterialUpload
) -> tuple[ApplicationView, MaterialView, list[SigningInstruction]]:
    if len(upload.content) > deps.max_material_bytes:
        raise errors.InvalidInput.field("content_base64", f"at most {deps.max_material_bytes} bytes")
    applicant_ref = await _applicant(deps, call, application_id)
    app, material = await deps.registry.attach(application_id, applicant_ref, upload)
    call.note(material_id=material.material_id, material_type=material.material_type, size=len(upload.content))
    item = await deps.registry.catalogue_item(app.catalogue_item_id)
    requirement = item.requirement(material.material_type)
    if requirement is None or not requirement.signature_required:
        return app, material, []
    session = call.live
    instructions = [
        instruction(handle, tuple(roles), session.persons[handle].key_kind, upload.content)
        for handle, roles in signers_of(session, app, requirement.signatories).items()
    ]
    return app, material, instructions


async def sign(
    deps: KioskDeps,
    call: KioskCall,
    application_id: str,
    material_id: str,
    cms_signature: bytes,
    pades: bool = False,
) -> tuple[ApplicationView, MaterialView]:
    """A detached CMS over the material, or (`pades`) the signatures a signed-PDF material carries,
    which the registry has identity verify with VerifyPdfSignatures."""
    if pades and cms_signature:
        raise errors.InvalidInput.field("cms_base64", "leave out: with pades the PDF carries its signatures")
    if not pades and not cms_signature:
        raise errors.InvalidInput.field("cms_signature", "required: a detached CMS signature")
    applicant_ref = await _applicant(deps, call, application_id)
    call.note(material_id=material_id, pades=pades)
    app, material = await deps.registry.sign(application_id, applicant_ref, material_id, cms_signature, pades)
    call.note(material_status=material.status)
    return app, material


async def submit(deps: KioskDeps, call: KioskCall, application_id: str) -> ApplicationView:
    applicant_ref = await _applicant(deps, call, application_id)
    app = await deps.registry.submit(application_id, applicant_ref)
    call.note(state=app.state)
    return app


async def track(deps: KioskDeps, call: KioskCall, application_id: str) -> ApplicationView:
    app, _ = await _own(deps, call, application_id)
    call.note(state=app.state)
    return app


async def _own(deps: KioskDeps, call: KioskCall, application_id: str) -> tuple[ApplicationView, IdentifiedPerson]:
    call.note(application_id=application_id)
    app, owner = await own_application(deps, call.live, application_id)
    call.about(owner.subject_id)
    return app, owner


async def _applicant(deps: KioskDeps, call: KioskCall, application_id: str) -> str:
    """A command's check that the application is the session's (no read of it when the gateway has
    seen it before): its applicant reference, which the registry checks again."""
    call.note(application_id=application_id)
    applicant_ref, owner = await own_applicant(deps, call.live, application_id)
    call.about(owner.subject_id)
    return applicant_ref
