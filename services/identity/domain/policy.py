"""Validation policy: what a caller asks the validation to insist on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from services.identity.domain.trustlist import Jurisdiction

# EN 319 102-1 leaves the signing-certificate key usage to the validation policy; for
# e-signatures either bit is accepted (many CAs set only one of them).
SIGNING_KEY_USAGES = frozenset({"non_repudiation", "digital_signature"})
# RFC 5280 extended key usages (dotted) that allow signing documents; a certificate whose
# extendedKeyUsage names none of these (e.g. TLS client or server only) may not sign documents.
DOCUMENT_SIGNING_EKUS = frozenset(
    {
        "2.5.29.37.0",  # anyExtendedKeyUsage
        "1.3.6.1.5.5.7.3.4",  # emailProtection (S/MIME signing)
        "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning (RFC 9336)
        "1.3.6.1.4.1.311.10.3.12",  # Microsoft document signing
        "1.2.840.113583.1.1.5",  # Adobe authentic documents trust
    }
)
CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2"  # id-kp-clientAuth
TIME_STAMPING_EKU = "1.3.6.1.5.5.7.3.8"  # id-kp-timeStamping
# Largest signature value a caller may send (raw signatures and CMS SignedData alike).
MAX_SIGNATURE_BYTES = 1024 * 1024


class RevocationMode(StrEnum):
    # Unreachable revocation sources only add a warning: for low-stakes look-ups.
    SOFT_FAIL = "soft-fail"
    # A certificate that names a revocation source must be checked against it: for signatures.
    HARD_FAIL = "hard-fail"


class KeyPurpose(StrEnum):
    # keyUsage digitalSignature or nonRepudiation; extendedKeyUsage, if present, a signing one.
    DOCUMENT_SIGNING = "document-signing"
    # extendedKeyUsage present and naming clientAuth; keyUsage, if present, digitalSignature.
    CLIENT_AUTH = "client-auth"
    # RFC 3161 2.3: extendedKeyUsage present, naming timeStamping and nothing else; anchored in a
    # trust-list TSA service, not a CA one.
    TIME_STAMPING = "time-stamping"


@dataclass(frozen=True)
class ValidationPolicy:
    revocation_mode: RevocationMode = RevocationMode.HARD_FAIL
    # Certificate policies the caller insists on; None accepts any policy the trust list recognises.
    requested_policies: frozenset[str] | None = None
    # Restrict anchors to these jurisdictions; None accepts all three.
    jurisdictions: frozenset[Jurisdiction] | None = None
    # The whole validation, fetching included, finishes within this or answers TRY_LATER.
    deadline_seconds: float = 10.0
    # What the end-entity certificate must be fit for.
    key_purpose: KeyPurpose = KeyPurpose.DOCUMENT_SIGNING
    # Oldest revocation information (now minus its thisUpdate) that still counts; None: whatever
    # the revocation cache holds (itself bounded by nextUpdate and the cache's own maximum).
    max_revocation_age: timedelta | None = None

    def cache_key(self) -> str:
        """What decides a validation's outcome (not the deadline), as a chain-cache key part;
        computed once per policy (it is asked twice per signature)."""
        key: str | None = self.__dict__.get("_cache_key")
        if key is None:
            policies = ",".join(sorted(self.requested_policies)) if self.requested_policies is not None else "*"
            places = ",".join(sorted(self.jurisdictions)) if self.jurisdictions is not None else "*"
            age = "-" if self.max_revocation_age is None else str(self.max_revocation_age.total_seconds())
            key = f"{self.revocation_mode.value}|{policies}|{places}|{self.key_purpose.value}|{age}"
            self.__dict__["_cache_key"] = key
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


def fit_for(purpose: KeyPurpose, key_usages: frozenset[str] | None, extended_key_usages: frozenset[str] | None) -> bool:
    """Whether a leaf with these keyUsage bits and extendedKeyUsage OIDs (None: extension absent)
    may serve `purpose`. RFC 5280 4.2.1.12: a present extendedKeyUsage limits the certificate to
    the purposes it names."""
    if purpose is KeyPurpose.TIME_STAMPING:
        return key_usage_allows_signing(key_usages) and extended_key_usages == frozenset({TIME_STAMPING_EKU})
    if purpose is KeyPurpose.CLIENT_AUTH:
        signs = key_usages is None or "digital_signature" in key_usages
        return signs and extended_key_usages is not None and CLIENT_AUTH_EKU in extended_key_usages
    if not key_usage_allows_signing(key_usages):
        return False
    return extended_key_usages is None or bool(extended_key_usages & DOCUMENT_SIGNING_EKUS)
