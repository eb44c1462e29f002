"""The kiosk's web app, served by the kiosk HTTP server under ``/kiosk/``, and the routes only it needs.

The app is static (``services/gateway/kiosk/web``: HTML, CSS, ES modules, nothing fetched from
elsewhere) and talks to the kiosk API on the same origin. Its pages are sent with a strict content
security policy (only this origin's scripts, styles and API) and are never cached: a kiosk serves
many people. Routes added here: closing a session when the page clears itself (inactivity or "done"),
and browser signing (``web_signing``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from services.gateway.kiosk.entrypoints.api import ERRORS, AcceptLanguage, KioskApi, Lang, Token, token_of
from services.gateway.kiosk.entrypoints.web_signing import signing_router

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class KioskStatic(StaticFiles):
    """Static files with the kiosk's security and caching headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


def sessions_end_router(api: KioskApi) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=ERRORS, tags=["sessions"])

    @router.delete("/sessions/current", status_code=204)
    async def end_session(
        request: Request, token: Token, lang: Lang = None, accept_language: AcceptLanguage = None
    ) -> Response:
        """Close the session now: its people, their handles and quotes are forgotten (the page cleared)."""
        given = token_of(token)
        async with api.call(request, "EndSession", token=given, lang=lang, accept_language=accept_language):
            await api.deps.access.sessions.end(given or "")
        return Response(status_code=204)

    return router


def install(app: FastAPI, api: KioskApi) -> None:
    """Mount the web app at ``/kiosk/`` and add the routes it uses."""
    app.include_router(sessions_end_router(api))
    app.include_router(signing_router(api))

    @app.get("/kiosk", include_in_schema=False)
    async def kiosk_root(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/kiosk/{query}", status_code=308)

    app.mount("/kiosk", KioskStatic(directory=WEB_ROOT, html=True), name="kiosk-web")
