"""The alerts the console has raised so far, newest first (``service_layer/alerts.py`` raises them)."""

from typing import Any

from fastapi import APIRouter

from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.sessions import Callers


def router(deps: ConsoleDeps, callers: Callers) -> APIRouter:
    Viewer = callers.viewer
    routes = APIRouter(prefix="/console/api")

    @routes.get("/alerts")
    async def alerts(_current: Viewer) -> list[dict[str, Any]]:
        return [a.to_json() for a in deps.alerts.alerts]

    return routes
