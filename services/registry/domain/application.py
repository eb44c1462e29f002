"""The application aggregate: an explicit state machine that records what happened.

    DRAFT ──submit──▶ SUBMITTED ──start review──▶ UNDER_REVIEW ──▶ APPROVED | REJECTED | RETURNED
    RETURNED ──resubmit──▶ SUBMITTED;  DRAFT, SUBMITTED, UNDER_REVIEW, RETURNED ──withdraw──▶ WITHDRAWN

Materials verified, name approved and fee paid are conditions that become true in any order;
review starts only when all three hold. A command the current state does not allow is refused
with FAILED_PRECONDITION naming that state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.registry.domain import events as ev
from services.registry.domain.catalogue import CatalogueItem
from services.registry.domain.completeness import material_problems, materials_verified, name_problems
from services.registry.domain.enterprise import EnterpriseDetails
from services.registry.domain.materials import Material, Signature
from services.registry.domain.messages import precondition, raise_if_any
from services.registry.domain.names import NameDeclaration
from services.registry.domain.text import LocalText


class State(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    RETURNED = "RETURNED"
    WITHDRAWN = "WITHDRAWN"


EDITABLE = (State.DRAFT, State.RETURNED)
AWAITING_DECISION = (State.SUBMITTED, State.UNDER_REVIEW)
MAX_FLOW_ID = 128  # the longest correlation id kept as a flow id
OPEN = (State.DRAFT, State.SUBMITTED, State.UNDER_REVIEW, State.RETURNED)


@dataclass
class Fee:
    currency: str = "CNY"
    minor_units: int = 0
    payment_reference: str = ""
    requested: bool = False
    paid: bool = False
    transfer_id: str = ""

    def state(self) -> ev.FeeState:
        return ev.FeeState(self.paid, self.transfer_id, self.currency, self.minor_units)


@dataclass
class Decision:
    outcome: str  # approved | rejected | returned
    reviewer_id: str
    decided_at: datetime
    reason: LocalText | None = None
    material_types_to_correct: tuple[str, ...] = ()


@dataclass
class Licence:
    """The business licence record (营业执照) issued on approval."""

    uscc: str
    name: str
    legal_representative_name: str
    registered_capital_currency: str
    registered_capital_minor_units: int
    address: str
    business_scope: str
    authority_code: str
    issued_at: datetime


@dataclass
class Application:
    application_id: str
    catalogue_item_id: str
    authority_code: str
    applicant_ref: str
    created_at: datetime
    enterprise: EnterpriseDetails
    state: State = State.DRAFT
    name: NameDeclaration | None = None
    name_approved: bool = False
    materials: dict[str, Material] = field(default_factory=dict)
    fee: Fee = field(default_factory=Fee)
    submitted_at: datetime | None = None
    deadline: datetime | None = None
    overdue: bool = False
    reviewer_id: str = ""
    resubmissions: int = 0
    uscc: str = ""
    licence: Licence | None = None
    last_decision: Decision | None = None
    version: int = 0
    flow_id: str = ""  # made by the registry when drafted, never a caller's id; every event of the app carries it
    events: list[ev.Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def draft(
        cls,
        application_id: str,
        item: CatalogueItem,
        applicant_ref: str,
        details: EnterpriseDetails,
        now: datetime,
        flow_id: str = "",
    ) -> Application:
        app = cls(application_id, item.code, item.authority.division_code, applicant_ref, now, details)
        app.flow_id = flow_id[:MAX_FLOW_ID] or application_id
        app.fee = Fee("CNY", item.fee_minor_units)
        app._record(ev.ApplicationDrafted, catalogue_item_id=item.code, applicant_ref=applicant_ref)
        return app

    # -- conditions --------------------------------------------------------------------

    def materials_verified(self, item: CatalogueItem) -> bool:
        return materials_verified(item, self.enterprise, self.materials)

    def missing_conditions(self, item: CatalogueItem) -> list[str]:
        missing = []
        if not self.materials_verified(item):
            missing.append("materials_verified")
        if item.name_check_required and not self.name_approved:
            missing.append("name_approved")
        if not self.fee.paid:
            missing.append("fee_paid")
        return missing

    # -- the applicant's commands ----------------------------------------------------------

    def update_details(self, details: EnterpriseDetails) -> None:
        self._require(EDITABLE, "updated")
        self.enterprise = details

    def declare_name(self, declaration: NameDeclaration) -> None:
        """Record a declared name that passed the rules and is reserved for this application."""
        self._require(EDITABLE, "named")
        self.name, self.name_approved = declaration, True
        self._record(ev.NameApproved, approved_name=declaration.full_name)

    def attach(self, material: Material) -> None:
        self._require(EDITABLE, "attached")
        self.materials[material.material_type] = material  # a new version replaces the old, unsigned

    def material(self, material_id: str) -> Material | None:
        return next((m for m in self.materials.values() if m.material_id == material_id), None)

    def add_signature(self, item: CatalogueItem, material: Material, signature: Signature) -> None:
        self._require(EDITABLE, "signed")
        requirement = item.requirement(material.material_type)
        was_verified = requirement is not None and not material.missing_signers(requirement, self.enterprise)
        material.add(signature)
        if requirement is not None and not was_verified and not material.missing_signers(requirement, self.enterprise):
            self._record(
                ev.MaterialVerified,
                material_id=material.material_id,
                material_type=material.material_type,
                signer_certificate_sha256=signature.certificate_sha256,
                all_materials_verified=self.materials_verified(item),
            )

    def submit(self, item: CatalogueItem, now: datetime, deadline: datetime, payment_reference: str) -> None:
        self._require((State.DRAFT,), "submitted")
        self._hand_in(item, now, deadline, resubmission=False)
        if not self.fee.requested:
            self.fee.requested, self.fee.payment_reference = True, payment_reference
            if self.fee.minor_units == 0:
                self.fee.paid = True  # nothing to pay
            else:
                self._record(
                    ev.FeeRequested,
                    currency=self.fee.currency,
                    minor_units=self.fee.minor_units,
                    payment_reference=payment_reference,
                    applicant_ref=self.applicant_ref,
                )

    def resubmit(self, item: CatalogueItem, now: datetime, deadline: datetime) -> None:
        self._require((State.RETURNED,), "resubmitted")
        self.resubmissions += 1
        self._hand_in(item, now, deadline, resubmission=True)

    def _hand_in(self, item: CatalogueItem, now: datetime, deadline: datetime, *, resubmission: bool) -> None:
        raise_if_any(
            material_problems(item, self.enterprise, self.materials)
            + name_problems(item, self.name, self.name_approved)
        )
        self.state, self.submitted_at, self.deadline, self.overdue = State.SUBMITTED, now, deadline, False
        self._record(
            ev.ApplicationSubmitted,
            catalogue_item_id=self.catalogue_item_id,
            applicant_ref=self.applicant_ref,
            submitted_at=now,
            deadline=deadline,
            resubmission=resubmission,
        )

    def withdraw(self) -> None:
        self._require(OPEN, "withdrawn")
        self.state = State.WITHDRAWN
        self._record(ev.ApplicationWithdrawn, applicant_ref=self.applicant_ref, fee=self.fee.state())

    # -- the authority's commands ------------------------------------------------------------

    def start_review(self, item: CatalogueItem, reviewer_id: str) -> None:
        self._require((State.SUBMITTED,), "review_started")
        self._require_conditions(item)
        self.state, self.reviewer_id = State.UNDER_REVIEW, reviewer_id
        self._record(ev.ReviewStarted, reviewer_id=reviewer_id)

    def check_approvable(self, item: CatalogueItem) -> None:
        """Raise what ``approve`` would, before anything (a USCC number) is spent on it."""
        self._require((State.UNDER_REVIEW,), "approved")
        self._require_conditions(item)

    def approve(self, item: CatalogueItem, reviewer_id: str, now: datetime, licence: Licence | None) -> None:
        self.check_approvable(item)
        self.state, self.licence = State.APPROVED, licence
        self.uscc = licence.uscc if licence else self.enterprise.subject_uscc
        self.last_decision = Decision("approved", reviewer_id, now)
        self._record(ev.ApplicationApproved, uscc=self.uscc, reviewer_id=reviewer_id, applicant_ref=self.applicant_ref)

    def reject(self, reviewer_id: str, reason: LocalText, now: datetime) -> None:
        self._require((State.UNDER_REVIEW,), "rejected")
        self.state = State.REJECTED
        self.last_decision = Decision("rejected", reviewer_id, now, reason)
        self._record(
            ev.ApplicationRejected,
            reason=reason,
            reviewer_id=reviewer_id,
            applicant_ref=self.applicant_ref,
            fee=self.fee.state(),
        )

    def return_for_correction(
        self, reviewer_id: str, reason: LocalText, material_types: tuple[str, ...], now: datetime
    ) -> None:
        self._require((State.UNDER_REVIEW,), "returned")
        self.state = State.RETURNED
        for material_type in material_types:  # to be attached and signed again
            self.materials.pop(material_type, None)
        self.last_decision = Decision("returned", reviewer_id, now, reason, material_types)
        self._record(
            ev.ApplicationReturned,
            reason=reason,
            material_types_to_correct=material_types,
            reviewer_id=reviewer_id,
            applicant_ref=self.applicant_ref,
        )

    # -- facts from elsewhere ------------------------------------------------------------------

    def mark_fee_paid(self, transfer_id: str) -> bool:
        """Record the payment; False when it was recorded before (redelivery is harmless)."""
        if self.fee.paid:
            return False
        self.fee.paid, self.fee.transfer_id = True, transfer_id
        self._record(
            ev.FeePaid,
            currency=self.fee.currency,
            minor_units=self.fee.minor_units,
            payment_reference=self.fee.payment_reference,
            transfer_id=transfer_id,
        )
        return True

    def mark_overdue(self, now: datetime) -> bool:
        """Flag a passed deadline once per deadline; True when it was flagged now."""
        if self.state not in AWAITING_DECISION or self.overdue or self.deadline is None or self.deadline >= now:
            return False
        self.overdue = True
        self._record(ev.ApplicationOverdue, deadline=self.deadline, state=self.state.value)
        return True

    # -- helpers ---------------------------------------------------------------------------------

    def require(self, allowed: tuple[State, ...], action: str) -> None:
        """Refuse ``action`` unless the application is in one of ``allowed`` (FAILED_PRECONDITION)."""
        self._require(allowed, action)

    def _require(self, allowed: tuple[State, ...], action: str) -> None:
        if self.state not in allowed:
            raise precondition(self.application_id, self.state.value, "illegal_transition", action=action)

    def _require_conditions(self, item: CatalogueItem) -> None:
        missing = self.missing_conditions(item)
        if missing:
            raise precondition(self.application_id, self.state.value, "conditions_missing", missing=", ".join(missing))

    def _record(self, event_type: type[ev.Event], **fields: object) -> None:
        self.events.append(event_type(self.application_id, self.authority_code, **fields))
