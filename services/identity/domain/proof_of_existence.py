"""Signature time-stamps as proofs of existence (POE), EN 319 102-1 past signature validation.

Pure rules over what the use case established: whether a time-stamp token whose TSA certificate
validated proves that a signature existed at its time, and what a signature with such a proof
comes to when its signer's certificate is revoked or expired now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.identity.domain.report import Indication, Reason, SignatureLevel, SubIndication, ValidationReport
from services.identity.domain.trustlist import AnchoredService, ServiceStatus

# A time-stamp dated this far past the verifier's clock is refused (clock skew between the two).
FUTURE_TOLERANCE = timedelta(seconds=60)

# What a TSA validation that did not pass means for the token: a chain to no TSA service is an
# untrusted TSA; anything else keeps its own reason (revoked, expired, algorithm, try later...).
_UNTRUSTED = frozenset({Reason.NO_CHAIN, Reason.SERVICE_NOT_YET_LISTED, Reason.SERVICE_WITHDRAWN})


def tsa_trust(
    validation: ValidationReport,
    service: AnchoredService | None,
    gen_time: datetime,
    tsa_not_before: datetime,
    now: datetime,
) -> tuple[bool, Reason, str]:
    """Whether a cryptographically sound token of `gen_time`, whose TSA certificate validated as
    `validation` (now, anchored in TSA services only), is a proof of existence; with the reason.

    The TSA service must have been granted when the token was made (a TSA withdrawn since still
    vouches for the tokens it made before), and the token must fall within its certificate's
    validity and not in the future."""
    if not validation.passed:
        if validation.reason in _UNTRUSTED:
            why = "the TSA certificate is anchored in no granted TSA service of a trust list"
            return False, Reason.TSA_NOT_TRUSTED, f"{why} ({validation.reason}): {validation.detail}".rstrip(": ")
        detail = validation.detail or f"the TSA certificate did not validate ({validation.reason})"
        return False, validation.reason, detail
    if service is None:  # a pass anchors in a listed service; kept for safety, never expected
        return False, Reason.TSA_NOT_TRUSTED, "the TSA certificate is anchored in no TSA service"
    if gen_time > now + FUTURE_TOLERANCE:
        return False, Reason.TIMESTAMP_INVALID, f"the time-stamp is dated in the future ({gen_time.isoformat()})"
    if gen_time < tsa_not_before:
        return False, Reason.TIMESTAMP_INVALID, "the time-stamp is dated before its TSA certificate was valid"
    status = service.service.status_at(gen_time)
    if status is not ServiceStatus.GRANTED:
        state = "not yet listed" if status is None else status.value
        return False, Reason.TSA_NOT_TRUSTED, f"the TSA service was {state} at {gen_time.isoformat()}"
    return True, Reason.TIMESTAMP_TRUSTED, ""


def with_proof(
    at_proven: ValidationReport, at_now: ValidationReport
) -> tuple[Indication, SubIndication | None, Reason]:
    """The overall outcome of a signature proven to exist when `at_proven` was validated.

    A signer certificate (or its CA) revoked, or the certificate expired, after the proven time
    does not undo a signature made before: TOTAL_PASSED with a reason saying so. Validating at
    the proven time already refused a revocation dated before it. Anything else that is wrong
    now (a withdrawn service, a stale list, no revocation data) is answered as it is."""
    if not at_proven.passed:
        return at_proven.indication, at_proven.sub_indication, at_proven.reason
    if at_now.passed:
        return Indication.TOTAL_PASSED, None, Reason.OK
    if at_now.sub_indication in (SubIndication.REVOKED, SubIndication.REVOKED_CA_NO_POE):
        return Indication.TOTAL_PASSED, None, Reason.REVOKED_AFTER_POE
    if at_now.sub_indication is SubIndication.EXPIRED and at_now.reason is Reason.EXPIRED:
        return Indication.TOTAL_PASSED, None, Reason.EXPIRED_AFTER_POE
    return at_now.indication, at_now.sub_indication, at_now.reason


def level(proven: bool, validation_data: bool, archive_proof: bool) -> SignatureLevel:
    """The level reached: B-T needs a trusted time-stamp (of the signature, or an archive one that
    proves it existed); B-LT validation data for the signer as well (carried in the signature, or
    kept with it: evidence, a PDF's DSS); B-LTA a *verified* archive time-stamp over all that (one
    merely present counts for nothing)."""
    if not proven:
        return SignatureLevel.B_B
    if not validation_data:
        return SignatureLevel.B_T
    return SignatureLevel.B_LTA if archive_proof else SignatureLevel.B_LT
