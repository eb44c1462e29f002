"""The shared gRPC server: health, reflection, correlation ids, error mapping, metrics.

Runs a real grpc.aio server on a free loopback port; no Kafka needed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from sqlalchemy.exc import DBAPIError

from baylink import errors
from baylink.runtime.context import correlation_scope
from baylink.runtime.db import database_unavailable
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.grpc.errors import from_rpc_error
from baylink.runtime.grpc.server import GrpcServer, start_grpc_server
from baylink.runtime.metrics import ServiceMetrics
from tests.support.probe_service import SERVICE, register


@pytest.fixture
async def server() -> AsyncIterator[tuple[GrpcServer, ServiceMetrics]]:
    metrics = ServiceMetrics()
    srv = await start_grpc_server(register, [SERVICE], metrics=metrics)
    yield srv, metrics
    await srv.stop(0)


@pytest.fixture
async def channel(server: tuple[GrpcServer, ServiceMetrics]) -> AsyncIterator[aio.Channel]:
    async with insecure_channel(f"127.0.0.1:{server[0].port}") as ch:
        yield ch


def call(channel: aio.Channel, method: str) -> aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(f"/{SERVICE}/{method}")


async def test_health_is_serving_for_the_server_and_each_service(channel: aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_turns_not_serving_when_asked(server, channel) -> None:  # type: ignore[no-untyped-def]
    await server[0].set_serving(False)
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE))
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_reflection_lists_the_services(channel: aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name async for r in responses for s in r.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


async def test_correlation_id_from_the_caller_is_used_and_not_echoed(channel: aio.Channel) -> None:
    with correlation_scope("corr-from-caller"):
        rpc = call(channel, "Echo")(b"hi")
        assert await rpc == b"hi"
        with pytest.raises(aio.AioRpcError) as info:
            await call(channel, "Fail")(b"not_found")
    # The caller knows its own id: no initial metadata is spent on it; the call still runs under it.
    assert "x-correlation-id" not in dict(await rpc.initial_metadata())
    status = rpc_status.from_call(info.value)
    assert status is not None
    info_detail = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info_detail) for d in status.details if d.Is(info_detail.DESCRIPTOR))
    assert info_detail.metadata["correlation_id"] == "corr-from-caller"


async def test_calls_through_one_method_each_run_under_their_own_correlation_id(channel: aio.Channel) -> None:
    """The interceptor wraps a method's handler once; each call still reads its own metadata."""

    async def failing_under(cid: str | None) -> str:
        with pytest.raises(aio.AioRpcError) as info:
            if cid is None:
                await call(channel, "Fail")(b"not_found")
            else:
                with correlation_scope(cid):
                    await call(channel, "Fail")(b"not_found")
        status = rpc_status.from_call(info.value)
        assert status is not None
        detail = error_details_pb2.ErrorInfo()
        assert any(d.Unpack(detail) for d in status.details if d.Is(detail.DESCRIPTOR))
        return detail.metadata["correlation_id"]

    seen = await asyncio.gather(*(failing_under(f"corr-{n}") for n in range(5)), failing_under(None))
    assert seen[:5] == [f"corr-{n}" for n in range(5)]
    assert len(seen[5]) == 36 and not seen[5].startswith("corr-")


async def test_a_call_without_correlation_id_gets_a_new_one(channel: aio.Channel) -> None:
    rpc = call(channel, "Echo")(b"hi")
    await rpc
    assert len(dict(await rpc.initial_metadata())["x-correlation-id"]) == 36


async def test_invalid_input_is_invalid_argument_with_field_violations(channel: aio.Channel) -> None:
    with pytest.raises(aio.AioRpcError) as info:
        await call(channel, "Fail")(b"invalid")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(info.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(bad.DESCRIPTOR))
    assert [(v.field, v.description) for v in bad.field_violations] == [("amount.currency", "must be an ISO 4217 code")]


@pytest.mark.parametrize(
    ("kind", "code", "domain_error"),
    [
        ("invalid", grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidInput),
        ("precondition", grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition),
        ("not_found", grpc.StatusCode.NOT_FOUND, errors.NotFound),
        ("exhausted", grpc.StatusCode.RESOURCE_EXHAUSTED, errors.ResourceExhausted),
    ],
)
async def test_domain_errors_map_to_their_code_and_come_back_as_the_same_domain_error(
    channel: aio.Channel, kind: str, code: grpc.StatusCode, domain_error: type[errors.BaylinkError]
) -> None:
    with pytest.raises(aio.AioRpcError) as info:
        await call(channel, "Fail")(kind.encode())
    assert info.value.code() == code
    back = from_rpc_error(info.value)
    assert isinstance(back, domain_error)
    if isinstance(back, errors.FailedPrecondition):
        assert back.violations == [errors.PreconditionViolation("STATE", "application/42", "SUBMITTED")]
    if isinstance(back, errors.NotFound):
        assert (back.resource_type, back.resource_name) == ("application", "42")


