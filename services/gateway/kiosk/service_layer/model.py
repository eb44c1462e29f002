"""What the kiosk use cases work with: plain values the adapters map the services' messages into.

Only the fields a kiosk shows or the gateway decides on; the services' contracts stay the typed
schema inside, these never go further than the kiosk's HTTP edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.gateway.binding.domain.model import CertificateFacts

TextByLanguage = Mapping[str, str]
"""Text by language tag (zh-Hant, zh-Hans, en, pt) as the kiosk API sends it; missing or empty: no
translation. Not ``baylink.i18n.LocalText``: the gRPC contracts' LocalizedText may carry Portuguese
for Macau, and the kiosk passes on whatever languages a service gave."""


@dataclass(frozen=True)
class Money:
    currency: str
    minor_units: int  # every kiosk currency (HKD, MOP, CNY) has two decimals


@dataclass(frozen=True)
class ValidatedCertificate:
    """The identity service's verdict on a certificate, with the facts read from the bytes it validated."""

    facts: CertificateFacts
    key_kind: str  # rsa, ec-p256, ec-p384, ed25519, sm2 or other: decides the signature algorithm expected


@dataclass(frozen=True)
class MaterialRequirementView:
    material_type: str
    title: TextByLanguage
    mandatory: bool
    signature_required: bool
    signatories: tuple[str, ...]  # "investors", "legal_representative"


@dataclass(frozen=True)
class CatalogueItemView:
    item_id: str
    title: TextByLanguage
    authority_code: str
    authority_name: TextByLanguage
    time_limit_working_days: int
    fee: Money | None
    name_check_required: bool
    kind: str
    materials: tuple[MaterialRequirementView, ...]
    organisational_forms: tuple[str, ...] = ()
    procedure_steps: tuple[TextByLanguage, ...] = ()

    def requirement(self, material_type: str) -> MaterialRequirementView | None:
        return next((m for m in self.materials if m.material_type == material_type), None)


@dataclass(frozen=True)
class InvestorDraft:
    kind: str  # "natural_person" or "enterprise"
    name: str
    jurisdiction: str  # HK, MO, GD
    reference: str  # a person's pseudonym, an enterprise's registration number
    subscribed_capital: Money | None
    certificate_sha256: str = ""


@dataclass(frozen=True)
class EnterpriseDraft:
    registered_capital: Money
    address: str
    business_scope: str
    investors: tuple[InvestorDraft, ...]
    legal_representative_name: str
    legal_representative_ref: str
    legal_representative_certificate_sha256: str


@dataclass(frozen=True)
class NameDraft:
    trade_name: str
    industry: str
    organisational_form: str
    english_name: str = ""


@dataclass(frozen=True)
class NameCheckView:
    outcome: str  # approved, rejected, needs_review
    reasons: tuple[TextByLanguage, ...] = ()


@dataclass(frozen=True)
class SignatureView:
    signer_ref: str
    roles: tuple[str, ...]
    certificate_sha256: str
    signed_at: datetime | None


@dataclass(frozen=True)
class MaterialView:
    material_id: str
    material_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: bytes
    status: str  # attached, signed, verified, signature_invalid
    verification_message: TextByLanguage = field(default_factory=dict)
    signatures: tuple[SignatureView, ...] = ()


@dataclass(frozen=True)
class FeeView:
    amount: Money
    payment_reference: str
    transfer_id: str


@dataclass(frozen=True)
class DecisionView:
    outcome: str  # approved, rejected, returned
    reason: TextByLanguage
    decided_at: datetime | None
    material_types_to_correct: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplicationView:
    application_id: str
    catalogue_item_id: str
    authority_code: str
    applicant_ref: str
    state: str  # draft, submitted, under_review, approved, rejected, returned, withdrawn
    version: int
    materials_verified: bool
    name_approved: bool
    fee_paid: bool
    enterprise_name: str
    investor_certificates: tuple[str, ...]  # SHA-256 of each natural-person investor's certificate
    legal_representative_certificate: str
    materials: tuple[MaterialView, ...] = ()
    fee: FeeView | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    deadline: datetime | None = None
    uscc: str = ""
    decision: DecisionView | None = None
    overdue: bool = False
    flow_id: str = ""  # the registry's correlation id for all the application's events

    def material(self, material_id: str) -> MaterialView | None:
        return next((m for m in self.materials if m.material_id == material_id), None)


@dataclass(frozen=True)
class MaterialUpload:
    material_type: str
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class QuoteView:
    quote_id: str
    payer_participant_id: str
    payee_participant_id: str
    send: Money
    receive: Money
    fee: Money | None
    customer_rate: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TransferView:
    transfer_id: str
    state: str  # received, reserved, committed, aborted, expired
    send: Money
    receive: Money
    reference: str
    abort_code: str = ""
