"""Internal gRPC over mutual TLS (issue 16, item 9): a real payments service on a real TLS port.

Only a caller holding a certificate of the internal CA gets past the handshake; once past it, the
service named in that certificate must be on the RPC's allow-list. Plaintext only when asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from typer.testing import CliRunner

from baylink import errors
from baylink.common.v1 import common_pb2
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.host import ServiceHost
from baylink.runtime.settings import InternalTransportSettings, KafkaSettings
from services.payments.bootstrap import Payments, host_for
from services.payments.entrypoints.cli import app as payments_cli
from tests.conftest import TopicFactory
from tests.support.internal_pki import tls_settings, transport_of
from tests.unit.payments.conftest import Clock, make_app

CAP = api.SetNetDebitCapRequest(
    participant_id="HKBANK", net_debit_cap=common_pb2.Money(currency="HKD", minor_units=20_000)
)


@pytest.fixture
async def payments(tmp_path: Path) -> AsyncIterator[Payments]:
    app = await make_app(f"sqlite+aiosqlite:///{tmp_path / 'payments.db'}", Clock())
    yield app
    await app.deps.db.dispose()


@asynccontextmanager
async def serving(
    app: Payments, kafka: KafkaSettings, topic: str, internal: InternalTransportSettings
) -> AsyncIterator[int]:
    app.deps.event_topic = topic
    update = {"kafka": kafka, "internal": internal, "drain_delay_seconds": 0, "grpc_port": 0, "metrics_port": 0}
    app.settings = app.settings.model_copy(update=update)
    host = host_for(app)
    await host.start()
    assert host.grpc is not None
    try:
        yield host.grpc.port
    finally:
        await host.shutdown()


@pytest.fixture
async def tls_port(
    payments: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory, tmp_path: Path
) -> AsyncIterator[int]:
    transport_of(tmp_path / "pki", "payments")  # the internal CA and every identity's certificate
    async with serving(payments, kafka_settings, await new_topic("tls"), tls_settings(tmp_path / "pki")) as port:
        yield port


async def set_cap(port: int, transport: InternalTransport, server: str = "payments") -> api.SetNetDebitCapResponse:
    async with internal_channel(f"127.0.0.1:{port}", transport, server) as channel:
        return await api_grpc.PaymentsServiceStub(channel).SetNetDebitCap(CAP, timeout=5)


async def test_operator_certificate_sets_a_net_debit_cap(tls_port: int, tmp_path: Path) -> None:
    response = await set_cap(tls_port, transport_of(tmp_path / "pki", "operator"))
    assert response.position.net_debit_cap.minor_units == 20_000


async def test_registry_certificate_calling_set_net_debit_cap_is_permission_denied(
    tls_port: int, tmp_path: Path
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        await set_cap(tls_port, transport_of(tmp_path / "pki", "registry"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    status = rpc_status.from_call(caught.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.metadata["caller"]) == ("CALLER_NOT_ALLOWED", "registry")


async def test_gateway_certificate_is_refused_the_admin_rpcs_too(tls_port: int, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        await set_cap(tls_port, transport_of(tmp_path / "pki", "gateway"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_client_without_certificate_is_refused(tls_port: int, tmp_path: Path) -> None:
    ca = (tmp_path / "pki" / "ca.crt").read_bytes()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca)  # trusts the server, proves nothing
    options = [("grpc.ssl_target_name_override", "payments")]
    async with aio.secure_channel(f"127.0.0.1:{tls_port}", credentials, options=options) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            await api_grpc.PaymentsServiceStub(channel).SetNetDebitCap(CAP, timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_client_is_refused(tls_port: int) -> None:
    async with aio.insecure_channel(f"127.0.0.1:{tls_port}") as channel:
        with pytest.raises(grpc.RpcError) as caught:
            await api_grpc.PaymentsServiceStub(channel).SetNetDebitCap(CAP, timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_operator_certificate_from_another_ca_is_refused(tls_port: int, tmp_path: Path) -> None:
    stranger = transport_of(tmp_path / "other-ca", "operator")  # same name, CA the server never trusted
    mixed = InternalTransport(
        "operator", ca=(tmp_path / "pki" / "ca.crt").read_bytes(), cert=stranger.cert, key=stranger.key
    )
    with pytest.raises(grpc.RpcError) as caught:
        await set_cap(tls_port, mixed)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_client_refuses_a_server_that_is_not_the_service_it_meant(tls_port: int, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        await set_cap(tls_port, transport_of(tmp_path / "pki", "operator"), server="identity")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_health_is_open_to_every_verified_caller(tls_port: int, tmp_path: Path) -> None:
    async with internal_channel(f"127.0.0.1:{tls_port}", transport_of(tmp_path / "pki", "registry"), "payments") as ch:
        response = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_without_credentials_a_service_refuses_to_start_unless_plaintext_is_asked_for(
    payments: Payments, tmp_path: Path
) -> None:
    app = payments
    app.settings = app.settings.model_copy(update={"internal": tls_settings(tmp_path / "no-pki")})
    with pytest.raises(errors.FailedPrecondition, match="pki init"):
        host_for(app)
    asked = InternalTransportSettings.model_validate(
        {"BAYLINK_INSECURE_INTERNAL": True, "pki_dir": tmp_path / "no-pki"}
    )
    app.settings = app.settings.model_copy(update={"internal": asked})
    host: ServiceHost = host_for(app)
    assert not host.transport.secure


def test_plaintext_is_off_unless_the_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BAYLINK_INSECURE_INTERNAL", raising=False)
    assert InternalTransportSettings().insecure is False
    monkeypatch.setenv("BAYLINK_INTERNAL_INSECURE", "1")  # not the variable: no plaintext by a near miss
    assert InternalTransportSettings().insecure is False
    monkeypatch.setenv("BAYLINK_INSECURE_INTERNAL", "1")
    assert InternalTransportSettings().insecure is True


async def test_payments_cli_is_the_operator_and_another_certificate_is_refused(
    tls_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`baylink payments participants` (ListParticipants, operator only) over TLS, as the operator
    and then with the registry's certificate in the operator's place."""
    pki = tmp_path / "pki"
    monkeypatch.setenv("BAYLINK_INSECURE_INTERNAL", "0")
    monkeypatch.setenv("BAYLINK_INTERNAL_PKI_DIR", str(pki))
    target = ["participants", "--target", f"127.0.0.1:{tls_port}"]
    ok = await asyncio.to_thread(CliRunner().invoke, payments_cli, target)
    assert ok.exit_code == 0, ok.output
    assert "HKBANK" in ok.output
    monkeypatch.setenv("BAYLINK_INTERNAL_CERT_FILE", str(pki / "registry.crt"))
    monkeypatch.setenv("BAYLINK_INTERNAL_KEY_FILE", str(pki / "registry.key"))
    refused = await asyncio.to_thread(CliRunner().invoke, payments_cli, target)
    assert refused.exit_code == 1
    assert "CALLER_NOT_ALLOWED" in refused.output
