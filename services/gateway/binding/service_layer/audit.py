"""Binding decisions into the audit log: one record per decision, no number, name or date of birth.

``decision_recorder(audit_log.record)`` gives the ``on_decision`` sink of ``BindingService``. The
record's subject is the binding's surrogate subject id (empty when refused); its details say
what was decided and why, and name the certificate by its keyed digest, the same value the
binding store indexes it under, so investigators can follow a certificate without the log
holding a fingerprint that public certificate directories could resolve to a name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.gateway.binding.service_layer.ports import BindingDecision, DecisionSink

ACTION = "identity.bind"
Details = dict[str, str | int | bool | None]
Record = Callable[..., Awaitable[Any]]


def decision_details(decision: BindingDecision) -> Details:
    """The audit details of a decision (flat, no personal data)."""
    details: Details = {"jurisdiction": decision.jurisdiction or None, "certificate": decision.certificate_ref or None}
    if decision.outcome == "bound":
        details.update(
            subject_kind=decision.subject_kind, created=decision.created, changes=",".join(decision.changes) or None
        )
    else:
        details.update(refusal=decision.refusal or None, reason=decision.error_reason or None)
    return details


def decision_recorder(record: Record, actor: Callable[[], str] = lambda: "gateway") -> DecisionSink:
    """A sink that calls ``record(actor, action, result, subject=..., details=...)`` (``AuditLog.record``).

    ``actor`` names who asked (e.g. ``kiosk:HK-TST-01`` from the request context); the result is
    ``bound`` or ``refused:<refusal>``.
    """

    async def sink(decision: BindingDecision) -> None:
        result = decision.outcome if decision.outcome == "bound" else f"refused:{decision.refusal or 'error'}"
        await record(actor(), ACTION, result, subject=decision.subject_id, details=decision_details(decision))

    return sink
