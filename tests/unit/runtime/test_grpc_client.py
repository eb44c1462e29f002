"""Channels to other Baylink services carry the caller's correlation id and traceparent.

A real ``grpc.aio`` server on a loopback port answers each call with the metadata it received, for
each of the four kinds of call; no Kafka needed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from grpc import aio

from baylink.runtime.context import correlation_scope
from baylink.runtime.grpc.client import ContextChannel, insecure_channel

SERVICE = "baylink.test.Headers"
ASKED = ("x-correlation-id", "traceparent")


def _seen(context: aio.ServicerContext) -> bytes:
    pairs = sorted((k, v) for k, v in context.invocation_metadata() or () if k in ASKED)
    return json.dumps(pairs).encode()


async def _unary_unary(request: bytes, context: aio.ServicerContext) -> bytes:
    return _seen(context)


async def _unary_stream(request: bytes, context: aio.ServicerContext) -> AsyncIterator[bytes]:
    yield _seen(context)


async def _stream_unary(requests: AsyncIterator[bytes], context: aio.ServicerContext) -> bytes:
    async for _ in requests:
        pass
    return _seen(context)


async def _stream_stream(requests: AsyncIterator[bytes], context: aio.ServicerContext) -> AsyncIterator[bytes]:
    async for _ in requests:
        pass
    yield _seen(context)


@pytest.fixture
async def target() -> AsyncIterator[str]:
    server = aio.server()
    handlers = {
        "UnaryUnary": grpc.unary_unary_rpc_method_handler(_unary_unary),
        "UnaryStream": grpc.unary_stream_rpc_method_handler(_unary_stream),
        "StreamUnary": grpc.stream_unary_rpc_method_handler(_stream_unary),
        "StreamStream": grpc.stream_stream_rpc_method_handler(_stream_stream),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


def _requests() -> Iterator[bytes]:
    yield b"one"
    yield b"two"


async def _only(responses: AsyncIterator[bytes]) -> bytes:
    received = [response async for response in responses]
    assert len(received) == 1
    return received[0]


async def _each_kind(
    channel: aio.Channel, metadata: tuple[tuple[str, str], ...] | None = None
) -> list[list[list[str]]]:
    """What the server saw, for a call of each kind."""
    unary_unary = channel.unary_unary(f"/{SERVICE}/UnaryUnary")
    unary_stream = channel.unary_stream(f"/{SERVICE}/UnaryStream")
    stream_unary = channel.stream_unary(f"/{SERVICE}/StreamUnary")
    stream_stream = channel.stream_stream(f"/{SERVICE}/StreamStream")
    answers = [
        await unary_unary(b"x", metadata=metadata),
        await _only(unary_stream(b"x", metadata=metadata)),
        await stream_unary(_requests(), metadata=metadata),
        await _only(stream_stream(_requests(), metadata=metadata)),
    ]
    return [json.loads(answer) for answer in answers]


async def test_every_kind_of_call_carries_the_context(target: str) -> None:
    async with insecure_channel(target) as channel:
        with correlation_scope("corr-1", traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"):
            seen = await _each_kind(channel)
    expected = [
        ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
        ["x-correlation-id", "corr-1"],
    ]
    assert seen == [expected] * 4


async def test_a_call_that_names_its_own_correlation_id_keeps_it(target: str) -> None:
    async with insecure_channel(target) as channel:
        with correlation_scope("from-context"):
            seen = await _each_kind(channel, metadata=(("x-correlation-id", "from-call"),))
    assert seen == [[["x-correlation-id", "from-call"]]] * 4


async def test_without_a_context_nothing_is_added(target: str) -> None:
    async with insecure_channel(target) as channel:
        assert await _each_kind(channel) == [[]] * 4


async def test_metadata_given_by_position_to_a_streaming_call_is_kept_and_completed(target: str) -> None:
    """The streaming-request calls take metadata as their third positional argument."""
    async with insecure_channel(target) as channel:
        call = channel.stream_unary(f"/{SERVICE}/StreamUnary")
        with correlation_scope("corr-2"):
            seen = json.loads(await call(_requests(), 5.0, (("traceparent", "tp-given"),)))
    assert seen == [["traceparent", "tp-given"], ["x-correlation-id", "corr-2"]]


async def test_the_channel_reports_its_state_and_closes(target: str) -> None:
    channel = insecure_channel(target)
    assert isinstance(channel, ContextChannel) and isinstance(channel, aio.Channel)
    await channel.channel_ready()
    assert channel.get_state() is grpc.ChannelConnectivity.READY
    await channel.close()
    with pytest.raises(aio.UsageError):
        await channel.unary_unary(f"/{SERVICE}/UnaryUnary")(b"x")
