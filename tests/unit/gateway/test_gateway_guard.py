"""The bulk-leak guard: rate per caller, distinct subjects per window, one alert per trip per window."""

from __future__ import annotations

import pytest

from baylink import errors
from services.gateway.shared.domain.guard import BulkLeakGuard, GuardPolicy, SecurityAlert, Severity, TripKind
from services.gateway.shared.service_layer.guard import Guard, InProcessLedger

CITY = "city:440300"


def test_a_caller_may_burst_then_is_held_to_the_sustained_rate() -> None:
    guard = BulkLeakGuard(GuardPolicy(rate_per_second=2, burst=3))
    assert [guard.admit_call(CITY, 0.0) for _ in range(3)] == [None, None, None]
    trip = guard.admit_call(CITY, 0.0)
    assert trip is not None and trip.kind is TripKind.RATE_LIMIT
    assert trip.retry_after_seconds == pytest.approx(0.5)
    assert guard.admit_call(CITY, 0.5) is None  # one token back after half a second


def test_callers_have_buckets_of_their_own() -> None:
    guard = BulkLeakGuard(GuardPolicy(rate_per_second=1, burst=1))
    assert guard.admit_call(CITY, 0.0) is None
    assert guard.admit_call("city:440605", 0.0) is None
    assert guard.admit_call(CITY, 0.0) is not None


def test_a_caller_at_the_distinct_subject_limit_may_reread_but_not_read_another() -> None:
    guard = BulkLeakGuard(GuardPolicy(distinct_subjects=3, window_seconds=100))
    for t, subject in enumerate(["a", "b", "c"]):
        assert guard.admit_subjects(CITY, [subject], float(t)) is None
    assert guard.admit_subjects(CITY, ["b"], 10.0) is None
    trip = guard.admit_subjects(CITY, ["d"], 10.0)
    assert trip is not None and trip.kind is TripKind.BULK_SUBJECT_READ
    assert trip.retry_after_seconds == pytest.approx(90.0)  # when "a", the oldest, ages out
    assert guard.admit_subjects(CITY, ["d"], 100.0) is None


def test_one_request_naming_more_subjects_than_the_limit_is_refused_whole() -> None:
    guard = BulkLeakGuard(GuardPolicy(distinct_subjects=2, window_seconds=100))
    trip = guard.admit_subjects(CITY, ["a", "b", "c"], 0.0)
    assert trip is not None and trip.retry_after_seconds == 100
    assert guard.admit_subjects(CITY, ["a", "b"], 0.0) is None


def test_an_alert_is_due_once_per_caller_kind_and_window() -> None:
    guard = BulkLeakGuard(GuardPolicy(rate_per_second=1, burst=1, window_seconds=60))
    guard.admit_call(CITY, 0.0)
    alerts = [trip.alert for t in range(10) if (trip := guard.admit_call(CITY, 0.0 + t * 0.01))]
    assert alerts == [True] + [False] * 9
    guard.admit_call(CITY, 60.0)
    again = guard.admit_call(CITY, 60.0)
    assert again is not None and again.alert  # a new window: operators hear of it again


class Alerts:
    def __init__(self) -> None:
        self.raised: list[SecurityAlert] = []

    async def raise_alert(self, alert: SecurityAlert) -> None:
        self.raised.append(alert)


async def test_a_trip_is_resource_exhausted_with_retry_after_and_alerts_operators_once() -> None:
    now = [0.0]
    alerts = Alerts()
    ledger = InProcessLedger(BulkLeakGuard(GuardPolicy(distinct_subjects=1, window_seconds=60)))
    guard = Guard(ledger, alerts, clock=lambda: now[0])
    await guard.admit_subjects(CITY, ["p1"], city_code="440300", certificate_fingerprint="ab" * 32)
    for _ in range(3):
        with pytest.raises(errors.ResourceExhausted) as refused:
            await guard.admit_subjects(CITY, ["p2"], city_code="440300", certificate_fingerprint="ab" * 32)
    assert refused.value.reason == "BULK_SUBJECT_READ"
    assert refused.value.subject == CITY and refused.value.retry_after_seconds == 60
    [alert] = alerts.raised
    assert (alert.kind, alert.severity, alert.city_code, alert.subject_pseudonym) == (
        "bulk_subject_read",
        Severity.HIGH,
        "440300",
        "p2",
    )


def test_a_policy_with_a_zero_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        GuardPolicy(distinct_subjects=0)
