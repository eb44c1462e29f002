"""The console's refusals: ``{"code", "message", "fields"}`` with the status of the gateway's one gRPC → HTTP table."""

from __future__ import annotations

import logging
import math

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from baylink import errors
from baylink.runtime.grpc.errors import code_for
from services.gateway.kiosk.entrypoints.errors import HTTP_STATUS

log = logging.getLogger("baylink.gateway.console")
HTTP_CODES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE"}


def refusal(
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    *,
    retry_after: float | None = None,
) -> JSONResponse:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    return JSONResponse({"code": code, "message": message, "fields": fields or []}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Turn domain errors, invalid bodies, Kafka trouble and HTTP errors into refusals."""

    @app.exception_handler(errors.BaylinkError)
    async def _domain(_request: Request, error: errors.BaylinkError) -> JSONResponse:
        fields: list[dict[str, str]] = []
        if isinstance(error, errors.InvalidInput):
            fields = [{"field": v.field, "description": v.description} for v in error.violations]
        status = HTTP_STATUS.get(code_for(error), 500)
        wait = error.retry_after_seconds if status == 429 else None
        return refusal(status, error.reason, str(error), fields, retry_after=wait)

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
        code = HTTP_CODES.get(error.status_code, "ERROR")
        return refusal(error.status_code, code, str(error.detail))
