"""Trust-list and policy rules applied on top of RFC 5280 path validation.

The PKIX engine (an adapter) establishes `PathFacts` for a path that validated; these rules then
decide whether the scheme accepts it. Kept pure so the rules are testable without certificates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from services.identity.domain.policy import KeyPurpose, ValidationPolicy, acceptable_policies, fit_for
from services.identity.domain.report import (
    ChainElement,
    Indication,
    Reason,
    SubIndication,
    ValidationData,
    ValidationReport,
)
from services.identity.domain.trustlist import AnchoredService, ServiceStatus


@dataclass(frozen=True)
class PathFacts:
    """What the engine established about a path that passed RFC 5280 validation."""

    chain: tuple[ChainElement, ...]  # leaf first, anchor last
    anchor_der: bytes
    anchor_not_before: datetime
    anchor_not_after: datetime
    leaf_key_usage: frozenset[str] | None  # None: the extension is absent
    certified_policies: frozenset[str]  # RFC 5280 valid policy set at the end of the path
    warnings: tuple[str, ...] = ()
    leaf_extended_key_usage: frozenset[str] | None = None  # dotted OIDs; None: the extension is absent
    validation_data: ValidationData | None = None  # the path and the revocation answers it was checked with


@dataclass(frozen=True)
class PathFailure:
    """Why the engine could not validate a path, as an EN 319 102-1 indication."""

    indication: Indication
    sub_indication: SubIndication
    reason: Reason
    detail: str
    chain: tuple[ChainElement, ...] = ()
    warnings: tuple[str, ...] = ()


def judge(
    facts: PathFacts, services: tuple[AnchoredService, ...], policy: ValidationPolicy, moment: datetime
) -> ValidationReport:
    anchored = _find_anchor(facts.anchor_der, services)

    def report(
        indication: Indication,
        sub: SubIndication | None,
        reason: Reason,
        policies: frozenset[str] = frozenset(),
    ) -> ValidationReport:
        return ValidationReport(
            indication,
            sub,
            reason,
            moment,
            facts.chain,
            jurisdiction=anchored.jurisdiction if anchored else None,
            trust_service=anchored.service.name if anchored else None,
            policies=policies,
            warnings=facts.warnings,
            validation_data=facts.validation_data,
        )

    if anchored is None:
        return report(Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, Reason.NO_CHAIN)
    # RFC 5280 does not check the anchor's own validity; TS 119 612 services are only trusted while
    # their certificate is (an expired root, like eSignTrust G02, anchors nothing any more).
    if moment > facts.anchor_not_after:
        return report(Indication.TOTAL_FAILED, SubIndication.EXPIRED, Reason.ANCHOR_EXPIRED)
    if moment < facts.anchor_not_before:
        return report(Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID, Reason.NOT_YET_VALID)
    if policy.key_purpose is KeyPurpose.TIME_STAMPING:
        # A TSA vouches for time, not for a certificate policy; whether its service was granted
        # is asked at the token's time (`timestamps.tsa_trust`), not at the validation time.
        if not fit_for(policy.key_purpose, facts.leaf_key_usage, facts.leaf_extended_key_usage):
            return report(Indication.INDETERMINATE, SubIndication.CHAIN_CONSTRAINTS_FAILURE, Reason.KEY_PURPOSE)
        return report(Indication.TOTAL_PASSED, None, Reason.OK)
    status = anchored.service.status_at(moment)
    if status is None:
        return report(Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, Reason.SERVICE_NOT_YET_LISTED)
    if status is ServiceStatus.WITHDRAWN:
        return report(Indication.TOTAL_FAILED, SubIndication.CHAIN_CONSTRAINTS_FAILURE, Reason.SERVICE_WITHDRAWN)
    if not fit_for(policy.key_purpose, facts.leaf_key_usage, facts.leaf_extended_key_usage):
        why = Reason.KEY_USAGE if policy.key_purpose is KeyPurpose.DOCUMENT_SIGNING else Reason.KEY_PURPOSE
        return report(Indication.INDETERMINATE, SubIndication.CHAIN_CONSTRAINTS_FAILURE, why)
    usable = acceptable_policies(
        anchored.service.recognised_policies, facts.certified_policies, policy.requested_policies
    )
    if not usable:
        return report(Indication.INDETERMINATE, SubIndication.CHAIN_CONSTRAINTS_FAILURE, Reason.POLICY_NOT_RECOGNISED)
    return report(Indication.TOTAL_PASSED, None, Reason.OK, usable)


def _find_anchor(anchor_der: bytes, services: tuple[AnchoredService, ...]) -> AnchoredService | None:
    fingerprint = hashlib.sha256(anchor_der).hexdigest()
    return next((a for a in services if a.service.fingerprint_sha256 == fingerprint), None)
