"""The trust-list and policy rules on their own, with hand-made facts."""

import hashlib
from datetime import UTC, datetime, timedelta

from baylink.i18n import LocalText
from services.identity.domain.judgement import PathFacts, judge
from services.identity.domain.policy import ValidationPolicy, acceptable_policies, key_usage_allows_signing
from services.identity.domain.report import ChainElement, Indication, Reason, SubIndication
from services.identity.domain.trustlist import (
    AnchoredService,
    Jurisdiction,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustService,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
HK1, HK2 = "2.16.344.8.2.2008.810.2.1", "2.16.344.8.2.2008.810.2.2"
ANCHOR = b"anchor-der"
NAME = LocalText(zh_hant="測試", zh_hans="测试", en="Test")


def facts(**overrides) -> PathFacts:
    chain = (
        ChainElement("leaf", "CN=leaf", "CN=root", "1", NOW),
        ChainElement(hashlib.sha256(ANCHOR).hexdigest(), "CN=root", "CN=root", "2", NOW),
    )
    values = dict(
        chain=chain,
        anchor_der=ANCHOR,
        anchor_not_before=T0,
        anchor_not_after=T0 + timedelta(days=7300),
        leaf_key_usage=frozenset({"non_repudiation"}),
        certified_policies=frozenset({HK1}),
    )
    values.update(overrides)
    return PathFacts(**values)


def services(*history: tuple[ServiceStatus, datetime]) -> tuple[AnchoredService, ...]:
    changes = tuple(StatusChange(s, t) for s, t in history) or (StatusChange(ServiceStatus.GRANTED, T0),)
    service = TrustService(NAME, ServiceType.CA_QC, ANCHOR, changes, frozenset({HK1, HK2}))
    return (AnchoredService(Jurisdiction.HK, service, 1),)


def test_granted_anchor_with_signing_key_usage_and_recognised_policy_passes() -> None:
    report = judge(facts(), services(), ValidationPolicy(), NOW)
    assert report.indication is Indication.TOTAL_PASSED and report.policies == {HK1}
    assert report.jurisdiction is Jurisdiction.HK and report.trust_service == NAME


def test_anchor_withdrawn_at_the_validation_time_is_total_failed() -> None:
    report = judge(
        facts(),
        services((ServiceStatus.GRANTED, T0), (ServiceStatus.WITHDRAWN, NOW)),
        ValidationPolicy(),
        NOW,
    )
    assert (report.indication, report.reason) == (Indication.TOTAL_FAILED, Reason.SERVICE_WITHDRAWN)


def test_anchor_withdrawn_later_still_passes_for_an_earlier_time() -> None:
    history = services((ServiceStatus.GRANTED, T0), (ServiceStatus.WITHDRAWN, NOW + timedelta(days=1)))
    assert judge(facts(), history, ValidationPolicy(), NOW).passed


def test_time_before_the_service_was_listed_finds_no_trusted_chain() -> None:
    report = judge(facts(), services((ServiceStatus.GRANTED, NOW + timedelta(days=1))), ValidationPolicy(), NOW)
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert report.reason is Reason.SERVICE_NOT_YET_LISTED


def test_expired_anchor_certificate_gives_expired_before_anything_else() -> None:
    report = judge(facts(anchor_not_after=NOW - timedelta(days=1)), services(), ValidationPolicy(), NOW)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.EXPIRED)
    assert report.reason is Reason.ANCHOR_EXPIRED


def test_unknown_anchor_finds_no_chain() -> None:
    report = judge(facts(anchor_der=b"someone else"), services(), ValidationPolicy(), NOW)
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND and report.jurisdiction is None


def test_key_usage_rule_accepts_either_signing_bit_or_an_absent_extension() -> None:
    assert key_usage_allows_signing(frozenset({"digital_signature"}))
    assert key_usage_allows_signing(frozenset({"non_repudiation", "key_encipherment"}))
    assert key_usage_allows_signing(None)
    assert not key_usage_allows_signing(frozenset({"key_encipherment"}))
    report = judge(facts(leaf_key_usage=frozenset({"key_encipherment"})), services(), ValidationPolicy(), NOW)
    assert (report.sub_indication, report.reason) == (
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
        Reason.KEY_USAGE,
    )


def test_policy_must_be_certified_recognised_and_requested() -> None:
    recognised = frozenset({HK1, HK2})
    assert acceptable_policies(recognised, frozenset({HK1, "1.2.3"}), None) == {HK1}
    assert acceptable_policies(recognised, frozenset({HK1}), frozenset({HK2})) == frozenset()
    report = judge(facts(), services(), ValidationPolicy(requested_policies=frozenset({HK2})), NOW)
    assert report.reason is Reason.POLICY_NOT_RECOGNISED


def test_every_report_has_messages_in_three_languages() -> None:
    report = judge(facts(certified_policies=frozenset()), services(), ValidationPolicy(), NOW)
    message = report.message
    assert "政策" in message.zh_hant and "策略" in message.zh_hans and "policy" in message.en


def test_policy_cache_key_distinguishes_what_changes_the_answer() -> None:
    keys = {
        ValidationPolicy().cache_key(),
        ValidationPolicy(requested_policies=frozenset({HK1})).cache_key(),
        ValidationPolicy(jurisdictions=frozenset({Jurisdiction.MO})).cache_key(),
    }
    assert len(keys) == 3
