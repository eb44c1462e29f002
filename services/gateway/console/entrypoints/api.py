"""The operator console's JSON API and event stream, under ``/console/api/`` (the frontend is under ``/console/``).

Thin: each route checks the session (and role, and CSRF token on POSTs), calls the library or the
console's use cases, and returns JSON. Refusals are ``{"code", "message", "fields"}`` with the
status of the gateway's one gRPC → HTTP table.
"""

import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from baylink import errors
from baylink.ops.groups import consumer_group_lags
from baylink.ops.reader import TopicReader
from baylink.ops.records import RecordFilter, iso
from baylink.ops.throughput import count_buckets
from baylink.runtime.grpc.errors import code_for
from baylink.runtime.settings import KafkaSettings
from services.gateway.console.service_layer.alerts import AlertBook
from services.gateway.console.service_layer.auth import ConsoleAuth, ConsoleSession
from services.gateway.console.service_layer.dlq import ConsoleDlq
from services.gateway.console.service_layer.hub import ConsoleHub
from services.gateway.kiosk.entrypoints.errors import HTTP_STATUS

log = logging.getLogger("baylink.gateway.console")
COOKIE = "baylink_console"
CSRF_HEADER = "X-CSRF-Token"
WEB_DIR = Path(__file__).resolve().parents[1] / "web"


@dataclass
class ConsoleDeps:
    auth: ConsoleAuth
    hub: ConsoleHub
    reader: TopicReader
    dlq: ConsoleDlq
    alerts: AlertBook
    kafka: KafkaSettings
    topics: list[str]
    cookie_secure: bool = False
    heartbeat_seconds: float = 15.0
    flow_lookback: timedelta = timedelta(hours=72)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class DiscardRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def refusal(status: int, code: str, message: str, fields: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "fields": fields or []}, status_code=status)


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


