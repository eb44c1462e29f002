"""The kiosk API's answers: pydantic models (for the OpenAPI document) built from the kiosk's values,
with every text in the request's language and money as decimal strings (never floats)."""

from __future__ import annotations

import base64
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from services.gateway.kiosk.entrypoints.i18n import pick
from services.gateway.kiosk.service_layer import model as m
from services.gateway.kiosk.service_layer.signing import SIGNATURE_FORMAT, SigningInstruction


class MoneyOut(BaseModel):
    currency: str
    amount: str  # decimal string in major units
    minor_units: int

    @classmethod
    def of(cls, money: m.Money) -> MoneyOut:
        amount = str(Decimal(money.minor_units).scaleb(-2))  # HKD, MOP and CNY: two decimals (ISO 4217)
        return cls(currency=money.currency, amount=amount, minor_units=money.minor_units)


class SessionOut(BaseModel):
    session_token: str
    kiosk_id: str
    language: str
    expires_at: datetime
    idle_timeout_seconds: float


class PersonOut(BaseModel):
    person: str
    jurisdiction: str
    signature_algorithm: str
    digest_algorithm: str


class MaterialRequirementOut(BaseModel):
    material_type: str
    title: str
    mandatory: bool
    signature_required: bool
    signatories: list[str]


class CatalogueItemOut(BaseModel):
    item_id: str
    title: str
    authority_code: str
    authority_name: str
    time_limit_working_days: int
    fee: MoneyOut | None
    name_check_required: bool
    kind: str
    materials: list[MaterialRequirementOut]
    organisational_forms: list[str]
    procedure: list[str]

    @classmethod
    def of(cls, item: m.CatalogueItemView, lang: str) -> CatalogueItemOut:
        """Made once per view and language and then shared (never changed): a view is made once per
        distinct registry message (``clients.registry_views``), so every catalogue read brings the same
        few views. Keyed by the view's identity; the entry keeps the view, so its id is not reused."""
        key = (id(item), lang)
        known = _ITEM_OUTS.get(key)
        if known is not None and known[0] is item:
            _ITEM_OUTS.move_to_end(key)
            return known[1]
        made = cls._of(item, lang)
        _ITEM_OUTS[key] = (item, made)
        if len(_ITEM_OUTS) > ITEM_OUTS_KEPT:
            _ITEM_OUTS.popitem(last=False)
        return made

    @classmethod
    def _of(cls, item: m.CatalogueItemView, lang: str) -> CatalogueItemOut:
        return cls(
            item_id=item.item_id, title=pick(item.title, lang), authority_code=item.authority_code,
            authority_name=pick(item.authority_name, lang), time_limit_working_days=item.time_limit_working_days,
            fee=MoneyOut.of(item.fee) if item.fee else None, name_check_required=item.name_check_required,
            kind=item.kind, organisational_forms=list(item.organisational_forms),
            procedure=[pick(s, lang) for s in item.procedure_steps],
            materials=[
                MaterialRequirementOut(material_type=r.material_type, title=pick(r.title, lang), mandatory=r.mandatory,
                                       signature_required=r.signature_required, signatories=list(r.signatories))
                for r in item.materials
            ],
        )  # fmt: skip


ITEM_OUTS_KEPT = 1024  # catalogue items × languages
_ITEM_OUTS: OrderedDict[tuple[int, str], tuple[m.CatalogueItemView, CatalogueItemOut]] = OrderedDict()


class CatalogueOut(BaseModel):
    items: list[CatalogueItemOut]


class MaterialOut(BaseModel):
    material_id: str
    material_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    status: str
    verification_message: str
    signatures: int

    @classmethod
    def of(cls, material: m.MaterialView, lang: str) -> MaterialOut:
        return cls(
            material_id=material.material_id, material_type=material.material_type, filename=material.filename,
            media_type=material.media_type, size_bytes=material.size_bytes, sha256=material.sha256.hex(),
            status=material.status, verification_message=pick(material.verification_message, lang),
            signatures=len(material.signatures),
        )  # fmt: skip


class FeeOut(BaseModel):
    amount: MoneyOut
    payment_reference: str
    paid: bool


class DecisionOut(BaseModel):
    outcome: str
    reason: str
    decided_at: datetime | None
    material_types_to_correct: list[str]


