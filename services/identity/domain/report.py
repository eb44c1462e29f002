"""Validation reports in the vocabulary of ETSI EN 319 102-1 (indications and sub-indications)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from baylink.i18n import LocalText
from services.identity.domain.messages import message_for
from services.identity.domain.trustlist import Jurisdiction


class Indication(StrEnum):
    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(StrEnum):
    # TOTAL_FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    # INDETERMINATE
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    POLICY_PROCESSING_ERROR = "POLICY_PROCESSING_ERROR"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    TRY_LATER = "TRY_LATER"


class Reason(StrEnum):
    """Why, more precisely than the sub-indication; stable codes that clients can switch on and
    that select the human message. Several reasons share one EN 319 102-1 sub-indication."""

    OK = "ok"
    MALFORMED = "malformed"
    NO_CHAIN = "no_chain"
    CHAIN_SIGNATURE_INVALID = "chain_signature_invalid"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    ANCHOR_EXPIRED = "anchor_expired"
    REVOKED = "revoked"
    CA_REVOKED = "ca_revoked"
    REVOCATION_UNAVAILABLE = "revocation_unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    KEY_USAGE = "key_usage"
    CRITICAL_EXTENSION = "critical_extension"
    CHAIN_CONSTRAINTS = "chain_constraints"
    POLICY_NOT_RECOGNISED = "policy_not_recognised"
    SERVICE_WITHDRAWN = "service_withdrawn"
    SERVICE_NOT_YET_LISTED = "service_not_yet_listed"
    TRUST_LIST_STALE = "trust_list_stale"
    KEY_PURPOSE = "key_purpose"
    DIGEST_MISMATCH = "digest_mismatch"
    SIGNATURE_INVALID = "signature_invalid"
    SIGNED_ATTRIBUTES = "signed_attributes"
    SIGNER_NOT_FOUND = "signer_not_found"
    REVOKED_AFTER_SIGNING = "revoked_after_signing"
    EXPIRED_AFTER_SIGNING = "expired_after_signing"
    SIGNED_BEFORE_VALIDITY = "signed_before_validity"
    # Signature time-stamps (RFC 3161) as proofs of existence, EN 319 102-1 past signature validation.
    REVOKED_AFTER_POE = "revoked_after_poe"
    EXPIRED_AFTER_POE = "expired_after_poe"
    TIMESTAMP_TRUSTED = "timestamp_trusted"
    TSA_NOT_TRUSTED = "tsa_not_trusted"
    TIMESTAMP_IMPRINT_MISMATCH = "timestamp_imprint_mismatch"
    TIMESTAMP_INVALID = "timestamp_invalid"
    # Signed PDFs (PAdES): the CMS verified, the PDF around it did not hold.
    PDF_MODIFIED_AFTER_SIGNING = "pdf_modified_after_signing"
    PDF_MDP_VIOLATION = "pdf_mdp_violation"
    PDF_SIGNATURE_COVERAGE = "pdf_signature_coverage"


class SignatureLevel(StrEnum):
    """The AdES level a signature reaches as Baylink verified it (EN 319 122-1 names)."""

    B_B = "B-B"  # signed, no trusted time-stamp
    B_T = "B-T"  # a trusted signature time-stamp proves when the signature existed
    B_LT = "B-LT"  # B-T, and validation data for the signer (certificates, revocation) in or beside it
    B_LTA = "B-LTA"  # B-LT, and a verified archive time-stamp covers it (see proof_of_existence.level)


@dataclass(frozen=True)
class ChainElement:
    fingerprint_sha256: str
    subject: str
    issuer: str
    serial_hex: str
    not_after: datetime


@dataclass(frozen=True)
class ValidationData:
    """What a validation rested on, each item DER: the path (leaf first, anchor last) and the
    OCSP responses and CRLs consulted for it. Kept beside a signature, it lets the signature be
    judged again later with no network (CAdES B-LT)."""

    certificates: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()

    def merged(self, other: ValidationData | None) -> ValidationData:
        if other is None:
            return self
        return ValidationData(
            tuple(dict.fromkeys((*self.certificates, *other.certificates))),
            tuple(dict.fromkeys((*self.ocsp_responses, *other.ocsp_responses))),
            tuple(dict.fromkeys((*self.crls, *other.crls))),
        )


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of validating one certificate at one validation time."""

    indication: Indication
    sub_indication: SubIndication | None
    reason: Reason
    validation_time: datetime
    chain: tuple[ChainElement, ...] = ()
    jurisdiction: Jurisdiction | None = None
    trust_service: LocalText | None = None
    policies: frozenset[str] = frozenset()
    detail: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    validation_data: ValidationData | None = None  # a validated path's; None when no path validated

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED

    @property
    def message(self) -> LocalText:
        return message_for(self.reason.value)


@dataclass(frozen=True)
class TimestampReport:
    """Outcome of checking one RFC 3161 time-stamp token of a signature: whether it is a proof of
    existence at `gen_time`, and why (not). `tsa_name` is the trust-list service when there is one."""

    trusted: bool
    reason: Reason
    gen_time: datetime | None
    tsa_fingerprint_sha256: str = ""
    tsa_subject: str = ""
    tsa_name: LocalText | None = None
    jurisdiction: Jurisdiction | None = None
    detail: str = ""
    validation_data: ValidationData | None = None  # the TSA certificate's path and revocation answers

    @property
    def message(self) -> LocalText:
        return message_for(self.reason.value)


@dataclass(frozen=True)
class SignatureReport:
    """Outcome of verifying a signature: the cryptographic check plus the signer's certificate
    validated twice, at the signing time and at the time of verification.

    Without a trusted signature time-stamp the signing time is only the signer's word, so a
    relying party decides which of the two it needs; `indication` is then the stricter,
    at-verification-time answer. With one, `proven_signing_time` is its time, `at_signing_time`
    is the validation at that proven time, and a certificate revoked or expired after it still
    passes (EN 319 102-1 past signature validation)."""

    indication: Indication
    sub_indication: SubIndication | None
    reason: Reason
    signature_valid: bool
    signing_time: datetime | None
    at_signing_time: ValidationReport | None
    at_verification_time: ValidationReport | None
    signer_fingerprint_sha256: str = ""
    digest_algorithm: str = ""
    signature_algorithm: str = ""
    detail: str = ""
    proven_signing_time: datetime | None = None
    timestamps: tuple[TimestampReport, ...] = ()
    level: SignatureLevel = SignatureLevel.B_B
    # Archive time-stamps judged for it (kept evidence; PDF document timestamps), oldest first.
    archive_timestamps: tuple[TimestampReport, ...] = ()

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED

    @property
    def message(self) -> LocalText:
        return message_for(self.reason.value)

    @property
    def validation_data(self) -> ValidationData | None:
        """The data of both validations of the signer's certificate and of its time-stamps' TSA
        certificates (what judging it again offline needs); None if no path validated."""
        found = [r.validation_data for r in (self.at_signing_time, self.at_verification_time) if r is not None]
        data = [d for d in (*found, *(t.validation_data for t in self.timestamps)) if d is not None]
        if not data:
            return None
        merged = data[0]
        for more in data[1:]:
            merged = merged.merged(more)
        return merged
