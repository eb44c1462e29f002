"""Channels for calling other Baylink services: the correlation id goes along.

A target names one address or several (``ipv4:10.0.0.1:50051,10.0.0.2:50051``, or a DNS name with
several records): calls are spread over every replica that is up (gRPC's ``round_robin`` policy), and
a replica that goes away is left out until it answers again, so a caller needs no balancer of its own.
"""

from __future__ import annotations

from typing import Any

import grpc
from grpc import aio

from baylink.runtime.context import correlation_id_var, traceparent_var
from baylink.runtime.grpc.interceptors import CORRELATION_HEADER, TRACEPARENT_HEADER
from baylink.runtime.grpc.tls import InternalTransport


class ContextChannel(aio.Channel):  # type: ignore[misc]  # grpc ships no types
    """A ``grpc.aio`` channel whose calls carry the caller's correlation id and traceparent (from the
    context, unless the call names its own). Not a client interceptor: with one, ``grpc.aio`` runs
    every call through an extra task and call object, which cost about a tenth of a small call's
    CPU here (docs/performance.md)."""

    def __init__(self, channel: aio.Channel):
        self._channel = channel

    async def __aenter__(self) -> ContextChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._channel.close(None)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    def unary_unary(self, *args: Any, **kwargs: Any) -> aio.UnaryUnaryMultiCallable:
        return _UnaryUnary(self._channel.unary_unary(*args, **kwargs))

    def unary_stream(self, *args: Any, **kwargs: Any) -> aio.UnaryStreamMultiCallable:
        return _UnaryStream(self._channel.unary_stream(*args, **kwargs))

    def stream_unary(self, *args: Any, **kwargs: Any) -> aio.StreamUnaryMultiCallable:
        return _StreamUnary(self._channel.stream_unary(*args, **kwargs))

    def stream_stream(self, *args: Any, **kwargs: Any) -> aio.StreamStreamMultiCallable:
        return _StreamStream(self._channel.stream_stream(*args, **kwargs))


class _WithContext:
    metadata_at = -1  # where a positional metadata argument comes (the streaming requests' calls)

    def __init__(self, inner: Any):
        self._inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if 0 <= self.metadata_at < len(args):
            args = (*args[: self.metadata_at], with_context(args[self.metadata_at]), *args[self.metadata_at + 1 :])
        else:
            kwargs["metadata"] = with_context(kwargs.get("metadata"))
        return self._inner(*args, **kwargs)


class _UnaryUnary(_WithContext, aio.UnaryUnaryMultiCallable):  # type: ignore[misc]
    pass


class _UnaryStream(_WithContext, aio.UnaryStreamMultiCallable):  # type: ignore[misc]
    pass


class _StreamUnary(_WithContext, aio.StreamUnaryMultiCallable):  # type: ignore[misc]
    metadata_at = 2  # (request_iterator, timeout, metadata, ...)


class _StreamStream(_WithContext, aio.StreamStreamMultiCallable):  # type: ignore[misc]
    metadata_at = 2


def with_context(metadata: Any) -> Any:
    """A call's metadata with the context's correlation id and traceparent added, unless the call
    gave its own (or the context has none)."""
    cid, traceparent = correlation_id_var.get(), traceparent_var.get()
    if not cid and not traceparent:
        return metadata
    pairs = tuple(metadata or ())
    given = {key for key, _ in pairs}
    added = tuple(
        (key, value)
        for key, value in ((CORRELATION_HEADER, cid), (TRACEPARENT_HEADER, traceparent))
        if value and key not in given
    )
    return (*pairs, *added) if added else metadata


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
    return ContextChannel(aio.secure_channel(target, credentials, options=options))


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
    return ContextChannel(aio.insecure_channel(target, options=_options(own_connection)))


def _options(own_connection: bool) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [("grpc.lb_policy_name", "round_robin")]
    if own_connection:
        options.append(("grpc.use_local_subchannel_pool", 1))
    return options
