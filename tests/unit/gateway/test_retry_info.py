"""A downstream "try later" keeps its delay: RetryInfo survives from_rpc_error, is relayed to partner
cities by the gateway's own status mapping, and reaches kiosks as Retry-After.

A real grpc.aio server on a loopback port answers with the status a payments or registry server
would send; no service contract is needed, the handler takes and returns raw bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status
from starlette.requests import Request

from baylink import errors
from baylink.runtime.grpc.errors import DOMAIN, from_rpc_error, retry_delay, to_status
from services.gateway.kiosk.entrypoints.errors import domain_error_response

SERVICE = "baylink.test.TryLater"


def _status(code: int, reason: str, seconds: int, nanos: int = 0) -> grpc.Status:
    status = status_pb2.Status(code=code, message="the ledger is busy")
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))
    status.details.add().Pack(
        error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds, nanos=nanos))
    )
    return rpc_status.to_status(status)


ANSWERS = {
    "Unavailable": _status(code_pb2.UNAVAILABLE, "LEDGER_BUSY", 7, 500_000_000),
    "Exhausted": to_status(errors.ResourceExhausted("slow down", subject="payer", retry_after_seconds=12)),
    "Aborted": _status(code_pb2.ABORTED, "CONFLICT", 2),
    "Plain": rpc_status.to_status(status_pb2.Status(code=code_pb2.UNAVAILABLE, message="down")),
}


async def _answer(request: bytes, context: aio.ServicerContext) -> bytes:
    await context.abort_with_status(ANSWERS[request.decode()])
    return b""  # pragma: no cover - abort raises


@pytest.fixture
async def channel() -> AsyncIterator[aio.Channel]:
    server = aio.server()
    handler = grpc.unary_unary_rpc_method_handler(_answer)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {"Answer": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(0)


async def _error(channel: aio.Channel, which: str) -> errors.BaylinkError:
    with pytest.raises(aio.AioRpcError) as raised:
        await channel.unary_unary(f"/{SERVICE}/Answer")(which.encode())
    return from_rpc_error(raised.value)


async def test_an_unavailable_peer_s_retry_delay_is_kept(channel: aio.Channel) -> None:
    error = await _error(channel, "Unavailable")
    assert isinstance(error, errors.Unavailable)
    assert error.reason == "LEDGER_BUSY"
    assert retry_delay(error) == pytest.approx(7.5)


async def test_resource_exhausted_keeps_its_delay_and_quota_subject(channel: aio.Channel) -> None:
    error = await _error(channel, "Exhausted")
    assert isinstance(error, errors.ResourceExhausted)
    assert error.retry_after_seconds == pytest.approx(12)
    assert error.subject == "payer"


async def test_an_error_without_retry_info_has_no_delay(channel: aio.Channel) -> None:
    assert retry_delay(await _error(channel, "Plain")) is None


async def test_the_gateway_relays_the_delay_to_a_partner_city(channel: aio.Channel) -> None:
    error = await _error(channel, "Aborted")
    relayed = to_status(error)
    status = status_pb2.Status()
    status.ParseFromString(dict(relayed.trailing_metadata)["grpc-status-details-bin"])
    infos = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(infos) == 1
    info = error_details_pb2.RetryInfo()
    infos[0].Unpack(info)
    assert info.retry_delay.seconds == 2
    assert relayed.code == grpc.StatusCode.ABORTED


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "state": {}})


async def test_a_kiosk_hears_retry_after_when_payments_says_try_later(channel: aio.Channel) -> None:
    unavailable = domain_error_response(_request(), await _error(channel, "Unavailable"))
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "8"  # 7.5 s, rounded up
    exhausted = domain_error_response(_request(), await _error(channel, "Exhausted"))
    assert exhausted.status_code == 429
    assert exhausted.headers["Retry-After"] == "12"
    plain = domain_error_response(_request(), await _error(channel, "Plain"))
    assert "Retry-After" not in plain.headers
