"""The whole system in one test process: identity, registry, payments and the gateway, each on port 0
with a database of its own, relaying to the real broker on topics of the test's own.

Used by the kiosk integration tests, the end-to-end test and the gateway and flow benchmarks. Nothing is faked:
the test PKI's revocation responder answers CRL/OCSP, identity validates and verifies, the registry
has identity verify every signature, payments runs the two-phase transfer, and its committed-transfer
event travels through Kafka to the registry, which marks the fee paid. Over 300 lines: each service's
settings are values here (``identity_values`` …), which this stack and the stack of separate
processes (``tests/e2e/processes.py``) both start from.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from baylink.common.v1 import common_pb2
from baylink.payments.v1 import participant_pb2, transfer_pb2
from baylink.payments.v1 import payments_service_pb2 as pay
from baylink.payments.v1 import payments_service_pb2_grpc as pay_grpc
from baylink.runtime.grpc.client import insecure_channel, internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.host import ServiceHost
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from devtools.testpki.build import build
from devtools.testpki.loader import TestPKI
from devtools.testpki.responder import RevocationResponder
from services.gateway.bootstrap import Gateway
from services.gateway.bootstrap import bootstrap as gateway_bootstrap
from services.gateway.config import GatewaySettings
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, client_context, issue_kiosk
from services.gateway.kiosk.agent.app import create_agent_app
from services.gateway.shared.entrypoints.http_server import EmbeddedServer, listening_socket
from services.identity.bootstrap import IdentityService
from services.identity.bootstrap import bootstrap as identity_bootstrap
from services.identity.config import IdentitySettings
from services.identity.domain.trustlist import Jurisdiction
from services.payments.bootstrap import build_host as build_payments_host
from services.payments.config import PaymentsSettings
from services.registry.bootstrap import RegistryService
from services.registry.bootstrap import bootstrap as registry_bootstrap
from services.registry.config import RegistrySettings
from tests.support.ports import free_port
from tests.support.tsa import running_tsa

PARTICIPANTS = [
    ("HKBANK", "Hong Kong Test Bank", common_pb2.JURISDICTION_HK, "HKD", participant_pb2.PARTICIPANT_KIND_PSP),
    ("MOBANK", "Macau Test Bank", common_pb2.JURISDICTION_MO, "MOP", participant_pb2.PARTICIPANT_KIND_PSP),
    ("REGISTRY", "Registry fees", common_pb2.JURISDICTION_GD, "CNY", participant_pb2.PARTICIPANT_KIND_FEE_COLLECTOR),
]
RATES = [("HKD", "CNY", "0.9200"), ("MOP", "CNY", "0.8930")]


def build_pki(directory: Path) -> TestPKI:
    """A test PKI whose CRL/OCSP URLs point at a free loopback port (its responder is started by the stack)."""
    build(directory, f"http://127.0.0.1:{free_port()}")
    return TestPKI(directory)


@dataclass
class Topics:
    registry: str
    payments: str
    gateway: str


def kiosk_client(gateway: Gateway, kiosk_id: str) -> httpx.AsyncClient:
    """A kiosk's client of the kiosk door: its device certificate (issued by the real ``issue-kiosk`` code
    into the gateway's PKI directory when missing), the door verified against the kiosk CA."""
    return kiosk_client_at(gateway.settings.pki_dir, gateway.kiosk_url, kiosk_id)


def kiosk_client_at(pki_dir: Path, kiosk_url: str, kiosk_id: str) -> httpx.AsyncClient:
    """``kiosk_client`` of a gateway known by its PKI directory and kiosk door (another process's)."""
    paths = KioskPkiPaths.under(pki_dir)
    if not paths.device_cert(kiosk_id).exists():
        issue_kiosk(pki_dir, kiosk_id)
    return httpx.AsyncClient(base_url=kiosk_url, verify=client_context(paths, kiosk_id), timeout=60)


