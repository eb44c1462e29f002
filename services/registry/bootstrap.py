"""Wires the registry service: the only place that chooses adapters. Tests call it too."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from grpc import aio

from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.host import ServiceHost
from baylink.runtime.metrics import ServiceMetrics
from services.registry.adapters.calendar_file import load_calendar
from services.registry.adapters.catalogue_file import load_catalogue, load_name_rules
from services.registry.adapters.identity_client import GrpcIdentity
from services.registry.adapters.timestamps import HttpTimeStamper
from services.registry.adapters.unit_of_work import SqlUnitOfWork
from services.registry.config import RegistrySettings
from services.registry.entrypoints.callers import CALLERS
from services.registry.entrypoints.events import fee_subscription
from services.registry.entrypoints.grpc_api import SERVICE_NAME, RegistryServicer
from services.registry.service_layer.background import flag_overdue
from services.registry.service_layer.context import Registry
from services.registry.service_layer.ports import SignatureTimeStamper, SignatureVerifier

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "migrations"
log = logging.getLogger("baylink.registry")


@dataclass
class RegistryService:
    settings: RegistrySettings
    registry: Registry
    uow: SqlUnitOfWork
    host: ServiceHost

    @property
    def port(self) -> int:
        assert self.host.grpc is not None
        return self.host.grpc.port

    async def start(self) -> None:
        await self.host.start()

    async def stop(self) -> None:
        await self.host.shutdown()

    async def run(self) -> None:
        """Serve until SIGTERM; the deadline watcher lives and stops with the host."""
        await self.host.run()

    async def watch_deadlines(self) -> None:
        """Flag overdue applications, round after round (the host restarts this loop if it fails)."""
        while True:
            flagged = await flag_overdue(self.registry)
            if flagged:
                log.info("applications overdue", extra={"count": flagged})
            await asyncio.sleep(self.settings.overdue_check_seconds)


def bootstrap(
    settings: RegistrySettings | None = None,
    *,
    identity: SignatureVerifier | None = None,
    db: Database | None = None,
    timestamps: SignatureTimeStamper | None = None,
) -> RegistryService:
    """The whole service. ``identity`` replaces the gRPC client and ``timestamps`` the TSA client
    (unit tests pass in-process fakes of both)."""
    settings = settings or RegistrySettings()
    db = db or Database(settings.database_url)
    types = EventTypes.from_contracts()
    metrics = ServiceMetrics()
    transport = InternalTransport.from_settings(settings.internal, settings.service_name)
    uow = SqlUnitOfWork(db, types, settings.source, topic=settings.events_topic or None)
    registry = Registry(
        catalogue=load_catalogue(settings.catalogue_dir),
        name_rules=load_name_rules(settings.name_rules_file),
        calendar=load_calendar(settings.calendar_file),
        uow=uow,
        identity=identity or GrpcIdentity(settings.identity_target, transport, settings.identity_timeout_seconds),
        timestamps=timestamps or HttpTimeStamper(settings.tsa_url, settings.tsa_timeout_seconds),
        name_reservation_days=settings.name_reservation_days,
        max_material_bytes=settings.max_material_bytes,
    )
    servicer = RegistryServicer(registry)

    def register(server: aio.Server) -> None:
        servicer.register(server)

    host = ServiceHost(
        settings,
        register=register,
        service_names=[SERVICE_NAME],
        callers=CALLERS,
        transport=transport,
        db=db,
        metrics=metrics,
        subscriptions=[fee_subscription(uow, types, settings.payments_topic, settings.fees_group_id)],
        migrations=[MIGRATIONS],
    )
    uow.on_commit = host.relay.wake  # publish promptly after a command commits
    service = RegistryService(settings, registry, uow, host)
    host.background.append(service.watch_deadlines)
    return service
