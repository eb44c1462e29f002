"""``PartnerBackend`` over the real registry (gRPC) and the binding service's pseudonyms.

The servicer in front has already checked the city's certificate, scope and rate; this module never
returns more than the arguments allow and shapes everything for the calling city. Limits, said once:

- Pending lists walk the city's authorities one after another (the page token carries which one and
  the registry's own token); each page is sorted by deadline, the whole list is not.
- Material content is read from the registry (``GetMaterialContent``, as the application's authority,
  piece by piece so no message passes gRPC's default limit) only for the materials asked for, only
  when their listed sizes together fit ``max_content_bytes`` (else FAILED_PRECONDITION
  ``CONTENT_TOO_LARGE``), and each is checked against the digest the city was shown.
- A decision replayed on an application already in the decided state returns it unchanged; the
  registry itself is not idempotent on the city's ``request_id``.
- Subjects are found through applications that name them as *applicant* (the registry lists by
  applicant only); an investor who is not the applicant of any of the city's applications is NOT_FOUND.
- ``stream_events`` reads the registry's topic with a consumer of its own per stream (``partner/adapters/events``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import AsyncIterator, Sequence

from google.protobuf.message import Message

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import registry_service_pb2 as rs
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.clients.calls import jurisdiction_enum
from services.gateway.clients.registry import RegistryClient
from services.gateway.partner.adapters.events import PartnerEventStream
from services.gateway.partner.adapters.registry_backend_mapping import CityPseudonyms, partner_application
from services.gateway.partner.domain.cities import CityGrants

PENDING = [app_pb.APPLICATION_STATE_SUBMITTED, app_pb.APPLICATION_STATE_UNDER_REVIEW]
DEFAULT_MAX_CONTENT_BYTES = 12 * 1024 * 1024  # one partner answer stays under the 16 MiB message limit
CONTENT_PIECE_BYTES = 1024 * 1024
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
    def __init__(
        self, registry: RegistryClient, bindings: BindingService, grants: CityGrants, *,
        max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
    ):  # fmt: skip
        self.registry = registry
        self.bindings = bindings
        self.grants = grants
        self.max_content_bytes = max_content_bytes

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
        shaped = await self._shaped(city, app)
        if include_material_content:  # every material; the servicer reads the ones asked for itself
            await self.read_material_contents(city, shaped, ())
        return shaped

    async def read_material_contents(
        self, city: str, application: pc.PartnerApplication, material_ids: Sequence[str]
    ) -> int:
        """Fill in the content of ``material_ids`` (all when empty); the number of bytes filled in."""
        self.grants.check_authority(city, application.authority_code)  # the servicer did too; never widen
        listed = {m.material_id: m for m in application.materials}
        for index, material_id in enumerate(material_ids):
            if material_id not in listed:
                raise errors.InvalidInput.field(f"material_ids[{index}]", "not a current material of this application")
        wanted = [listed[i] for i in dict.fromkeys(material_ids)] if material_ids else list(listed.values())
        total = sum(m.size_bytes for m in wanted)
        if total > self.max_content_bytes:
            raise errors.FailedPrecondition(
                f"the contents asked for come to {total} bytes, more than the {self.max_content_bytes} one answer "
                "may carry; ask for fewer material_ids",
                reason="CONTENT_TOO_LARGE",
            )
        for material in wanted:
            material.content = await self._content(application, material)
        return total

    async def _content(self, application: pc.PartnerApplication, material: pc.PartnerMaterial) -> bytes:
        pieces: list[bytes] = []
        offset = 0
        while offset < material.size_bytes:
            request = rs.GetMaterialContentRequest(
                application_id=application.application_id, material_id=material.material_id,
                authority_code=application.authority_code, offset=offset, max_bytes=CONTENT_PIECE_BYTES,
            )  # fmt: skip
            piece = (await self.registry("GetMaterialContent", request)).content
            if not piece:
                break
            pieces.append(piece)
            offset += len(piece)
        content = b"".join(pieces)
        if len(content) != material.size_bytes or hashlib.sha256(content).digest() != material.sha256:
            raise errors.Aborted(
                f"material {material.material_id} changed while it was read; ask again", reason="MATERIAL_CHANGED"
            )
        return content

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

    # Set by bootstrap (the registry's topic through ``baylink.ops``); None: the stream is refused.
    event_stream: PartnerEventStream | None = None

    async def stream_events(
        self, city: str, authority_codes: frozenset[str], resume_after: str, types: Sequence[str]
    ) -> AsyncIterator[pc.PartnerEvent]:
        if self.event_stream is None:
            raise errors.FailedPrecondition(
                "the partner event stream is not configured; poll ListPendingApplications",
                reason="EVENT_STREAM_UNAVAILABLE",
            )
        async with contextlib.aclosing(self.event_stream.stream(city, authority_codes, resume_after, types)) as events:
            async for event in events:
                yield event

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
