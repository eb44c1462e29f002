"""The operator console's JSON API and event stream, under ``/console/api/`` (the frontend is under ``/console/``).

Thin: each route checks the session (and role, and CSRF token on POSTs), calls the library or the
console's use cases, and returns JSON. Refusals are ``{"code", "message", "fields"}`` with the
status of the gateway's one gRPC → HTTP table (``refusals``). The routes live in ``routers/``, one
module per area; this factory composes them in the order the OpenAPI document lists them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.gateway.console.entrypoints import refusals
from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.headers import SecurityHeaders
from services.gateway.console.entrypoints.limits import BodyLimit
from services.gateway.console.entrypoints.routers import alerts, auth, dlq, events, flows, stats
from services.gateway.console.entrypoints.sessions import callers

__all__ = ["WEB_DIR", "ConsoleDeps", "create_console_app"]

WEB_DIR = Path(__file__).resolve().parents[1] / "web"


def create_console_app(deps: ConsoleDeps, *, web_dir: Path = WEB_DIR) -> FastAPI:
    """The console app: API routes, then the static frontend (if its directory exists)."""
    app = FastAPI(
        title="Baylink operator console", docs_url=None, redoc_url=None, openapi_url="/console/api/openapi.json"
    )
    refusals.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: on the 413s too
    who = callers(deps.auth)
    for area in (auth, events, flows, dlq, stats, alerts):
        app.include_router(area.router(deps, who))

    @app.get("/", include_in_schema=False)
    @app.get("/console", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console/")

    if web_dir.is_dir():
        app.mount("/console", StaticFiles(directory=web_dir, html=True), name="console-web")
    return app
