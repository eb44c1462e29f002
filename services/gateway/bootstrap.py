"""Wires the gateway: the only place that chooses adapters. ``__main__`` and the tests both come here.

One process, one database (audit log, bindings, kiosk and console sessions, the guards' counts,
dead-letter resolutions; shared by every replica, see docs/architecture.md): the
shared parts (audit log, binding service, guards), the kiosk API, the partner-city servicer and the
operator console are built here and handed to the ``Gateway`` (``process.py``) that runs them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from grpc import aio

from baylink.ops.dlq import DeadLetterIndex
from baylink.ops.reader import TopicReader
from baylink.runtime.db import Database
from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.host import ServiceHost
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.topics import declared
from services.gateway.audit.adapters.events import GatewaySecurityEvents
from services.gateway.audit.adapters.keys import UnsignedHeadsMarker, load_or_create_signing_key
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.adapters.trust import trusted_public_keys
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.binding.adapters.store import SqlBindingStore, load_binding_keys
from services.gateway.binding.service_layer.audit import decision_recorder
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.clients.identity import IdentityClient
from services.gateway.clients.payments import PayerPseudonyms, PaymentsClient
from services.gateway.clients.registry import KioskRegistry, RegistryClient
from services.gateway.config import GatewaySettings
from services.gateway.console.adapters.auth_store import SqlConsoleSessions, SqlLoginFailures
from services.gateway.console.adapters.dlq import ReplayProducer, SqlDlqResolutions
from services.gateway.console.adapters.users import load_users
from services.gateway.console.entrypoints.api import create_console_app
from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.server import Console
from services.gateway.console.service_layer.alerts import AlertBook
from services.gateway.console.service_layer.auth import ConsoleAuth, LoginThrottling
from services.gateway.console.service_layer.dlq import ConsoleDlq
from services.gateway.console.service_layer.hub import ConsoleHub
from services.gateway.console.service_layer.throttle import ThrottlePolicy
from services.gateway.kiosk.adapters.admissions import SqlKioskAdmissions
from services.gateway.kiosk.adapters.challenge_store import SqlChallengeStore
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, RevokedKiosks
from services.gateway.kiosk.adapters.session_store import SqlSessionStore
from services.gateway.kiosk.entrypoints.app import create_kiosk_app
from services.gateway.kiosk.entrypoints.metrics import KioskHttpMetrics
from services.gateway.kiosk.service_layer.access import KioskAccess, kiosk_actor_var
from services.gateway.kiosk.service_layer.deps import KioskDeps
from services.gateway.partner.adapters.events import PartnerEventStream
from services.gateway.partner.adapters.pki import PkiPaths
from services.gateway.partner.adapters.registry_backend import RegistryPartnerBackend
from services.gateway.partner.adapters.revocation import RevocationList
from services.gateway.partner.entrypoints.api import PartnerCityServicer
from services.gateway.partner.entrypoints.mtls import CityCallers
from services.gateway.partner.service_layer.access import PartnerAccess
from services.gateway.process import Gateway, Parts
from services.gateway.shared.adapters.crypto_keys import create_development_keys
from services.gateway.shared.adapters.guard_store import SqlGuardLedger
from services.gateway.shared.service_layer.guard import AuditedAlerts, Guard

MIGRATIONS = Path(__file__).resolve().parent / "shared" / "adapters" / "migrations"


def build_parts(settings: GatewaySettings, db: Database) -> Parts:
    events = GatewaySecurityEvents(source=settings.source)
    store = SqlAuditStore(db, event_topic=settings.events_topic or None)
    # The pinned keys too: after a key rotation the head signed by the previous key is still ours.
    signer = load_or_create_signing_key(settings.audit_key_path).accepting(
        trusted_public_keys(settings.audit_trusted_keys_dir)
    )
    audit = AuditLog(store, signer, events.checkpointed, policy=settings.checkpoint_policy(),
                     unsigned_heads=UnsignedHeadsMarker(settings.audit_key_path))  # fmt: skip
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
    sessions = SqlSessionStore(
        db,
        keys.cipher,
        settings.kiosk_session_ttl_seconds,
        max_lifetime_seconds=settings.kiosk_session_max_lifetime_seconds,
    )
    kiosk_ledger = SqlGuardLedger(db, "kiosk", settings.kiosk_guard.policy())
    return Parts(
        audit=audit,
        bindings=bindings,
        sessions=sessions,
        kiosk_guard=Guard(kiosk_ledger, alerts),
        kiosk_admissions=SqlKioskAdmissions(sessions, kiosk_ledger),
        partner_access=PartnerAccess(
            grants, Guard(SqlGuardLedger(db, "partner", settings.partner_guard.policy()), alerts), audit
        ),
        grants=grants,
        payer_pseudonym=PayerPseudonyms.from_key_file(files.pseudonym_key, subject_number),
    )


def console_topics(settings: GatewaySettings) -> list[str]:
    """The topics the console shows: configured, else the declared ones plus the DLQ topic."""
    if settings.console_topics:
        return list(dict.fromkeys(settings.console_topics))
    names = [spec.name for spec in declared(settings.kafka)]
    return list(dict.fromkeys([*names, settings.kafka.dlq_topic]))


def build_console(settings: GatewaySettings, audit: AuditLog, db: Database) -> Console:
    """Every part of the console, from settings; the users file is read (and checked) here."""
    users = load_users(settings.console_users_file) if settings.console_users_file else {}
    topics = console_topics(settings)
    reader = TopicReader(settings.kafka, topics, client_id="gateway-console")
    alerts = AlertBook(settings.kafka.dlq_topic, threshold=settings.console_dlq_growth_alert,
                       window_seconds=settings.console_dlq_growth_window_seconds)  # fmt: skip
    hub = ConsoleHub(reader, alerts, buffer=settings.console_stream_buffer,
                     alert_lookback=timedelta(minutes=settings.console_alert_lookback_minutes))  # fmt: skip
    replayer = ReplayProducer(settings.kafka)
    dlq = ConsoleDlq(DeadLetterIndex(settings.kafka, settings.kafka.dlq_topic), SqlDlqResolutions(db), replayer, audit)
    ceiling = settings.console_login_max_delay_seconds
    throttling = LoginThrottling(
        user=ThrottlePolicy(settings.console_login_free_failures, max_delay_seconds=ceiling),
        address=ThrottlePolicy(settings.console_login_address_free_failures, max_delay_seconds=ceiling),
    )
    deps = ConsoleDeps(
        auth=ConsoleAuth(
            users,
            settings.console_session_ttl_seconds,
            throttling=throttling,
            record=audit.record,
            sessions=SqlConsoleSessions(db),
            failures=SqlLoginFailures(db, throttling.scopes(len(users))),
        ),
        hub=hub,
        reader=reader,
        dlq=dlq,
        alerts=alerts,
        kafka=settings.kafka,
        topics=topics,
        cookie_secure=not settings.console_insecure_cookies,
        heartbeat_seconds=settings.console_heartbeat_seconds,
        flow_lookback=timedelta(hours=settings.console_flow_lookback_hours),
    )
    return Console(settings, create_console_app(deps), hub, replayer)


def attach_console(gateway: Gateway) -> Console:
    """Build the console and hook it into the gateway's host (bind on start, serve and tail as background)."""
    console = build_console(gateway.settings, gateway.parts.audit, gateway.host.db)
    host = gateway.host
    previous = host.on_start

    async def on_start() -> None:
        if previous is not None:
            await previous()
        console.bind()

    host.on_start = on_start
    host.background += [console.tail, console.serve]
    return console


