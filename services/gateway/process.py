"""The running gateway: one process, one event loop, one database; started, served and stopped in order.

- the ``ServiceHost``: migrations, internal gRPC (health, reflection), metrics, the outbox relay
  (audit checkpoints and security alerts go to Kafka), and the audit checkpoint loop;
- the partner-city server over mutual TLS, started with the host (``on_start``) and stopped first;
- the kiosk HTTP API, served by uvicorn inside the same loop (a background task of the host) on a
  socket bound at start-up, so a taken port fails the start instead of a task; over TLS that requires
  a kiosk device certificate from the kiosk CA (``kiosk/adapters/device_pki.py``);
- the operator console on a listener of its own (``console/entrypoints/server.py``).

``Gateway.stop`` shuts down in the order that loses nothing: kiosks and cities stop being served
(in-flight requests finish within the grace period, their audit records commit), then the host
drains, flushes the relay and closes the database. ``bootstrap`` builds all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from baylink.runtime.grpc.server import GrpcServer
from baylink.runtime.host import ServiceHost
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.clients.identity import IdentityClient
from services.gateway.clients.payments import PayerPseudonyms, PaymentsClient
from services.gateway.clients.registry import RegistryClient
from services.gateway.config import GatewaySettings
from services.gateway.console.entrypoints.server import Console
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, init_kiosk_pki, server_context
from services.gateway.kiosk.service_layer.access import KioskAdmissions
from services.gateway.kiosk.service_layer.sessions import SessionStore
from services.gateway.partner.adapters.pki import PkiPaths, init_pki
from services.gateway.partner.domain.cities import CityGrants
from services.gateway.partner.entrypoints.api import SERVICE_NAME as PARTNER_SERVICE_NAME
from services.gateway.partner.entrypoints.api import PartnerCityServicer
from services.gateway.partner.entrypoints.mtls import start_partner_server
from services.gateway.partner.service_layer.access import PartnerAccess
from services.gateway.shared.entrypoints.http_server import (
    EmbeddedServer,
    PeerCertificateProtocol,
    listening_socket,
)
from services.gateway.shared.service_layer.guard import Guard

log = logging.getLogger("baylink.gateway")


@dataclass
class Parts:
    """The gateway's own pieces, shared by the kiosk API and the partner API."""

    audit: AuditLog
    bindings: BindingService
    sessions: SessionStore
    kiosk_guard: Guard
    kiosk_admissions: KioskAdmissions  # the kiosk guard's and the sessions' one look per call
    partner_access: PartnerAccess
    grants: CityGrants
    payer_pseudonym: PayerPseudonyms


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
    console: Console | None = None  # the operator console's listener (bootstrap attaches it)
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
        return f"https://{self.settings.kiosk_host}:{self.kiosk_port}"

    @property
    def kiosk_pki(self) -> KioskPkiPaths:
        return KioskPkiPaths.under(self.settings.pki_dir)

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
        kiosk_pki = ensure_kiosk_pki(self.settings)
        self._kiosk_socket = listening_socket(s.kiosk_host, s.kiosk_port, 2048)
        config = uvicorn.Config(self.kiosk_app, lifespan="off", log_config=None, access_log=False,
                                timeout_graceful_shutdown=int(max(1, s.shutdown_grace_seconds)),
                                http=PeerCertificateProtocol,
                                ssl_context_factory=lambda _config, _default: server_context(kiosk_pki))  # fmt: skip
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
        path = self.settings.run_dir / f"{self.settings.service_name}.json"
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(path.read_text()) if path.exists() else {}
            info.update(kiosk=self.kiosk_url, partner=f"{self.settings.partner_host}:{self.partner_port}")
            if self.console is not None:
                info.update(console=self.console.url)
            path.write_text(json.dumps(info))


def ensure_kiosk_pki(settings: GatewaySettings) -> KioskPkiPaths:
    """The kiosk CA and the kiosk door's certificate; in development made when missing (``baylink pki init``)."""
    paths = KioskPkiPaths.under(settings.pki_dir)
    if paths.ca.ca_cert.exists() and paths.ca.server_cert.exists():
        return paths
    if not settings.pki_auto_init:
        raise RuntimeError(f"no kiosk CA in {paths.root}: run `baylink pki init` (or set pki_auto_init)")
    log.warning("creating a development kiosk CA", extra={"directory": str(paths.root)})
    return init_kiosk_pki(settings.pki_dir)


def ensure_pki(settings: GatewaySettings) -> PkiPaths:
    """The partner PKI; in development made under ``pki_dir`` when missing (``baylink pki init``), and
    its CRL made or renewed (the partner port refuses every call while its CRL is missing or stale)."""
    paths = PkiPaths(settings.pki_dir)
    present = paths.ca_cert.exists() and paths.server_cert.exists()
    if settings.pki_auto_init:
        if not present:
            log.warning("creating a development partner PKI", extra={"directory": str(settings.pki_dir)})
        return init_pki(settings.pki_dir)  # keeps what exists; makes a missing CRL, renews an ageing one
    if not present or not settings.partner_crl_path().exists():
        raise RuntimeError(
            f"no partner PKI or CRL in {settings.pki_dir}: run `baylink pki init` (or set pki_auto_init)"
        )
    return paths
