"""Channels for calling other Baylink services: the correlation id goes along."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grpc import aio

from baylink.runtime.context import correlation_id_var, traceparent_var
from baylink.runtime.grpc.interceptors import CORRELATION_HEADER, TRACEPARENT_HEADER


class _ContextMetadata(aio.UnaryUnaryClientInterceptor, aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(_with_context(details), request)

    async def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(_with_context(details), request)


def _with_context(details: Any) -> Any:
    metadata = aio.Metadata(*(details.metadata or ()))
    for key, var in ((CORRELATION_HEADER, correlation_id_var), (TRACEPARENT_HEADER, traceparent_var)):
        value = var.get()
        if value and key not in metadata:
            metadata.add(key, value)
    return aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready)


def insecure_channel(target: str, *, own_connection: bool = False) -> aio.Channel:
    """A channel to an internal (loopback) service. Channels to one target share one connection
    unless ``own_connection``: a server of several worker processes gets work per connection."""
    options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
    return aio.insecure_channel(target, options=options, interceptors=[_ContextMetadata()])
