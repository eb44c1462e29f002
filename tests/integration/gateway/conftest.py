"""Gateway integration fixtures: audit keys, a test partner PKI, a partner server over real mTLS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from grpc import aio

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.db import Database
from services.gateway.audit.adapters.events import GatewaySecurityEvents
from services.gateway.audit.adapters.keys import Ed25519Signer, Ed25519Verifier, load_or_create_signing_key
from services.gateway.audit.adapters.store import SqlAuditStore, audit_records
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.partner.adapters.pki import PkiPaths, init_pki, issue_city
from services.gateway.partner.adapters.revocation import RevocationList
from services.gateway.partner.domain.cities import CityGrants
from services.gateway.partner.entrypoints.api import SERVICE_NAME, PartnerCityServicer
from services.gateway.partner.entrypoints.mtls import CityCallers, city_channel_credentials, start_partner_server
from services.gateway.partner.service_layer.access import PartnerAccess
from services.gateway.shared.adapters.guard_store import SqlGuardLedger
from services.gateway.shared.domain.guard import GuardPolicy
from services.gateway.shared.service_layer.guard import AuditedAlerts, Guard
from tests.unit.gateway.conftest import migrate_gateway


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519Signer:
    return load_or_create_signing_key(tmp_path / "keys" / "audit.pem")


@pytest.fixture
def keys(signer: Ed25519Signer) -> Ed25519Verifier:
    return Ed25519Verifier([signer.public_key])


# -- partner cities over mutual TLS -----------------------------------------------------------


@dataclass
class MemoryBackend:
    """A small in-memory stand-in for the registry and binding store, ONLY to exercise the gateway's
    own mTLS, authorisation, guard and audit logic; end-to-end tests use the real registry."""

    applications: dict[str, pc.PartnerApplication] = field(default_factory=dict)
    subjects: dict[tuple[str, str], pc.PartnerSubject] = field(default_factory=dict)
    events: list[pc.PartnerEvent] = field(default_factory=list)
    decided: list[tuple[str, str, str]] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)  # material id → content

    def add_application(self, application_id: str, authority_code: str, applicant: str) -> None:
        self.applications[application_id] = pc.PartnerApplication(
            application_id=application_id,
            authority_code=authority_code,
            status=pc.APPLICATION_STATUS_SUBMITTED,
            applicant_pseudonym=applicant,
            enterprise_name="灣區貿易有限公司",
        )

    async def list_pending_applications(
        self, city: str, authority_codes: frozenset[str], page_size: int, page_token: str
    ) -> api.ListPendingApplicationsResponse:
        found = [a for a in self.applications.values() if a.authority_code in authority_codes]
        return api.ListPendingApplicationsResponse(applications=found[:page_size])

    async def get_application(
        self, city: str, application_id: str, *, include_material_content: bool
    ) -> pc.PartnerApplication:
        if application_id not in self.applications:
            raise errors.NotFound("application", application_id)
        return self.applications[application_id]

    async def read_material_contents(
        self, city: str, application: pc.PartnerApplication, material_ids: Sequence[str]
    ) -> int:
        wanted = [m for m in application.materials if not material_ids or m.material_id in material_ids]
        for material in wanted:
            material.content = self.contents[material.material_id]
        return sum(len(m.content) for m in wanted)

    async def decide_application(
        self, city: str, authority_code: str, request: api.DecideApplicationRequest
    ) -> pc.PartnerApplication:
        self.decided.append((city, authority_code, request.application_id))
        app = self.applications[request.application_id]
        app.status = pc.APPLICATION_STATUS_APPROVED
        return app

    async def lookup_subject(self, city: str, pseudonym: str) -> pc.PartnerSubject:
        subject = self.subjects.get((city, pseudonym))
        if subject is None:
            raise errors.NotFound("subject", pseudonym)
        return subject

    async def stream_events(
        self, city: str, authority_codes: frozenset[str], resume_after: str, types: Sequence[str]
    ) -> AsyncIterator[pc.PartnerEvent]:
        for event in self.events:
            yield event


@pytest.fixture(scope="session")
def partner_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiPaths:
    paths = init_pki(tmp_path_factory.mktemp("partner-pki"))
    for city in ("440605", "440600", "440300"):
        issue_city(paths.root, city)
    return paths


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiPaths:
    """Another CA, issuing a certificate that looks exactly like Nanhai's."""
    paths = init_pki(tmp_path_factory.mktemp("foreign-pki"))
    issue_city(paths.root, "440605")
    return paths


@dataclass
class PartnerGateway:
    port: int
    pki: PkiPaths
    backend: MemoryBackend
    audit: AuditLog
    db: Database

    def channel(self, credentials: grpc.ChannelCredentials) -> aio.Channel:
        return aio.secure_channel(f"127.0.0.1:{self.port}", credentials)

    def city(self, city: str) -> api_grpc.PartnerCityServiceStub:
        return api_grpc.PartnerCityServiceStub(self.channel(city_channel_credentials(self.pki, city)))

    async def audit_rows(self) -> list[dict[str, object]]:
        async with self.db.transaction() as session:
            rows = await session.execute(sa.select(audit_records).order_by(audit_records.c.sequence))
        return [dict(r) for r in rows.mappings()]


@asynccontextmanager
async def partner_gateway(
    pki: PkiPaths,
    tmp_path: Path,
    signer: Ed25519Signer,
    *,
    policy: GuardPolicy | None = None,
    grants: CityGrants | None = None,
    db: Database | None = None,
    event_topic: str | None = None,
) -> AsyncIterator[PartnerGateway]:
    """The partner service as the gateway will wire it, on a port of its own, with a fresh database."""
    own_db = db is None
    db = db or Database(f"sqlite+aiosqlite:///{tmp_path / 'partner-gateway.db'}")
    await migrate_gateway(db)
    audit = AuditLog(SqlAuditStore(db, event_topic=event_topic), signer, GatewaySecurityEvents().checkpointed)
    ledger = SqlGuardLedger(db, "partner", policy or GuardPolicy())
    guard = Guard(ledger, AuditedAlerts(audit, GatewaySecurityEvents().alert_raised))
    backend = MemoryBackend()
    callers = CityCallers(RevocationList(pki.crl, pki.ca_cert))
    servicer = PartnerCityServicer(PartnerAccess(grants or CityGrants(), guard, audit), backend, callers)
    server = await start_partner_server(servicer.register, [SERVICE_NAME], pki, port=0)
    try:
        yield PartnerGateway(server.port, pki, backend, audit, db)
    finally:
        await server.stop(0.5)
        if own_db:
            await db.dispose()
