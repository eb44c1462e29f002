"""Wires the gateway: the only place that chooses adapters. ``__main__`` and the tests both come here.

One process, one event loop, one database (audit log, bindings, kiosk sessions, dead-letter resolutions):

- the ``ServiceHost``: migrations, internal gRPC (health, reflection), metrics, the outbox relay
  (audit checkpoints and security alerts go to Kafka), and the audit checkpoint loop;
- the partner-city server over mutual TLS, started with the host (``on_start``) and stopped first;
- the kiosk HTTP API, served by uvicorn inside the same loop (a background task of the host) on a
  socket bound at start-up, so a taken port fails the start instead of a task.

``Gateway.stop`` shuts down in the order that loses nothing: kiosks and cities stop being served
(in-flight requests finish within the grace period, their audit records commit), then the host
drains, flushes the relay and closes the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from grpc import aio

from baylink.runtime.db import Database
from baylink.runtime.grpc.server import GrpcServer
from baylink.runtime.host import ServiceHost
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.settings import LOCAL_DIR
from services.gateway.audit.adapters.events import GatewaySecurityEvents
from services.gateway.audit.adapters.keys import load_or_create_signing_key
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.binding.adapters.store import SqlBindingStore, load_binding_keys
from services.gateway.binding.service_layer.audit import decision_recorder
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.clients.identity import IdentityClient
from services.gateway.clients.payments import PayerPseudonyms, PaymentsClient
from services.gateway.clients.registry import KioskRegistry, RegistryClient
from services.gateway.config import GatewaySettings
from services.gateway.console_wiring import Console, attach_console
from services.gateway.kiosk.adapters.session_store import SqlSessionStore
from services.gateway.kiosk.entrypoints.app import create_kiosk_app
from services.gateway.kiosk.entrypoints.metrics import KioskHttpMetrics
from services.gateway.kiosk.service_layer.access import KioskAccess, kiosk_actor_var
from services.gateway.kiosk.service_layer.deps import KioskDeps
from services.gateway.kiosk.service_layer.sessions import SessionStore
from services.gateway.partner.adapters.events import PartnerEventStream
from services.gateway.partner.adapters.pki import PkiPaths, init_pki
from services.gateway.partner.adapters.registry_backend import RegistryPartnerBackend
from services.gateway.partner.domain.cities import CityGrants
from services.gateway.partner.entrypoints.api import SERVICE_NAME as PARTNER_SERVICE_NAME
from services.gateway.partner.entrypoints.api import PartnerCityServicer
from services.gateway.partner.entrypoints.mtls import start_partner_server
from services.gateway.partner.service_layer.access import PartnerAccess
from services.gateway.shared.adapters.crypto_keys import create_development_keys
from services.gateway.shared.domain.guard import BulkLeakGuard
from services.gateway.shared.entrypoints.http_server import EmbeddedServer, listening_socket
from services.gateway.shared.service_layer.guard import AuditedAlerts, Guard

MIGRATIONS = Path(__file__).resolve().parent / "shared" / "adapters" / "migrations"
log = logging.getLogger("baylink.gateway")


@dataclass
class Parts:
    """The gateway's own pieces, shared by the kiosk API and the partner API."""

    audit: AuditLog
    bindings: BindingService
    sessions: SessionStore
    kiosk_guard: Guard
    partner_access: PartnerAccess
    grants: CityGrants
    payer_pseudonym: PayerPseudonyms


def build_parts(settings: GatewaySettings, db: Database) -> Parts:
    events = GatewaySecurityEvents(source=settings.source)
    store = SqlAuditStore(db, event_topic=settings.events_topic or None)
    audit = AuditLog(store, load_or_create_signing_key(settings.audit_key_path), events.checkpointed,
                     policy=settings.checkpoint_policy())  # fmt: skip
    alerts = AuditedAlerts(audit, events.alert_raised)
    files = settings.binding_key_files() or create_development_keys(settings.binding_key_dir)
    keys = load_binding_keys(files)
    bindings = BindingService(
        SqlBindingStore(db, keys.cipher, keys.lookup),
        keys.pseudonyms,
        policy=settings.binding_policy(),
        on_decision=decision_recorder(audit.record, actor=kiosk_actor_var.get),
    )

    async def subject_number(subject_id: str) -> str:
        return (await bindings.subject_number(subject_id)).number

    grants = settings.grants()
    return Parts(
        audit=audit,
        bindings=bindings,
        sessions=SqlSessionStore(db, keys.cipher, settings.kiosk_session_ttl_seconds),
        kiosk_guard=Guard(BulkLeakGuard(settings.kiosk_guard.policy()), alerts),
        partner_access=PartnerAccess(grants, Guard(BulkLeakGuard(settings.partner_guard.policy()), alerts), audit),
        grants=grants,
        payer_pseudonym=PayerPseudonyms.from_key_file(files.pseudonym_key, subject_number),
    )


