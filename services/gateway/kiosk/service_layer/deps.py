"""What every kiosk use case shares: its dependencies, the people of the session under the pseudonyms
the registry knows them by, and which applications a session may touch.

The registry knows a person by the pseudonym of the application's authority (Nanhai's pseudonym for
a Nanhai application), so an application belongs to a session when its applicant is the authority's
pseudonym of someone identified in that session. Anything else is NOT_FOUND: a kiosk cannot probe
whether another person's application exists.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from baylink import errors
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.kiosk.service_layer.access import KioskAccess
from services.gateway.kiosk.service_layer.model import ApplicationView
from services.gateway.kiosk.service_layer.ports import CertificateValidator, PaymentsPort, RegistryPort
from services.gateway.kiosk.service_layer.possession import ChallengeStore
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson, KioskSession

PayerPseudonym = Callable[[str], Awaitable[str]]
"""subject id → the keyed pseudonym payments counts per-person limits on."""


class ApplicationOwners:
    """What never changes about an application the gateway has seen: the authority it is filed with
    and its applicant (that authority's pseudonym of the person who drafted it). A command on an
    application then checks that it is the session's without reading it from the registry first
    (which checks the applicant again). Bounded: the least recently used are forgotten, and read
    again when next needed. Per replica; nothing here can go stale, so nothing is shared."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def remember(self, app: ApplicationView) -> None:
        self._known[app.application_id] = (app.authority_code, app.applicant_ref)
        self._known.move_to_end(app.application_id)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)

    def get(self, application_id: str) -> tuple[str, str] | None:
        """(authority code, applicant reference), or None for an application not seen (or forgotten)."""
        known = self._known.get(application_id)
        if known is not None:
            self._known.move_to_end(application_id)
        return known


@dataclass
class KioskDeps:
    access: KioskAccess
    identity: CertificateValidator
    registry: RegistryPort
    payments: PaymentsPort
    bindings: BindingService
    payer_pseudonym: PayerPseudonym
    payer_participants: Mapping[str, str]  # kiosk currency → paying participant
    fee_collector: Callable[[str], str]  # authority code → collecting participant
    challenges: ChallengeStore  # identify's proof-of-possession nonces
    max_persons_per_session: int = 10
    max_material_bytes: int = 10 * 1024 * 1024
    max_quotes_per_session: int = 20  # each quote is kept (sealed) in the session row: bounded
    owners: ApplicationOwners = field(default_factory=ApplicationOwners)


async def pseudonym(deps: KioskDeps, person: IdentifiedPerson, city: str) -> str:
    """The person's pseudonym for ``city`` (issued once by the binding service, then cached in the session)."""
    known = person.pseudonyms.get(city)
    if known is None:
        known = person.pseudonyms[city] = await deps.bindings.pseudonym_for(person.subject_id, city)
    return known


async def owner_of(deps: KioskDeps, session: KioskSession, app: ApplicationView) -> IdentifiedPerson:
    """The session's person who is the application's applicant; NotFound when there is none."""
    return await _applicant_in(deps, session, app.application_id, app.authority_code, app.applicant_ref)


async def _applicant_in(
    deps: KioskDeps, session: KioskSession, application_id: str, authority_code: str, applicant_ref: str
) -> IdentifiedPerson:
    for person in session.persons.values():
        if await pseudonym(deps, person, authority_code) == applicant_ref:
            return person
    raise errors.NotFound("application", application_id)


async def own_application(
    deps: KioskDeps, session: KioskSession, application_id: str
) -> tuple[ApplicationView, IdentifiedPerson]:
    """The application as the registry has it now, and the session's person who is its applicant."""
    if not session.persons:
        raise errors.NotFound("application", application_id)  # nobody identified: nothing is theirs
    app = await deps.registry.get(application_id)
    deps.owners.remember(app)
    return app, await owner_of(deps, session, app)


async def own_applicant(deps: KioskDeps, session: KioskSession, application_id: str) -> tuple[str, IdentifiedPerson]:
    """For a command on the session's application: its applicant reference and the session's person
    it is, from what the gateway has seen of the application (``ApplicationOwners``), else read
    once. NotFound as ``own_application``: a kiosk cannot tell another person's application from
    none."""
    if not session.persons:
        raise errors.NotFound("application", application_id)
    known = deps.owners.get(application_id)
    if known is None:
        app, person = await own_application(deps, session, application_id)
        return app.applicant_ref, person
    authority_code, applicant_ref = known
    return applicant_ref, await _applicant_in(deps, session, application_id, authority_code, applicant_ref)


def signers_of(session: KioskSession, app: ApplicationView, signatories: tuple[str, ...]) -> dict[str, list[str]]:
    """Handle → roles of the session's people who must sign a material with these signatories."""
    roles: dict[str, list[str]] = {}
    for person in session.persons.values():
        fingerprint = person.certificate_sha256
        if "investors" in signatories and fingerprint in app.investor_certificates:
            roles.setdefault(person.handle, []).append("investor")
        if "legal_representative" in signatories and fingerprint == app.legal_representative_certificate:
            roles.setdefault(person.handle, []).append("legal_representative")
    return roles