class KioskDoor(httpx.AsyncClient):
    """The client of one kiosk (``HK-TST-01`` unless named); ``as_kiosk`` gives another kiosk's client."""

    def __init__(self, gateway: Gateway, kiosk_id: str = "HK-TST-01"):
        paths = gateway.kiosk_pki
        if not paths.device_cert(kiosk_id).exists():
            issue_kiosk(gateway.settings.pki_dir, kiosk_id)
        super().__init__(base_url=gateway.kiosk_url, verify=client_context(paths, kiosk_id), timeout=60)
        self.gateway, self.kiosk_id = gateway, kiosk_id
        self.others: dict[str, httpx.AsyncClient] = {}
        self.agents: dict[str, tuple[EmbeddedServer, asyncio.Task[None], str]] = {}

    async def agent(self, kiosk_id: str) -> str:
        """The address of ``kiosk_id``'s kiosk agent (the device software a browser at that kiosk talks
        to: the web app, and the API forwarded over mutual TLS), started on first use."""
        if kiosk_id not in self.agents:
            sock = listening_socket("127.0.0.1", 0, 128)
            config = uvicorn.Config(create_agent_app(self.as_kiosk(kiosk_id)), lifespan="off", log_config=None,
                                    access_log=False)  # fmt: skip
            server = EmbeddedServer(config)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                await asyncio.sleep(0.01)
            self.agents[kiosk_id] = (server, task, f"http://127.0.0.1:{sock.getsockname()[1]}")
        return self.agents[kiosk_id][2]

    def as_kiosk(self, kiosk_id: str) -> httpx.AsyncClient:
        if kiosk_id == self.kiosk_id:
            return self
        if kiosk_id not in self.others:
            self.others[kiosk_id] = kiosk_client(self.gateway, kiosk_id)
        return self.others[kiosk_id]

    async def aclose(self) -> None:
        for server, task, _url in self.agents.values():
            server.should_exit = True
            await task
        for other in self.others.values():
            await other.aclose()
        await super().aclose()


@dataclass
class Stack:
    pki: TestPKI
    topics: Topics
    identity: IdentityService
    registry: RegistryService
    gateway: Gateway
    payments_port: int | None
    kiosk: KioskDoor


@asynccontextmanager
async def topics_of_our_own(kafka: KafkaSettings) -> AsyncIterator[Topics]:
    admin = new_admin(kafka)
    await admin.start()
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(f"registry.{suffix}", f"payments.{suffix}", f"gateway.{suffix}")
    names = [topics.registry, topics.payments, topics.gateway]
    try:
        await apply_topics(admin, [TopicSpec(n, 3, 3_600_000) for n in names], kafka.replication_factor)
        yield topics
    finally:
        await admin.delete_topics(names)
        await close_quietly(admin)


def common_values(tmp: Path, name: str, kafka: KafkaSettings) -> dict[str, object]:
    return {
        "grpc_port": 0,
        "metrics_port": 0,
        "database_url": f"sqlite+aiosqlite:///{tmp / f'{name}.db'}",
        "drain_delay_seconds": 0,
        "kafka": kafka,
    }


def identity_values(tmp: Path, pki: TestPKI, kafka: KafkaSettings) -> dict[str, object]:
    """The identity service's settings here (in this process, or as another's environment)."""
    signers = {j.value: [pki.directory / "certs" / f"tl-signer-{j.value.lower()}.pem"] for j in Jurisdiction}
    return {
        **common_values(tmp, "identity", kafka),
        "trust_lists_dir": pki.directory / "trustlists",
        "trusted_list_signers": signers,
        "revocation_timeout_seconds": 2.0,
        "revocation_allowed_hosts": ["127.0.0.1"],
    }


async def start_identity(tmp: Path, pki: TestPKI, kafka: KafkaSettings) -> IdentityService:
    service = identity_bootstrap(IdentitySettings(**identity_values(tmp, pki, kafka)))  # type: ignore[arg-type]
    await service.start()
    return service


def registry_values(
    tmp: Path, kafka: KafkaSettings, identity_port: int, topics: Topics, tsa_url: str
) -> dict[str, object]:
    return {
        **common_values(tmp, "registry", kafka),
        "identity_target": f"127.0.0.1:{identity_port}",
        "tsa_url": tsa_url,
        "events_topic": topics.registry,
        "payments_topic": topics.payments,
        "fees_group_id": f"registry.fees.{topics.payments}",
    }


async def start_registry(
    tmp: Path, kafka: KafkaSettings, identity_port: int, topics: Topics, tsa_url: str
) -> RegistryService:
    values = registry_values(tmp, kafka, identity_port, topics, tsa_url)
    service = registry_bootstrap(RegistrySettings(**values))  # type: ignore[arg-type]
    await service.start()
    return service


