"""Use case VerifySignature: does this signature verify, and was its signer trustworthy?

The signer's certificate is validated at the signing time and now. Without a trusted timestamp
the claimed time is only the signer's word, so, as EN 319 102-1 does without proof of existence,
a certificate that is good at the claimed time but revoked or expired now gives INDETERMINATE
(REVOKED_NO_POE / OUT_OF_BOUNDS_NO_POE) rather than a pass. A signature time-stamp from a TSA on
a trust list (`verify_timestamp`) is a proof of existence: the certificate is then validated at
the proven time, and one revoked or expired after it still passes (`proof_of_existence`).

Long-term data from outside the CMS (`LongTerm`: stored evidence, a PDF's DSS and document
timestamps) extends that: archive time-stamps over the signature with its validation data are
judged as a chain (`TimestampVerifier.archive_chain`), the earliest time they prove is a proof of
existence of the signature and its time-stamps, and the signature time-stamps are then judged at
that time instead of now: a TSA certificate that expired or was revoked since still proves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import x509

from services.identity.domain import proof_of_existence
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import MAX_SIGNATURE_BYTES, ValidationPolicy
from services.identity.domain.report import (
    Indication,
    Reason,
    SignatureReport,
    SubIndication,
    TimestampReport,
    ValidationData,
    ValidationReport,
)
from services.identity.service_layer.ports import CertificateReader, SignatureCheck, SignatureChecks
from services.identity.service_layer.validate_certificate import CertificateValidator
from services.identity.service_layer.verify_timestamp import ArchiveStamp, TimestampVerifier

# Signature time-stamps looked at per signature; more are refused as input (EN 319 122-1 needs one).
MAX_TIMESTAMPS = 4
# Archive time-stamps (renewals) looked at per signature: one every few years is plenty.
MAX_ARCHIVE_TIMESTAMPS = 32

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class LongTerm:
    """What keeps a signature provable beyond its signature time-stamp, from outside its CMS."""

    validation_data: bool = False  # the signer's validation data is kept with it (evidence, a PDF's DSS)
    archive_timestamps: tuple[ArchiveStamp, ...] = ()  # oldest first, each covering the ones before it
    known: ValidationData | None = None  # validation data to use beside fetching (a PDF's DSS)


@dataclass(frozen=True)
class VerifyCmsSignature:
    signature: bytes  # DER ContentInfo with a detached SignedData
    document: bytes | None = None  # give the document, or its digest under the SignerInfo's digest algorithm
    document_digest: bytes | None = None
    intermediates: tuple[bytes, ...] = ()
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)
    long_term: LongTerm = field(default_factory=LongTerm)


@dataclass(frozen=True)
class VerifyRawSignature:
    signature: bytes
    document_digest: bytes
    digest_algorithm: str  # sha256 | sha384 | sha512 | sm3
    signature_algorithm: str  # rsa-pkcs1v15 | rsa-pss | ecdsa | ed25519 | sm2
    certificate: bytes
    intermediates: tuple[bytes, ...] = ()
    claimed_signing_time: datetime | None = None
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)


_CRYPTO_FAILURES = {
    Reason.MALFORMED: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
    Reason.SIGNED_ATTRIBUTES: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
    Reason.DIGEST_MISMATCH: (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    Reason.SIGNATURE_INVALID: (Indication.TOTAL_FAILED, SubIndication.SIG_CRYPTO_FAILURE),
    Reason.ALGORITHM_NOT_ALLOWED: (Indication.INDETERMINATE, SubIndication.CRYPTO_CONSTRAINTS_FAILURE),
    Reason.SIGNER_NOT_FOUND: (Indication.INDETERMINATE, SubIndication.NO_SIGNING_CERTIFICATE_FOUND),
}


class SignatureVerifier:
    def __init__(
        self,
        validator: CertificateValidator,
        checks: SignatureChecks,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._validator = validator
        self._checks = checks
        self._reader: CertificateReader = validator.reader  # certificates are read the validator's way
        self._clock = clock
        self.timestamps = TimestampVerifier(validator, checks, clock)

    async def verify_cms(self, command: VerifyCmsSignature) -> SignatureReport:
        if (command.document is None) == (command.document_digest is None):
            raise InvalidInput("document", "one_of", "give either the document or its digest")
        if command.document is not None and len(command.document) > MAX_DOCUMENT_BYTES:
            raise InvalidInput("document", "too_large", f"documents above {MAX_DOCUMENT_BYTES} bytes: send the digest")
        parsed = self._checks.read_detached_cms(command.signature, "signature")
        extra = self._reader.load_certificates(list(command.intermediates), "intermediates")
        check = self._checks.check_cms(parsed, command.document_digest, command.document, extra)
        if check.failure is not None or check.signer is None:
            return self._crypto_failure(check)
        others = [*check.certificates, *extra]
        return await self._judge(check, others, command.policy, command.long_term)

    async def verify_raw(self, command: VerifyRawSignature) -> SignatureReport:
        signer = self._reader.load_certificate(command.certificate, "certificate")
        extra = self._reader.load_certificates(list(command.intermediates), "intermediates")
        if len(command.signature) > MAX_SIGNATURE_BYTES:
            raise InvalidInput("signature", "too_large", "signature exceeds the size limit")
        failure = self._checks.check_raw(
            command.signature,
            command.document_digest,
            command.digest_algorithm,
            command.signature_algorithm,
            signer,
        )
        check = SignatureCheck(
            signer,
            (),
            command.claimed_signing_time,
            command.digest_algorithm,
            command.signature_algorithm,
            failure,
        )
        if failure is not None:
            return self._crypto_failure(check)
        return await self._judge(check, extra, command.policy)

    async def _judge(
        self,
        check: SignatureCheck,
        others: list[x509.Certificate],
        policy: ValidationPolicy,
        long_term: LongTerm | None = None,
    ) -> SignatureReport:
        assert check.signer is not None
        long_term = long_term or LongTerm()
        now = self._clock()
        signer = check.signer.sha256
        intermediates = [c for c in others if c.sha256 != signer]
        archived, archive_reports = None, ()
        if long_term.archive_timestamps:
            if len(long_term.archive_timestamps) > MAX_ARCHIVE_TIMESTAMPS:
                why = f"at most {MAX_ARCHIVE_TIMESTAMPS} archive time-stamps are checked"
                raise InvalidInput("archive_timestamps", "too_many", why)
            archived, archive_reports = await self.timestamps.archive_chain(
                long_term.archive_timestamps, others, long_term.known
            )
        covering = zip(long_term.archive_timestamps, archive_reports, strict=True)
        archive_over_data = any(report.trusted and stamp.covers_validation_data for stamp, report in covering)
        # With an archive proof the signature and its time-stamps existed then: judged at that time.
        moment = min(now, archived) if archived else now
        timestamps = await self._timestamps(check, others, moment, long_term.known)
        proofs = [t.gen_time for t in timestamps if t.trusted and t.gen_time is not None]
        proven = min([*proofs, archived]) if archived else min(proofs) if proofs else None
        known = long_term.known
        at_now = await self._validator.validate_parsed(check.signer, intermediates, now, policy, known)
        signed_at = proven or check.signing_time
        at_signing = None
        if signed_at is not None:
            at_signing = await self._validator.validate_parsed(check.signer, intermediates, signed_at, policy, known)
        early = signed_at is not None and signed_at < self._reader.validity(check.signer)[0]
        if proven is not None and not early:
            assert at_signing is not None
            indication, sub, reason = proof_of_existence.with_proof(at_signing, at_now)
        else:
            indication, sub, reason = _overall(at_signing, at_now, early)
        level = proof_of_existence.level(
            proven is not None, check.carries_validation_data or long_term.validation_data, archive_over_data
        )
        return SignatureReport(
            indication,
            sub,
            reason,
            True,
            check.signing_time,
            at_signing,
            at_now,
            self._reader.fingerprint(check.signer),
            check.digest_algorithm,
            check.signature_algorithm,
            proven_signing_time=proven,
            timestamps=timestamps,
            level=level,
            archive_timestamps=archive_reports,
        )

    async def _timestamps(
        self,
        check: SignatureCheck,
        others: list[x509.Certificate],
        now: datetime,
        known: ValidationData | None = None,
    ) -> tuple[TimestampReport, ...]:
        """Each signature time-stamp of the signature judged (the earliest trusted one is the proof)."""
        if len(check.timestamp_tokens) > MAX_TIMESTAMPS:
            raise InvalidInput(
                "signature", "too_many_timestamps", f"at most {MAX_TIMESTAMPS} signature time-stamps are checked"
            )
        return tuple(
            [
                await self.timestamps.check_timestamp(token, check.signature_value, now, others, known=known)
                for token in check.timestamp_tokens
            ]
        )

    def _crypto_failure(self, check: SignatureCheck) -> SignatureReport:
        reason = check.failure or Reason.SIGNER_NOT_FOUND
        indication, sub = _CRYPTO_FAILURES[reason]
        signer_fp = self._reader.fingerprint(check.signer) if check.signer is not None else ""
        return SignatureReport(
            indication,
            sub,
            reason,
            False,
            check.signing_time,
            None,
            None,
            signer_fp,
            check.digest_algorithm,
            check.signature_algorithm,
            check.detail,
        )


def _overall(
    at_signing: ValidationReport | None,
    at_now: ValidationReport,
    signed_before_validity: bool,
) -> tuple[Indication, SubIndication | None, Reason]:
    if signed_before_validity:
        return Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID, Reason.SIGNED_BEFORE_VALIDITY
    good_then = at_signing is not None and at_signing.passed
    if good_then and at_now.sub_indication is SubIndication.REVOKED:
        return Indication.INDETERMINATE, SubIndication.REVOKED_NO_POE, Reason.REVOKED_AFTER_SIGNING
    if good_then and at_now.sub_indication is SubIndication.EXPIRED and at_now.reason is Reason.EXPIRED:
        return Indication.INDETERMINATE, SubIndication.OUT_OF_BOUNDS_NO_POE, Reason.EXPIRED_AFTER_SIGNING
    return at_now.indication, at_now.sub_indication, at_now.reason