def bootstrap(settings: GatewaySettings | None = None, *, db: Database | None = None) -> Gateway:
    settings = settings or GatewaySettings()
    db = db or Database(settings.database_url)
    metrics = ServiceMetrics()
    parts = build_parts(settings, db)
    transport = InternalTransport.from_settings(settings.internal, settings.service_name)
    identity = IdentityClient(settings.identity_target, transport, settings.call_timeout_seconds)
    registry = RegistryClient(settings.registry_target, transport, settings.call_timeout_seconds)
    payments = PaymentsClient(settings.payments_target, transport, settings.call_timeout_seconds)
    deps = KioskDeps(
        access=KioskAccess(parts.sessions, parts.kiosk_guard, parts.audit, parts.kiosk_admissions),
        identity=identity,
        registry=KioskRegistry(registry),
        payments=payments,
        bindings=parts.bindings,
        payer_pseudonym=parts.payer_pseudonym,
        payer_participants=dict(settings.payer_participants),
        fee_collector=settings.fee_collector,
        challenges=SqlChallengeStore(db),
        max_material_bytes=settings.kiosk_max_material_bytes,
        max_quotes_per_session=settings.kiosk_max_quotes_per_session,
    )
    revoked_kiosks = RevokedKiosks(KioskPkiPaths.under(settings.pki_dir).revoked)
    kiosk_app = create_kiosk_app(deps, languages=tuple(settings.kiosk_languages),
                                 default_language=settings.kiosk_default_language,
                                 metrics=KioskHttpMetrics(metrics.registry),
                                 max_body_bytes=settings.kiosk_max_body_bytes,
                                 revoked_devices=revoked_kiosks)  # fmt: skip
    backend = RegistryPartnerBackend(registry, parts.bindings, parts.grants,
                                     max_content_bytes=settings.partner_max_content_bytes)  # fmt: skip
    backend.event_stream = PartnerEventStream(settings.kafka, settings.registry_events_topic, parts.bindings)
    revocations = RevocationList(settings.partner_crl_path(), PkiPaths(settings.pki_dir).ca_cert)
    servicer = PartnerCityServicer(parts.partner_access, backend, CityCallers(revocations))

    def register(_server: aio.Server) -> None:
        return None  # the internal port serves health and reflection only; cities come in over mTLS

    host = ServiceHost(
        settings, register=register, service_names=[], callers={}, db=db, metrics=metrics, migrations=[MIGRATIONS],
        transport=transport,
    )  # fmt: skip
    parts.audit.on_commit = host.relay.wake  # checkpoints and alerts go out promptly
    gateway = Gateway(settings, parts, host, kiosk_app, servicer, (identity, registry, payments))
    host.on_start = gateway._on_start
    host.background += [gateway.serve_kiosk, gateway.run_checkpoints]
    gateway.console = attach_console(gateway)
    return gateway
