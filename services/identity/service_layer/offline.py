"""Trust without a trust list: bare root certificates as anchors, for offline tools.

The operator CLI (`baylink identity validate --anchor ROOT.pem`) validates against roots that a
developer names on the command line instead of against signed trust lists. Such roots carry no
list metadata, so this module supplies the two facts the use cases need:

- the jurisdiction of each root, read off its subject's country (HK, MO; CN stands for the
  Guangdong partner cities); a root of any other country has no place in the scheme;
- the recognised policies: a bare root recognises every certificate policy under the scheme arc
  (`SCHEME_POLICY_ARC`) that the certificates presented for validation assert. The chain must
  still certify the policy (RFC 5280) and `--policy` still narrows it, but which scheme policy a
  root is recognised for is a trust-list decision that bare anchors cannot make.

Every anchor is "granted" since its notBefore and never withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from asn1crypto import x509

from baylink.i18n import LocalText
from services.identity.domain.trustlist import (
    SCHEME_POLICY_ARC,
    AnchoredService,
    Jurisdiction,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
)
from services.identity.domain.trustlist_codec import SignedTrustList
from services.identity.service_layer.ports import CertificateReader
from services.identity.service_layer.trust_store import LoadOutcome, LoadResult, Refusal, TrustListStore

_COUNTRIES = {"HK": Jurisdiction.HK, "MO": Jurisdiction.MO, "CN": Jurisdiction.GD}


def jurisdiction_of(root: x509.Certificate) -> Jurisdiction | None:
    """The scheme jurisdiction of a root by its subject country; None outside HK, MO and CN."""
    country = root.subject.native.get("country_name")
    return _COUNTRIES.get(country) if isinstance(country, str) else None


def scheme_policies(certificates: Iterable[x509.Certificate]) -> frozenset[str]:
    """Every certificate policy under the scheme arc asserted by any of `certificates`."""
    found: set[str] = set()
    for certificate in certificates:
        policies = certificate.certificate_policies_value
        for info in policies or ():
            oid = info["policy_identifier"].dotted
            if oid.startswith(SCHEME_POLICY_ARC + "."):
                found.add(oid)
    return frozenset(found)


class _NoListSignatures:
    """The list-signature check of a store that trusts no list signer: never reached, never passes."""

    def signature_valid(self, signed: SignedTrustList) -> bool:
        return False

    def algorithm_refusal(self, signed: SignedTrustList) -> str | None:
        return "bare anchors trust no list signer"

    def signer_valid_at(self, signed: SignedTrustList, moment: datetime) -> bool:
        return False

    def unreadable_certificates(self, trust_list: TrustList) -> list[int]:
        return list(range(len(trust_list.services)))


class BareAnchorStore(TrustListStore):
    """A `TrustListStore` whose anchors are fixed bare roots; it holds no lists and loads none."""

    def __init__(self, anchored: Sequence[AnchoredService]) -> None:
        super().__init__({}, _NoListSignatures())
        self._anchored = tuple(anchored)
        self.generation = 1

    def current(self, jurisdiction: Jurisdiction) -> TrustList | None:
        return None

    def lists(self) -> tuple[TrustList, ...]:
        return ()

    def anchored_services(self) -> tuple[AnchoredService, ...]:
        return self._anchored

    def load(self, document: bytes) -> LoadResult:
        return LoadResult(LoadOutcome.REFUSED, None, None, Refusal.SIGNER_NOT_TRUSTED, "bare anchors take no lists")


def bare_anchor_store(
    roots: Sequence[x509.Certificate], recognised: frozenset[str], reader: CertificateReader
) -> BareAnchorStore:
    """Anchors for `roots`, each recognising `recognised` (see `scheme_policies`).

    Raises ValueError naming the root's subject when it has no scheme jurisdiction."""
    anchored: list[AnchoredService] = []
    seen: set[bytes] = set()
    for root in roots:
        if root.dump() in seen:
            continue
        seen.add(root.dump())
        jurisdiction = jurisdiction_of(root)
        if jurisdiction is None:
            raise ValueError(f"{root.subject.human_friendly}: subject country is not HK, MO or CN")
        label = root.subject.native.get("common_name") or root.subject.human_friendly
        name = LocalText(zh_hant=str(label), zh_hans=str(label), en=str(label))
        history = (StatusChange(ServiceStatus.GRANTED, reader.validity(root)[0]),)
        service = TrustService(name, ServiceType.CA_QC, root.dump(), history, recognised)
        anchored.append(AnchoredService(jurisdiction, service, 0))
    return BareAnchorStore(anchored)
