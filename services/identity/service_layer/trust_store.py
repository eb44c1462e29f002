"""TrustListStore: load and update the trust list of each jurisdiction, never half-loaded.

A list is accepted only if its signature verifies with a signer certificate that is configured as
trusted for that jurisdiction, and if it does not go backwards (sequence number, issue date)
from the list in force. Any refusal leaves the last good list in place and says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from services.identity.domain.errors import InvalidInput
from services.identity.domain.trustlist import AnchoredService, Jurisdiction, TrustList, anchors, tsa_services
from services.identity.domain.trustlist_codec import SignedTrustList, decode_document
from services.identity.service_layer.ports import ListSignatureVerifier


class LoadOutcome(StrEnum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


class Refusal(StrEnum):
    MALFORMED = "malformed"
    BAD_SERVICE_CERTIFICATE = "bad_service_certificate"
    SIGNATURE_INVALID = "signature_invalid"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    SIGNER_NOT_TRUSTED = "signer_not_trusted"
    SIGNER_NOT_VALID = "signer_not_valid"
    SEQUENCE_BACKWARDS = "sequence_backwards"
    SEQUENCE_REUSED = "sequence_reused"
    ISSUE_DATE_BACKWARDS = "issue_date_backwards"
    NOT_YET_ISSUED = "not_yet_issued"


@dataclass(frozen=True)
class LoadResult:
    outcome: LoadOutcome
    jurisdiction: Jurisdiction | None
    sequence_number: int | None
    refusal: Refusal | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.outcome is not LoadOutcome.REFUSED


class TrustListStore:
    def __init__(
        self,
        trusted_signers: Mapping[Jurisdiction, Iterable[bytes]],
        verifier: ListSignatureVerifier,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._signers = {j: {hashlib.sha256(der).digest() for der in ders} for j, ders in trusted_signers.items()}
        self._verifier = verifier
        self._clock = clock
        self._lists: dict[Jurisdiction, SignedTrustList] = {}
        self._digests: dict[Jurisdiction, bytes] = {}
        self.generation = 0  # bumped on every change so caches keyed on it go stale

    def current(self, jurisdiction: Jurisdiction) -> TrustList | None:
        signed = self._lists.get(jurisdiction)
        return signed.trust_list if signed else None

    def lists(self) -> tuple[TrustList, ...]:
        return tuple(signed.trust_list for signed in self._lists.values())

    def anchored_services(self) -> tuple[AnchoredService, ...]:
        return anchors(self.lists())

    def tsa_services(self) -> tuple[AnchoredService, ...]:
        """The listed time-stamping authorities: the only anchors of a TSA certificate."""
        return tsa_services(self.lists())

    def load(self, document: bytes) -> LoadResult:
        """Check a signed list and, if it is acceptable and new, put it in force."""
        result, signed = self.evaluate(document)
        if signed is not None:
            self.install(signed)
        return result

    def evaluate(self, document: bytes) -> tuple[LoadResult, SignedTrustList | None]:
        """Check a signed list without changing anything.

        Returns the outcome, and the decoded list when it should be installed (LOADED), so a
        caller can persist it first and ``install`` it only once that succeeded.
        """
        try:
            signed = decode_document(document)
        except InvalidInput as exc:
            return LoadResult(LoadOutcome.REFUSED, None, None, Refusal.MALFORMED, f"{exc.field}: {exc.message}"), None
        refusal = self._check(signed)
        trust_list = signed.trust_list
        if refusal is not None:
            return LoadResult(LoadOutcome.REFUSED, trust_list.jurisdiction, trust_list.sequence_number, *refusal), None
        if self._digests.get(trust_list.jurisdiction) == hashlib.sha256(signed.signing_input).digest():
            return LoadResult(LoadOutcome.UNCHANGED, trust_list.jurisdiction, trust_list.sequence_number), None
        return LoadResult(LoadOutcome.LOADED, trust_list.jurisdiction, trust_list.sequence_number), signed

    def install(self, signed: SignedTrustList) -> None:
        """Put a list that ``evaluate`` accepted in force (cannot fail)."""
        jurisdiction = signed.trust_list.jurisdiction
        self._lists[jurisdiction] = signed
        self._digests[jurisdiction] = hashlib.sha256(signed.signing_input).digest()
        self.generation += 1

    def signed(self, jurisdiction: Jurisdiction) -> SignedTrustList | None:
        """The signed document in force for a jurisdiction (for GetTrustList and persistence)."""
        return self._lists.get(jurisdiction)

    def _check(self, signed: SignedTrustList) -> tuple[Refusal, str] | None:
        trust_list = signed.trust_list
        signer = hashlib.sha256(signed.signer_certificate_der).digest()
        if signer not in self._signers.get(trust_list.jurisdiction, set()):
            return (
                Refusal.SIGNER_NOT_TRUSTED,
                f"signer is not a configured {trust_list.jurisdiction} list signer",
            )
        refused = self._verifier.algorithm_refusal(signed)
        if refused is not None:
            return Refusal.ALGORITHM_NOT_ALLOWED, f"the list's signature is refused: {refused}"
        if not self._verifier.signature_valid(signed):
            return Refusal.SIGNATURE_INVALID, "the signature does not verify over the canonical list"
        now = self._clock()
        if not self._verifier.signer_valid_at(signed, now):
            return Refusal.SIGNER_NOT_VALID, "the signer certificate is outside its validity period"
        if trust_list.issue_date > now:
            return Refusal.NOT_YET_ISSUED, "the list is dated in the future"
        unreadable = self._verifier.unreadable_certificates(trust_list)
        if unreadable:
            return (
                Refusal.BAD_SERVICE_CERTIFICATE,
                f"services {unreadable} carry no readable X.509 certificate",
            )
        return self._check_progression(signed)

    def _check_progression(self, signed: SignedTrustList) -> tuple[Refusal, str] | None:
        new = signed.trust_list
        current = self._lists.get(new.jurisdiction)
        if current is None:
            return None
        old = current.trust_list
        if new.sequence_number < old.sequence_number:
            return (
                Refusal.SEQUENCE_BACKWARDS,
                f"sequence {new.sequence_number} < loaded {old.sequence_number}",
            )
        if new.issue_date < old.issue_date:
            return Refusal.ISSUE_DATE_BACKWARDS, "issue date earlier than the loaded list"
        same_content = current.signing_input == signed.signing_input
        if new.sequence_number == old.sequence_number and not same_content:
            return Refusal.SEQUENCE_REUSED, f"sequence {new.sequence_number} already used for another list"
        return None
