"""What the use cases need from the outside world; adapters implement these."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from services.registry.domain.application import Application, Licence, State
from services.registry.domain.names import NameKey


@dataclass(frozen=True)
class ApplicationFilter:
    authority_code: str = ""
    states: tuple[State, ...] = ()
    applicant_ref: str = ""
    catalogue_item_id: str = ""
    overdue_only: bool = False


class Applications(Protocol):
    async def get(self, application_id: str) -> Application: ...
    async def add(self, app: Application) -> None: ...
    async def save(self, app: Application) -> None: ...
    async def by_payment_reference(self, reference: str) -> Application | None: ...
    async def past_deadline(self, now: datetime, limit: int) -> list[str]: ...
    async def page(
        self, where: ApplicationFilter, size: int, after: tuple[datetime, str] | None
    ) -> list[Application]: ...
    async def store_content(self, application_id: str, material_id: str, sha256: bytes, content: bytes) -> None: ...
    async def content(self, material_id: str) -> bytes: ...
    async def draft_for_request(self, request_id: str) -> tuple[str, str] | None: ...
    async def remember_request(self, request_id: str, application_id: str, fingerprint: str) -> None:
        """ABORTED when the same request id was remembered meanwhile (a racing retry)."""


class Names(Protocol):
    async def reserve(self, key: NameKey, full_name: str, application_id: str, until: datetime, now: datetime) -> None:
        """Reserve the name for the application; AlreadyExists when another holds it."""

    async def release(self, application_id: str) -> None: ...
    async def register(self, application_id: str) -> None: ...


class Registrations(Protocol):
    async def next_sequence(self, division_code: str) -> int:
        """The next number of the division's sequence, in the caller's transaction (no gaps)."""

    async def add_licence(self, application_id: str, licence: Licence, sequence: int) -> None: ...


class Work(Protocol):
    @property
    def applications(self) -> Applications: ...
    @property
    def names(self) -> Names: ...
    @property
    def registrations(self) -> Registrations: ...
    @property
    def evidence(self) -> EvidenceStore: ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[Work]:
        """A transaction: state and the events of the applications it touched commit together."""

    def reading(self) -> AbstractAsyncContextManager[Work]:
        """Reads only, outside any transaction: each read sees the latest committed state."""


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TRY_LATER = "try_later"


@dataclass(frozen=True)
class ValidationData:
    """What the identity service validated the signer with (DER items): kept beside the signature (B-LT)."""

    certificates: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SignatureCheck:
    """The identity service's answer about one signature, reduced to what the registry needs."""

    verdict: Verdict
    signer_certificate_sha256: str
    detail: str  # sub-indication or reason, for the refusal message
    claimed_signing_time: datetime | None = None
    validation_data: ValidationData = ValidationData()
    proven_signing_time: datetime | None = None  # set when a trusted signature time-stamp proves it


class SignatureVerifier(Protocol):
    async def verify(self, cms_signature: bytes, document: bytes) -> SignatureCheck:
        """Have the identity service verify a detached signature over the document (sent as its digest),
        with the validation data its verdict rests on."""

    async def verify_pdf(self, document: bytes) -> list[SignatureCheck]:
        """Have the identity service verify every signature of a signed PDF (PAdES), one check each in
        revision order; a PDF identity cannot read gives one FAILED check saying why."""


@dataclass(frozen=True)
class Stamped:
    """A CMS signature with a signature-time-stamp token over its signature value (CAdES B-T)."""

    cms_signature: bytes  # the SignedData with the token as the unsigned attribute signatureTimeStampToken
    token: bytes  # the token alone, DER ContentInfo
    gen_time: datetime  # the time the TSA states (proven once the token is validated)


class SignatureTimeStamper(Protocol):
    async def stamp(self, cms_signature: bytes) -> Stamped:
        """Obtain an RFC 3161 token over the first SignerInfo's signature value and add it as an unsigned
        attribute. errors.Unavailable (reason TSA_UNAVAILABLE) when the TSA cannot give one."""


@dataclass(frozen=True)
class PdfSignature:
    """One signature of a signed PDF taken apart: a detached CMS and the bytes of its /ByteRange."""

    cms_signature: bytes
    covered: bytes


@dataclass(frozen=True)
class SignatureEvidence:
    """Everything kept beside one stored signature so it can be judged again offline (CAdES B-LT)."""

    application_id: str
    material_id: str
    signer_ref: str
    certificate_sha256: str
    stamped: Stamped
    validation_data: ValidationData
    stored_at: datetime


class EvidenceStore(Protocol):
    async def put(self, evidence: SignatureEvidence) -> None:
        """Replace the evidence of the same material and signer."""

    async def of_application(self, application_id: str) -> list[SignatureEvidence]: ...
