"""The server interceptor: correlation id, metrics and error mapping for every call.

- Correlation id: from the ``x-correlation-id`` metadata, else a new one; kept in
  a contextvar for the call so logs and events carry it. A new one is sent back in
  the initial metadata; the caller's own is not echoed (it knows it, and sending
  initial metadata costs a round through the transport on every call).
- Errors: a ``BaylinkError`` becomes its status with details (errors.py); the
  database out of reach (refused, dropped, shutting down: ``db.database_unavailable``)
  is UNAVAILABLE with reason ``DATABASE_UNAVAILABLE`` and a retry delay, logged as a
  warning; any other exception is INTERNAL, logged once with the correlation id.
- Metrics: calls by method and code, latency by method.
- Callers: with a ``policy`` (mutual TLS), a caller not on the method's allow-list gets
  PERMISSION_DENIED before the servicer runs (authz.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from grpc import aio

from baylink.errors import BaylinkError
from baylink.runtime.context import correlation_scope
from baylink.runtime.db import database_down, database_unavailable
from baylink.runtime.grpc.authz import CallerPolicy, check_caller
from baylink.runtime.grpc.errors import code_for, internal_status, to_status
from baylink.runtime.metrics import ServiceMetrics

log = logging.getLogger("baylink.grpc")

CORRELATION_HEADER = "x-correlation-id"
TRACEPARENT_HEADER = "traceparent"


class ServiceInterceptor(aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no types
    def __init__(self, metrics: ServiceMetrics, policy: CallerPolicy | None = None):
        self.metrics = metrics
        self.policy = policy  # None: plaintext, no verified caller to check

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        metadata = dict(details.invocation_metadata or ())
        if handler.unary_unary or handler.stream_unary:
            return self._wrap_unary_response(handler, method, metadata)
        return self._wrap_stream_response(handler, method, metadata)

    def _wrap_unary_response(
        self, handler: grpc.RpcMethodHandler, method: str, metadata: dict[str, Any]
    ) -> grpc.RpcMethodHandler:
        behaviour = handler.unary_unary or handler.stream_unary
        factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler

        async def wrapped(request: Any, context: aio.ServicerContext) -> Any:
            async with self._call(method, metadata, context):
                return await behaviour(request, context)

        return factory(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap_stream_response(
        self, handler: grpc.RpcMethodHandler, method: str, metadata: dict[str, Any]
    ) -> grpc.RpcMethodHandler:
        behaviour = handler.unary_stream or handler.stream_stream
        factory = (
            grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        )

        async def wrapped(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            async with self._call(method, metadata, context):
                async for response in behaviour(request, context):
                    yield response

        return factory(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @asynccontextmanager
    async def _call(self, method: str, metadata: dict[str, Any], context: aio.ServicerContext) -> AsyncIterator[None]:
        cid_in, traceparent = metadata.get(CORRELATION_HEADER), metadata.get(TRACEPARENT_HEADER)
        with correlation_scope(cid_in, traceparent=traceparent) as cid:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if self.policy is not None:
                    check_caller(self.policy, method, context)
                if cid_in is None:
                    await context.send_initial_metadata(((CORRELATION_HEADER, cid),))
                yield
            except BaylinkError as exc:
                code = code_for(exc)
                await context.abort_with_status(to_status(exc, cid))
            except aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as exc:
                if database_unavailable(exc):
                    code = grpc.StatusCode.UNAVAILABLE
                    log.warning("%s: the database is unavailable: %s", method, exc)
                    await context.abort_with_status(to_status(database_down(), cid))
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await context.abort_with_status(internal_status(cid))
            finally:
                self._observe(method, code, started)

    def _observe(self, method: str, code: grpc.StatusCode, started: float) -> None:
        self.metrics.rpc_handled.labels(method, code.name).inc()
        self.metrics.rpc_latency.labels(method).observe(time.perf_counter() - started)
