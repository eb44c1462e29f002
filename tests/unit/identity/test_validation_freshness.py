"""Answers that go out of date: a trust list past its next update, and cached results at or past
a certificate's notAfter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devtools.testpki.loader import TestPKI
from services.identity.adapters.crypto import X509Reader
from services.identity.adapters.pkix import PkixEngine
from services.identity.domain.report import ChainElement, Indication, Reason, SubIndication, ValidationReport
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.chain_cache import ChainResultCache
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _command(pki: TestPKI, now: datetime) -> ValidateCertificate:
    return ValidateCertificate(pki.cert("hk-personal"), tuple(pki.intermediates("hk-personal")), now)


async def test_a_pass_anchored_in_a_stale_trust_list_is_indeterminate(
    store: TrustListStore, engine: PkixEngine, pki: TestPKI, now: datetime
) -> None:
    trust_list = store.current(Jurisdiction.HK)
    assert trust_list is not None
    clock = Clock(now)
    validator = CertificateValidator(
        store, engine, ChainResultCache(max_age=timedelta(days=3650)), clock, reader=X509Reader()
    )
    assert (await validator.handle(_command(pki, now))).passed
    clock.now = trust_list.next_update + timedelta(seconds=1)  # the list goes stale; the cache still holds a pass
    report = await validator.handle(_command(pki, now))
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert report.reason is Reason.TRUST_LIST_STALE and "next update" in report.detail


def _report(at: datetime, not_after: datetime) -> ValidationReport:
    element = ChainElement("ab" * 32, "CN=leaf", "CN=ca", "01", not_after)
    return ValidationReport(Indication.TOTAL_PASSED, None, Reason.OK, at, (element,))


def test_a_cached_pass_does_not_answer_for_a_moment_past_the_not_after() -> None:
    not_after = datetime(2026, 12, 6, 12, 2, tzinfo=UTC)
    before, after = not_after - timedelta(minutes=1), not_after + timedelta(minutes=1)
    cache = ChainResultCache(clock=lambda: before)
    key = cache.key("ab" * 32, before, "policy", 1)
    assert key == cache.key("ab" * 32, after, "policy", 1)  # one bucket straddles the notAfter
    cache.put(key, _report(before, not_after))
    assert cache.get(key, before) is not None
    assert cache.get(key, after) is None


def test_a_cached_pass_is_not_kept_past_the_not_after() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    clock = Clock(now)
    cache = ChainResultCache(max_age=timedelta(hours=1), clock=clock)
    key = cache.key("ab" * 32, now, "policy", 1)
    cache.put(key, _report(now, now + timedelta(minutes=1)))
    clock.now = now + timedelta(minutes=2)
    assert cache.get(key, now) is None
