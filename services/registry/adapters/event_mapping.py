"""Domain events → the protobuf event messages of ``baylink.events.v1`` (registry_events.proto)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from baylink.common.v1 import common_pb2
from baylink.events.v1 import registry_events_pb2 as pb
from baylink.registry.v1 import application_pb2
from services.registry.domain import events as ev
from services.registry.domain.text import LocalText


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def money(currency: str, minor_units: int) -> common_pb2.Money:
    return common_pb2.Money(currency=currency, minor_units=minor_units)


def text(value: LocalText) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(zh_hans=value.zh_hans, zh_hant=value.zh_hant, en=value.en)


def _ids(e: ev.Event) -> dict[str, Any]:
    return {"application_id": e.application_id, "authority_code": e.authority_code}


def _fee(fee: ev.FeeState) -> dict[str, Any]:
    return {
        "fee_paid": fee.paid,
        "fee_transfer_id": fee.transfer_id,
        "fee_amount": money(fee.currency, fee.minor_units),
    }


_MAPPERS: dict[type[ev.Event], Callable[[Any], Message]] = {
    ev.ApplicationDrafted: lambda e: pb.ApplicationDrafted(
        **_ids(e), catalogue_item_id=e.catalogue_item_id, applicant_ref=e.applicant_ref
    ),
    ev.ApplicationSubmitted: lambda e: pb.ApplicationSubmitted(
        **_ids(e),
        catalogue_item_id=e.catalogue_item_id,
        applicant_ref=e.applicant_ref,
        submitted_at=ts(e.submitted_at),
        deadline=ts(e.deadline),
        resubmission=e.resubmission,
    ),
    ev.MaterialVerified: lambda e: pb.ApplicationMaterialVerified(
        **_ids(e),
        material_id=e.material_id,
        material_type=e.material_type,
        signer_certificate_fingerprint=e.signer_certificate_sha256,
        all_materials_verified=e.all_materials_verified,
    ),
    ev.NameApproved: lambda e: pb.ApplicationNameApproved(**_ids(e), approved_name=e.approved_name),
    ev.FeeRequested: lambda e: pb.ApplicationFeeRequested(
        **_ids(e),
        amount=money(e.currency, e.minor_units),
        payment_reference=e.payment_reference,
        applicant_ref=e.applicant_ref,
    ),
    ev.FeePaid: lambda e: pb.ApplicationFeePaid(
        **_ids(e),
        amount=money(e.currency, e.minor_units),
        payment_reference=e.payment_reference,
        transfer_id=e.transfer_id,
    ),
    ev.ReviewStarted: lambda e: pb.ApplicationReviewStarted(**_ids(e), reviewer_id=e.reviewer_id),
    ev.ApplicationApproved: lambda e: pb.ApplicationApproved(
        **_ids(e), uscc=e.uscc, reviewer_id=e.reviewer_id, applicant_ref=e.applicant_ref
    ),
    ev.ApplicationRejected: lambda e: pb.ApplicationRejected(
        **_ids(e), reason=text(e.reason), reviewer_id=e.reviewer_id, applicant_ref=e.applicant_ref, **_fee(e.fee)
    ),
    ev.ApplicationReturned: lambda e: pb.ApplicationReturned(
        **_ids(e),
        reason=text(e.reason),
        material_types_to_correct=list(e.material_types_to_correct),
        reviewer_id=e.reviewer_id,
        applicant_ref=e.applicant_ref,
    ),
    ev.ApplicationWithdrawn: lambda e: pb.ApplicationWithdrawn(**_ids(e), applicant_ref=e.applicant_ref, **_fee(e.fee)),
    ev.ApplicationOverdue: lambda e: pb.ApplicationOverdue(
        **_ids(e), deadline=ts(e.deadline), state=application_pb2.ApplicationState.Value(f"APPLICATION_STATE_{e.state}")
    ),
}


def to_message(event: ev.Event) -> Message:
    return _MAPPERS[type(event)](event)
