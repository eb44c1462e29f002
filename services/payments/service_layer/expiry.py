"""The expiry sweeper: a background task that expires reserved transfers past their deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.payments.service_layer.complete import expire_due
from services.payments.service_layer.unit_of_work import Deps

log = logging.getLogger("baylink.payments.expiry")


async def run_expiry(deps: Deps, interval_seconds: float, stopping: asyncio.Event) -> None:
    """Sweep until ``stopping`` is set; a failed sweep is logged and retried on the next tick."""
    while not stopping.is_set():
        try:
            while await expire_due(deps) >= deps.policy.expiry_batch_size:
                pass  # a full batch: there may be more due right now
        except Exception:
            log.exception("expiry sweep failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval_seconds)
