"""Facts from elsewhere and the passing of time: fee paid (payments' event), deadlines overdue."""

from __future__ import annotations

import logging
from datetime import datetime

from baylink import errors
from services.registry.service_layer.context import Registry
from services.registry.service_layer.ports import Work

log = logging.getLogger("baylink.registry")


async def mark_fee_paid(work: Work, reference: str, transfer_id: str, currency: str, minor_units: int) -> bool:
    """A committed transfer carrying a fee's payment reference pays it; once only. True when it did."""
    app = await work.applications.by_payment_reference(reference)
    if app is None:
        return False  # a transfer for something else
    if currency != app.fee.currency or minor_units < app.fee.minor_units:
        log.warning(
            "transfer does not cover the fee; not marked paid",
            extra={"application_id": app.application_id, "transfer_id": transfer_id},
        )
        return False
    if not app.mark_fee_paid(transfer_id):
        return False
    await work.applications.save(app)
    return True


async def flag_overdue(registry: Registry, now: datetime | None = None) -> int:
    """Flag every application whose decision deadline passed; each gets one overdue event. Returns how many."""
    moment = now or registry.clock()
    async with registry.uow.reading() as work:
        ids = await work.applications.past_deadline(moment, registry.overdue_batch)
    flagged = 0
    for application_id in ids:
        try:
            async with registry.uow() as work:
                app = await work.applications.get(application_id)
                if app.mark_overdue(moment):
                    await work.applications.save(app)
                    flagged += 1
        except errors.Aborted:
            continue  # changed meanwhile (e.g. decided); the next round looks again
    return flagged
