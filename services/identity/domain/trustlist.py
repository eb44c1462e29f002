"""Trust lists in the shape of ETSI TS 119 612: one per jurisdiction, each a list of CA services
with a dated status history and the certificate policies recognised under the GBA scheme, and of
the time-stamping authorities whose tokens count as proofs of existence."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from baylink.i18n import LocalText
from services.identity.domain.errors import InvalidInput

# Policy OIDs of the Guangdong–Hong Kong mutual-recognition scheme start here (see DESIGN.md).
SCHEME_POLICY_ARC = "2.16.344.8.2.2008.810.2"


class Jurisdiction(StrEnum):
    HK = "HK"
    MO = "MO"
    GD = "GD"


class ServiceType(StrEnum):
    """TS 119 612 service type identifiers, shortened to their last two path segments."""

    CA_QC = "CA/QC"  # CA issuing qualified(-like) certificates for e-signatures
    CA_PKC = "CA/PKC"  # CA issuing other public key certificates
    TSA = "TSA/QTST"  # time-stamping authority issuing (qualified) RFC 3161 time-stamp tokens

    @property
    def is_ca(self) -> bool:
        return self in (ServiceType.CA_QC, ServiceType.CA_PKC)


class ServiceStatus(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


def every_language(text: LocalText) -> LocalText:
    """Identity's rule for the names on a trust list: all three languages filled in (InvalidInput if not)."""
    if not (text.zh_hant and text.zh_hans and text.en):
        raise InvalidInput("name", "empty", "every language of a name must be filled in")
    return text


@dataclass(frozen=True)
class StatusChange:
    status: ServiceStatus
    since: datetime

    def __post_init__(self) -> None:
        _require_aware("status_history.since", self.since)


@dataclass(frozen=True)
class TrustService:
    name: LocalText
    service_type: ServiceType
    certificate_der: bytes
    status_history: tuple[StatusChange, ...]
    recognised_policies: frozenset[str]

    def __post_init__(self) -> None:
        every_language(self.name)
        if not self.status_history:
            raise InvalidInput("status_history", "empty", "a service needs at least one status")
        times = [change.since for change in self.status_history]
        if times != sorted(times) or len(set(times)) != len(times):
            raise InvalidInput("status_history", "unordered", "status changes must be strictly ascending")
        if not self.certificate_der:
            raise InvalidInput("certificate", "empty", "a service needs its CA certificate")

    @property
    def fingerprint_sha256(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()

    def status_at(self, moment: datetime) -> ServiceStatus | None:
        """The status in force at `moment`; None if the service was not yet listed then."""
        _require_aware("moment", moment)
        current: ServiceStatus | None = None
        for change in self.status_history:
            if change.since > moment:
                break
            current = change.status
        return current

    def recognises(self, policies: Iterable[str]) -> frozenset[str]:
        return self.recognised_policies.intersection(policies)


@dataclass(frozen=True)
class TrustList:
    jurisdiction: Jurisdiction
    sequence_number: int
    issue_date: datetime
    next_update: datetime
    scheme_operator: LocalText
    services: tuple[TrustService, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        every_language(self.scheme_operator)
        _require_aware("issue_date", self.issue_date)
        _require_aware("next_update", self.next_update)
        if self.sequence_number < 1:
            raise InvalidInput("sequence_number", "out_of_range", "sequence numbers start at 1")
        if self.next_update <= self.issue_date:
            raise InvalidInput("next_update", "out_of_range", "next update must follow the issue date")
        fingerprints = [s.fingerprint_sha256 for s in self.services]
        if len(set(fingerprints)) != len(fingerprints):
            raise InvalidInput("services", "duplicate", "a CA certificate is listed twice")

    def is_stale(self, now: datetime) -> bool:
        """TS 119 612 treats a list past its next update as no longer current."""
        return now >= self.next_update

    def service_for(self, certificate_der: bytes) -> TrustService | None:
        fingerprint = hashlib.sha256(certificate_der).hexdigest()
        return next((s for s in self.services if s.fingerprint_sha256 == fingerprint), None)


@dataclass(frozen=True)
class AnchoredService:
    """A trust-list service together with the list it came from."""

    jurisdiction: Jurisdiction
    service: TrustService
    list_sequence_number: int


def anchors(lists: Sequence[TrustList]) -> tuple[AnchoredService, ...]:
    """Every listed CA service of every list: withdrawn ones too, so that a chain ending in a withdrawn
    CA is recognised as such (TOTAL_FAILED) instead of looking like an unknown chain. TSA services
    are no anchors for signers: a TSA vouches for time, not for anyone's identity."""
    return tuple(
        AnchoredService(tl.jurisdiction, service, tl.sequence_number)
        for tl in lists
        for service in tl.services
        if service.service_type.is_ca
    )


def tsa_services(lists: Sequence[TrustList]) -> tuple[AnchoredService, ...]:
    """Every listed TSA service of every list (withdrawn ones too, judged by their history)."""
    return tuple(
        AnchoredService(tl.jurisdiction, service, tl.sequence_number)
        for tl in lists
        for service in tl.services
        if service.service_type is ServiceType.TSA
    )


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(name, "naive_datetime", "times must carry a timezone (UTC inside)")
