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
from collections.abc import AsyncIterator
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


class ServiceInterceptor:
    """Puts the per-call work around each method's handler once, when the handler is registered
    (`InterceptingServer` in server.py), so that a call pays for its own work only: its metadata is
    read from the call's context, and the metric series of each method and code are looked up once.
    Not a ``grpc.aio`` interceptor: with one, the server runs an interceptor chain (coroutines) on
    every call to find the handler it already knows (docs/performance.md)."""

    def __init__(self, metrics: ServiceMetrics, policy: CallerPolicy | None = None):
        self.metrics = metrics
        self.policy = policy  # None: plaintext, no verified caller to check
        self._handled: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._latency: dict[str, Any] = {}

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """`handler` (of the fully qualified `method`, "/package.Service/Method") with the per-call work."""
        if handler.unary_unary or handler.stream_unary:
            return self._wrap_unary_response(handler, method)
        return self._wrap_stream_response(handler, method)

    def _wrap_unary_response(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        behaviour = handler.unary_unary or handler.stream_unary
        factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler

        async def wrapped(request: Any, context: aio.ServicerContext) -> Any:
            cid_in, traceparent = _headers(context)
            with correlation_scope(cid_in, traceparent=traceparent) as cid:
                started = time.perf_counter()
                code = grpc.StatusCode.OK
                try:
                    await self._admit(method, context, cid_in, cid)
                    return await behaviour(request, context)
                except (Exception, asyncio.CancelledError) as exc:
                    code = self._code_of(exc, context)
                    await self._answer(exc, code, method, cid, context)
                    raise
                finally:
                    self._observe(method, code, started)

        return factory(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap_stream_response(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        behaviour = handler.unary_stream or handler.stream_stream
        factory = (
            grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        )

        async def wrapped(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            async with self._call(method, context):
                async for response in behaviour(request, context):
                    yield response

        return factory(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @asynccontextmanager
    async def _call(self, method: str, context: aio.ServicerContext) -> AsyncIterator[None]:
        cid_in, traceparent = _headers(context)
        with correlation_scope(cid_in, traceparent=traceparent) as cid:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                await self._admit(method, context, cid_in, cid)
                yield
            except (Exception, asyncio.CancelledError) as exc:
                code = self._code_of(exc, context)
                await self._answer(exc, code, method, cid, context)
                raise
            finally:
                self._observe(method, code, started)

    async def _admit(self, method: str, context: aio.ServicerContext, cid_in: str | None, cid: str) -> None:
        """Before the servicer: the caller's check, and a new correlation id sent back."""
        if self.policy is not None:
            check_caller(self.policy, method, context)
        if cid_in is None:
            await context.send_initial_metadata(((CORRELATION_HEADER, cid),))

    @staticmethod
    def _code_of(exc: BaseException, context: aio.ServicerContext) -> grpc.StatusCode:
        if isinstance(exc, BaylinkError):
            return code_for(exc)
        if isinstance(exc, aio.AbortError):
            return context.code() or grpc.StatusCode.UNKNOWN
        if isinstance(exc, asyncio.CancelledError):
            return grpc.StatusCode.CANCELLED
        return grpc.StatusCode.UNAVAILABLE if database_unavailable(exc) else grpc.StatusCode.INTERNAL

    @staticmethod
    async def _answer(
        exc: BaseException, code: grpc.StatusCode, method: str, cid: str, context: aio.ServicerContext
    ) -> None:
        """Abort the call with the status ``exc`` maps to (an abort raises); return to re-raise
        what is not ours to map (an abort already under way, a cancellation)."""
        if isinstance(exc, BaylinkError):
            await context.abort_with_status(to_status(exc, cid))
        if isinstance(exc, aio.AbortError | asyncio.CancelledError):
            return
        if code is grpc.StatusCode.UNAVAILABLE:
            log.warning("%s: the database is unavailable: %s", method, exc)
            await context.abort_with_status(to_status(database_down(), cid))
        log.exception("unhandled error in %s", method, exc_info=exc)
        await context.abort_with_status(internal_status(cid))

    def _observe(self, method: str, code: grpc.StatusCode, started: float) -> None:
        handled = self._handled.get((method, code))
        if handled is None:
            handled = self._handled[method, code] = self.metrics.rpc_handled.labels(method, code.name)
        latency = self._latency.get(method)
        if latency is None:
            latency = self._latency[method] = self.metrics.rpc_latency.labels(method)
        handled.inc()
        latency.observe(time.perf_counter() - started)


def _headers(context: aio.ServicerContext) -> tuple[str | None, str | None]:
    """The caller's correlation id and traceparent, if it sent them."""
    cid = traceparent = None
    for key, value in context.invocation_metadata() or ():
        if key == CORRELATION_HEADER:
            cid = value
        elif key == TRACEPARENT_HEADER:
            traceparent = value
    return cid, traceparent


class WrappedHandlers(grpc.GenericRpcHandler):  # type: ignore[misc]  # grpc ships no types
    """A generic handler whose method handlers come wrapped by `interceptor`, each wrapped once (for
    as long as `inner` hands out the same handler for a method)."""

    def __init__(self, inner: grpc.GenericRpcHandler, interceptor: ServiceInterceptor):
        self._inner = inner
        self._interceptor = interceptor
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(details)
        if handler is None:
            return None
        method = details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._interceptor.wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped
