"""Validation policy: what a caller asks the validation to insist on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.identity.domain.trustlist import Jurisdiction

# EN 319 102-1 leaves the signing-certificate key usage to the validation policy; for
# e-signatures either bit is accepted (many CAs set only one of them).
SIGNING_KEY_USAGES = frozenset({"non_repudiation", "digital_signature"})
# Largest signature value a caller may send (raw signatures and CMS SignedData alike).
MAX_SIGNATURE_BYTES = 1024 * 1024


class RevocationMode(StrEnum):
    # Unreachable revocation sources only add a warning: for low-stakes look-ups.
    SOFT_FAIL = "soft-fail"
    # A certificate that names a revocation source must be checked against it: for signatures.
    HARD_FAIL = "hard-fail"


@dataclass(frozen=True)
class ValidationPolicy:
    revocation_mode: RevocationMode = RevocationMode.HARD_FAIL
    # Certificate policies the caller insists on; None accepts any policy the trust list recognises.
    requested_policies: frozenset[str] | None = None
    # Restrict anchors to these jurisdictions; None accepts all three.
    jurisdictions: frozenset[Jurisdiction] | None = None
    # The whole validation, fetching included, finishes within this or answers TRY_LATER.
    deadline_seconds: float = 10.0

    def cache_key(self) -> str:
        """What decides a validation's outcome (not the deadline), as a chain-cache key part;
        computed once per policy (it is asked twice per signature)."""
        key: str | None = self.__dict__.get("_cache_key")
        if key is None:
            policies = ",".join(sorted(self.requested_policies)) if self.requested_policies is not None else "*"
            places = ",".join(sorted(self.jurisdictions)) if self.jurisdictions is not None else "*"
            key = self.__dict__["_cache_key"] = f"{self.revocation_mode.value}|{policies}|{places}"
        return key


def acceptable_policies(
    recognised: frozenset[str], certified: frozenset[str], requested: frozenset[str] | None
) -> frozenset[str]:
    """Policies that the chain certifies, the anchoring trust service recognises and the caller
    (if it asked) requested. Empty means the certificate is not usable under the scheme."""
    usable = recognised & certified
    return usable if requested is None else usable & requested


def key_usage_allows_signing(key_usages: frozenset[str] | None) -> bool:
    # RFC 5280: an absent keyUsage extension places no restriction.
    return key_usages is None or bool(key_usages & SIGNING_KEY_USAGES)
