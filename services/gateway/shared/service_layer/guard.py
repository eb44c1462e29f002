"""Enforcing the bulk-leak guard: refuse with RESOURCE_EXHAUSTED, tell the operators once.

An alert is appended to the audit log and its ``security.alert_raised`` event is staged in the
same transaction, so an alert the operators receive is always in the log and vice versa.

The counts are kept by a ``GuardLedger``: the gateway's database (``adapters/guard_store.py``), shared
by every replica, so a limit holds whichever replica a caller reaches; ``InProcessLedger`` keeps them
in this process (the unit tests' fake).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from baylink import errors
from baylink.runtime.events import CloudEvent
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.shared.domain.guard import SEVERITY_OF_TRIP, BulkLeakGuard, GuardPolicy, SecurityAlert, Trip

ALERT_ACTION = "security.alert_raised"


class GuardLedger(Protocol):
    """Admission counts per caller; ``now`` is epoch seconds."""

    policy: GuardPolicy

    async def admit_call(self, caller: str, now: float) -> Trip | None: ...

    async def admit_subjects(self, caller: str, subjects: list[str], now: float) -> Trip | None: ...

    async def first_alert(self, key: str, kind: str, now: float, window_seconds: float) -> bool:
        """Whether an alert of ``kind`` about ``key`` is due: none in the last ``window_seconds`` (then one is now)."""


class InProcessLedger:
    """The counts in this process's memory (``domain.guard.BulkLeakGuard``)."""

    def __init__(self, guard: BulkLeakGuard):
        self.guard = guard
        self.policy = guard.policy
        self._alerted: dict[tuple[str, str], float] = {}

    async def admit_call(self, caller: str, now: float) -> Trip | None:
        return self.guard.admit_call(caller, now)

    async def admit_subjects(self, caller: str, subjects: list[str], now: float) -> Trip | None:
        return self.guard.admit_subjects(caller, subjects, now)

    async def first_alert(self, key: str, kind: str, now: float, window_seconds: float) -> bool:
        last = self._alerted.get((key, kind))
        if last is not None and now - last < window_seconds:
            return False
        self._alerted[(key, kind)] = now
        return True


class AlertSink(Protocol):
    async def raise_alert(self, alert: SecurityAlert) -> None: ...


class AuditedAlerts:
    """Alerts into the audit log, with their event in the same commit."""

    def __init__(self, audit: AuditLog, alert_event: Callable[[SecurityAlert], CloudEvent]):
        self.audit = audit
        self.alert_event = alert_event

    async def raise_alert(self, alert: SecurityAlert) -> None:
        details = {"severity": alert.severity.value, "description": alert.description}
        if alert.certificate_fingerprint:
            details["certificate_sha256"] = alert.certificate_fingerprint
        await self.audit.record(
            alert.actor,
            ALERT_ACTION,
            alert.kind,
            subject=alert.subject_pseudonym,
            details=details,
            events=[self.alert_event(alert)],
        )


class Guard:
    """Per-caller admission. ``caller`` is the audit actor, e.g. ``city:440300`` or ``kiosk:HK-TST-01``."""

    def __init__(self, ledger: GuardLedger, alerts: AlertSink, *, clock: Callable[[], float] = time.time):
        self.ledger = ledger
        self.alerts = alerts
        self.clock = clock

    async def admit_call(self, caller: str, *, city_code: str = "", certificate_fingerprint: str = "") -> None:
        await self.enforce(await self.ledger.admit_call(caller, self.clock()), city_code=city_code,
                           certificate_fingerprint=certificate_fingerprint)  # fmt: skip

    async def enforce(self, trip: Trip | None, *, city_code: str = "", certificate_fingerprint: str = "") -> None:
        """What ``admit_call`` does with the ledger's answer, for an admission read elsewhere (the kiosk's,
        with its session): nothing if admitted; else the alert, if one is due, and RESOURCE_EXHAUSTED."""
        if trip is not None:
            await self._refuse(trip, city_code, "", certificate_fingerprint)

    async def admit_subjects(
        self, caller: str, subjects: Iterable[str], *, city_code: str = "", certificate_fingerprint: str = ""
    ) -> None:
        wanted = [s for s in subjects if s]
        trip = await self.ledger.admit_subjects(caller, wanted, self.clock())
        if trip is not None:
            # The subject that tipped it over identifies the pattern for operators; it is a pseudonym.
            await self._refuse(trip, city_code, wanted[-1] if wanted else "", certificate_fingerprint)

    async def first_alert(self, key: str, kind: str, window_seconds: float) -> bool:
        """Whether to raise an alert of ``kind`` about ``key`` (a certificate, say): at most one per window,
        whichever replica asks."""
        return await self.ledger.first_alert(key, kind, self.clock(), window_seconds)

    async def _refuse(self, trip: Trip, city_code: str, subject: str, fingerprint: str) -> None:
        if trip.alert:
            alert = SecurityAlert(
                kind=trip.kind.value,
                severity=SEVERITY_OF_TRIP[trip.kind],
                description=trip.description,
                actor=trip.caller,
                city_code=city_code,
                subject_pseudonym=subject,
                certificate_fingerprint=fingerprint,
            )
            await self.alerts.raise_alert(alert)
        raise errors.ResourceExhausted(
            trip.description,
            subject=trip.caller,
            retry_after_seconds=max(1, math.ceil(trip.retry_after_seconds)),
            reason=trip.kind.value.upper(),
        )