async def start_payments(tmp: Path, kafka: KafkaSettings, topics: Topics, **options: object) -> ServiceHost:
    """Payments as its ``__main__`` runs it, publishing to the test's topic, seeded over its own gRPC API."""
    settings = PaymentsSettings(**common_values(tmp, "payments", kafka), **options)  # type: ignore[arg-type]
    host = build_payments_host(settings, event_topic=topics.payments)
    await host.start()
    assert host.grpc is not None
    await seed_payments(host.grpc.port)
    return host


async def seed_payments(port: int, transport: InternalTransport | None = None) -> None:
    """What an operator does once: connect the banks and the fee collector, set caps and rates (as the
    ``operator`` identity of ``transport`` where internal gRPC is mutual TLS)."""
    target = f"127.0.0.1:{port}"
    channel = internal_channel(target, transport, "payments") if transport else insecure_channel(target)
    stub = pay_grpc.PaymentsServiceStub(channel)
    try:
        for pid, name, jurisdiction, currency, kind in PARTICIPANTS:
            await stub.CreateParticipant(
                pay.CreateParticipantRequest(participant_id=pid, name=common_pb2.LocalizedText(en=name),
                                             currencies=[currency], jurisdiction=jurisdiction, kind=kind)
            )  # fmt: skip
            cap = common_pb2.Money(currency=currency, minor_units=10_000_000_000)
            await stub.SetNetDebitCap(pay.SetNetDebitCapRequest(participant_id=pid, net_debit_cap=cap))
        for source, target, rate in RATES:
            fee = common_pb2.Money(currency=source, minor_units=500)
            await stub.SetRate(pay.SetRateRequest(rate=transfer_pb2.Rate(
                source_currency=source, target_currency=target, rate=rate, spread_bps=50, fee_fixed=fee)))  # fmt: skip
    finally:
        await channel.close()


def gateway_settings(tmp: Path, kafka: KafkaSettings, targets: dict[str, str], topics: Topics, **more: object):  # type: ignore[no-untyped-def]
    return GatewaySettings(**gateway_values(tmp, kafka, targets, topics, **more))  # type: ignore[arg-type]


def gateway_values(
    tmp: Path, kafka: KafkaSettings, targets: dict[str, str], topics: Topics, **more: object
) -> dict[str, object]:
    return {
        **common_values(tmp, "gateway", kafka),
        "kiosk_port": 0,
        "partner_port": 0,
        "console_port": 0,  # every listener on a free port: tests run gateways side by side
        "audit_key_path": tmp / "gateway-keys" / "audit.pem",
        "binding_key_dir": tmp / "gateway-keys",
        "pki_dir": tmp / "partner-pki",
        "events_topic": topics.gateway,
        "registry_events_topic": topics.registry,  # partner StreamEvents
        "console_topics": [topics.registry, topics.payments, topics.gateway, kafka.dlq_topic],
        **targets,
        **more,
    }


@asynccontextmanager
async def running_stack(
    tmp: Path,
    kafka: KafkaSettings,
    pki: TestPKI,
    *,
    with_payments: bool,
    payments_options: dict[str, object] | None = None,
    **gateway_options: object,
) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        responder = RevocationResponder(pki)
        await responder.start(port=int(pki.base_url.rsplit(":", 1)[1]))
        stack.push_async_callback(responder.stop)
        topics = await stack.enter_async_context(topics_of_our_own(kafka))
        identity = await start_identity(tmp, pki, kafka)
        stack.push_async_callback(identity.host.shutdown)
        tsa = await stack.enter_async_context(running_tsa(pki, tmp / "tsa"))
        registry = await start_registry(tmp, kafka, identity.port, topics, tsa.url)
        stack.push_async_callback(registry.stop)
        payments_port = None
        if with_payments:
            payments = await start_payments(tmp, kafka, topics, **(payments_options or {}))
            stack.push_async_callback(payments.shutdown)
            assert payments.grpc is not None
            payments_port = payments.grpc.port
        targets = {
            "identity_target": f"127.0.0.1:{identity.port}",
            "registry_target": f"127.0.0.1:{registry.port}",
            "payments_target": f"127.0.0.1:{payments_port or free_port()}",
        }
        gateway = gateway_bootstrap(gateway_settings(tmp, kafka, targets, topics, **gateway_options))
        await gateway.start()
        stack.push_async_callback(gateway.stop)
        kiosk = await stack.enter_async_context(KioskDoor(gateway))
        yield Stack(pki, topics, identity, registry, gateway, payments_port, kiosk)
