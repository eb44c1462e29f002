"""Protobuf (baylink.registry.v1) ⇄ domain, at the edge; ``EdgeMessages`` keeps what it mapped."""

from __future__ import annotations

from collections import OrderedDict

from baylink.common.v1 import common_pb2
from baylink.registry.v1 import application_pb2 as pb
from baylink.registry.v1 import catalogue_pb2 as cat
from services.registry.adapters.event_mapping import money, text, ts
from services.registry.domain.application import Application, Decision
from services.registry.domain.catalogue import Catalogue, CatalogueItem, ItemKind, Signatory, SubjectCategory
from services.registry.domain.enterprise import EnterpriseDetails, Investor, InvestorKind, Money
from services.registry.domain.materials import Material
from services.registry.domain.names import NameDeclaration
from services.registry.domain.text import LocalText

_SIGNATORY = {
    Signatory.INVESTORS: cat.SIGNATORY_INVESTORS,
    Signatory.LEGAL_REPRESENTATIVE: cat.SIGNATORY_LEGAL_REPRESENTATIVE,
}
_KIND = {
    ItemKind.ESTABLISHMENT: cat.CATALOGUE_ITEM_KIND_ESTABLISHMENT,
    ItemKind.CHANGE: cat.CATALOGUE_ITEM_KIND_CHANGE,
    ItemKind.DEREGISTRATION: cat.CATALOGUE_ITEM_KIND_DEREGISTRATION,
}
_CATEGORY = {
    SubjectCategory.ENTERPRISE: cat.SUBJECT_CATEGORY_ENTERPRISE,
    SubjectCategory.INDIVIDUAL_BUSINESS: cat.SUBJECT_CATEGORY_INDIVIDUAL_BUSINESS,
}
_INVESTOR_KIND = {pb.INVESTOR_KIND_ENTERPRISE: InvestorKind.ENTERPRISE}
_JURISDICTION = {common_pb2.JURISDICTION_HK: "HK", common_pb2.JURISDICTION_MO: "MO", common_pb2.JURISDICTION_GD: "GD"}
_JURISDICTION_PB = {v: k for k, v in _JURISDICTION.items()}
_DECISION = {
    "approved": pb.DECISION_OUTCOME_APPROVED,
    "rejected": pb.DECISION_OUTCOME_REJECTED,
    "returned": pb.DECISION_OUTCOME_RETURNED,
}
_STATUS = {
    "attached": pb.MATERIAL_STATUS_ATTACHED,
    "signed": pb.MATERIAL_STATUS_SIGNED,
    "verified": pb.MATERIAL_STATUS_VERIFIED,
}


def local_text(message: common_pb2.LocalizedText) -> LocalText:
    return LocalText(zh_hant=message.zh_hant.strip(), zh_hans=message.zh_hans.strip(), en=message.en.strip())


def _money_in(message: common_pb2.Money, present: bool) -> Money | None:
    return Money(message.currency.upper(), message.minor_units) if present else None


def details(message: pb.EnterpriseDetails) -> EnterpriseDetails:
    return EnterpriseDetails(
        registered_capital=_money_in(message.registered_capital, message.HasField("registered_capital")),
        address=message.address.strip(),
        business_scope=message.business_scope.strip(),
        investors=tuple(
            Investor(
                _INVESTOR_KIND.get(i.kind, InvestorKind.NATURAL_PERSON),
                i.name.strip(),
                _JURISDICTION.get(i.jurisdiction, ""),
                i.reference.strip(),
                _money_in(i.subscribed_capital, i.HasField("subscribed_capital")),
                i.certificate_sha256.strip().lower(),
            )
            for i in message.investors
        ),
        legal_representative_name=message.legal_representative_name.strip(),
        legal_representative_ref=message.legal_representative_ref.strip(),
        legal_representative_certificate_sha256=message.legal_representative_certificate_sha256.strip().lower(),
        subject_uscc=message.subject_uscc.strip().upper(),
    )


def name(message: pb.NameDeclaration) -> NameDeclaration:
    return NameDeclaration(
        message.full_name.strip(),
        message.trade_name.strip(),
        message.industry.strip(),
        message.organisational_form.strip(),
        message.english_name.strip(),
    )


def _details_out(d: EnterpriseDetails) -> pb.EnterpriseDetails:
    out = pb.EnterpriseDetails(
        address=d.address,
        business_scope=d.business_scope,
        legal_representative_name=d.legal_representative_name,
        legal_representative_ref=d.legal_representative_ref,
        legal_representative_certificate_sha256=d.legal_representative_certificate_sha256,
        subject_uscc=d.subject_uscc,
    )
    if d.registered_capital is not None:
        out.registered_capital.CopyFrom(money(d.registered_capital.currency, d.registered_capital.minor_units))
    for i in d.investors:
        investor = out.investors.add(
            kind=pb.INVESTOR_KIND_ENTERPRISE if i.kind is InvestorKind.ENTERPRISE else pb.INVESTOR_KIND_NATURAL_PERSON,
            name=i.name,
            jurisdiction=_JURISDICTION_PB.get(i.jurisdiction, common_pb2.JURISDICTION_UNSPECIFIED),
            reference=i.reference,
            certificate_sha256=i.certificate_sha256,
        )
        if i.subscribed_capital is not None:
            investor.subscribed_capital.CopyFrom(money(i.subscribed_capital.currency, i.subscribed_capital.minor_units))
    return out


