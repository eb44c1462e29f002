"""Throughput: records per time bucket over the last minutes."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from baylink.ops.records import iso
from baylink.ops.throughput import count_buckets
from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.sessions import Callers


def router(deps: ConsoleDeps, callers: Callers) -> APIRouter:
    Viewer = callers.viewer
    routes = APIRouter(prefix="/console/api")

    @routes.get("/stats/throughput")
    async def throughput(_current: Viewer, minutes: Annotated[int, Query(ge=1, le=1440)] = 15) -> dict[str, Any]:
        end = datetime.now(UTC)
        start = end - timedelta(minutes=minutes)
        bucket_seconds = max(10, minutes * 60 // 30)  # about 30 bars whatever the span
        records = await deps.reader.read(start)
        buckets = count_buckets(records, start, end, bucket_seconds)
        return {"bucket_seconds": bucket_seconds, "buckets": [b.to_json() for b in buckets], "until": iso(end)}

    return routes
