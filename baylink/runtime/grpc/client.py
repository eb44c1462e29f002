"""Channels for calling other Baylink services: the correlation id goes along.

A target names one address or several (``ipv4:10.0.0.1:50051,10.0.0.2:50051``, or a DNS name with
several records): calls are spread over every replica that is up (gRPC's ``round_robin`` policy), and
a replica that goes away is left out until it answers again, so a caller needs no balancer of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from grpc import aio

from baylink.runtime.context import correlation_id_var, traceparent_var
from baylink.runtime.grpc.interceptors import CORRELATION_HEADER, TRACEPARENT_HEADER
from baylink.runtime.grpc.tls import InternalTransport


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


def internal_channel(
    target: str, transport: InternalTransport, server: str, *, own_connection: bool = False
) -> aio.Channel:
    """A channel to the Baylink service ``server`` (its identity, e.g. ``payments``) at ``target``:
    mutual TLS with this process's certificate, the server's certificate checked for that name;
    plaintext only if the transport was explicitly made insecure."""
    credentials = transport.channel_credentials()
    if credentials is None:
        return insecure_channel(target, own_connection=own_connection)
    options = [*_options(own_connection), ("grpc.ssl_target_name_override", server)]
    return aio.secure_channel(target, credentials, options=options, interceptors=[_ContextMetadata()])


def blocking_internal_channel(target: str, transport: InternalTransport, server: str) -> grpc.Channel:
    """``internal_channel`` for a blocking stub (a CLI command: a handful of calls, then exit)."""
    credentials = transport.channel_credentials()
    if credentials is None:
        return grpc.insecure_channel(target, options=_options(False))
    return grpc.secure_channel(
        target, credentials, options=[*_options(False), ("grpc.ssl_target_name_override", server)]
    )


def insecure_channel(target: str, *, own_connection: bool = False) -> aio.Channel:
    """A plaintext channel (tests, and ``internal_channel`` under BAYLINK_INSECURE_INTERNAL=1).
    Channels to one target share one connection unless ``own_connection``: a server of several
    worker processes gets work per connection."""
    return aio.insecure_channel(target, options=_options(own_connection), interceptors=[_ContextMetadata()])


def _options(own_connection: bool) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [("grpc.lb_policy_name", "round_robin")]
    if own_connection:
        options.append(("grpc.use_local_subchannel_pool", 1))
    return options
