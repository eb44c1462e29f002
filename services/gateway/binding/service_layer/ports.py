"""What the binding service needs from storage and from the audit log (implemented in adapters)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.gateway.binding.domain.model import PersonRecord


class BindingRepository(Protocol):
    """One unit of work's view of the bindings. Records come and go in clear; sealing is the adapter's."""

    async def subjects_for(self, numbers: Mapping[str, str]) -> dict[str, str]:
        """For each (document kind → normalised number) already bound: kind → subject id."""
        ...

    async def get(self, subject_id: str) -> PersonRecord:
        """The record (NotFound if there is none); ``CiphertextRejected`` if it does not authenticate."""
        ...

    async def add(self, record: PersonRecord, now: datetime) -> None:
        """Store a new person; Aborted if a concurrent binding took one of the documents first."""
        ...

    async def save(self, record: PersonRecord, now: datetime) -> None:
        """Store a changed person (Aborted if someone else changed it since ``get``)."""
        ...

    async def certificate_owner(self, fingerprint: str) -> str | None: ...

    async def link_certificate(self, subject_id: str, fingerprint: str, jurisdiction: str, now: datetime) -> None: ...

    async def record_pseudonym(self, subject_id: str, city_code: str, pseudonym: str, now: datetime) -> None:
        """Remember that ``city_code`` was given ``pseudonym`` for this subject (idempotent)."""
        ...

    async def subject_for_pseudonym(self, city_code: str, pseudonym: str) -> str | None: ...

    async def sealed_under_other_keys(self, limit: int) -> list[str]:
        """Subject ids of records not sealed under the current key (oldest first)."""
        ...


class BindingStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[BindingRepository]:
        """A unit of work: everything done through the repository commits together or not at all."""
        ...

    async def record(self, subject_id: str) -> PersonRecord:
        """One person's record, read on its own (no unit of work); NotFound if there is none."""
        ...

    def certificate_ref(self, fingerprint: str) -> str:
        """A reference to a certificate that is safe to audit (a keyed digest, not the fingerprint)."""
        ...


Pseudonyms = Callable[[str, str], str]
"""(city code, subject number) → that city's pseudonym for the subject."""


@dataclass(frozen=True)
class BindingDecision:
    """One binding decision, as the audit log gets it: no number, name or date of birth.

    ``outcome`` is ``"bound"`` or ``"refused"``; ``refusal`` the refusal code when refused;
    ``certificate_ref`` a keyed digest of the certificate's fingerprint (empty if it was unusable).
    """

    outcome: str
    at: datetime
    jurisdiction: str = ""
    subject_id: str = ""
    subject_kind: str = ""
    created: bool = False
    changes: tuple[str, ...] = ()
    refusal: str = ""
    error_reason: str = ""
    certificate_ref: str = ""


DecisionSink = Callable[[BindingDecision], Awaitable[None]]
