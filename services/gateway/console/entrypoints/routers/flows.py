"""One flow's timeline (every record with its correlation id) and the consumer groups' lag."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from baylink import errors
from baylink.ops.groups import consumer_group_lags
from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.routers.events import parse_since
from services.gateway.console.entrypoints.sessions import Callers


def router(deps: ConsoleDeps, callers: Callers) -> APIRouter:
    Viewer = callers.viewer
    routes = APIRouter(prefix="/console/api")

    @routes.get("/flows/{correlation_id}")
    async def flow(correlation_id: str, _current: Viewer, since: str | None = None) -> dict[str, Any]:
        if not 0 < len(correlation_id) <= 128:
            raise errors.InvalidInput.field("correlation_id", "1 to 128 characters")
        start = parse_since(since) or datetime.now(UTC) - deps.flow_lookback
        records = await deps.reader.flow(correlation_id, start)
        return {"correlation_id": correlation_id, "records": [r.to_json() for r in records]}

    @routes.get("/consumer-groups")
    async def groups(_current: Viewer) -> list[dict[str, Any]]:
        return [g.to_json() for g in await consumer_group_lags(deps.kafka, topics=deps.topics)]

    return routes
