"""Use cases of identity binding: bind a person, give a city its pseudonym, resolve one, read the subject.

``bind`` applies the domain's rules first (nothing is stored for a refused person), then, in one
unit of work, finds the person by the blind indexes of their document numbers, links new
documents or creates the binding, ties the certificate to it and records the pseudonyms handed
out. Every decision, bound or refused, goes to the decision sink (the audit log) without
personal data. A race between two first bindings of one person ends in one binding: the loser's
insert hits the document index's primary key and the whole unit of work is retried, finding the
winner's record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from baylink import errors
from services.gateway.binding.domain.merge import merge_into
from services.gateway.binding.domain.model import (
    BindingPolicy,
    CertificateFacts,
    DeclaredPerson,
    Documents,
    MainlandSubject,
    PersonRecord,
    Refusal,
    SubjectKind,
    VerifiedDocuments,
    denied,
    invalid,
    precondition,
    refusal_of,
    subject_of,
)
from services.gateway.binding.domain.verify import VerifiedPerson, normalise_fingerprint, verify_person
from services.gateway.binding.service_layer.ports import (
    BindingDecision,
    BindingRepository,
    BindingStore,
    DecisionSink,
    Pseudonyms,
)
from services.gateway.partner.domain.cities import PARTNER_CITIES


@dataclass(frozen=True)
class BindingResult:
    """A successful binding. ``pseudonyms`` holds one pseudonym per city asked for."""

    subject_id: str
    subject_kind: SubjectKind
    jurisdiction: str
    created: bool
    pseudonyms: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()


async def _no_sink(_decision: BindingDecision) -> None:
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BindingService:
    """Identity binding over a ``BindingStore``; ``pseudonyms`` computes what cities see.

    ``cities`` are the city codes pseudonyms may be issued for (default: every partner city);
    ``today`` bounds the birth date embedded in a residence permit (default: today in China);
    ``on_decision`` receives every decision for the audit log.
    """

    def __init__(
        self,
        store: BindingStore,
        pseudonyms: Pseudonyms,
        *,
        policy: BindingPolicy | None = None,
        cities: Collection[str] | None = None,
        on_decision: DecisionSink | None = None,
        clock: Callable[[], datetime] = _utc_now,
        today: Callable[[], date | None] = lambda: None,
        max_attempts: int = 3,
    ):
        self.store = store
        self._pseudonym = pseudonyms
        self.policy = policy or BindingPolicy()
        self.cities = frozenset(PARTNER_CITIES if cities is None else cities)
        self._on_decision = _no_sink if on_decision is None else on_decision
        self._clock = clock
        self._today = today
        self._max_attempts = max_attempts

    async def bind(
        self,
        documents: Documents,
        declared: DeclaredPerson,
        certificate: CertificateFacts,
        *,
        cities: Sequence[str] = (),
    ) -> BindingResult:
        """Bind the person, or refuse with InvalidInput / FailedPrecondition / PermissionDenied."""
        try:
            self._check_cities(cities)
            person = verify_person(documents, declared, certificate, self.policy, today=self._today())
            result = await self._bind_with_retries(person, declared, cities)
        except errors.BaylinkError as refusal:
            await self._on_decision(self._refused(refusal, certificate))
            raise
        await self._on_decision(
            BindingDecision(
                outcome="bound",
                at=self._clock(),
                jurisdiction=result.jurisdiction,
                subject_id=result.subject_id,
                subject_kind=result.subject_kind.value,
                created=result.created,
                changes=result.changes,
                certificate_ref=self.store.certificate_ref(person.certificate_fingerprint),
            )
        )
        return result

    async def pseudonym_for(self, subject_id: str, city_code: str) -> str:
        """The city's pseudonym for a bound subject, recorded so the city can be answered about it later."""
        self._check_cities([city_code])
        async with self.store.transaction() as repo:
            record = await repo.get(subject_id)
            return await self._issue(repo, record, city_code)

    async def resolve_pseudonym(self, city_code: str, pseudonym: str) -> str:
        """The subject id behind a pseudonym this city was given; NotFound otherwise (also for another
        city's pseudonym, so a city cannot probe who exists elsewhere)."""
        async with self.store.transaction() as repo:
            subject_id = await repo.subject_for_pseudonym(city_code, pseudonym)
        if subject_id is None:
            raise errors.NotFound("subject", pseudonym)
        return subject_id

    async def subject_number(self, subject_id: str) -> MainlandSubject:
        """Decrypt the mainland subject, for the gateway's calls to mainland services only."""
        record = await self.store.record(subject_id)
        return MainlandSubject(record.subject_kind, record.subject_number)

    async def documents(self, subject_id: str) -> VerifiedDocuments:
        """Decrypt every document bound to the subject (e.g. a residence permit linked after the
        subject was fixed to the travel permit), for the gateway's calls to mainland services only."""
        return (await self.store.record(subject_id)).documents

    async def reseal_stale(self, limit: int = 100) -> int:
        """Re-seal up to ``limit`` records still under an older key with the current one; returns how many."""
        async with self.store.transaction() as repo:
            stale = await repo.sealed_under_other_keys(limit)
            now = self._clock()
            for subject_id in stale:
                await repo.save(await repo.get(subject_id), now)
        return len(stale)

    def _check_cities(self, cities: Sequence[str]) -> None:
        for index, city in enumerate(cities):
            if city not in self.cities:
                raise invalid(Refusal.UNKNOWN_CITY, f"cities[{index}]", "is not a partner city")

    async def _bind_with_retries(
        self, person: VerifiedPerson, declared: DeclaredPerson, cities: Sequence[str]
    ) -> BindingResult:
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self.store.transaction() as repo:
                    return await self._bind_once(repo, person, declared, cities)
            except errors.Aborted:
                if attempt == self._max_attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _bind_once(
        self, repo: BindingRepository, person: VerifiedPerson, declared: DeclaredPerson, cities: Sequence[str]
    ) -> BindingResult:
        now = self._clock()
        found = await repo.subjects_for(person.documents.numbers())
        owners = set(found.values())
        if len(owners) > 1:
            raise precondition(
                Refusal.DOCUMENTS_BOUND_TO_DIFFERENT_PEOPLE,
                "documents",
                "these documents are bound to more than one person; ask staff to check them",
            )
        holder = await repo.certificate_owner(person.certificate_fingerprint)
        if holder is not None and holder not in owners:
            # Each read sees the latest commit (PostgreSQL's read committed): a racing first binding of
            # this person may have committed between the two. Its documents are then there now.
            if holder in (await repo.subjects_for(person.documents.numbers())).values():
                raise errors.Aborted("the binding changed meanwhile; retry", reason="BINDING_RACE")
            raise denied(Refusal.CERTIFICATE_BOUND_TO_ANOTHER_PERSON, "this certificate identifies another person")
        if owners:
            record = await repo.get(owners.pop())
            changes = merge_into(record, person.documents, declared)
            if changes:
                await repo.save(record, now)
            created = False
        else:
            record = self._new_record(person, declared)
            await repo.add(record, now)
            changes, created = (), True
        await repo.link_certificate(
            record.subject_id, person.certificate_fingerprint, person.certificate_jurisdiction, now
        )
        pseudonyms = {city: await self._issue(repo, record, city) for city in cities}
        return BindingResult(
            record.subject_id, record.subject_kind, record.documents.jurisdiction, created, pseudonyms, changes
        )

    async def _issue(self, repo: BindingRepository, record: PersonRecord, city: str) -> str:
        pseudonym = self._pseudonym(city, record.subject_number)
        await repo.record_pseudonym(record.subject_id, city, pseudonym, self._clock())
        return pseudonym

    @staticmethod
    def _new_record(person: VerifiedPerson, declared: DeclaredPerson) -> PersonRecord:
        subject = subject_of(person.documents)
        return PersonRecord(
            subject_id=str(uuid.uuid4()),
            subject_kind=subject.kind,
            subject_number=subject.number,
            documents=person.documents,
            name_zh=declared.name_zh.strip() if declared.name_zh and declared.name_zh.strip() else None,
            name_en=declared.name_en.strip() if declared.name_en and declared.name_en.strip() else None,
            date_of_birth=declared.date_of_birth,
        )

    def _refused(self, error: errors.BaylinkError, certificate: CertificateFacts) -> BindingDecision:
        try:
            ref = self.store.certificate_ref(normalise_fingerprint(certificate.fingerprint))
        except errors.InvalidInput:
            ref = ""  # the fingerprint itself was the problem
        return BindingDecision(
            outcome="refused",
            at=self._clock(),
            jurisdiction=certificate.jurisdiction if isinstance(certificate.jurisdiction, str) else "",
            refusal=refusal_of(error) or "",
            error_reason=error.reason,
            certificate_ref=ref,
        )
