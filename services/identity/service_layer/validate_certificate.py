"""Use case ValidateCertificate: is this certificate trustworthy under the GBA scheme at time T?"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from asn1crypto import x509

from services.identity.domain.errors import InvalidInput
from services.identity.domain.judgement import PathFailure, judge
from services.identity.domain.policy import KeyPurpose, ValidationPolicy
from services.identity.domain.report import Indication, Reason, SubIndication, ValidationData, ValidationReport
from services.identity.domain.trustlist import AnchoredService
from services.identity.service_layer.chain_cache import CacheKey, ChainResultCache, at_moment, covers
from services.identity.service_layer.ports import CertificateReader, PathEngine
from services.identity.service_layer.trust_store import TrustListStore


@dataclass(frozen=True)
class ValidateCertificate:
    certificate: bytes
    intermediates: tuple[bytes, ...] = ()
    validation_time: datetime | None = None  # None: now
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)


class CertificateValidator:
    def __init__(
        self,
        store: TrustListStore,
        engine: PathEngine,
        chain_cache: ChainResultCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        reader: CertificateReader,
    ) -> None:
        self._store = store
        self._engine = engine
        self.reader = reader
        self._cache = chain_cache or ChainResultCache(clock=clock)
        self._clock = clock
        # Parsed anchors by kind (CA services, TSA services), with the store generation they are of.
        self._anchors: dict[bool, tuple[int, list[tuple[AnchoredService, x509.Certificate]]]] = {}
        self._pending: dict[CacheKey, asyncio.Future[ValidationReport]] = {}
        self._tsa_services: tuple[int, dict[str, AnchoredService]] = (-1, {})

    @property
    def cache(self) -> ChainResultCache:
        return self._cache

    async def handle(self, command: ValidateCertificate) -> ValidationReport:
        leaf = self.reader.load_certificate(command.certificate, "certificate")
        intermediates = self.reader.load_certificates(list(command.intermediates), "intermediates")
        moment = command.validation_time or self._clock()
        if moment.tzinfo is None:
            raise InvalidInput("validation_time", "naive_datetime", "the validation time needs a timezone")
        return await self.validate_parsed(leaf, intermediates, moment, command.policy)

    async def validate_parsed(
        self,
        leaf: x509.Certificate,
        intermediates: list[x509.Certificate],
        moment: datetime,
        policy: ValidationPolicy,
        known: ValidationData | None = None,
    ) -> ValidationReport:
        """`known`: validation data the signed document carries (a PDF's DSS). Such a validation
        goes around the chain-result cache: its answer rests on what one document brought."""
        if known is not None:
            return self._with_list_state(await self._validate(leaf, intermediates, moment, policy, known))
        key = self._cache.key(self.reader.fingerprint(leaf), moment, policy.cache_key(), self._store.generation)
        cached = self._cache.get(key, moment)
        if cached is not None:
            return self._with_list_state(cached)
        # Concurrent requests for a chain that is not cached yet (a batch of one signer's
        # materials, a burst of calls) share one validation instead of each fetching the same
        # revocation data at once; each gets the result at its own moment, as from the cache.
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._validate(leaf, intermediates, moment, policy))
            self._pending[key] = pending
            pending.add_done_callback(functools.partial(self._settle, key))
        report = await asyncio.shield(pending)  # a caller that gives up does not cancel the others'
        if report.validation_time != moment:
            if not covers(report, moment):  # shared across a notAfter: this moment needs its own
                return self._with_list_state(await self._validate(leaf, intermediates, moment, policy))
            report = at_moment(report, moment)
        return self._with_list_state(report)

    def _settle(self, key: CacheKey, done: asyncio.Future[ValidationReport]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled() and done.exception() is None:
            self._cache.put(key, done.result())

    async def _validate(
        self,
        leaf: x509.Certificate,
        intermediates: list[x509.Certificate],
        moment: datetime,
        policy: ValidationPolicy,
        known: ValidationData | None = None,
    ) -> ValidationReport:
        anchored = [
            (service, cert)
            for service, cert in self._anchor_certs(policy.key_purpose is KeyPurpose.TIME_STAMPING)
            if policy.jurisdictions is None or service.jurisdiction in policy.jurisdictions
        ]
        outcome = await self._engine.validate(
            leaf,
            intermediates,
            [cert for _, cert in anchored],
            moment,
            policy.revocation_mode,
            policy.deadline_seconds,
            policy.max_revocation_age,
            known=known,
        )
        if isinstance(outcome, PathFailure):
            anchor = _anchor_of(outcome, [service for service, _ in anchored])
            return ValidationReport(
                outcome.indication,
                outcome.sub_indication,
                outcome.reason,
                moment,
                outcome.chain,
                jurisdiction=anchor.jurisdiction if anchor else None,
                trust_service=anchor.service.name if anchor else None,
                detail=outcome.detail,
                warnings=outcome.warnings,
            )
        return judge(outcome, tuple(service for service, _ in anchored), policy, moment)

    def _with_list_state(self, report: ValidationReport) -> ValidationReport:
        """A list past its next update no longer says who is trusted now (TS 119 612): a pass
        anchored in it becomes INDETERMINATE until a current list is loaded. Checked on every
        answer, cached ones too, since a list goes stale without changing its generation."""
        if report.jurisdiction is None:
            return report
        trust_list = self._store.current(report.jurisdiction)
        if trust_list is None or not trust_list.is_stale(self._clock()):
            return report
        warning = f"the {report.jurisdiction} trust list is past its next update ({trust_list.next_update})"
        if not report.passed:
            return replace(report, warnings=(*report.warnings, warning))
        return replace(
            report,
            indication=Indication.INDETERMINATE,
            sub_indication=SubIndication.TRY_LATER,
            reason=Reason.TRUST_LIST_STALE,
            detail=warning,
            policies=frozenset(),
        )

    def tsa_service(self, fingerprint_sha256: str) -> AnchoredService | None:
        """The listed TSA service whose certificate has this fingerprint, if any (the first listed)."""
        generation, by_fingerprint = self._tsa_services
        if generation != self._store.generation:  # indexed once per trust-list generation
            by_fingerprint = {}
            for service, _ in self._anchor_certs(True):
                by_fingerprint.setdefault(service.service.fingerprint_sha256, service)
            self._tsa_services = (self._store.generation, by_fingerprint)
        return by_fingerprint.get(fingerprint_sha256)

    def _anchor_certs(self, tsa: bool = False) -> list[tuple[AnchoredService, x509.Certificate]]:
        """The CA services' certificates, or with `tsa` the TSA services': a TSA certificate is
        anchored in a TSA service only, and a signer's never is."""
        # Parsed once per trust-list generation: anchors come from verified lists, not callers.
        generation, parsed = self._anchors.get(tsa, (-1, []))
        if generation != self._store.generation:
            services = self._store.tsa_services() if tsa else self._store.anchored_services()
            parsed = [
                (service, self.reader.load_certificate(service.service.certificate_der, "trust_list.certificate"))
                for service in services
            ]
            self._anchors[tsa] = (self._store.generation, parsed)
        return parsed


def _anchor_of(failure: PathFailure, services: list[AnchoredService]) -> AnchoredService | None:
    """The trust-list service the failed chain ended in, if it got that far."""
    if not failure.chain:
        return None
    last = failure.chain[-1].fingerprint_sha256
    return next((s for s in services if s.service.fingerprint_sha256 == last), None)
