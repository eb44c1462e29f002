"""What the identity use cases need from the outside world; bootstrap wires in what implements it.

Certificates travel as parsed asn1crypto objects: that library is the use cases' vocabulary for
X.509, as `datetime` is for time. Parsing caller bytes, checking signatures, validating paths and
storing lists happen outside, reached through the Protocols below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from asn1crypto import x509

from baylink.runtime.events import CloudEvent
from services.identity.domain.judgement import PathFacts, PathFailure
from services.identity.domain.pdf import (
    ByteCoverage,
    FoundTimestamp,
    ModificationFacts,
    SignatureKind,
)
from services.identity.domain.policy import RevocationMode
from services.identity.domain.report import Reason, SignatureReport, ValidationData, ValidationReport
from services.identity.domain.trustlist import TrustList
from services.identity.domain.trustlist_codec import SignedTrustList


class CertificateReader(Protocol):
    """Caller bytes to parsed certificates (InvalidInput naming `field` when they are not), and the
    facts the use cases read off them."""

    def load_certificate(self, data: bytes, field: str) -> x509.Certificate: ...
    def load_certificates(self, items: Sequence[bytes], field: str) -> list[x509.Certificate]: ...
    def fingerprint(self, certificate: x509.Certificate) -> str: ...
    def validity(self, certificate: x509.Certificate) -> tuple[datetime, datetime]:
        """(not before, not after)."""


class PathEngine(Protocol):
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
        """RFC 5280 path validation to one of `anchors` at `moment`, revocation included, within the
        deadline; revocation information issued more than `max_revocation_age` ago does not count.
        `known`: validation data the signed document carries (a PDF's DSS), used beside fetching."""


@dataclass(frozen=True)
class SignatureCheck:
    """What the cryptographic check of one signature found (the signer is not validated yet)."""

    signer: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    signing_time: datetime | None
    digest_algorithm: str
    signature_algorithm: str
    failure: Reason | None  # None: the signature verifies over the document
    detail: str = ""
    # Unsigned attributes of a CMS signature: its signature time-stamp tokens (DER), the signature
    # value they are over, and whether it carries long-term validation data.
    timestamp_tokens: tuple[bytes, ...] = ()
    signature_value: bytes = b""
    carries_validation_data: bool = False


@dataclass(frozen=True)
class TokenCheck:
    """What the cryptographic check of one RFC 3161 time-stamp token found (its TSA not yet validated)."""

    tsa: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    gen_time: datetime | None
    failure: Reason | None  # None: a well-formed token over the data, signed by `tsa`, a TSA certificate
    detail: str = ""
    digest_algorithm: str = ""


class SignatureChecks(Protocol):
    """Cryptographic checks of detached CMS signatures, of raw signatures over a digest and of
    RFC 3161 time-stamp tokens."""

    def read_detached_cms(self, data: bytes, field: str) -> Any:
        """The signature parsed strictly, for `check_cms` (what it holds is the implementation's business)."""

    def check_cms(
        self,
        parsed: Any,
        document_digest: bytes | None,
        document: bytes | None,
        extra_certificates: list[x509.Certificate],
    ) -> SignatureCheck: ...

    def check_raw(
        self,
        signature: bytes,
        document_digest: bytes,
        digest_algorithm: str,
        signature_algorithm: str,
        signer: x509.Certificate,
    ) -> Reason | None:
        """None when the signature verifies; InvalidInput for algorithms or digests that do not fit."""

    def check_token(self, token: bytes, imprint_data: bytes, extra_certificates: list[x509.Certificate]) -> TokenCheck:
        """An RFC 3161 token checked as a time-stamp over `imprint_data`; never raises for a bad token."""


@dataclass(frozen=True)
class FoundPdfSignature:
    """One filled signature field of a PDF, as read (nothing judged yet but coverage and changes)."""

    field_name: str
    kind: SignatureKind
    cms: bytes  # DER ContentInfo: a detached SignedData, or for a document timestamp the token
    signed_content: bytes  # the bytes of the byte range, in order
    coverage: ByteCoverage
    modifications: ModificationFacts
    timestamps: tuple[FoundTimestamp, ...]  # signature timestamps (unsigned attributes)
    claimed_signing_time: datetime | None
    sub_filter: str
    signer: str  # the signer certificate's subject, "" if the CMS names none it carries
    dss_covers_signer: bool = False  # the PDF's DSS holds an OCSP response or CRL for the signer's certificate


@dataclass(frozen=True)
class PdfFacts:
    signatures: tuple[FoundPdfSignature, ...]  # in the order of the revisions they sign
    revisions: int
    file_bytes: int
    dss: ValidationData | None = None  # the Document Security Store of the last revision, if any
    dss_revision: int | None = None  # the first revision whose catalog has a /DSS (1 is the original)


class PdfSignatureReader(Protocol):
    def read(self, data: bytes, field: str) -> PdfFacts:
        """Every filled signature field of the PDF `data`; InvalidInput naming `field` for what is
        not a readable, unencrypted PDF with at least one signature within the limits."""


class ListSignatureVerifier(Protocol):
    """Checks a decoded trust-list document's signature and its signer certificate."""

    def signature_valid(self, signed: SignedTrustList) -> bool: ...
    def algorithm_refusal(self, signed: SignedTrustList) -> str | None:
        """Why the algorithm catalogue refuses the list's signature algorithm or key; None if it does not."""

    def signer_valid_at(self, signed: SignedTrustList, moment: datetime) -> bool: ...
    def unreadable_certificates(self, trust_list: TrustList) -> list[int]: ...


class TrustListRepository(Protocol):
    """The signed trust lists in force, persisted so the last good list survives a restart."""

    async def save(self, trust_list: TrustList, document: bytes, events: Sequence[CloudEvent]) -> None:
        """Replace the jurisdiction's stored list with `document`, with its events, in one transaction."""

    async def load_all(self) -> list[bytes]: ...

    async def load_changed(self, in_force: dict[str, int]) -> list[bytes]:
        """The stored lists whose sequence number is not the one in force here (by jurisdiction)."""


class IdentityFacts(Protocol):
    """The fact events of the use cases (fingerprints, jurisdictions and outcomes only)."""

    def certificate_validated(self, fingerprint: str, report: ValidationReport) -> CloudEvent: ...
    def signature_verified(self, report: SignatureReport, document_digest: bytes) -> CloudEvent: ...
    def trust_list_updated(self, trust_list: TrustList, digest: bytes) -> CloudEvent: ...
