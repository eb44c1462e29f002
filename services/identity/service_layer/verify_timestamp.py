"""Use case: is this RFC 3161 time-stamp token a proof that some data existed at its time?

The token is checked cryptographically (`SignatureChecks.check_token`: imprint, algorithms, its
signature, the ESS binding of its TSA certificate), then its TSA certificate is validated now
with the time-stamping key purpose, which anchors it in the trust lists' TSA services and never
in a CA service, and the TSA service must have been granted at the token's time
(`proof_of_existence.tsa_trust`). Only a token that passes all of it is a proof of existence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from asn1crypto import x509

from services.identity.domain.policy import KeyPurpose, ValidationPolicy
from services.identity.domain.proof_of_existence import tsa_trust
from services.identity.domain.report import Reason, TimestampReport, ValidationData
from services.identity.service_layer.ports import SignatureChecks
from services.identity.service_layer.validate_certificate import CertificateValidator

# How a TSA certificate is validated: revocation checked (hard-fail), any jurisdiction's TSA.
TSA_POLICY = ValidationPolicy(key_purpose=KeyPurpose.TIME_STAMPING)
_TSA_FACTS_MAX = 1024


@dataclass(frozen=True)
class ArchiveStamp:
    """A time-stamp token over something that contains a signature, its time-stamps and the
    validation data kept for it (an archive time-stamp over stored evidence, a PDF document
    timestamp over a later revision), with the data its imprint is the hash of."""

    token: bytes
    data: bytes
    covers_validation_data: bool = True  # what it covers holds the signer's validation data


class TimestampVerifier:
    def __init__(
        self,
        validator: CertificateValidator,
        checks: SignatureChecks,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._validator = validator
        self._checks = checks
        self._reader = validator.reader
        self._clock = clock
        # What a report says of a TSA certificate (fingerprint, subject, notBefore), by its SHA-256:
        # facts of the certificate's bytes alone, read once per TSA rather than once per token.
        self._tsa_facts: dict[bytes, tuple[str, str, datetime]] = {}

    async def check_timestamp(
        self,
        token: bytes,
        imprint_data: bytes,
        at: datetime | None = None,
        extra_certificates: Sequence[x509.Certificate] = (),
        policy: ValidationPolicy = TSA_POLICY,
        known: ValidationData | None = None,
    ) -> TimestampReport:
        """The token judged as a time-stamp over `imprint_data` (for a signature time-stamp, the
        SignerInfo's signature value), its TSA validated at `at` (now), with the validation data
        the document carries (`known`, a PDF's DSS) if any."""
        now = at or self._clock()
        extra = list(extra_certificates)
        check = self._checks.check_token(token, imprint_data, extra)
        tsa = check.tsa
        fingerprint, subject, not_before = self._facts(tsa) if tsa is not None else ("", "", None)
        if check.failure is not None or tsa is None or check.gen_time is None or not_before is None:
            reason = check.failure or Reason.TIMESTAMP_INVALID
            return TimestampReport(False, reason, check.gen_time, fingerprint, subject, detail=check.detail)
        tsa_hash = tsa.sha256
        others = [c for c in (*check.certificates, *extra) if c.sha256 != tsa_hash]
        purpose = policy
        if policy.key_purpose is not KeyPurpose.TIME_STAMPING:
            purpose = replace(policy, key_purpose=KeyPurpose.TIME_STAMPING)
        # Validated through the chain-result cache, as a signer is: one entry per TSA certificate,
        # time bucket, policy and trust-list generation, none older than the cache's max age.
        validation = await self._validator.validate_parsed(tsa, others, now, purpose, known)
        service = self._validator.tsa_service(validation.chain[-1].fingerprint_sha256) if validation.chain else None
        trusted, reason, detail = tsa_trust(validation, service, check.gen_time, not_before, now)
        return TimestampReport(
            trusted,
            reason,
            check.gen_time,
            fingerprint,
            subject,
            tsa_name=validation.trust_service,
            jurisdiction=validation.jurisdiction,
            detail=detail,
            validation_data=validation.validation_data,
        )

    def _facts(self, tsa: x509.Certificate) -> tuple[str, str, datetime]:
        facts = self._tsa_facts.get(tsa.sha256)
        if facts is None:
            facts = self._reader.fingerprint(tsa), tsa.subject.human_friendly, self._reader.validity(tsa)[0]
            if len(self._tsa_facts) >= _TSA_FACTS_MAX:
                self._tsa_facts.clear()
            self._tsa_facts[tsa.sha256] = facts
        return facts

    async def archive_chain(
        self,
        stamps: Sequence[ArchiveStamp],
        extra_certificates: Sequence[x509.Certificate] = (),
        known: ValidationData | None = None,
    ) -> tuple[datetime | None, tuple[TimestampReport, ...]]:
        """Archive time-stamps, oldest first, each covering the ones before it: the earliest time
        they prove the covered data existed at, and each one's report (oldest first).

        Judged newest first (EN 319 102-1 validation with long-term data): the newest one's TSA
        now; each earlier one's at the time the next trusted one proves it existed, so a TSA
        certificate expired or revoked since then still vouches for a token it made before. A
        token that is not trusted proves nothing, and the one before it is judged at the same
        moment as it was."""
        moment = self._clock()
        proven: datetime | None = None
        reports: list[TimestampReport] = []
        for stamp in reversed(stamps):
            report = await self.check_timestamp(stamp.token, stamp.data, moment, extra_certificates, known=known)
            if report.trusted and report.gen_time is not None:
                proven = report.gen_time
                moment = min(moment, proven)
            reports.append(report)
        return proven, tuple(reversed(reports))
