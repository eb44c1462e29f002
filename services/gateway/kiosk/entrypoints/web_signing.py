"""Browser signing over the kiosk API, in two calls (as remote-signing APIs do it):

1. ``POST …/materials/{id}/signing``: the signer (a handle of the session), their certificate chain
   and the material's digest under their key's algorithm → the DER of the CMS signed attributes to
   sign, and the WebCrypto algorithm to sign them with.
2. ``POST …/materials/{id}/browser-signatures``: those attributes and the WebCrypto signature → the
   gateway assembles the detached CMS and takes the ordinary sign path, where the registry has
   identity verify it. The private key never leaves the browser.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import Base64Bytes, BaseModel, Field

from services.gateway.kiosk.entrypoints.api import ERRORS, AcceptLanguage, KioskApi, Lang, Token, token_of
from services.gateway.kiosk.entrypoints.responses import ApplicationOut, MaterialOut, SignedOut
from services.gateway.kiosk.entrypoints.schemas import Handle, Strict
from services.gateway.kiosk.service_layer import applications, signing

AppId = Annotated[str, Path(min_length=1, max_length=64)]
ChainPem = Annotated[
    str, Field(min_length=1, max_length=64_000, description="The signer's e-Cert, then its issuing CAs, PEM")
]


class SigningIn(Strict):
    person: Handle
    certificate_chain_pem: ChainPem
    message_digest_base64: Base64Bytes = Field(
        description="The material's digest under the signer's digest algorithm (SHA-256, -384 or -512)"
    )


class BrowserSignatureIn(Strict):
    person: Handle
    certificate_chain_pem: ChainPem
    signed_attributes_base64: Base64Bytes = Field(description="The signed attributes from the signing call")
    signature_base64: Base64Bytes = Field(
        description="WebCrypto's signature over them (ECDSA: IEEE P1363 r||s, as WebCrypto gives it)"
    )


class DataToSignOut(BaseModel):
    person: str
    key_kind: str
    digest_algorithm: str
    webcrypto: dict[str, str]
    signed_attributes_base64: str = Field(
        description="DER of the signed attributes (SET OF), base64: sign exactly these"
    )


def signing_router(api: KioskApi) -> APIRouter:
    router = APIRouter(prefix="/v1/applications", responses=ERRORS, tags=["signing"])

    @router.post("/{application_id}/materials/{material_id}/signing", response_model=DataToSignOut)
    async def data_to_sign(
        application_id: AppId, material_id: AppId, body: SigningIn, request: Request, token: Token,
        lang: Lang = None, accept_language: AcceptLanguage = None,
    ) -> DataToSignOut:  # fmt: skip
        signer = signing.BrowserSigner(body.person, body.certificate_chain_pem)
        async with api.call(request, "PrepareSignature", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            data = await signing.prepare(api.deps, call, application_id, material_id, signer,
                                         body.message_digest_base64, datetime.now(UTC))  # fmt: skip
        return DataToSignOut(person=data.person, key_kind=data.key_kind, digest_algorithm=data.digest_algorithm,
                             webcrypto=data.webcrypto,
                             signed_attributes_base64=base64.b64encode(data.signed_attributes).decode())  # fmt: skip

    @router.post("/{application_id}/materials/{material_id}/browser-signatures", response_model=SignedOut)
    async def browser_signature(
        application_id: AppId, material_id: AppId, body: BrowserSignatureIn, request: Request, token: Token,
        lang: Lang = None, accept_language: AcceptLanguage = None,
    ) -> SignedOut:  # fmt: skip
        signer = signing.BrowserSigner(body.person, body.certificate_chain_pem)
        async with api.call(request, "SignMaterial", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            cms = signing.browser_cms(call, signer, body.signed_attributes_base64, body.signature_base64)
            app, material = await applications.sign(api.deps, call, application_id, material_id, cms)
        language = request.state.language
        return SignedOut(application=ApplicationOut.of(app, language), material=MaterialOut.of(material, language))

    return router
