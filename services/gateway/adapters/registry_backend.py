"""``PartnerBackend`` over the real registry (gRPC) and the binding service's pseudonyms.

The servicer in front has already checked the city's certificate, scope and rate; this module never
returns more than the arguments allow and shapes everything for the calling city. Limits, said once:

- Pending lists walk the city's authorities one after another (the page token carries which one and
  the registry's own token); each page is sorted by deadline, the whole list is not.
- Material content is not offered by the registry's contract, so ``include_material_content`` is
  refused (FAILED_PRECONDITION ``MATERIAL_CONTENT_UNAVAILABLE``) rather than silently left empty.
- A decision replayed on an application already in the decided state returns it unchanged; the
  registry itself is not idempotent on the city's ``request_id``.
- Subjects are found through applications that name them as *applicant* (the registry lists by
  applicant only); an investor who is not the applicant of any of the city's applications is NOT_FOUND.
- ``stream_events`` is not available yet (it needs a Kafka consumer per stream): FAILED_PRECONDITION.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence

from google.protobuf.message import Message

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import registry_service_pb2 as rs
from services.gateway.adapters.clients import jurisdiction_enum
from services.gateway.adapters.clients_registry import RegistryClient
from services.gateway.adapters.registry_backend_mapping import CityPseudonyms, partner_application
from services.gateway.domain.partner import CityGrants
from services.gateway.service_layer.binding import BindingService

PENDING = [app_pb.APPLICATION_STATE_SUBMITTED, app_pb.APPLICATION_STATE_UNDER_REVIEW]
_RPC = {
    pc.DECISION_APPROVE: "ApproveApplication",
    pc.DECISION_REJECT: "RejectApplication",
    pc.DECISION_RETURN: "ReturnApplication",
}
_DECIDED = {
    pc.DECISION_APPROVE: app_pb.APPLICATION_STATE_APPROVED,
    pc.DECISION_REJECT: app_pb.APPLICATION_STATE_REJECTED,
    pc.DECISION_RETURN: app_pb.APPLICATION_STATE_RETURNED,
}


class RegistryPartnerBackend:
    def __init__(self, registry: RegistryClient, bindings: BindingService, grants: CityGrants):
        self.registry = registry
        self.bindings = bindings
        self.grants = grants

    async def list_pending_applications(
        self, city: str, authority_codes: frozenset[str], page_size: int, page_token: str
    ) -> api.ListPendingApplicationsResponse:
        codes = sorted(authority_codes)
        index, inner = _read_token(page_token, len(codes))
        found: list[app_pb.Application] = []
        while index < len(codes) and len(found) < page_size:
            request = rs.ListApplicationsRequest(
                authority_code=codes[index], states=PENDING, page_size=page_size - len(found), page_token=inner
            )
            response = await self.registry("ListApplications", request)
            found.extend(response.applications)
            inner = response.next_page_token
            if not inner:
                index += 1
        mapped = [await self._shaped(city, app) for app in found]
        mapped.sort(key=lambda a: (a.deadline.seconds, a.deadline.nanos, a.application_id))
        token = _write_token(index, inner) if index < len(codes) else ""
        return api.ListPendingApplicationsResponse(applications=mapped, next_page_token=token)

    async def get_application(
        self, city: str, application_id: str, *, include_material_content: bool
    ) -> pc.PartnerApplication:
        app = await self.registry.application(application_id)
        if app.state == app_pb.APPLICATION_STATE_DRAFT:
            raise errors.NotFound("application", application_id)  # not handed in: no authority sees it yet
        if app.authority_code not in self.grants.authorities_of(city):
            # Only what the servicer needs to refuse: no people, no pseudonyms issued to this city.
            return pc.PartnerApplication(application_id=app.application_id, authority_code=app.authority_code)
        if include_material_content:
            raise errors.FailedPrecondition(
                "material content is not available through the gateway yet; the digests are",
                reason="MATERIAL_CONTENT_UNAVAILABLE",
            )
        return await self._shaped(city, app)

    async def decide_application(
        self, city: str, authority_code: str, request: api.DecideApplicationRequest
    ) -> pc.PartnerApplication:
        app = await self.registry.application(request.application_id)
        if app.state == _DECIDED[request.decision]:
            return await self._shaped(city, app)  # a replay of a decision already taken
        app_id, reviewer = app.application_id, request.reviewer_id or f"city-{city}"
        if app.state == app_pb.APPLICATION_STATE_SUBMITTED:
            start = rs.StartReviewRequest(application_id=app_id, reviewer_id=reviewer, authority_code=authority_code)
            await self.registry("StartReview", start)
        decision: Message
        if request.decision == pc.DECISION_APPROVE:
            decision = rs.ApproveApplicationRequest(
                application_id=app_id, reviewer_id=reviewer, authority_code=authority_code
            )
        elif request.decision == pc.DECISION_REJECT:
            decision = rs.RejectApplicationRequest(
                application_id=app_id, reviewer_id=reviewer, authority_code=authority_code, reason=request.reason
            )
        else:
            decision = rs.ReturnApplicationRequest(
                application_id=app_id, reviewer_id=reviewer, authority_code=authority_code, reason=request.reason,
                material_types_to_correct=list(request.material_types_to_correct),
            )  # fmt: skip
        response = await self.registry(_RPC[request.decision], decision)
        return await self._shaped(city, response.application)

    async def lookup_subject(self, city: str, pseudonym: str) -> pc.PartnerSubject:
        subject_id = await self.bindings.resolve_pseudonym(city, pseudonym)
        application_ids: list[str] = []
        for code in sorted(self.grants.authorities_of(city)):
            reference = pseudonym if code == city else await self.bindings.pseudonym_for(subject_id, code)
            request = rs.ListApplicationsRequest(authority_code=code, applicant_ref=reference, page_size=200)
            response = await self.registry("ListApplications", request)
            application_ids += [
                a.application_id for a in response.applications if a.state != app_pb.APPLICATION_STATE_DRAFT
            ]
        if not application_ids:
            raise errors.NotFound("subject", pseudonym)
        async with self.bindings.store.transaction() as repo:
            person = await repo.get(subject_id)
        return pc.PartnerSubject(
            pseudonym=pseudonym,
            home_jurisdiction=jurisdiction_enum(person.documents.jurisdiction),  # type: ignore[arg-type]
            name=" ".join(n for n in (person.name_zh, person.name_en) if n),
            date_of_birth=person.date_of_birth.isoformat(),
            application_ids=application_ids,
        )

    async def stream_events(
        self, city: str, authority_codes: frozenset[str], resume_after: str, types: Sequence[str]
    ) -> AsyncIterator[pc.PartnerEvent]:
        raise errors.FailedPrecondition(
            "the partner event stream is not available yet; poll ListPendingApplications",
            reason="EVENT_STREAM_UNAVAILABLE",
        )
        yield pc.PartnerEvent()  # pragma: no cover - makes this an async generator, as the port expects

    async def _shaped(self, city: str, app: app_pb.Application) -> pc.PartnerApplication:
        return await partner_application(app, CityPseudonyms(self.bindings, city, app.authority_code))


def _write_token(index: int, inner: str) -> str:
    return base64.urlsafe_b64encode(f"{index}:{inner}".encode()).decode()


def _read_token(token: str, authorities: int) -> tuple[int, str]:
    if not token:
        return 0, ""
    try:
        index_text, _, inner = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        index = int(index_text)
    except ValueError:
        raise errors.InvalidInput.field("page_token", "not a token this service issued") from None
    if not 0 <= index < authorities:
        raise errors.InvalidInput.field("page_token", "not a token this service issued")
    return index, inner
