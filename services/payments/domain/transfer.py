"""The two-phase transfer: RECEIVED → RESERVED → COMMITTED | ABORTED | EXPIRED.

A prepare that passes every check reserves the payer's funds (RESERVED); one
that is refused is recorded as ABORTED with its error, so that a retry with the
same id and the same request gets the same answer. Final states never change.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from baylink.errors import (
    AlreadyExists,
    BaylinkError,
    FailedPrecondition,
    PermissionDenied,
    PreconditionViolation,
    ResourceExhausted,
)
from services.payments.domain.limits import corridor_of
from services.payments.domain.money import Money


class TransferState(enum.Enum):
    RECEIVED = "RECEIVED"
    RESERVED = "RESERVED"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"
    EXPIRED = "EXPIRED"

    @property
    def final(self) -> bool:
        return self in (TransferState.COMMITTED, TransferState.ABORTED, TransferState.EXPIRED)


@dataclass(frozen=True)
class PrepareTransfer:
    """Phase one as the caller asked for it (amounts already validated)."""

    transfer_id: str
    payer_id: str
    payee_id: str
    send: Money
    receive: Money
    reference: str
    payer_pseudonym: str
    payer_name: str
    payee_name: str = ""
    quote_id: str = ""
    expires_at: datetime | None = None

    def fingerprint(self) -> str:
        """What "the same request" means: every field the caller chose, canonically hashed."""
        body = {
            "transfer_id": self.transfer_id,
            "quote_id": self.quote_id,
            "payer": self.payer_id,
            "payee": self.payee_id,
            "send": [self.send.currency, self.send.minor],
            "receive": [self.receive.currency, self.receive.minor],
            "reference": self.reference,
            "payer_pseudonym": self.payer_pseudonym,
            "payer_name": self.payer_name,
            "payee_name": self.payee_name,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Refusal:
    """Why a prepare was refused, kept so that a retry raises the very same error (details too)."""

    kind: str  # FailedPrecondition | ResourceExhausted | PermissionDenied
    code: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)
    # (type, subject, description) of a FailedPrecondition; empty in refusals recorded before they were kept.
    violations: tuple[tuple[str, str, str], ...] = ()
    subject: str = ""  # a ResourceExhausted's quota subject
    retry_after_seconds: float | None = None

    @classmethod
    def of(cls, error: BaylinkError) -> Refusal:
        violations = tuple((v.type, v.subject, v.description) for v in getattr(error, "violations", ()))
        return cls(
            type(error).__name__, error.reason, error.message, dict(error.metadata),
            violations if isinstance(error, FailedPrecondition) else (),
            getattr(error, "subject", ""), error.retry_after_seconds,
        )  # fmt: skip

    def to_error(self) -> BaylinkError:
        error: BaylinkError
        if self.kind == "ResourceExhausted":
            subject = self.subject or self.metadata.get("subject", "")
            error = ResourceExhausted(self.message, subject=subject, reason=self.code)
        elif self.kind == "PermissionDenied":
            error = PermissionDenied(self.message, reason=self.code)
        else:
            kept = [PreconditionViolation(*v) for v in self.violations]
            error = FailedPrecondition(
                self.message, kept or [PreconditionViolation(self.code, "transfer", self.message)], reason=self.code
            )
        error.metadata.update(self.metadata)
        error.retry_after_seconds = self.retry_after_seconds
        return error

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "code": self.code, "message": self.message}
        data["metadata"] = self.metadata
        if self.violations:
            data["violations"] = [list(v) for v in self.violations]
        if self.subject:
            data["subject"] = self.subject
        if self.retry_after_seconds is not None:
            data["retry_after_seconds"] = self.retry_after_seconds
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Refusal:
        return cls(
            data["kind"], data["code"], data["message"], dict(data.get("metadata") or {}),
            tuple((str(t), str(s), str(d)) for t, s, d in data.get("violations") or ()),
            str(data.get("subject") or ""), data.get("retry_after_seconds"),
        )  # fmt: skip


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    request_hash: str
    quote_id: str
    payer_id: str
    payee_id: str
    send: Money
    receive: Money
    fee: Money
    customer_rate: str
    reference: str
    payer_pseudonym: str
    payer_name: str
    payee_name: str
    state: TransferState
    uetr: str
    created_at: datetime
    expires_at: datetime
    corridor: str = ""
    usage_day: str = ""
    usage_year: str = ""
    reserved_at: datetime | None = None
    completed_at: datetime | None = None
    abort_code: str = ""
    abort_reason: str = ""
    refusal: Refusal | None = None
    settlement_window_id: str = ""

    @property
    def principal(self) -> Money:
        return self.send.minus(self.fee)

    def check_same_request(self, request_hash: str) -> None:
        if request_hash != self.request_hash:
            raise AlreadyExists(
                f"transfer {self.transfer_id} already exists with a different request: modified request",
                reason="MODIFIED_REQUEST",
                metadata={"transfer_id": self.transfer_id},
            )

    def expired_at(self, now: datetime) -> bool:
        return self.state is TransferState.RESERVED and now >= self.expires_at

    def committed(self, now: datetime, window_id: str) -> Transfer:
        self._require_reserved("commit")
        return replace(self, state=TransferState.COMMITTED, completed_at=now, settlement_window_id=window_id)

    def aborted(self, now: datetime, code: str, reason: str) -> Transfer:
        self._require_reserved("abort")
        return replace(self, state=TransferState.ABORTED, completed_at=now, abort_code=code, abort_reason=reason)

    def expired(self, now: datetime) -> Transfer:
        self._require_reserved("expire")
        return replace(self, state=TransferState.EXPIRED, completed_at=now, abort_code="TRANSFER_EXPIRED")

    def _require_reserved(self, action: str) -> None:
        if self.state is not TransferState.RESERVED:
            raise FailedPrecondition(
                f"cannot {action} transfer {self.transfer_id}: it is {self.state.value}",
                [PreconditionViolation("STATE", f"transfer/{self.transfer_id}", self.state.value)],
                reason=f"TRANSFER_{self.state.value}",
            )


def received(req: PrepareTransfer, fingerprint: str, now: datetime, ttl_seconds: float, **changes: Any) -> Transfer:
    """A new transfer as the request asks for it, before any check (no fee until a quote says so);
    ``changes`` set other fields at once (the batch path knows its outcome before it builds it)."""
    values: dict[str, Any] = {
        "transfer_id": req.transfer_id,
        "request_hash": fingerprint,
        "quote_id": req.quote_id,
        "payer_id": req.payer_id,
        "payee_id": req.payee_id,
        "send": req.send,
        "receive": req.receive,
        "fee": Money(req.send.currency, 0),
        "customer_rate": "1",
        "reference": req.reference,
        "payer_pseudonym": req.payer_pseudonym,
        "payer_name": req.payer_name,
        "payee_name": req.payee_name,
        "state": TransferState.RECEIVED,
        "uetr": str(uuid.uuid4()),
        "created_at": now,
        "expires_at": req.expires_at or now + timedelta(seconds=ttl_seconds),
        "corridor": corridor_of(req.send.currency, req.receive.currency),
    }
    values.update(changes)
    return Transfer(**values)
