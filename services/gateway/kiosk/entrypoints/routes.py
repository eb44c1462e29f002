"""Kiosk routes of an application: draft with its name, materials, signatures, submit, fee, pay, track."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from services.gateway.kiosk.entrypoints.api import ERRORS, AcceptLanguage, KioskApi, Lang, Token, token_of
from services.gateway.kiosk.entrypoints.responses import (
    ApplicationOut,
    DraftOut,
    MaterialOut,
    MaterialUploadOut,
    PaymentOut,
    QuoteOut,
    SignedOut,
)
from services.gateway.kiosk.entrypoints.schemas import ApplicationIn, MaterialIn, NameIn, PayIn, SignatureIn
from services.gateway.kiosk.service_layer import applications, payments
from services.gateway.kiosk.service_layer.applications import DraftInput, InvestorInput
from services.gateway.kiosk.service_layer.model import MaterialUpload, NameDraft

AppId = Annotated[str, Path(min_length=1, max_length=64)]


def _name(name: NameIn) -> NameDraft:
    return NameDraft(name.trade_name, name.industry, name.organisational_form, name.english_name)


def _draft(body: ApplicationIn) -> DraftInput:
    investors = tuple(
        InvestorInput(
            subscribed_capital=i.subscribed_capital.to_money() if i.subscribed_capital else None,
            person=i.person,
            enterprise_name=i.enterprise.name if i.enterprise else "",
            enterprise_jurisdiction=i.enterprise.jurisdiction if i.enterprise else "",
            registration_number=i.enterprise.registration_number if i.enterprise else "",
        )
        for i in body.investors
    )
    return DraftInput(
        request_id=body.request_id,
        catalogue_item_id=body.catalogue_item_id,
        applicant=body.applicant,
        legal_representative=body.legal_representative or body.applicant,
        registered_capital=body.registered_capital.to_money(),
        address=body.address,
        business_scope=body.business_scope,
        investors=investors,
        name=_name(body.name) if body.name else None,
    )


def applications_router(api: KioskApi) -> APIRouter:
    router = APIRouter(prefix="/v1/applications", responses=ERRORS, tags=["applications"])
    deps = api.deps

    @router.post("", status_code=201, response_model=DraftOut)
    async def draft(
        body: ApplicationIn, request: Request, token: Token, lang: Lang = None, accept_language: AcceptLanguage = None
    ) -> DraftOut:
        async with api.call(request, "DraftApplication", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            app, check = await applications.draft(deps, call, _draft(body))
        return DraftOut.of(app, check, request.state.language)

    @router.put("/{application_id}/name", response_model=DraftOut)
    async def declare_name(
        application_id: AppId, body: NameIn, request: Request, token: Token, lang: Lang = None,
        accept_language: AcceptLanguage = None,
    ) -> DraftOut:  # fmt: skip
        async with api.call(request, "DeclareName", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            app, check = await applications.declare_name(deps, call, application_id, _name(body))
        return DraftOut.of(app, check, request.state.language)

    @router.post("/{application_id}/materials", status_code=201, response_model=MaterialUploadOut)
    async def attach(
        application_id: AppId, body: MaterialIn, request: Request, token: Token, lang: Lang = None,
        accept_language: AcceptLanguage = None,
    ) -> MaterialUploadOut:  # fmt: skip
        upload = MaterialUpload(body.material_type, body.filename, body.media_type, body.content_base64)
        async with api.call(request, "AttachMaterial", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            app, material, signers = await applications.attach(deps, call, application_id, upload)
        return MaterialUploadOut.of(app, material, signers, request.state.language)

    @router.post("/{application_id}/materials/{material_id}/signatures", response_model=SignedOut)
    async def sign(
        application_id: AppId, material_id: AppId, body: SignatureIn, request: Request, token: Token,
        lang: Lang = None, accept_language: AcceptLanguage = None,
    ) -> SignedOut:  # fmt: skip
        async with api.call(request, "SignMaterial", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            app, material = await applications.sign(
                deps, call, application_id, material_id, body.cms_base64, body.pades
            )
        language = request.state.language
        return SignedOut(application=ApplicationOut.of(app, language), material=MaterialOut.of(material, language))

    @router.post("/{application_id}/submit", response_model=ApplicationOut)
    async def submit(
        application_id: AppId, request: Request, token: Token, lang: Lang = None,
        accept_language: AcceptLanguage = None,
    ) -> ApplicationOut:  # fmt: skip
        async with api.call(request, "SubmitApplication", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            app = await applications.submit(deps, call, application_id)
        return ApplicationOut.of(app, request.state.language)

    @router.get("/{application_id}/fee", response_model=QuoteOut)
    async def fee(
        application_id: AppId, request: Request, token: Token,
        currency: Annotated[Literal["HKD", "MOP"], Query(description="What the person pays in")],
        lang: Lang = None, accept_language: AcceptLanguage = None,
    ) -> QuoteOut:  # fmt: skip
        async with api.call(request, "QuoteFee", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            quote = await payments.fee_quote(deps, call, application_id, currency)
        return QuoteOut.of(application_id, quote)

    @router.post("/{application_id}/pay", response_model=PaymentOut)
    async def pay(
        application_id: AppId, body: PayIn, request: Request, token: Token, lang: Lang = None,
        accept_language: AcceptLanguage = None,
    ) -> PaymentOut:  # fmt: skip
        async with api.call(request, "PayFee", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            transfer = await payments.pay(deps, call, application_id, body.quote_id)
        return PaymentOut.of(transfer)

    @router.get("/{application_id}", response_model=ApplicationOut)
    async def track(
        application_id: AppId, request: Request, token: Token, lang: Lang = None,
        accept_language: AcceptLanguage = None,
    ) -> ApplicationOut:  # fmt: skip
        async with api.call(request, "TrackApplication", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            app = await applications.track(deps, call, application_id)
        return ApplicationOut.of(app, request.state.language)

    return router
