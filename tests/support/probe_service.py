"""A tiny gRPC service on the shared runtime, for testing the runtime itself.

It has no contract of its own: methods take and return raw bytes through a
generic handler, so the runtime is tested without any real service's protos.
``python -m tests.support.probe_service`` runs it as a real process (SIGTERM tests).
"""

from __future__ import annotations

import asyncio
import sys
from typing import ClassVar

import grpc
import sqlalchemy as sa
from grpc import aio
from pydantic_settings import SettingsConfigDict

from baylink import errors
from baylink.runtime.db import Database
from baylink.runtime.host import ServiceHost
from baylink.runtime.logging import configure_logging
from baylink.runtime.settings import ServiceSettings

SERVICE = "baylink.test.Probe"


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_PROBE_", extra="forbid")


async def _echo(request: bytes, context: aio.ServicerContext) -> bytes:
    return request


async def _sleep(request: bytes, context: aio.ServicerContext) -> bytes:
    """Sleep for the number of seconds in the request, then say so."""
    seconds = float(request.decode() or "0")
    await asyncio.sleep(seconds)
    return f"slept {seconds}".encode()


async def _fail(request: bytes, context: aio.ServicerContext) -> bytes:
    """Raise the error the request names: a domain error, or a plain bug."""
    kind = request.decode()
    if kind == "invalid":
        raise errors.InvalidInput.field("amount.currency", "must be an ISO 4217 code")
    if kind == "precondition":
        raise errors.FailedPrecondition(
            "application is SUBMITTED", [errors.PreconditionViolation("STATE", "application/42", "SUBMITTED")]
        )
    if kind == "not_found":
        raise errors.NotFound("application", "42")
    if kind == "exhausted":
        raise errors.ResourceExhausted("too many lookups", subject="city:440300", retry_after_seconds=30)
    raise ZeroDivisionError("a bug")


async def _query(request: bytes, context: aio.ServicerContext) -> bytes:
    """``select 1`` on the database whose URL is the request, through the engine's pool."""
    database = Database(request.decode())
    try:
        async with database.begin(readonly=True) as conn:
            return str((await conn.execute(sa.text("select 1"))).scalar_one()).encode()
    finally:
        await database.dispose()


async def _stream(request: bytes, context: aio.ServicerContext):  # type: ignore[no-untyped-def]
    for i in range(int(request.decode() or "0")):
        yield str(i).encode()
    raise errors.NotFound("page", "end")


def register(server: aio.Server) -> None:
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(_echo),
        "Sleep": grpc.unary_unary_rpc_method_handler(_sleep),
        "Fail": grpc.unary_unary_rpc_method_handler(_fail),
        "Query": grpc.unary_unary_rpc_method_handler(_query),
        "Count": grpc.unary_stream_rpc_method_handler(_stream),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


def main() -> None:
    settings = ProbeSettings()
    configure_logging("probe", settings.log_level)
    asyncio.run(ServiceHost(settings, register=register, service_names=[SERVICE], callers={}).run())
    sys.exit(0)


if __name__ == "__main__":
    main()
