"""The identity service's use cases as one application object: validate, verify, manage trust lists.

Every validation and verification records its fact event (fingerprints and outcome only) before
the answer goes back; trust-list updates persist the signed document and their event in one
transaction and only then put the list in force.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from baylink.errors import FailedPrecondition as PreconditionFailed
from baylink.errors import PreconditionViolation
from baylink.runtime.outbox import FactRecorder
from services.identity.domain.errors import InvalidInput
from services.identity.domain.pdf import PdfReport
from services.identity.domain.report import SignatureReport, ValidationReport
from services.identity.domain.trustlist import Jurisdiction, TrustList
from services.identity.service_layer.ports import IdentityFacts, TrustListRepository
from services.identity.service_layer.trust_store import LoadOutcome, LoadResult, Refusal, TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate
from services.identity.service_layer.verify_pdf import PdfVerifier, VerifyPdfSignatures
from services.identity.service_layer.verify_signature import (
    SignatureVerifier,
    VerifyCmsSignature,
    VerifyRawSignature,
)

log = logging.getLogger("baylink.identity")
MAX_TRUST_LIST_BYTES = 8 * 1024 * 1024
# Refusals that say the document itself is bad (INVALID_ARGUMENT) rather than out of order.
_ORDER_REFUSALS = {Refusal.SEQUENCE_BACKWARDS, Refusal.SEQUENCE_REUSED, Refusal.ISSUE_DATE_BACKWARDS}


class IdentityApplication:
    def __init__(
        self,
        repository: TrustListRepository,
        store: TrustListStore,
        validator: CertificateValidator,
        verifier: SignatureVerifier,
        events: IdentityFacts,
        recorder: FactRecorder,
        pdf_verifier: PdfVerifier,
    ):
        self.repository = repository
        self.pdf_verifier = pdf_verifier
        self.store = store
        self.validator = validator
        self.verifier = verifier
        self.events = events
        self.recorder = recorder
        self._update_lock = asyncio.Lock()

    # -- validation ------------------------------------------------------------------------

    async def validate_certificate(self, command: ValidateCertificate) -> ValidationReport:
        report = await self.validator.handle(command)
        fingerprint = hashlib.sha256(command.certificate).hexdigest()
        await self.recorder.record([self.events.certificate_validated(fingerprint, report)])
        return report

    async def verify_signature(self, command: VerifyCmsSignature | VerifyRawSignature) -> SignatureReport:
        report, digest = await self._verify(command)
        await self.recorder.record([self.events.signature_verified(report, digest)])
        return report

    async def verify_signatures(
        self, commands: Sequence[VerifyCmsSignature | VerifyRawSignature]
    ) -> list[SignatureReport | Exception]:
        """`verify_signature` for each command, in order. A command that fails (bad input, or
        anything unexpected) gives its exception in its place and leaves the others alone. The
        fact events of all the reports are recorded together (one per report, as one at a time
        would record them) before any answer goes back."""
        outcomes = await asyncio.gather(*(self._verify(command) for command in commands), return_exceptions=True)
        results: list[SignatureReport | Exception] = []
        events = []
        for outcome in outcomes:
            if isinstance(outcome, tuple):
                report, digest = outcome
                events.append(self.events.signature_verified(report, digest))
                results.append(report)
            elif isinstance(outcome, Exception):
                results.append(outcome)
            else:  # CancelledError and other BaseExceptions end the call, not just one item
                raise outcome
        if events:
            await self.recorder.record(events)
        return results

    async def verify_pdf_signatures(self, command: VerifyPdfSignatures) -> PdfReport:
        """Every signature of a signed PDF; one fact event per signature (the PDF's verdict on it,
        over the digest its CMS signs), recorded before the answer goes back."""
        report = await self.pdf_verifier.verify(command)
        events = [
            self.events.signature_verified(
                replace(s.cms, indication=s.indication, sub_indication=s.sub_indication, reason=s.reason),
                s.signed_digest,
            )
            for s in report.signatures
        ]
        if events:
            await self.recorder.record(events)
        return report

    async def _verify(self, command: VerifyCmsSignature | VerifyRawSignature) -> tuple[SignatureReport, bytes]:
        if isinstance(command, VerifyCmsSignature):
            return await self.verifier.verify_cms(command), command.document_digest or b""
        return await self.verifier.verify_raw(command), command.document_digest

    # -- trust lists -----------------------------------------------------------------------

    async def update_trust_list(self, document: bytes) -> LoadResult:
        """Accept a signed list only if it verifies and moves forward; persist it, then use it."""
        if len(document) > MAX_TRUST_LIST_BYTES:
            raise InvalidInput("signed_trust_list", "too_large", f"trust lists above {MAX_TRUST_LIST_BYTES} bytes")
        async with self._update_lock:
            result, signed = self.store.evaluate(document)
            if result.outcome is LoadOutcome.REFUSED:
                _raise_refusal(result)
            if signed is None:  # UNCHANGED: the same list again is harmless
                return result
            digest = hashlib.sha256(signed.signing_input).digest()
            await self.repository.save(
                signed.trust_list, document, [self.events.trust_list_updated(signed.trust_list, digest)]
            )
            self.store.install(signed)
            log.info(
                "trust list in force",
                extra={"jurisdiction": result.jurisdiction, "sequence_number": result.sequence_number},
            )
            return result

    async def restore(self, directory: Path | None) -> None:
        """At start-up: the lists persisted last time, then any newer ones in ``directory``."""
        for document in await self.repository.load_all():
            result = self.store.load(document)  # was checked when stored; re-checked anyway
            if not result.accepted:
                log.error("a stored trust list no longer verifies", extra={"refusal": result.refusal})
        files = await asyncio.to_thread(_read_lists, directory) if directory else []
        for path, document in files:
            try:
                await self.update_trust_list(document)
            except (InvalidInput, PreconditionFailed) as exc:
                log.warning("trust list file not loaded", extra={"file": str(path), "error": exc.message})

    async def follow_stored_lists(self, every_seconds: float = 2.0) -> None:
        """Put in force the lists that another worker process of this service stored (it updated
        them through UpdateTrustList). The stored lists were checked before they were stored and
        are checked again here; a list that goes backwards is refused as always."""
        while True:
            await asyncio.sleep(every_seconds)
            in_force = {j.value: current.sequence_number for j in Jurisdiction if (current := self.store.current(j))}
            documents = await self.repository.load_changed(in_force)
            for document in documents:
                result = self.store.load(document)
                if result.accepted:
                    log.info(
                        "trust list in force (stored by another worker)",
                        extra={"jurisdiction": result.jurisdiction, "sequence_number": result.sequence_number},
                    )

    def trust_list(self, jurisdiction: Jurisdiction) -> tuple[TrustList, bytes, str]:
        signed = self.store.signed(jurisdiction)
        if signed is None:
            raise PreconditionFailed(
                f"no {jurisdiction.value} trust list is in force",
                [PreconditionViolation("TRUST_LIST", jurisdiction.value, "not loaded")],
            )
        reader = self.validator.reader
        signer = reader.fingerprint(reader.load_certificate(signed.signer_certificate_der, "signer"))
        return signed.trust_list, hashlib.sha256(signed.signing_input).digest(), signer


def _read_lists(directory: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in sorted(directory.glob("*.json"))]


def _raise_refusal(result: LoadResult) -> None:
    assert result.refusal is not None
    message = f"trust list refused ({result.refusal.value}): {result.detail}"
    if result.refusal in _ORDER_REFUSALS:
        subject = f"{result.jurisdiction}/{result.sequence_number}"
        raise PreconditionFailed(message, [PreconditionViolation("TRUST_LIST_ORDER", subject, result.detail)])
    raise InvalidInput("signed_trust_list", result.refusal.value, message)
