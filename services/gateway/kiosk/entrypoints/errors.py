"""Errors at the kiosk's HTTP edge: one table from gRPC status codes to HTTP statuses, one body shape.

Every refusal is ``{"code", "message", "fields": [{"field", "description"}], "correlation_id"}``:
``code`` the stable reason (``NAME_MISMATCH``, ``SESSION_EXPIRED``, …), ``message`` in the request's
language. Domain errors (raised here, or rebuilt from a service's status by ``from_rpc_error``) go
through ``code_for`` (the runtime's domain → gRPC table) and then ``HTTP_STATUS``; pydantic's field
errors are 422; the gateway's database out of reach is a 503 ``DATABASE_UNAVAILABLE`` with Retry-After;
anything unexpected is a 500 saying only where to look (the correlation id).
"""

from __future__ import annotations

import logging
import math

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baylink import errors
from baylink.runtime.db import DATABASE_ERRORS, database_down, database_unavailable
from baylink.runtime.grpc.errors import code_for, retry_delay
from services.gateway.kiosk.entrypoints.i18n import EN, message

log = logging.getLogger("baylink.gateway.kiosk")

# The one table: gRPC status code → HTTP status.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def language_of(request: Request) -> str:
    return str(getattr(request.state, "language", EN))


def correlation_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("correlation_id", ""))


def body(request: Request, code: str, text: str, fields: list[dict[str, str]]) -> dict[str, object]:
    return {"code": code, "message": text, "fields": fields, "correlation_id": correlation_of(request)}


def _field(path: str) -> str:
    """Binding refusals name the binding's input; the kiosk knows those fields by the request's names."""
    if path.startswith("declared."):
        return path.removeprefix("declared.")
    if path == "certificate" or path.startswith("certificate."):
        return "certificate_chain_pem"
    return path


def _description(text: str, language: str) -> str:
    """A description led by a stable code (``name_mismatch: …``) is said in the kiosk's language."""
    code, colon, _rest = text.partition(":")
    if colon and code.isidentifier():
        return message(code, language, text)
    return text


def domain_error_response(request: Request, error: errors.BaylinkError) -> JSONResponse:
    status = HTTP_STATUS.get(code_for(error), 500)
    language = language_of(request)
    fields: list[dict[str, str]] = []
    if isinstance(error, errors.InvalidInput):
        fields = [{"field": _field(v.field), "description": _description(v.description, language)}
                  for v in error.violations]  # fmt: skip
    elif isinstance(error, errors.FailedPrecondition):
        fields = [{"field": v.subject, "description": v.description} for v in error.violations]
    if status == 500:  # a status we do not map says nothing about our internals either
        log.error("unmapped domain error", extra={"reason": error.reason, "correlation_id": correlation_of(request)})
        return internal_error_response(request)
    headers: dict[str, str] = {}
    delay = retry_delay(error)  # a downstream "try later" (RetryInfo) reaches the kiosk as Retry-After
    if status == 429 or (status == 503 and delay is not None):
        headers["Retry-After"] = str(max(1, math.ceil(delay or 1)))
    elif status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    text = message(error.reason, language, error.message)
    if text == error.message and isinstance(error, errors.NotFound):
        text = message("NOT_FOUND", language, error.message)
    return JSONResponse(body(request, error.reason, text, fields), status_code=status, headers=headers)


def internal_error_response(request: Request) -> JSONResponse:
    cid = correlation_of(request)
    text = message("INTERNAL", language_of(request), "internal error")
    return JSONResponse(body(request, "INTERNAL", text, []), status_code=500, headers={"X-Correlation-Id": cid})


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.BaylinkError)
    async def _domain(request: Request, exc: errors.BaylinkError) -> JSONResponse:
        return domain_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body", "description": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        text = message("INVALID_REQUEST", language_of(request), "invalid request")
        return JSONResponse(body(request, "INVALID_REQUEST", text, fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}.get(exc.status_code, "HTTP_ERROR")
        text = message(code, language_of(request), str(exc.detail))
        return JSONResponse(body(request, code, text, []), status_code=exc.status_code)

    # The gateway's own database (sessions, audit) out of reach: 503, try again. Registered by class,
    # so Starlette answers from its exception middleware; the catch-all below (Exception) is served by
    # its server-error middleware, which re-raises after answering and uvicorn logs an error each time.
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("kiosk request: the database is unavailable: %s", exc)
            return domain_error_response(request, database_down())
        log.exception("kiosk request failed", extra={"correlation_id": correlation_of(request)})
        return internal_error_response(request)

    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):  # a database error wrapped in another exception
            log.warning("kiosk request: the database is unavailable: %s", exc)
            return domain_error_response(request, database_down())
        log.exception("kiosk request failed", extra={"correlation_id": correlation_of(request)})
        return internal_error_response(request)
