"""RFC 5280 path validation with pyhanko-certvalidator, answered as domain facts or a failure.

The engine is configured, never forked: trust roots are the trust-list certificates, the
signature validator handles SM2 (see `signatures`), the algorithm policy is our allow-list and
revocation goes through our cached fetchers. Its exceptions are translated into EN 319 102-1
indications here and only here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from asn1crypto import ocsp, x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, FreshnessReqType, RevocationCheckingPolicy

from services.identity.adapters import certinfo
from services.identity.adapters.algorithm_policy import SchemeAlgorithmPolicy, key_refusal
from services.identity.adapters.fetchers import FetchSettings, RevocationFetchers
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.signatures import SchemeSignatureValidator
from services.identity.domain.judgement import PathFacts, PathFailure
from services.identity.domain.policy import RevocationMode
from services.identity.domain.report import ChainElement, Indication, Reason, SubIndication, ValidationData

log = logging.getLogger(__name__)
EVIDENCE_FRESHNESS = timedelta(days=365 * 50)


class PkixEngine:
    def __init__(
        self,
        cache: RevocationCache | None = None,
        fetch: FetchSettings | None = None,
        time_tolerance: timedelta = timedelta(seconds=60),
        evidence: ValidationData | None = None,
    ) -> None:
        """With ``evidence`` the engine never fetches: revocation is judged from its OCSP responses and
        CRLs alone and its certificates help build paths (re-judging a stored signature, B-LT)."""
        self.cache = cache or RevocationCache()
        self._fetch = fetch or FetchSettings()
        self._evidence = evidence
        self._tolerance = time_tolerance
        self._algorithms = SchemeAlgorithmPolicy()
        self.network_requests = 0  # for tests and benchmarks: how often the cache did not suffice

    async def validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        anchors: Sequence[x509.Certificate],
        moment: datetime,
        mode: RevocationMode,
        deadline_seconds: float,
        max_revocation_age: timedelta | None = None,
        known: ValidationData | None = None,
    ) -> PathFacts | PathFailure:
        """`known`: validation data the signed document carries (a PDF's DSS): its certificates
        help build the path, its CRLs count as CRLs do, its OCSP responses answer when a responder
        does not (see `fetchers`)."""
        carried = tuple(ocsp.OCSPResponse.load(item) for item in known.ocsp_responses) if known else ()
        fetchers = RevocationFetchers(self.cache, self._fetch, max_revocation_age, known_ocsp=carried, moment=moment)
        try:
            async with asyncio.timeout(deadline_seconds):
                return await self._validate(leaf, intermediates, anchors, moment, mode, fetchers, known)
        except TimeoutError:
            return PathFailure(
                Indication.INDETERMINATE,
                SubIndication.TRY_LATER,
                Reason.DEADLINE_EXCEEDED,
                f"validation did not finish within {deadline_seconds} s",
            )
        finally:
            self.network_requests += fetchers.http.requests
            await fetchers.close()

    def _revinfo_policy(self, mode: RevocationMode) -> CertRevTrustPolicy:
        checking = RevocationCheckingPolicy.from_legacy(mode.value)
        if self._evidence is not None:
            # Judging kept evidence: the answers kept are all there will ever be, so each counts for
            # any later moment too (the last status known), however long past its nextUpdate.
            return CertRevTrustPolicy(
                checking,
                freshness=EVIDENCE_FRESHNESS,
                freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
            )
        return CertRevTrustPolicy(checking, retroactive_revinfo=True)

    async def _validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        anchors: Sequence[x509.Certificate],
        moment: datetime,
        mode: RevocationMode,
        fetchers: RevocationFetchers,
        known: ValidationData | None = None,
    ) -> PathFacts | PathFailure:
        if not anchors:
            return PathFailure(
                Indication.INDETERMINATE,
                SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
                Reason.NO_CHAIN,
                "no trust list is loaded for the requested jurisdictions",
            )
        signatures = SchemeSignatureValidator()
        evidence = self._evidence
        sources: dict[str, object] = {"allow_fetching": True, "fetchers": fetchers.fetchers}
        kept: list[x509.Certificate] = []
        if evidence is not None:
            sources = {"allow_fetching": False, "ocsps": list(evidence.ocsp_responses), "crls": list(evidence.crls)}
            kept = [x509.Certificate.load(der) for der in evidence.certificates]
        if known is not None:
            kept.extend(x509.Certificate.load(der) for der in known.certificates)
            if evidence is not None:
                sources["ocsps"] = [*evidence.ocsp_responses, *known.ocsp_responses]
            sources["crls"] = [*(evidence.crls if evidence is not None else ()), *known.crls]
        context = ValidationContext(
            trust_roots=list(anchors),
            other_certs=[*intermediates, *kept],
            moment=moment,
            **sources,  # type: ignore[arg-type]
            # Revocation is irreversible (certificateHold aside, which these CAs do not use), so
            # status fetched now also answers for an earlier validation time: "good now" means
            # "good then", and a revocation dated after the validation time does not count.
            revinfo_policy=self._revinfo_policy(mode),
            time_tolerance=self._tolerance,
            algorithm_usage_policy=self._algorithms,
            # One per validation: it records the signatures it refused for their algorithm.
            signature_validator=signatures,
        )
        try:
            path = await CertificateValidator(leaf, intermediates, context).async_validate_path()
        except (PathBuildingError, ValidationError) as exc:
            return _failure(exc, leaf, context, signatures.refusals)
        except Exception as exc:  # hostile input can trip parsers deep inside the engine
            log.warning("path validation raised %s", type(exc).__name__, exc_info=True)
            return PathFailure(
                Indication.INDETERMINATE,
                SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
                Reason.MALFORMED,
                f"certificate could not be processed ({type(exc).__name__})",
                (certinfo.chain_element(leaf),),
            )
        refused = key_refusal(leaf.public_key)
        if refused is not None:
            # Nothing in the path checks the leaf's own key: every signature it makes would be
            # refused, so the certificate is not fit for signing under the catalogue either.
            return PathFailure(
                Indication.INDETERMINATE,
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                Reason.ALGORITHM_NOT_ALLOWED,
                f"the certificate's key is refused: {refused}",
                tuple(certinfo.chain_element(c) for c in reversed(list(path.iter_certs(include_root=True)))),
                _warnings(context),
            )
        return _facts(path, context, fetchers)


def _facts(path: ValidationPath, context: ValidationContext, fetchers: RevocationFetchers) -> PathFacts:
    certs = list(path.iter_certs(include_root=True))
    anchor, leaf = certs[0], certs[-1]
    not_before, not_after = certinfo.validity(anchor)
    qualified = path.qualified_policies() or frozenset()
    return PathFacts(
        chain=tuple(certinfo.chain_element(c) for c in reversed(certs)),
        anchor_der=anchor.dump(),
        anchor_not_before=not_before,
        anchor_not_after=not_after,
        leaf_key_usage=certinfo.key_usage(leaf),
        leaf_extended_key_usage=certinfo.extended_key_usage(leaf),
        certified_policies=frozenset(p.user_domain_policy_id for p in qualified),
        warnings=_warnings(context),
        validation_data=ValidationData(
            tuple(c.dump() for c in reversed(certs)),
            tuple(dict.fromkeys(r.dump() for r in fetchers.fetchers.ocsp_fetcher.fetched_responses())),
            tuple(dict.fromkeys(c.dump() for c in fetchers.fetchers.crl_fetcher.fetched_crls())),
        ),
    )


def _warnings(context: ValidationContext) -> tuple[str, ...]:
    return tuple(f"revocation not checked (soft-fail): {exc}" for exc in context.soft_fail_exceptions)


def _failure(
    exc: Exception, leaf: x509.Certificate, context: ValidationContext, refusals: Sequence[str] = ()
) -> PathFailure:
    chain = _chain_of(exc, leaf)
    warnings = _warnings(context)

    def fail(indication: Indication, sub: SubIndication, reason: Reason) -> PathFailure:
        return PathFailure(indication, sub, reason, str(exc), chain, warnings)

    if refusals and not isinstance(exc, RevokedError):
        # A CRL or OCSP answer signed with a refused algorithm: revocation could not be decided
        # because of the algorithm, which is a crypto constraint, not an outage worth retrying.
        detail = f"{exc}; refused by the algorithm catalogue: {'; '.join(dict.fromkeys(refusals))}"
        return PathFailure(
            Indication.INDETERMINATE,
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            Reason.ALGORITHM_NOT_ALLOWED,
            detail,
            chain,
            warnings,
        )

    if isinstance(exc, PathBuildingError):
        return fail(Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, Reason.NO_CHAIN)
    if isinstance(exc, RevokedError):
        if exc.is_ee_cert:
            return fail(Indication.TOTAL_FAILED, SubIndication.REVOKED, Reason.REVOKED)
        return fail(Indication.INDETERMINATE, SubIndication.REVOKED_CA_NO_POE, Reason.CA_REVOKED)
    if isinstance(exc, ExpiredError):
        return fail(Indication.TOTAL_FAILED, SubIndication.EXPIRED, Reason.EXPIRED)
    if isinstance(exc, NotYetValidError):
        return fail(Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID, Reason.NOT_YET_VALID)
    if isinstance(exc, InsufficientRevinfoError):
        return fail(Indication.INDETERMINATE, SubIndication.TRY_LATER, Reason.REVOCATION_UNAVAILABLE)
    if isinstance(exc, DisallowedAlgorithmError):
        return fail(Indication.INDETERMINATE, SubIndication.CRYPTO_CONSTRAINTS_FAILURE, Reason.ALGORITHM_NOT_ALLOWED)
    if isinstance(exc.__context__, InvalidSignature):
        return fail(
            Indication.INDETERMINATE,
            SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
            Reason.CHAIN_SIGNATURE_INVALID,
        )
    if isinstance(exc, PathValidationError) and any(
        certinfo.unsupported_critical_extensions(c) for c in exc.original_path.iter_certs(include_root=False)
    ):
        return fail(Indication.INDETERMINATE, SubIndication.CHAIN_CONSTRAINTS_FAILURE, Reason.CRITICAL_EXTENSION)
    return fail(Indication.INDETERMINATE, SubIndication.CHAIN_CONSTRAINTS_FAILURE, Reason.CHAIN_CONSTRAINTS)


def _chain_of(exc: Exception, leaf: x509.Certificate) -> tuple[ChainElement, ...]:
    if isinstance(exc, PathValidationError):
        certs = list(exc.original_path.iter_certs(include_root=True))
        return tuple(certinfo.chain_element(c) for c in reversed(certs))
    return (certinfo.chain_element(leaf),)
