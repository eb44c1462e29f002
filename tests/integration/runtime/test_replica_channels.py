"""Internal channels over several replicas: calls are spread over the replicas that are up, and a
replica that goes away is routed around (issue 17, item 1), over plaintext and over mutual TLS."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from grpc import aio

from baylink.runtime.grpc.client import insecure_channel, internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from tests.support.internal_pki import transport_of

METHOD = "/baylink.test.Replica/Name"


def _identity(data: bytes) -> bytes:
    return data


@asynccontextmanager
async def replica(name: str, transport: InternalTransport | None = None) -> AsyncIterator[tuple[aio.Server, int]]:
    """A gRPC server that answers every call with its own name."""

    async def answer(request: bytes, context: aio.ServicerContext) -> bytes:
        return name.encode()

    handler = grpc.method_handlers_generic_handler(
        "baylink.test.Replica",
        {"Name": grpc.unary_unary_rpc_method_handler(answer, _identity, _identity)},
    )
    server = aio.server()
    server.add_generic_rpc_handlers((handler,))
    credentials = transport.server_credentials() if transport is not None else None
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield server, port
    finally:
        await server.stop(0)


async def names(channel: aio.Channel, calls: int) -> Counter[str]:
    call = channel.unary_unary(METHOD, request_serializer=_identity, response_deserializer=_identity)
    seen: Counter[str] = Counter()
    for _ in range(calls):
        answer = await call(b"", timeout=5, wait_for_ready=True)
        seen[answer.decode()] += 1
    return seen


async def test_calls_spread_over_replicas_and_route_around_a_dead_one() -> None:
    async with replica("a") as (server_a, port_a), replica("b") as (_, port_b):
        channel = insecure_channel(f"ipv4:127.0.0.1:{port_a},127.0.0.1:{port_b}")
        try:
            first = await names(channel, 40)
            # round_robin: both replicas serve, in turns (the first call may land before both connect).
            assert set(first) == {"a", "b"}
            assert abs(first["a"] - first["b"]) <= 2
            await server_a.stop(0)  # replica a dies
            after = await names(channel, 20)
            assert after == Counter({"b": 20})
        finally:
            await channel.close()


async def test_mutual_tls_channel_spreads_over_replicas(tmp_path: Path) -> None:
    server_transport = transport_of(tmp_path, "registry")
    async with replica("a", server_transport) as (_, port_a), replica("b", server_transport) as (_, port_b):
        channel = internal_channel(
            f"ipv4:127.0.0.1:{port_a},127.0.0.1:{port_b}", transport_of(tmp_path, "gateway"), "registry"
        )
        try:
            seen = await names(channel, 20)
            assert set(seen) == {"a", "b"}
        finally:
            await channel.close()


@pytest.mark.parametrize("target", ["ipv4:127.0.0.1:1,127.0.0.1:2"])
async def test_no_replica_up_fails_unavailable(target: str) -> None:
    channel = insecure_channel(target)
    try:
        call = channel.unary_unary(METHOD, request_serializer=_identity, response_deserializer=_identity)
        with pytest.raises(aio.AioRpcError) as failed:
            await call(b"", timeout=2)
        assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await channel.close()
