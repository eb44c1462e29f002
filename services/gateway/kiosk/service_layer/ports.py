"""What the kiosk use cases need from the services behind the gateway (gRPC clients in ``adapters``).

Every method raises ``baylink.errors`` (the clients turn a peer's status back into the domain error
with ``from_rpc_error``), so the kiosk's HTTP edge maps them in one table.
"""

from __future__ import annotations

from typing import Protocol

from services.gateway.kiosk.service_layer.model import (
    ApplicationView,
    CatalogueItemView,
    EnterpriseDraft,
    MaterialUpload,
    MaterialView,
    Money,
    NameCheckView,
    NameDraft,
    QuoteView,
    TransferView,
    ValidatedCertificate,
)
from services.gateway.kiosk.service_layer.possession import RawSignatureVerifier


class CertificateValidator(RawSignatureVerifier, Protocol):
    async def validate(self, chain_pem: str) -> ValidatedCertificate:
        """Have the identity service validate the chain (leaf first); read the facts from what it validated."""
        ...


class RegistryPort(Protocol):
    async def catalogue(self, authority_code: str) -> list[CatalogueItemView]: ...

    async def catalogue_item(self, item_id: str) -> CatalogueItemView: ...

    async def draft(
        self, request_id: str, item_id: str, applicant_ref: str, enterprise: EnterpriseDraft
    ) -> ApplicationView: ...

    async def declare_name(
        self, application_id: str, applicant_ref: str, name: NameDraft
    ) -> tuple[ApplicationView, NameCheckView]: ...

    async def attach(
        self, application_id: str, applicant_ref: str, upload: MaterialUpload
    ) -> tuple[ApplicationView, MaterialView]: ...

    async def sign(
        self, application_id: str, applicant_ref: str, material_id: str, cms_signature: bytes, pades: bool = False
    ) -> tuple[ApplicationView, MaterialView]:
        """A detached CMS over the material, or with `pades` the signatures the PDF material carries."""

    async def submit(self, application_id: str, applicant_ref: str) -> ApplicationView: ...

    async def get(self, application_id: str) -> ApplicationView: ...


class PaymentsPort(Protocol):
    async def quote(self, quote_id: str, payer: str, payee: str, receive: Money, send_currency: str) -> QuoteView:
        """A quote in which the payee receives exactly ``receive``, paid in ``send_currency``."""
        ...

    async def prepare(
        self,
        transfer_id: str,
        quote: QuoteView,
        *,
        reference: str,
        payer_pseudonym: str,
        payer_name: str,
        payee_name: str,
    ) -> TransferView: ...

    async def commit(self, transfer_id: str) -> TransferView: ...

    async def abort(self, transfer_id: str, reason: str) -> TransferView: ...
