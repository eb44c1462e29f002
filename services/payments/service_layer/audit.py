"""Use case: the ledger audit (``Store.audit``; its invariants are listed where the store reads them)."""

from __future__ import annotations

from services.payments.service_layer.ports import AuditReport
from services.payments.service_layer.unit_of_work import Deps

__all__ = ["AuditReport", "audit"]


async def audit(deps: Deps) -> AuditReport:
    """Recompute everything from postings and transfers in one snapshot; each breach is reported."""
    return await deps.store.audit()
