"""``baylink.gateway.v1.PartnerCityService``: thin. Each method names its scope, identifies the city
from its certificate, lets ``PartnerAccess`` check and audit, and delegates to the backend.

Another city's application is PERMISSION_DENIED (reason ``AUTHORITY_NOT_SERVED``), as the issue
asks; the contract's comment prefers NOT_FOUND so that a city cannot probe what exists elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from grpc import aio

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.events import EventTypes
from services.gateway.partner.adapters.events import subjects_of
from services.gateway.partner.domain.cities import Scope
from services.gateway.partner.entrypoints.mtls import CityCallers
from services.gateway.partner.entrypoints.ports import PartnerBackend
from services.gateway.partner.service_layer.access import PartnerAccess, PartnerCall

SERVICE = api.DESCRIPTOR.services_by_name["PartnerCityService"]
SERVICE_NAME = SERVICE.full_name
METHOD_SCOPES: dict[str, Scope] = {
    "ListPendingApplications": Scope.READ_APPLICATIONS,
    "GetApplication": Scope.READ_APPLICATIONS,
    "DecideApplication": Scope.DECIDE_APPLICATIONS,
    "LookupSubject": Scope.READ_SUBJECTS,
    "StreamEvents": Scope.READ_EVENTS,
}
if set(METHOD_SCOPES) != set(SERVICE.methods_by_name):  # a new RPC must be given a scope before it serves
    raise RuntimeError("PartnerCityService methods and METHOD_SCOPES differ")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


class PartnerCityServicer(api_grpc.PartnerCityServiceServicer):
    def __init__(self, access: PartnerAccess, backend: PartnerBackend, callers: CityCallers):
        self.access = access
        self.backend = backend
        self.callers = callers
        self.event_types = EventTypes.from_contracts()

    def register(self, server: aio.Server) -> None:
        api_grpc.add_PartnerCityServiceServicer_to_server(self, server)

    @asynccontextmanager
    async def _call(self, context: aio.ServicerContext, method: str) -> AsyncIterator[PartnerCall]:
        try:
            caller = self.callers.caller_of(context)
        except errors.Unauthenticated as exc:
            await self.access.refused(f"partner.{method}", exc)
            raise
        async with self.access.call(caller, f"partner.{method}", METHOD_SCOPES[method]) as call:
            yield call

    async def ListPendingApplications(
        self, request: api.ListPendingApplicationsRequest, context: aio.ServicerContext
    ) -> api.ListPendingApplicationsResponse:
        async with self._call(context, "ListPendingApplications") as call:
            codes = call.authorities
            if request.authority_code:
                call.authorise_authority(request.authority_code)
                codes = frozenset({request.authority_code})
            if request.page_size < 0:
                raise errors.InvalidInput.field("page_size", "must not be negative")
            size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            response = await self.backend.list_pending_applications(call.city, codes, size, request.page_token)
            # Never pass on what the city may not see, even if the backend were wrong.
            if any(a.authority_code not in codes for a in response.applications):
                raise RuntimeError("backend listed applications of authorities outside the request")
            call.note(returned=len(response.applications))
            return response

    async def GetApplication(
        self, request: api.GetApplicationRequest, context: aio.ServicerContext
    ) -> api.GetApplicationResponse:
        async with self._call(context, "GetApplication") as call:
            with_content = request.include_material_content
            if with_content:
                self.access.grants.check_scope(call.city, Scope.READ_MATERIALS)
            elif request.material_ids:
                raise errors.InvalidInput.field("material_ids", "only with include_material_content")
            app = await self._authorised_application(call, request.application_id, False)
            # Counted before anything is disclosed, the documents included.
            await call.read_subjects(app.applicant_pseudonym, app.legal_representative_pseudonym)
            if with_content:
                size = await self.backend.read_material_contents(call.city, app, list(request.material_ids))
                call.note(materials_read=sum(1 for m in app.materials if m.content), content_bytes=size)
            return api.GetApplicationResponse(application=app)

    async def DecideApplication(
        self, request: api.DecideApplicationRequest, context: aio.ServicerContext
    ) -> api.DecideApplicationResponse:
        async with self._call(context, "DecideApplication") as call:
            if not request.request_id:
                raise errors.InvalidInput.field("request_id", "required (the idempotency key)")
            if request.decision == pc.DECISION_UNSPECIFIED or request.decision not in pc.Decision.values():
                raise errors.InvalidInput.field("decision", "APPROVE, REJECT or RETURN")
            call.note(
                request_id=request.request_id,
                decision=pc.Decision.Name(request.decision),
                reviewer_id=request.reviewer_id,
            )
            current = await self._authorised_application(call, request.application_id, False)
            decided = await self.backend.decide_application(call.city, current.authority_code, request)
            call.note(status=pc.ApplicationStatus.Name(decided.status))
            return api.DecideApplicationResponse(application=decided)

    async def LookupSubject(
        self, request: api.LookupSubjectRequest, context: aio.ServicerContext
    ) -> api.LookupSubjectResponse:
        async with self._call(context, "LookupSubject") as call:
            if not request.pseudonym:
                raise errors.InvalidInput.field("pseudonym", "required")
            await call.read_subjects(request.pseudonym)  # counted before anything is disclosed
            subject = await self.backend.lookup_subject(call.city, request.pseudonym)
            return api.LookupSubjectResponse(subject=subject)

    async def StreamEvents(
        self, request: api.StreamEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[api.StreamEventsResponse]:
        async with self._call(context, "StreamEvents") as call:
            call.note(resume_after=request.resume_after[:200], delivered=0)
            delivered = 0
            stream = self.backend.stream_events(call.city, call.authorities, request.resume_after, list(request.types))
            # aclosing: a city hanging up closes the backend's consumer at once, not at garbage collection.
            async with contextlib.aclosing(stream) as events:
                async for event in events:
                    self.callers.caller_of(context)  # a certificate revoked mid-stream gets nothing more
                    if event.type in self.event_types.types:  # the people it names count against the guard
                        await call.read_subjects(*subjects_of(event, self.event_types))
                    delivered += 1
                    call.details["delivered"] = delivered
                    yield api.StreamEventsResponse(event=event)

    async def _authorised_application(
        self, call: PartnerCall, application_id: str, include_material_content: bool
    ) -> pc.PartnerApplication:
        if not application_id:
            raise errors.InvalidInput.field("application_id", "required")
        call.note(application_id=application_id)
        app = await self.backend.get_application(
            call.city, application_id, include_material_content=include_material_content
        )
        call.authorise_authority(app.authority_code)
        return app
