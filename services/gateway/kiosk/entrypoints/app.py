"""The kiosk HTTP API (FastAPI): thin. Validate the body, open an audited and guarded call, run the use
case, answer in the request's language. OpenAPI at ``/openapi.json``, the explorer at ``/docs``.

Sessions: ``POST /v1/sessions`` opens one; every other call names it as ``Authorization: Bearer
<session token>``. Identify proves possession of the e-Cert key (``identify.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, MutableMapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from baylink.runtime.context import correlation_scope
from services.gateway.kiosk.entrypoints import errors, web
from services.gateway.kiosk.entrypoints.api import (
    ERRORS,
    AcceptLanguage,
    KioskApi,
    Lang,
    Token,
    device_of,
    token_of,
)
from services.gateway.kiosk.entrypoints.edge import KioskEdge
from services.gateway.kiosk.entrypoints.identify import identify_router
from services.gateway.kiosk.entrypoints.metrics import KioskHttpMetrics, KioskMetricsMiddleware
from services.gateway.kiosk.entrypoints.responses import CatalogueItemOut, CatalogueOut, SessionOut
from services.gateway.kiosk.entrypoints.routes import applications_router
from services.gateway.kiosk.entrypoints.schemas import SessionIn
from services.gateway.kiosk.service_layer import applications
from services.gateway.kiosk.service_layer.deps import KioskDeps

CORRELATION_HEADER = "x-correlation-id"


def sessions_router(api: KioskApi) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=ERRORS)
    sessions = api.deps.access.sessions

    @router.post("/sessions", status_code=201, response_model=SessionOut, tags=["sessions"])
    async def create_session(
        body: SessionIn, request: Request, lang: Lang = None, accept_language: AcceptLanguage = None
    ) -> SessionOut:
        async with api.call(request, "CreateSession", opening=True, lang=lang,
                            accept_language=accept_language, language=body.language) as call:  # fmt: skip
            # The kiosk is the one its certificate names; a kiosk_id in the body is never believed.
            session = await sessions.create(device_of(request), request.state.language)
            call.note(language=session.language)
            if body.kiosk_id and body.kiosk_id != session.kiosk_id:
                call.note(claimed_kiosk_id=body.kiosk_id)
            expires = datetime.fromtimestamp(session.expires_at, UTC)
            return SessionOut(session_token=session.token, kiosk_id=session.kiosk_id, language=session.language,
                              expires_at=expires, idle_timeout_seconds=sessions.ttl)  # fmt: skip

    @router.get("/catalogue", response_model=CatalogueOut, tags=["catalogue"])
    async def catalogue(
        request: Request, token: Token, authority: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
        lang: Lang = None, accept_language: AcceptLanguage = None,
    ) -> CatalogueOut:  # fmt: skip
        async with api.call(request, "ListCatalogue", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            items = await applications.catalogue(api.deps, call, authority)
            language = request.state.language
        return CatalogueOut(items=[CatalogueItemOut.of(i, language) for i in items])

    return router


class CorrelationMiddleware:
    """Each request runs under a correlation id (the caller's ``X-Correlation-Id``, else a new one):
    service calls carry it, audit records name it, error bodies quote it, the response echoes it."""

    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")[:64]
        with correlation_scope(given or None) as cid:
            scope.setdefault("state", {})["correlation_id"] = cid

            async def send_with_id(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", []).append((CORRELATION_HEADER.encode(), cid.encode()))
                await send(message)

            await self.app(scope, receive, send_with_id)


def create_kiosk_app(
    deps: KioskDeps, *, languages: tuple[str, ...] = ("zh-Hant", "zh-Hans", "en", "pt"),
    default_language: str = "zh-Hant", metrics: KioskHttpMetrics | None = None,
    max_body_bytes: int = 14 * 1024 * 1024, revoked_devices: Container[str] = frozenset(),
) -> FastAPI:  # fmt: skip
    api = KioskApi(deps, tuple(languages), default_language)
    app = FastAPI(
        title="Baylink kiosk API",
        version="1.0",
        description="Identify, apply, sign, pay and track, from a self-service kiosk in Hong Kong or Macau.",
    )
    errors.install(app)
    app.include_router(sessions_router(api))
    app.include_router(identify_router(api))
    app.include_router(applications_router(api))
    web.install(app, api)  # the kiosk web app at /kiosk/, and its session-end and signing routes
    # Inside the correlation scope (refusals quote its id), outside every route: nothing reads a body first.
    app.add_middleware(KioskEdge, access=deps.access, max_body_bytes=max_body_bytes, languages=languages,
                       revoked=revoked_devices)  # fmt: skip
    app.add_middleware(CorrelationMiddleware)
    if metrics is not None:
        app.add_middleware(KioskMetricsMiddleware, metrics=metrics)
    return app