def create_console_app(deps: ConsoleDeps, *, web_dir: Path = WEB_DIR) -> FastAPI:
    """The console app: API routes, then the static frontend (if its directory exists)."""
    app = FastAPI(
        title="Baylink operator console", docs_url=None, redoc_url=None, openapi_url="/console/api/openapi.json"
    )

    @app.exception_handler(errors.BaylinkError)
    async def _domain(_request: Request, error: errors.BaylinkError) -> JSONResponse:
        fields: list[dict[str, str]] = []
        if isinstance(error, errors.InvalidInput):
            fields = [{"field": v.field, "description": v.description} for v in error.violations]
        return refusal(HTTP_STATUS.get(code_for(error), 500), error.reason, str(error), fields)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "description": e["msg"]}
                  for e in error.errors()]  # fmt: skip
        return refusal(422, "INVALID_INPUT", "the request is not valid", fields)

    @app.exception_handler(KafkaError)
    async def _kafka(_request: Request, error: KafkaError) -> JSONResponse:
        log.warning("console: Kafka request failed", extra={"error": repr(error)})
        return refusal(503, "KAFKA_UNAVAILABLE", "the broker did not answer; try again")

    @app.exception_handler(TimeoutError)
    async def _slow(_request: Request, _error: TimeoutError) -> JSONResponse:
        return refusal(504, "KAFKA_TIMEOUT", "reading the topics took too long; narrow the request")

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, error: HTTPException) -> JSONResponse:
        code = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(error.status_code, "ERROR")
        return refusal(error.status_code, code, str(error.detail))

    def session(request: Request) -> ConsoleSession:
        found = deps.auth.session(request.cookies.get(COOKIE))
        if found is None:
            raise HTTPException(401, "log in first")
        return found

    def checked(request: Request, current: Annotated[ConsoleSession, Depends(session)]) -> ConsoleSession:
        """A session whose request carries its CSRF token (every POST but login)."""
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), current.csrf_token.encode()):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
        return current

    def operator(current: Annotated[ConsoleSession, Depends(checked)]) -> ConsoleSession:
        if not current.may_operate:
            raise HTTPException(403, "operators only")
        return current

    Viewer = Annotated[ConsoleSession, Depends(session)]
    Operator = Annotated[ConsoleSession, Depends(operator)]

    @app.post("/console/api/login")
    async def login(body: LoginRequest, response: Response) -> dict[str, str]:
        found = await deps.auth.login(body.username, body.password)
        if found is None:
            raise HTTPException(401, "wrong user name or password")
        response.set_cookie(COOKIE, found.token, max_age=int(deps.auth.ttl_seconds), path="/console", httponly=True,
                            samesite="strict", secure=deps.cookie_secure)  # fmt: skip
        return {"username": found.username, "role": found.role, "csrf_token": found.csrf_token}

    @app.post("/console/api/logout")
    async def logout(current: Annotated[ConsoleSession, Depends(checked)], response: Response) -> dict[str, str]:
        deps.auth.logout(current.token)
        response.delete_cookie(COOKIE, path="/console")
        return {"username": current.username}

    @app.get("/console/api/me")
    async def me(current: Viewer) -> dict[str, str]:
        # The token too, so a console opened in a new tab (cookie, no token yet) can act; another
        # origin cannot read this answer, which is what keeps the token from a forged request.
        return {"username": current.username, "role": current.role, "csrf_token": current.csrf_token}

    @app.get("/console/api/events/stream")
    async def stream(
        _current: Viewer,
        type: str = "",  # the contract's name; comma-separated types or prefixes
        service: str = "",
        city: str = "",
        correlation_id: str = "",
        since: str | None = None,
    ) -> StreamingResponse:
        where = RecordFilter.of(type.split(","), service, city, correlation_id)
        start = parse_since(since)

        async def body() -> AsyncIterator[str]:
            async for item in deps.hub.stream(where, since=start, heartbeat_seconds=deps.heartbeat_seconds):
                if item is None:
                    yield ": heartbeat\n\n"
                elif item[0] == "dropped":
                    yield f": {item[1]} records dropped: this stream fell behind\n\n"
                else:
                    yield sse(item[0], item[1].to_json())

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    @app.get("/console/api/flows/{correlation_id}")
    async def flow(correlation_id: str, _current: Viewer, since: str | None = None) -> dict[str, Any]:
        if not 0 < len(correlation_id) <= 128:
            raise errors.InvalidInput.field("correlation_id", "1 to 128 characters")
        start = parse_since(since) or datetime.now(UTC) - deps.flow_lookback
        records = await deps.reader.flow(correlation_id, start)
        return {"correlation_id": correlation_id, "records": [r.to_json() for r in records]}

    @app.get("/console/api/consumer-groups")
    async def groups(_current: Viewer) -> list[dict[str, Any]]:
        return [g.to_json() for g in await consumer_group_lags(deps.kafka, topics=deps.topics)]

    @app.get("/console/api/dlq")
    async def dlq(_current: Viewer, status: Literal["open", "all"] = "open") -> list[dict[str, Any]]:
        return await deps.dlq.items(status)

    @app.post("/console/api/dlq/{dlq_id}/replay")
    async def replay(dlq_id: str, current: Operator) -> dict[str, Any]:
        return await deps.dlq.replay(dlq_id, current.actor)

    @app.post("/console/api/dlq/{dlq_id}/discard")
    async def discard(dlq_id: str, body: DiscardRequest, current: Operator) -> dict[str, Any]:
        return await deps.dlq.discard(dlq_id, current.actor, body.reason)

    @app.get("/console/api/stats/throughput")
    async def throughput(_current: Viewer, minutes: Annotated[int, Query(ge=1, le=1440)] = 15) -> dict[str, Any]:
        end = datetime.now(UTC)
        start = end - timedelta(minutes=minutes)
        bucket_seconds = max(10, minutes * 60 // 30)  # about 30 bars whatever the span
        records = await deps.reader.read(start)
        buckets = count_buckets(records, start, end, bucket_seconds)
        return {"bucket_seconds": bucket_seconds, "buckets": [b.to_json() for b in buckets], "until": iso(end)}

    @app.get("/console/api/alerts")
    async def alerts(_current: Viewer) -> list[dict[str, Any]]:
        return [a.to_json() for a in deps.alerts.alerts]

    @app.get("/", include_in_schema=False)
    @app.get("/console", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console/")

    if web_dir.is_dir():
        app.mount("/console", StaticFiles(directory=web_dir, html=True), name="console-web")
    return app
