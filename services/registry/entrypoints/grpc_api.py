"""RegistryService over gRPC: translate the request, call the use case, translate back.

Every call runs in the caller's language (metadata ``accept-language``), so refusals come back
in zh-Hant, zh-Hans or English. Errors are raised, never caught: the runtime's interceptor maps them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from grpc import aio

from baylink import errors
from baylink.registry.v1 import application_pb2, catalogue_pb2
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from services.registry.adapters import proto_mapping as mapping
from services.registry.domain.application import Application, State
from services.registry.domain.catalogue import CatalogueItem
from services.registry.domain.text import Language, language_scope
from services.registry.service_layer import applicant, authority, queries, signing
from services.registry.service_layer.context import Registry
from services.registry.service_layer.ports import ApplicationFilter

R = TypeVar("R")
SERVICE_NAME = rs.DESCRIPTOR.services_by_name["RegistryService"].full_name


def in_callers_language(
    method: Callable[[Any, Any, aio.ServicerContext], Awaitable[R]],
) -> Callable[[Any, Any, aio.ServicerContext], Awaitable[R]]:
    @wraps(method)
    async def wrapper(self: Any, request: Any, context: aio.ServicerContext) -> R:
        metadata = dict(context.invocation_metadata() or ())
        with language_scope(Language.parse(metadata.get("accept-language"))):
            return await method(self, request, context)

    return wrapper


class RegistryServicer(rs_grpc.RegistryServiceServicer):
    def __init__(self, registry: Registry):
        self.registry = registry
        self.messages = mapping.EdgeMessages()

    def register(self, server: aio.Server) -> None:
        rs_grpc.add_RegistryServiceServicer_to_server(self, server)

    def _app(self, app: Application) -> application_pb2.Application:
        return self.messages.application(app, self.registry.item_of(app))

    def _item(self, item: CatalogueItem) -> catalogue_pb2.CatalogueItem:
        return self.messages.catalogue_item(self.registry.catalogue, item)

    # -- catalogue -------------------------------------------------------------------------

    @in_callers_language
    async def ListCatalogueItems(self, request: rs.ListCatalogueItemsRequest, context: Any) -> Any:
        items, token = queries.list_items(self.registry, request.authority_code, request.page_size, request.page_token)
        return rs.ListCatalogueItemsResponse(items=[self._item(i) for i in items], next_page_token=token)

    @in_callers_language
    async def GetCatalogueItem(self, request: rs.GetCatalogueItemRequest, context: Any) -> Any:
        return rs.GetCatalogueItemResponse(item=self._item(self.registry.catalogue.get(request.item_id)))

    # -- the applicant -------------------------------------------------------------------------

    @in_callers_language
    async def DraftApplication(self, request: rs.DraftApplicationRequest, context: Any) -> Any:
        command = applicant.DraftApplication(
            request.request_id, request.catalogue_item_id, request.applicant_ref, mapping.details(request.enterprise)
        )
        return rs.DraftApplicationResponse(application=self._app(await applicant.draft(self.registry, command)))

    @in_callers_language
    async def UpdateDraftApplication(self, request: rs.UpdateDraftApplicationRequest, context: Any) -> Any:
        command = applicant.UpdateDraftApplication(
            request.application_id, request.applicant_ref, mapping.details(request.enterprise), request.expected_version
        )
        app = await applicant.update_draft(self.registry, command)
        return rs.UpdateDraftApplicationResponse(application=self._app(app))

    @in_callers_language
    async def DeclareName(self, request: rs.DeclareNameRequest, context: Any) -> Any:
        command = applicant.DeclareName(
            request.application_id, mapping.name(request.name), request.expected_version, request.applicant_ref
        )
        app = await applicant.declare_name(self.registry, command)
        check = application_pb2.NameCheck(outcome=application_pb2.NAME_CHECK_OUTCOME_APPROVED)
        return rs.DeclareNameResponse(application=self._app(app), check=check)

    @in_callers_language
    async def AttachMaterial(self, request: rs.AttachMaterialRequest, context: Any) -> Any:
        command = applicant.AttachMaterial(
            request.application_id,
            request.material_type,
            request.filename,
            request.media_type,
            request.content,
            request.sha256,
            request.applicant_ref,
        )
        app, material = await applicant.attach_material(self.registry, command)
        item = self.registry.item_of(app)
        return rs.AttachMaterialResponse(
            application=self._app(app), material=mapping.material(material, item, app.enterprise)
        )

    @in_callers_language
    async def SignMaterial(self, request: rs.SignMaterialRequest, context: Any) -> Any:
        command = signing.SignMaterial(
            request.application_id, request.material_id, request.cms_signature, request.applicant_ref, request.pades
        )
        app, material = await signing.sign_material(self.registry, command)
        item = self.registry.item_of(app)
        return rs.SignMaterialResponse(
            application=self._app(app), material=mapping.material(material, item, app.enterprise)
        )

    @in_callers_language
    async def SubmitApplication(self, request: rs.SubmitApplicationRequest, context: Any) -> Any:
        command = applicant.SubmitApplication(request.application_id, request.expected_version, request.applicant_ref)
        return rs.SubmitApplicationResponse(application=self._app(await applicant.submit(self.registry, command)))

    @in_callers_language
    async def ResubmitApplication(self, request: rs.ResubmitApplicationRequest, context: Any) -> Any:
        command = applicant.ResubmitApplication(request.application_id, request.expected_version, request.applicant_ref)
        return rs.ResubmitApplicationResponse(application=self._app(await applicant.resubmit(self.registry, command)))

    @in_callers_language
    async def WithdrawApplication(self, request: rs.WithdrawApplicationRequest, context: Any) -> Any:
        command = applicant.WithdrawApplication(request.application_id, request.applicant_ref, request.reason)
        return rs.WithdrawApplicationResponse(application=self._app(await applicant.withdraw(self.registry, command)))

    # -- the authority ---------------------------------------------------------------------------

    @in_callers_language
    async def StartReview(self, request: rs.StartReviewRequest, context: Any) -> Any:
        command = authority.StartReview(request.application_id, request.reviewer_id, request.authority_code)
        return rs.StartReviewResponse(application=self._app(await authority.start_review(self.registry, command)))

    @in_callers_language
    async def ApproveApplication(self, request: rs.ApproveApplicationRequest, context: Any) -> Any:
        command = authority.ApproveApplication(
            request.application_id, request.reviewer_id, request.authority_code, request.expected_version
        )
        return rs.ApproveApplicationResponse(application=self._app(await authority.approve(self.registry, command)))

    @in_callers_language
    async def RejectApplication(self, request: rs.RejectApplicationRequest, context: Any) -> Any:
        command = authority.RejectApplication(
            request.application_id,
            request.reviewer_id,
            request.authority_code,
            mapping.local_text(request.reason),
            expected_version=request.expected_version,
        )
        return rs.RejectApplicationResponse(application=self._app(await authority.reject(self.registry, command)))

    @in_callers_language
    async def ReturnApplication(self, request: rs.ReturnApplicationRequest, context: Any) -> Any:
        command = authority.ReturnApplication(
            request.application_id,
            request.reviewer_id,
            request.authority_code,
            mapping.local_text(request.reason),
            tuple(request.material_types_to_correct),
            request.expected_version,
        )
        app = await authority.return_for_correction(self.registry, command)
        return rs.ReturnApplicationResponse(application=self._app(app))

    # -- reading -----------------------------------------------------------------------------------

    @in_callers_language
    async def GetApplication(self, request: rs.GetApplicationRequest, context: Any) -> Any:
        app = await queries.get_application(self.registry, request.application_id)
        return rs.GetApplicationResponse(application=self._app(app))

    @in_callers_language
    async def ListApplications(self, request: rs.ListApplicationsRequest, context: Any) -> Any:
        unknown = [s for s in request.states if s not in application_pb2.ApplicationState.values()]
        if unknown:
            raise errors.InvalidInput.field("states", f"{unknown[0]} is not an ApplicationState")
        states = tuple(
            State(application_pb2.ApplicationState.Name(s).removeprefix("APPLICATION_STATE_"))
            for s in request.states
            if s != application_pb2.APPLICATION_STATE_UNSPECIFIED
        )
        where = ApplicationFilter(
            request.authority_code, states, request.applicant_ref, request.catalogue_item_id, request.overdue_only
        )
        apps, token = await queries.list_applications(self.registry, where, request.page_size, request.page_token)
        return rs.ListApplicationsResponse(applications=[self._app(a) for a in apps], next_page_token=token)

    @in_callers_language
    async def GetMaterialContent(self, request: rs.GetMaterialContentRequest, context: Any) -> Any:
        query = authority.GetMaterialContent(
            request.application_id, request.material_id, request.authority_code, request.offset, request.max_bytes
        )
        app, material, content = await authority.material_content(self.registry, query)
        return rs.GetMaterialContentResponse(
            material=mapping.material(material, self.registry.item_of(app), app.enterprise),
            content=content,
            offset=request.offset,
        )
