"""Registry integration fixtures: the registry on a real database, real Kafka, a real identity service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from grpc.aio import insecure_channel

from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.db import Database
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.build import build
from devtools.testpki.loader import TestPKI
from devtools.testpki.responder import RevocationResponder
from services.identity.bootstrap import IdentityService
from services.identity.bootstrap import bootstrap as identity_bootstrap
from services.identity.config import IdentitySettings
from services.identity.domain.trustlist import Jurisdiction
from services.identity.tsa.server import TimeStampServer
from services.registry.bootstrap import MIGRATIONS, RegistryService, bootstrap
from services.registry.config import RegistrySettings
from tests.support.ports import free_port
from tests.support.tsa import running_tsa
from tests.unit.registry.fakes import FakeIdentity, FakeTimeStamper


@pytest.fixture
async def registry_on(database: Database) -> AsyncIterator[RegistryService]:
    """The registry's use cases on the test's database (SQLite, and PostgreSQL when marked), identity faked."""
    await database.migrate([MIGRATIONS])
    settings = RegistrySettings(grpc_port=0, metrics_port=0, database_url=database.url)
    yield bootstrap(settings, identity=FakeIdentity(), db=database, timestamps=FakeTimeStamper())


@pytest.fixture(scope="session")
def registry_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """A test PKI whose CRL/OCSP URLs point at a free loopback port of this session."""
    out = tmp_path_factory.mktemp("registry-pki")
    build(out, f"http://127.0.0.1:{free_port()}")
    return TestPKI(out)


@pytest.fixture
async def revocation(registry_pki: TestPKI) -> AsyncIterator[RevocationResponder]:
    server = RevocationResponder(registry_pki)
    await server.start(port=int(registry_pki.base_url.rsplit(":", 1)[1]))
    yield server
    await server.stop()


@pytest.fixture
async def tsa(registry_pki: TestPKI, tmp_path: Path) -> AsyncIterator[TimeStampServer]:
    """Baylink's TSA on a free loopback port, with the test PKI's TSA certificate."""
    async with running_tsa(registry_pki, tmp_path / "tsa") as server:
        yield server


@pytest.fixture
async def identity_service(
    registry_pki: TestPKI, revocation: RevocationResponder, tmp_path: Path, kafka_settings: KafkaSettings
) -> AsyncIterator[IdentityService]:
    """The real identity service (gRPC, its own database), trusting the test PKI."""
    settings = IdentitySettings(
        grpc_port=0,
        metrics_port=0,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}",
        trust_lists_dir=registry_pki.directory / "trustlists",
        trusted_list_signers={
            j.value: [registry_pki.directory / "certs" / f"tl-signer-{j.value.lower()}.pem"] for j in Jurisdiction
        },
        revocation_timeout_seconds=2.0,
        revocation_allowed_hosts=["127.0.0.1"],
        drain_delay_seconds=0,
        kafka=kafka_settings,
    )
    svc = identity_bootstrap(settings)
    await svc.start()
    yield svc
    await svc.host.shutdown()


def registry_settings(tmp_path: Path, kafka: KafkaSettings, **overrides: object) -> RegistrySettings:
    values: dict[str, object] = {
        "grpc_port": 0,
        "metrics_port": 0,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}",
        "drain_delay_seconds": 0,
        "outbox_poll_seconds": 0.1,
        "kafka": kafka,
        **overrides,
    }
    return RegistrySettings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def started_registry(settings: RegistrySettings) -> AsyncIterator[RegistryService]:
    """The registry service running with ``settings`` (a module's ``registry`` fixture), stopped after."""
    svc = bootstrap(settings)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
async def stub(registry: RegistryService) -> AsyncIterator[rs_grpc.RegistryServiceStub]:
    """A gRPC client of the module's ``registry`` fixture."""
    channel = insecure_channel(f"127.0.0.1:{registry.port}")
    yield rs_grpc.RegistryServiceStub(channel)
    await channel.close()
