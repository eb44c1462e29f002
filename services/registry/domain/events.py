"""What happened to an application. Aggregates record these; the unit of work stages them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.registry.domain.text import LocalText


@dataclass(frozen=True)
class Event:
    application_id: str
    authority_code: str


@dataclass(frozen=True)
class ApplicationDrafted(Event):
    catalogue_item_id: str
    applicant_ref: str


@dataclass(frozen=True)
class ApplicationSubmitted(Event):
    catalogue_item_id: str
    applicant_ref: str
    submitted_at: datetime
    deadline: datetime
    resubmission: bool


@dataclass(frozen=True)
class MaterialVerified(Event):
    material_id: str
    material_type: str
    signer_certificate_sha256: str
    all_materials_verified: bool


@dataclass(frozen=True)
class NameApproved(Event):
    approved_name: str


@dataclass(frozen=True)
class FeeRequested(Event):
    currency: str
    minor_units: int
    payment_reference: str
    applicant_ref: str


@dataclass(frozen=True)
class FeePaid(Event):
    currency: str
    minor_units: int
    payment_reference: str
    transfer_id: str


@dataclass(frozen=True)
class ReviewStarted(Event):
    reviewer_id: str


@dataclass(frozen=True)
class ApplicationApproved(Event):
    uscc: str
    reviewer_id: str
    applicant_ref: str


@dataclass(frozen=True)
class FeeState:
    """The fee as it stands when an application ends early (for refunds)."""

    paid: bool
    transfer_id: str
    currency: str
    minor_units: int


@dataclass(frozen=True)
class ApplicationRejected(Event):
    reason: LocalText
    reviewer_id: str
    applicant_ref: str
    fee: FeeState


@dataclass(frozen=True)
class ApplicationReturned(Event):
    reason: LocalText
    material_types_to_correct: tuple[str, ...]
    reviewer_id: str
    applicant_ref: str


@dataclass(frozen=True)
class ApplicationWithdrawn(Event):
    applicant_ref: str
    fee: FeeState


@dataclass(frozen=True)
class ApplicationOverdue(Event):
    deadline: datetime
    state: str