class ApplicationOut(BaseModel):
    application_id: str
    catalogue_item_id: str
    authority_code: str
    state: str
    version: int
    materials_verified: bool
    name_approved: bool
    fee_paid: bool
    enterprise_name: str
    materials: list[MaterialOut]
    fee: FeeOut | None
    created_at: datetime | None
    submitted_at: datetime | None
    deadline: datetime | None
    overdue: bool
    uscc: str
    decision: DecisionOut | None

    @classmethod
    def of(cls, app: m.ApplicationView, lang: str) -> ApplicationOut:
        fee = FeeOut(amount=MoneyOut.of(app.fee.amount), payment_reference=app.fee.payment_reference,
                     paid=app.fee_paid) if app.fee else None  # fmt: skip
        decision = None
        if app.decision is not None:
            d = app.decision
            decision = DecisionOut(outcome=d.outcome, reason=pick(d.reason, lang), decided_at=d.decided_at,
                                   material_types_to_correct=list(d.material_types_to_correct))  # fmt: skip
        return cls(
            application_id=app.application_id, catalogue_item_id=app.catalogue_item_id,
            authority_code=app.authority_code, state=app.state, version=app.version,
            materials_verified=app.materials_verified, name_approved=app.name_approved, fee_paid=app.fee_paid,
            enterprise_name=app.enterprise_name, materials=[MaterialOut.of(x, lang) for x in app.materials],
            fee=fee, created_at=app.created_at, submitted_at=app.submitted_at, deadline=app.deadline,
            overdue=app.overdue, uscc=app.uscc, decision=decision,
        )  # fmt: skip


class NameCheckOut(BaseModel):
    outcome: str
    reasons: list[str]


class DraftOut(BaseModel):
    application: ApplicationOut
    name_check: NameCheckOut | None

    @classmethod
    def of(cls, app: m.ApplicationView, check: m.NameCheckView | None, lang: str) -> DraftOut:
        name_check = None
        if check is not None:
            name_check = NameCheckOut(outcome=check.outcome, reasons=[pick(r, lang) for r in check.reasons])
        return cls(application=ApplicationOut.of(app, lang), name_check=name_check)


class SignerOut(BaseModel):
    person: str
    roles: list[str]
    signature_algorithm: str
    digest_algorithm: str
    digest_base64: str | None


class ToSignOut(BaseModel):
    sha256: str
    signature_format: str
    signers: list[SignerOut]


class MaterialUploadOut(BaseModel):
    application: ApplicationOut
    material: MaterialOut
    to_sign: ToSignOut | None

    @classmethod
    def of(cls, app: m.ApplicationView, material: m.MaterialView, signers: list[SigningInstruction],
           lang: str) -> MaterialUploadOut:  # fmt: skip
        to_sign = None
        if signers:
            to_sign = ToSignOut(sha256=material.sha256.hex(), signature_format=SIGNATURE_FORMAT, signers=[
                SignerOut(person=s.person, roles=list(s.roles), signature_algorithm=s.signature_algorithm,
                          digest_algorithm=s.digest_algorithm,
                          digest_base64=base64.b64encode(s.digest).decode() if s.digest is not None else None)
                for s in signers
            ])  # fmt: skip
        return cls(application=ApplicationOut.of(app, lang), material=MaterialOut.of(material, lang), to_sign=to_sign)


class SignedOut(BaseModel):
    application: ApplicationOut
    material: MaterialOut


class QuoteOut(BaseModel):
    quote_id: str
    application_id: str
    pay: MoneyOut
    receive: MoneyOut
    scheme_fee: MoneyOut | None
    customer_rate: str
    expires_at: datetime | None

    @classmethod
    def of(cls, application_id: str, quote: m.QuoteView) -> QuoteOut:
        return cls(quote_id=quote.quote_id, application_id=application_id, pay=MoneyOut.of(quote.send),
                   receive=MoneyOut.of(quote.receive), scheme_fee=MoneyOut.of(quote.fee) if quote.fee else None,
                   customer_rate=quote.customer_rate, expires_at=quote.expires_at)  # fmt: skip


class PaymentOut(BaseModel):
    transfer_id: str
    state: str
    paid: MoneyOut
    received: MoneyOut
    reference: str

    @classmethod
    def of(cls, transfer: m.TransferView) -> PaymentOut:
        return cls(transfer_id=transfer.transfer_id, state=transfer.state, paid=MoneyOut.of(transfer.send),
                   received=MoneyOut.of(transfer.receive), reference=transfer.reference)  # fmt: skip


class ErrorField(BaseModel):
    field: str
    description: str


class ErrorOut(BaseModel):
    code: str
    message: str
    fields: list[ErrorField]
    correlation_id: str
