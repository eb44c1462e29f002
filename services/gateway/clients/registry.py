"""The registry service over gRPC, for the kiosk (``RegistryPort``) and the partner backend.

``RegistryClient`` is the channel, the stub and the deadline; ``KioskRegistry`` speaks the kiosk's
port in the kiosk's values (mapped in ``registry_views``). Catalogue items are cached for
a while: the catalogue only changes when the registry is redeployed, and the kiosk asks for an
item on every material it attaches.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import catalogue_pb2
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from services.gateway.clients import registry_views as views
from services.gateway.clients.calls import call
from services.gateway.kiosk.service_layer.model import (
    ApplicationView,
    CatalogueItemView,
    EnterpriseDraft,
    MaterialUpload,
    MaterialView,
    NameCheckView,
    NameDraft,
)

MAX_CATALOGUE_PAGES = 20


class RegistryClient:
    def __init__(self, target: str, transport: InternalTransport, timeout_seconds: float = 10.0):
        self.channel = internal_channel(target, transport, "registry")
        self.stub = rs_grpc.RegistryServiceStub(self.channel)
        self.timeout = timeout_seconds

    async def __call__(self, method: str, request: Any) -> Any:
        """``RegistryService.<method>(request)``; domain errors out."""
        rpc: Callable[..., Awaitable[Any]] = getattr(self.stub, method)
        return await call(rpc, request, self.timeout)

    async def application(self, application_id: str) -> app_pb.Application:
        response = await self("GetApplication", rs.GetApplicationRequest(application_id=application_id))
        return response.application  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.channel.close()


class KioskRegistry:
    """Implements the kiosk's ``RegistryPort``."""

    def __init__(self, client: RegistryClient, catalogue_ttl_seconds: float = 300.0):
        self.client = client
        self.catalogue_ttl = catalogue_ttl_seconds
        self._items: dict[str, tuple[float, catalogue_pb2.CatalogueItem]] = {}

    async def catalogue(self, authority_code: str) -> list[CatalogueItemView]:
        items: list[catalogue_pb2.CatalogueItem] = []
        token = ""
        for _ in range(MAX_CATALOGUE_PAGES):
            request = rs.ListCatalogueItemsRequest(authority_code=authority_code, page_token=token)
            response = await self.client("ListCatalogueItems", request)
            items.extend(response.items)
            token = response.next_page_token
            if not token:
                break
        return [views.catalogue_item(i) for i in items]

    async def catalogue_item(self, item_id: str) -> CatalogueItemView:
        cached = self._items.get(item_id)
        if cached is None or time.monotonic() - cached[0] > self.catalogue_ttl:
            response = await self.client("GetCatalogueItem", rs.GetCatalogueItemRequest(item_id=item_id))
            cached = self._items[item_id] = (time.monotonic(), response.item)
        return views.catalogue_item(cached[1])

    async def draft(
        self, request_id: str, item_id: str, applicant_ref: str, enterprise: EnterpriseDraft
    ) -> ApplicationView:
        request = rs.DraftApplicationRequest(
            request_id=request_id,
            catalogue_item_id=item_id,
            applicant_ref=applicant_ref,
            enterprise=views.enterprise_details(enterprise),
        )
        return views.application((await self.client("DraftApplication", request)).application)

    async def declare_name(
        self, application_id: str, applicant_ref: str, name: NameDraft
    ) -> tuple[ApplicationView, NameCheckView]:
        declaration = app_pb.NameDeclaration(
            trade_name=name.trade_name,
            industry=name.industry,
            organisational_form=name.organisational_form,
            english_name=name.english_name,
        )
        request = rs.DeclareNameRequest(application_id=application_id, name=declaration, applicant_ref=applicant_ref)
        response = await self.client("DeclareName", request)
        return views.application(response.application), views.name_check(response.check)

    async def attach(
        self, application_id: str, applicant_ref: str, upload: MaterialUpload
    ) -> tuple[ApplicationView, MaterialView]:
        request = rs.AttachMaterialRequest(
            application_id=application_id,
            material_type=upload.material_type,
            filename=upload.filename,
            media_type=upload.media_type,
            content=upload.content,
            applicant_ref=applicant_ref,
        )
        response = await self.client("AttachMaterial", request)
        return views.application(response.application), views.material(response.material)

    async def sign(
        self, application_id: str, applicant_ref: str, material_id: str, cms_signature: bytes, pades: bool = False
    ) -> tuple[ApplicationView, MaterialView]:
        request = rs.SignMaterialRequest(
            application_id=application_id,
            material_id=material_id,
            cms_signature=cms_signature,
            applicant_ref=applicant_ref,
            pades=pades,
        )
        response = await self.client("SignMaterial", request)
        return views.application(response.application), views.material(response.material)

    async def submit(self, application_id: str, applicant_ref: str) -> ApplicationView:
        request = rs.SubmitApplicationRequest(application_id=application_id, applicant_ref=applicant_ref)
        return views.application((await self.client("SubmitApplication", request)).application)

    async def get(self, application_id: str) -> ApplicationView:
        return views.application(await self.client.application(application_id))
