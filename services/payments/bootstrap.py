"""The one place that wires adapters to use cases. The service, the CLI and the tests all come here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.grpc.server import Register
from baylink.runtime.host import ServiceHost
from services.payments.adapters import iso20022
from services.payments.adapters.events import OutboxPublisher
from services.payments.adapters.sanctions_xml import load_sanctions_list
from services.payments.adapters.store import SqlStore
from services.payments.config import PaymentsSettings
from services.payments.domain.screening import Screener
from services.payments.entrypoints.callers import CALLERS
from services.payments.entrypoints.grpc_servicer import SERVICE_NAME, register_servicer
from services.payments.service_layer.expiry import run_expiry
from services.payments.service_layer.settlement import ensure_open_window
from services.payments.service_layer.unit_of_work import Deps, Policy, utc_now

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
# On SQLite, how long the relay leaves published rows for a batch to stamp before stamping them itself.
MARK_DELAY_SECONDS = 0.5


@dataclass
class Payments:
    """The wired service: use-case dependencies and the gRPC registration (``host_for`` serves it)."""

    settings: PaymentsSettings
    deps: Deps
    register: Register
    service_names: list[str] = field(default_factory=lambda: [SERVICE_NAME])

    async def migrate(self) -> None:
        await self.deps.db.migrate([MIGRATIONS])


def bootstrap(
    settings: PaymentsSettings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    event_topic: str | None = None,
    screener: Screener | None = None,
) -> Payments:
    deps = Deps(
        db=db or Database(settings.database_url),
        stores=SqlStore,
        iso20022=iso20022,
        publisher=OutboxPublisher(EventTypes.from_contracts(), settings.source),
        screener=screener or Screener(load_sanctions_list(settings.sanctions_list), settings.screening_threshold),
        policy=Policy(
            quote_ttl_seconds=settings.quote_ttl_seconds,
            transfer_ttl_seconds=settings.transfer_ttl_seconds,
            max_transfer_ttl_seconds=settings.max_transfer_ttl_seconds,
            zone=settings.zone,
            limits=settings.limits(),
            list_page_size=settings.list_page_size,
            expiry_batch_size=settings.expiry_batch_size,
            group_commit=settings.group_commit,
            group_commit_max=settings.group_commit_max,
        ),
        clock=clock,
        event_topic=event_topic or settings.events_topic or None,
    )
    return Payments(settings=settings, deps=deps, register=register_servicer(deps))


def build_host(settings: PaymentsSettings, *, event_topic: str | None = None) -> ServiceHost:
    """The host of one payments process, as ``python -m services.payments`` runs it (what
    ``run_service`` starts once per worker).

    Several workers are safe together: prepares and commits check caps and limits inside their
    transaction (rows locked on PostgreSQL, one writer at a time on SQLite), an expiry changes
    only transfers still RESERVED, and workers start one after the other, so only the first
    opens a settlement window."""
    return host_for(bootstrap(settings, event_topic=event_topic))


def host_for(payments: Payments) -> ServiceHost:
    """Serve a wired service: migrations, then a settlement window made sure of, then gRPC, with
    the expiry sweeper beside; commits wake the outbox relay."""
    never = asyncio.Event()  # the sweeper ends when the host cancels it at shutdown
    deps, settings = payments.deps, payments.settings
    host = ServiceHost(
        settings,
        register=payments.register,
        service_names=payments.service_names,
        callers=CALLERS,
        db=deps.db,
        migrations=[MIGRATIONS],
        on_start=lambda: ensure_open_window(deps),
        background=[lambda: run_expiry(deps, settings.expiry_sweep_seconds, never)],
    )
    deps.on_commit = host.relay.wake
    deps.handoff = host.relay.hand_over  # the group commit's rows reach the relay in memory
    if deps.db.direct_sqlite:  # one writer: the group commit's transactions stamp the relay's marks
        host.relay.mark_delay_seconds = MARK_DELAY_SECONDS
        deps.marks = host.relay.marks
    return host