def material(m: Material, item: CatalogueItem, d: EnterpriseDetails) -> pb.Material:
    out = pb.Material(
        material_id=m.material_id,
        material_type=m.material_type,
        filename=m.filename,
        media_type=m.media_type,
        size_bytes=m.size_bytes,
        sha256=m.sha256,
        status=_STATUS[m.status(item.requirement(m.material_type), d).value],
    )
    for s in m.signatures:
        out.signatures.add(
            signer_ref=s.signer_ref,
            roles=[_SIGNATORY[r] for r in s.roles],
            certificate_sha256=s.certificate_sha256,
            signed_at=ts(s.signed_at),
            verified_at=ts(s.verified_at),
        )
    if m.signatures:
        last = m.signatures[-1]
        out.signer_certificate_fingerprint = last.certificate_sha256
        out.signed_at.CopyFrom(ts(last.signed_at))
    return out


def _decision(d: Decision) -> pb.Decision:
    out = pb.Decision(
        outcome=_DECISION[d.outcome],
        reviewer_id=d.reviewer_id,
        decided_at=ts(d.decided_at),
        material_types_to_correct=list(d.material_types_to_correct),
    )
    if d.reason is not None:
        out.reason.CopyFrom(text(d.reason))
    return out


def application(app: Application, item: CatalogueItem) -> pb.Application:
    out = pb.Application(
        application_id=app.application_id,
        catalogue_item_id=app.catalogue_item_id,
        authority_code=app.authority_code,
        applicant_ref=app.applicant_ref,
        state=pb.ApplicationState.Value(f"APPLICATION_STATE_{app.state.value}"),
        materials_verified=app.materials_verified(item),
        name_approved=app.name_approved,
        fee_paid=app.fee.paid,
        enterprise=_details_out(app.enterprise),
        materials=[material(m, item, app.enterprise) for m in app.materials.values()],
        fee=pb.Fee(
            amount=money(app.fee.currency, app.fee.minor_units),
            payment_reference=app.fee.payment_reference,
            transfer_id=app.fee.transfer_id,
        ),
        created_at=ts(app.created_at),
        uscc=app.uscc,
        version=app.version,
        overdue=app.overdue,
        resubmissions=app.resubmissions,
        reviewer_id=app.reviewer_id,
        flow_id=app.flow_id or app.application_id,
    )
    if app.name is not None:
        n = app.name
        out.name.CopyFrom(pb.NameDeclaration(**vars(n)))
    for field, value in (("submitted_at", app.submitted_at), ("deadline", app.deadline)):
        if value is not None:
            getattr(out, field).CopyFrom(ts(value))
    if app.last_decision is not None:
        out.last_decision.CopyFrom(_decision(app.last_decision))
    if app.licence is not None:
        lic = app.licence
        out.licence.CopyFrom(
            pb.BusinessLicence(
                uscc=lic.uscc,
                enterprise_name=lic.name,
                legal_representative_name=lic.legal_representative_name,
                registered_capital=money(lic.registered_capital_currency, lic.registered_capital_minor_units),
                address=lic.address,
                business_scope=lic.business_scope,
                authority_code=lic.authority_code,
                issued_at=ts(lic.issued_at),
            )
        )
    return out


def catalogue_item(item: CatalogueItem) -> cat.CatalogueItem:
    return cat.CatalogueItem(
        item_id=item.code,
        title=text(item.title),
        authority_code=item.authority.division_code,
        authority_name=text(item.authority.name),
        time_limit_working_days=item.time_limit_working_days,
        materials=[
            cat.MaterialRequirement(
                material_type=m.material_type,
                title=text(m.title),
                mandatory=m.mandatory,
                signature_required=m.signature_required,
                signatories=[_SIGNATORY[s] for s in m.signatories],
            )
            for m in item.materials
        ],
        fee=money("CNY", item.fee_minor_units),
        name_check_required=item.name_check_required,
        legal_basis=[text(t) for t in item.legal_basis],
        procedure_steps=[text(t) for t in item.procedure],
        kind=_KIND[item.kind],
        subject_category=_CATEGORY[item.category],
        organisational_forms=list(item.organisational_forms),
    )


class EdgeMessages:
    """The messages the gRPC edge answers with, mapped once and kept: an application's per version,
    a catalogue item's per catalogue.

    Every write of an application saves a new version (``SqlApplications.save``, in any replica),
    so an application id and version name one content, and its message is the same whether it was
    mapped from the command that saved that version or from a later read; a different version is
    mapped afresh. One version is kept per application, for the ``max_applications`` most recently
    mapped. The catalogue's messages are kept for the ``Catalogue`` object they were mapped from
    and dropped when the registry is given another. Callers copy a kept message into their answer
    (a message given as a field's value is copied), so a kept one is never changed.
    """

    def __init__(self, max_applications: int = 1024):
        self.max_applications = max_applications
        self._applications: OrderedDict[str, tuple[int, pb.Application]] = OrderedDict()
        self._catalogue: Catalogue | None = None
        self._items: dict[str, cat.CatalogueItem] = {}

    def application(self, app: Application, item: CatalogueItem) -> pb.Application:
        kept = self._applications.get(app.application_id)
        if kept is not None and kept[0] == app.version:
            self._applications.move_to_end(app.application_id)
            return kept[1]
        message = application(app, item)
        if kept is None or kept[0] < app.version:  # a read that raced a newer command keeps the newer
            self._applications[app.application_id] = (app.version, message)
            self._applications.move_to_end(app.application_id)
            while len(self._applications) > self.max_applications:
                self._applications.popitem(last=False)
        return message

    def catalogue_item(self, catalogue: Catalogue, item: CatalogueItem) -> cat.CatalogueItem:
        if catalogue is not self._catalogue:
            self._catalogue, self._items = catalogue, {}
        message = self._items.get(item.code)
        if message is None:
            message = self._items[item.code] = catalogue_item(item)
        return message
