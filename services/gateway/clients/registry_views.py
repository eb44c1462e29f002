"""Registry messages ⇄ the kiosk's values (``service_layer.kiosk_model``)."""

from __future__ import annotations

import functools

from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import catalogue_pb2 as cat_pb
from services.gateway.clients.calls import (
    enum_word,
    jurisdiction_enum,
    local_text,
    money,
    money_or_none,
    time_or_none,
    to_money,
)
from services.gateway.kiosk.service_layer.model import (
    ApplicationView,
    CatalogueItemView,
    DecisionView,
    EnterpriseDraft,
    FeeView,
    MaterialRequirementView,
    MaterialView,
    NameCheckView,
    SignatureView,
)

_INVESTOR_KINDS = {"natural_person": app_pb.INVESTOR_KIND_NATURAL_PERSON, "enterprise": app_pb.INVESTOR_KIND_ENTERPRISE}


def catalogue_item(item: cat_pb.CatalogueItem) -> CatalogueItemView:
    """The kiosk's view of a catalogue item. A view is immutable and a function of the message alone,
    so it is made once per distinct message (keyed by its bytes) and shared: every catalogue read
    returns the same few items, and mapping them costs far more than serializing them."""
    return _catalogue_view(item.SerializeToString(deterministic=True))


@functools.lru_cache(maxsize=1024)
def _catalogue_view(serialized: bytes) -> CatalogueItemView:
    return _map_catalogue_item(cat_pb.CatalogueItem.FromString(serialized))


def _map_catalogue_item(item: cat_pb.CatalogueItem) -> CatalogueItemView:
    return CatalogueItemView(
        item_id=item.item_id,
        title=local_text(item.title),
        authority_code=item.authority_code,
        authority_name=local_text(item.authority_name),
        time_limit_working_days=item.time_limit_working_days,
        fee=money_or_none(item.fee) if item.fee.minor_units else None,
        name_check_required=item.name_check_required,
        kind=enum_word(cat_pb.CatalogueItemKind.Name(item.kind), "CATALOGUE_ITEM_KIND_"),
        materials=tuple(
            MaterialRequirementView(
                material_type=m.material_type,
                title=local_text(m.title),
                mandatory=m.mandatory,
                signature_required=m.signature_required,
                signatories=tuple(enum_word(cat_pb.Signatory.Name(s), "SIGNATORY_") for s in m.signatories),
            )
            for m in item.materials
        ),
        organisational_forms=tuple(item.organisational_forms),
        procedure_steps=tuple(local_text(s) for s in item.procedure_steps),
    )


def enterprise_details(draft: EnterpriseDraft) -> app_pb.EnterpriseDetails:
    return app_pb.EnterpriseDetails(
        registered_capital=to_money(draft.registered_capital),
        address=draft.address,
        business_scope=draft.business_scope,
        investors=[
            app_pb.Investor(
                kind=_INVESTOR_KINDS[i.kind],
                name=i.name,
                jurisdiction=jurisdiction_enum(i.jurisdiction),  # type: ignore[arg-type]
                reference=i.reference,
                subscribed_capital=to_money(i.subscribed_capital) if i.subscribed_capital else None,
                certificate_sha256=i.certificate_sha256,
            )
            for i in draft.investors
        ],
        legal_representative_name=draft.legal_representative_name,
        legal_representative_ref=draft.legal_representative_ref,
        legal_representative_certificate_sha256=draft.legal_representative_certificate_sha256,
    )


def name_check(check: app_pb.NameCheck) -> NameCheckView:
    outcome = enum_word(app_pb.NameCheckOutcome.Name(check.outcome), "NAME_CHECK_OUTCOME_")
    return NameCheckView(outcome, tuple(local_text(r) for r in check.reasons))


def material(m: app_pb.Material) -> MaterialView:
    return MaterialView(
        material_id=m.material_id,
        material_type=m.material_type,
        filename=m.filename,
        media_type=m.media_type,
        size_bytes=m.size_bytes,
        sha256=m.sha256,
        status=enum_word(app_pb.MaterialStatus.Name(m.status), "MATERIAL_STATUS_"),
        verification_message=local_text(m.verification_message),
        signatures=tuple(
            SignatureView(
                signer_ref=s.signer_ref,
                roles=tuple(enum_word(cat_pb.Signatory.Name(r), "SIGNATORY_") for r in s.roles),
                certificate_sha256=s.certificate_sha256,
                signed_at=time_or_none(s.signed_at, s.HasField("signed_at")),
            )
            for s in m.signatures
        ),
    )


def application(app: app_pb.Application) -> ApplicationView:
    people = [i for i in app.enterprise.investors if i.kind == app_pb.INVESTOR_KIND_NATURAL_PERSON]
    fee = None
    if app.HasField("fee") and app.fee.amount.currency:
        fee = FeeView(money(app.fee.amount), app.fee.payment_reference, app.fee.transfer_id)
    decision = None
    if app.HasField("last_decision") and app.last_decision.outcome:
        d = app.last_decision
        decision = DecisionView(
            outcome=enum_word(app_pb.DecisionOutcome.Name(d.outcome), "DECISION_OUTCOME_"),
            reason=local_text(d.reason),
            decided_at=time_or_none(d.decided_at, d.HasField("decided_at")),
            material_types_to_correct=tuple(d.material_types_to_correct),
        )
    return ApplicationView(
        flow_id=app.flow_id or app.application_id,  # older applications: their id was their flow
        application_id=app.application_id,
        catalogue_item_id=app.catalogue_item_id,
        authority_code=app.authority_code,
        applicant_ref=app.applicant_ref,
        state=enum_word(app_pb.ApplicationState.Name(app.state), "APPLICATION_STATE_"),
        version=app.version,
        materials_verified=app.materials_verified,
        name_approved=app.name_approved,
        fee_paid=app.fee_paid,
        enterprise_name=app.name.full_name,
        investor_certificates=tuple(i.certificate_sha256.lower() for i in people if i.certificate_sha256),
        legal_representative_certificate=app.enterprise.legal_representative_certificate_sha256.lower(),
        materials=tuple(material(m) for m in app.materials),
        fee=fee,
        created_at=time_or_none(app.created_at, app.HasField("created_at")),
        submitted_at=time_or_none(app.submitted_at, app.HasField("submitted_at")),
        deadline=time_or_none(app.deadline, app.HasField("deadline")),
        uscc=app.uscc,
        decision=decision,
        overdue=app.overdue,
    )
