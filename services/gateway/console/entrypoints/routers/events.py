"""The live event stream (server-sent events), filtered as the operator asks."""

import json
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from baylink import errors
from baylink.ops.records import RecordFilter
from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.sessions import Callers


def parse_since(value: str | None, field: str = "since") -> datetime | None:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC), or InvalidInput naming the field."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidInput.field(field, "an ISO-8601 time, e.g. 2026-12-01T08:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def router(deps: ConsoleDeps, callers: Callers) -> APIRouter:
    Viewer = callers.viewer
    routes = APIRouter(prefix="/console/api")

    @routes.get("/events/stream")
    async def stream(
        current: Viewer,
        type: str = "",  # the contract's name; comma-separated types or prefixes
        service: str = "",
        city: str = "",
        correlation_id: str = "",
        since: str | None = None,
    ) -> StreamingResponse:
        where = RecordFilter.of(type.split(","), service, city, correlation_id)
        start = parse_since(since)

        async def body() -> AsyncIterator[str]:
            items = deps.hub.stream(where, since=start, heartbeat_seconds=deps.heartbeat_seconds)
            async with aclosing(items):  # ending early unsubscribes at once
                checked = time.monotonic()
                async for item in items:
                    # Logged out (on any replica) or expired: the stream ends with it. Asked of the
                    # database at each heartbeat and at most once a second in between.
                    if item is None or time.monotonic() - checked >= 1.0:
                        checked = time.monotonic()
                        if await deps.auth.session(current.token) is None:
                            return
                    if item is None:
                        yield ": heartbeat\n\n"
                    elif item[0] == "dropped":
                        yield f": {item[1]} records dropped: this stream fell behind\n\n"
                    else:
                        yield sse(item[0], item[1].to_json())

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    return routes
