"""Edge limits of the kiosk door that need no network: metric labels, quotes per session, rate buckets
that are forgotten, certificates the gateway cannot read (see test_kiosk_door.py for the rest)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem
from prometheus_client import CollectorRegistry

from baylink import errors
from services.gateway.clients.certificate import parse_chain_pem
from services.gateway.kiosk.entrypoints.metrics import KioskHttpMetrics
from services.gateway.kiosk.service_layer import payments, signing
from services.gateway.kiosk.service_layer.access import KioskCall
from services.gateway.kiosk.service_layer.deps import KioskDeps
from services.gateway.kiosk.service_layer.model import Money, QuoteView
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson, KioskSession
from services.gateway.shared.domain.guard import BulkLeakGuard, GuardPolicy

TEST_PKI = Path(__file__).resolve().parents[3] / "devtools" / "data" / "testpki" / "certs"
EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # OID 1.2.840.10045.2.1 (id-ecPublicKey), DER
UNKNOWN_KEY = bytes.fromhex("06072a8648ce3d0209")  # the same arc, a number no one assigned


def test_a_method_name_a_client_makes_up_never_becomes_a_metric_label() -> None:
    registry = CollectorRegistry()
    metrics = KioskHttpMetrics(registry)
    for method in ("GET", "FOOBAR", "X" * 200, "BREW"):
        metrics.observe("unmatched", method, 405, 0.001)
    methods = {s.labels["method"] for f in registry.collect() for s in f.samples if "method" in s.labels}
    assert methods == {"GET", "other"}


def _quote(i: int) -> QuoteView:
    money = Money("HKD", 100 + i)
    return QuoteView(f"q{i}", "HKBANK", "REGISTRY", money, Money("CNY", 92), None, "0.92", datetime.now(UTC))


def test_a_session_holds_a_bounded_number_of_fee_quotes() -> None:
    session = KioskSession("t", "HK-TST-01", "en", 0.0)
    session.quotes = {f"q{i}": ("app-1", _quote(i)) for i in range(3)}
    call = KioskCall("kiosk:HK-TST-01", session)
    # Only the bound is exercised: the refusal comes before any service is asked for anything.
    nothing: Any = None
    deps = KioskDeps(access=nothing, identity=nothing, registry=nothing, payments=nothing, bindings=nothing,
                     payer_pseudonym=nothing, payer_participants={"HKD": "HKBANK"}, fee_collector=str,
                     challenges=nothing, max_quotes_per_session=3)  # fmt: skip
    with pytest.raises(errors.ResourceExhausted) as refused:
        asyncio.run(payments.fee_quote(deps, call, "app-1", "HKD"))
    assert refused.value.reason == "TOO_MANY_QUOTES"


def test_rate_buckets_of_callers_gone_quiet_are_forgotten() -> None:
    guard = BulkLeakGuard(GuardPolicy(rate_per_second=5, burst=30))
    for i in range(1000):  # a thousand callers, once each (rotated kiosk ids, before kiosks had certificates)
        assert guard.admit_call(f"kiosk:ROTATED-{i}", now=float(i) / 1000) is None
    assert len(guard._buckets) == 1000
    later = 1 + 30 / 5 + 1  # long enough for every bucket to have refilled: the same as a new one
    assert guard.admit_call("kiosk:HK-TST-01", now=later) is None
    assert len(guard._buckets) == 1
    assert guard.tracked_callers == 1


def test_a_forgotten_bucket_gives_a_busy_caller_no_extra_burst() -> None:
    guard = BulkLeakGuard(GuardPolicy(rate_per_second=1, burst=2))
    assert guard.admit_call("kiosk:A", now=0.0) is None
    assert guard.admit_call("kiosk:A", now=0.0) is None
    assert guard.admit_call("kiosk:A", now=0.1) is not None  # empty bucket: kept, still throttled
    guard.prune(now=0.2)
    assert guard.admit_call("kiosk:A", now=0.2) is not None


def _unreadable_chain() -> tuple[str, bytes]:
    _kind, _headers, der = pem.unarmor((TEST_PKI / "hk-personal-ec.pem").read_bytes())
    assert der.count(EC_PUBLIC_KEY) == 1
    bad = der.replace(EC_PUBLIC_KEY, UNKNOWN_KEY)
    return pem.armor("CERTIFICATE", bad).decode(), bad


def test_a_certificate_with_an_unknown_key_algorithm_is_refused_at_its_field_when_identifying() -> None:
    text, _der = _unreadable_chain()
    with pytest.raises(errors.InvalidInput) as refused:
        parse_chain_pem(text)
    assert [v.field for v in refused.value.violations] == ["certificate_chain_pem"]


def test_a_certificate_with_an_unknown_key_algorithm_is_refused_at_its_field_when_signing() -> None:
    text, der = _unreadable_chain()
    person = IdentifiedPerson("h1", "s1", "HK", hashlib.sha256(der).hexdigest(), "ec-p256", None, None)
    with pytest.raises(errors.InvalidInput) as refused:
        signing.signer_key(person, text)
    assert [v.field for v in refused.value.violations] == ["certificate_chain_pem"]