@dataclass
class Gateway:
    settings: GatewaySettings
    parts: Parts
    host: ServiceHost
    kiosk_app: FastAPI
    partner_servicer: PartnerCityServicer
    clients: tuple[IdentityClient, RegistryClient, PaymentsClient]
    partner: GrpcServer | None = None
    kiosk_server: EmbeddedServer | None = None
    console: Console | None = None  # the operator console's listener (console_wiring)
    _kiosk_socket: socket.socket | None = None
    _kiosk_done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def port(self) -> int:
        assert self.host.grpc is not None
        return self.host.grpc.port

    @property
    def partner_port(self) -> int:
        assert self.partner is not None
        return self.partner.port

    @property
    def kiosk_port(self) -> int:
        assert self._kiosk_socket is not None
        return int(self._kiosk_socket.getsockname()[1])

    @property
    def kiosk_url(self) -> str:
        return f"http://{self.settings.kiosk_host}:{self.kiosk_port}"

    async def start(self) -> None:
        await self.host.start()
        log.info("gateway serving", extra={"kiosk": self.kiosk_url, "partner": f"{self.settings.partner_host}:"
                                           f"{self.partner_port}"})  # fmt: skip
        self._announce()

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_seconds
        if self.kiosk_server is not None:
            self.kiosk_server.should_exit = True
        if self.partner is not None:
            await self.partner.stop(grace)
        if self.kiosk_server is not None and self.kiosk_server.started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kiosk_done.wait(), grace + 1)
        await self.host.shutdown()
        for client in self.clients:
            await client.close()

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        terminated = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, terminated.set)
        await self.start()
        await terminated.wait()
        log.info("termination requested")
        await self.stop()

    # -- pieces the host runs -----------------------------------------------------------------

    async def _on_start(self) -> None:
        """After migrations, before the internal server: the partner server and the kiosk socket."""
        pki = ensure_pki(self.settings)
        s = self.settings
        self.partner = await start_partner_server(self.partner_servicer.register, [PARTNER_SERVICE_NAME], pki,
                                                  host=s.partner_host, port=s.partner_port,
                                                  metrics=self.host.metrics)  # fmt: skip
        self._kiosk_socket = listening_socket(s.kiosk_host, s.kiosk_port, 2048)
        config = uvicorn.Config(self.kiosk_app, lifespan="off", log_config=None, access_log=False,
                                timeout_graceful_shutdown=int(max(1, s.shutdown_grace_seconds)))  # fmt: skip
        self.kiosk_server = EmbeddedServer(config)

    async def serve_kiosk(self) -> None:
        assert self.kiosk_server is not None and self._kiosk_socket is not None
        try:
            await self.kiosk_server.serve(sockets=[self._kiosk_socket])
        finally:
            self._kiosk_done.set()

    async def run_checkpoints(self) -> None:
        await self.parts.audit.run_checkpoints()

    def _announce(self) -> None:
        if not self.settings.grpc_port:  # tests on port 0: nothing to announce to `make up`
            return
        path = LOCAL_DIR / "run" / f"{self.settings.service_name}.json"
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(path.read_text()) if path.exists() else {}
            info.update(kiosk=self.kiosk_url, partner=f"{self.settings.partner_host}:{self.partner_port}")
            if self.console is not None:
                info.update(console=self.console.url)
            path.write_text(json.dumps(info))


def ensure_pki(settings: GatewaySettings) -> PkiPaths:
    """The partner PKI; in development made under ``pki_dir`` when missing (``baylink pki init``)."""
    paths = PkiPaths(settings.pki_dir)
    if paths.ca_cert.exists() and paths.server_cert.exists():
        return paths
    if not settings.pki_auto_init:
        raise RuntimeError(f"no partner PKI in {settings.pki_dir}: run `baylink pki init` (or set pki_auto_init)")
    log.warning("creating a development partner PKI", extra={"directory": str(settings.pki_dir)})
    return init_pki(settings.pki_dir)


def bootstrap(settings: GatewaySettings | None = None, *, db: Database | None = None) -> Gateway:
    settings = settings or GatewaySettings()
    db = db or Database(settings.database_url)
    metrics = ServiceMetrics()
    parts = build_parts(settings, db)
    identity = IdentityClient(settings.identity_target, settings.call_timeout_seconds)
    registry = RegistryClient(settings.registry_target, settings.call_timeout_seconds)
    payments = PaymentsClient(settings.payments_target, settings.call_timeout_seconds)
    deps = KioskDeps(
        access=KioskAccess(parts.sessions, parts.kiosk_guard, parts.audit),
        identity=identity,
        registry=KioskRegistry(registry),
        payments=payments,
        bindings=parts.bindings,
        payer_pseudonym=parts.payer_pseudonym,
        payer_participants=dict(settings.payer_participants),
        fee_collector=settings.fee_collector,
        max_material_bytes=settings.kiosk_max_material_bytes,
    )
    kiosk_app = create_kiosk_app(deps, languages=tuple(settings.kiosk_languages),
                                 default_language=settings.kiosk_default_language,
                                 metrics=KioskHttpMetrics(metrics.registry))  # fmt: skip
    backend = RegistryPartnerBackend(registry, parts.bindings, parts.grants,
                                     max_content_bytes=settings.partner_max_content_bytes)  # fmt: skip
    backend.event_stream = PartnerEventStream(settings.kafka, settings.registry_events_topic, parts.bindings)
    servicer = PartnerCityServicer(parts.partner_access, backend)

    def register(_server: aio.Server) -> None:
        return None  # the internal port serves health and reflection only; cities come in over mTLS

    host = ServiceHost(settings, register=register, service_names=[], db=db, metrics=metrics, migrations=[MIGRATIONS])
    parts.audit.on_commit = host.relay.wake  # checkpoints and alerts go out promptly
    gateway = Gateway(settings, parts, host, kiosk_app, servicer, (identity, registry, payments))
    host.on_start = gateway._on_start
    host.background += [gateway.serve_kiosk, gateway.run_checkpoints]
    gateway.console = attach_console(gateway)
    return gateway
