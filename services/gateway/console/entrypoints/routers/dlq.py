"""Dead letters: list them (any session), replay or discard one (operators, audited)."""

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.sessions import Callers


class DiscardRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def router(deps: ConsoleDeps, callers: Callers) -> APIRouter:
    Viewer, Operator = callers.viewer, callers.operator
    routes = APIRouter(prefix="/console/api")

    @routes.get("/dlq")
    async def dlq(_current: Viewer, status: Literal["open", "all"] = "open") -> list[dict[str, Any]]:
        return await deps.dlq.items(status)

    @routes.post("/dlq/{dlq_id}/replay")
    async def replay(dlq_id: str, current: Operator) -> dict[str, Any]:
        return await deps.dlq.replay(dlq_id, current.actor)

    @routes.post("/dlq/{dlq_id}/discard")
    async def discard(dlq_id: str, body: DiscardRequest, current: Operator) -> dict[str, Any]:
        return await deps.dlq.discard(dlq_id, current.actor, body.reason)

    return routes