async def test_an_unmapped_exception_is_internal_without_internals_and_logged_once(
    channel: aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="baylink.grpc")
    with correlation_scope("corr-bug"), pytest.raises(aio.AioRpcError) as info:
        await call(channel, "Fail")(b"bug")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "ZeroDivision" not in (info.value.details() or "")
    assert "correlation id" in (info.value.details() or "")
    records = [r for r in caplog.records if r.name == "baylink.grpc"]
    assert len(records) == 1 and records[0].exc_info is not None


async def test_a_database_out_of_reach_is_unavailable_with_its_reason_not_internal(
    channel: aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    # A real PostgreSQL URL on a loopback port where nothing listens: the pool's connect is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.WARNING, logger="baylink.grpc")
    url = f"postgresql+asyncpg://nobody:none@127.0.0.1:{port}/nothing"
    with pytest.raises(aio.AioRpcError) as info:
        await call(channel, "Query")(url.encode())
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    back = from_rpc_error(info.value)
    assert isinstance(back, errors.Unavailable) and back.reason == "DATABASE_UNAVAILABLE"
    assert back.retry_after_seconds == 1.0 and "database is unavailable" in back.message
    records = [r for r in caplog.records if r.name == "baylink.grpc"]
    assert [r.levelno for r in records] == [logging.WARNING] and records[0].exc_info is None


def test_database_unavailable_tells_a_lost_server_from_a_failed_statement() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed")
    wrapped = DBAPIError("select 1", {}, refused, connection_invalidated=True)
    shutting_down = asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")
    starting = asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    dropped = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    for gone in (refused, wrapped, shutting_down, starting, dropped, asyncpg.InterfaceError("connection is closed")):
        assert database_unavailable(gone), gone
    try:
        try:
            raise refused
        except ConnectionError as exc:
            raise RuntimeError("while reading the outbox") from exc
    except RuntimeError as outer:
        assert database_unavailable(outer)
    unique = asyncpg.exceptions.UniqueViolationError("duplicate key value")
    statement = DBAPIError("insert", {}, unique, connection_invalidated=False)
    for failed in (unique, statement, ZeroDivisionError("a bug"), asyncpg.InterfaceError("another operation")):
        assert not database_unavailable(failed), failed


async def test_streaming_calls_get_errors_mapped_after_their_messages(channel: aio.Channel) -> None:
    stream = channel.unary_stream(f"/{SERVICE}/Count")(b"3")
    received = []
    with pytest.raises(aio.AioRpcError) as info:
        async for item in stream:
            received.append(item)
    assert received == [b"0", b"1", b"2"]
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_calls_are_counted_by_method_and_code(server, channel) -> None:  # type: ignore[no-untyped-def]
    await call(channel, "Echo")(b"x")
    with pytest.raises(aio.AioRpcError):
        await call(channel, "Fail")(b"not_found")
    metrics: ServiceMetrics = server[1]
    value = metrics.registry.get_sample_value
    failed = {"method": f"/{SERVICE}/Fail", "code": "NOT_FOUND"}
    # The caller has its status once the server aborts; the server counts the call just after.
    async with asyncio.timeout(5):
        while value("baylink_grpc_server_handled_total", failed) is None:
            await asyncio.sleep(0.01)
    assert value("baylink_grpc_server_handled_total", {"method": f"/{SERVICE}/Echo", "code": "OK"}) == 1
    assert value("baylink_grpc_server_handled_total", failed) == 1
    assert value("baylink_grpc_server_handling_seconds_count", {"method": f"/{SERVICE}/Echo"}) == 1


async def test_the_metrics_endpoint_serves_prometheus_text() -> None:
    import urllib.request

    metrics = ServiceMetrics()
    metrics.outbox_backlog.set(5)
    endpoint = metrics.serve("127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{endpoint.port}/metrics"
        body = (await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())).decode()
    finally:
        endpoint.close()
    assert "baylink_outbox_backlog 5.0" in body


async def test_every_handler_is_intercepted_registered_and_generic(server, channel) -> None:  # type: ignore[no-untyped-def]
    """The interceptor wraps handlers at registration: the generated code's registered methods
    (health, reflection) as well as generic handlers (the probe service) are counted, and each call
    runs under a correlation id the server made (sent back to a caller that gave none)."""
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert (await health).status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    assert [r async for r in reflection]
    echo = call(channel, "Echo")(b"x")
    assert await echo == b"x"
    metrics: ServiceMetrics = server[1]
    value = metrics.registry.get_sample_value
    methods = (
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        f"/{SERVICE}/Echo",
    )
    async with asyncio.timeout(5):
        while any(value("baylink_grpc_server_handled_total", {"method": m, "code": "OK"}) is None for m in methods):
            await asyncio.sleep(0.01)
    for method in methods:
        assert value("baylink_grpc_server_handled_total", {"method": method, "code": "OK"}) == 1
    assert len(dict(await health.initial_metadata())["x-correlation-id"]) == 36
