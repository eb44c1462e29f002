"""Wires the identity service: the only place that chooses adapters. Tests call it too."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import pem
from grpc import aio

from baylink.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.host import ServiceHost
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.outbox import FactRecorder
from services.identity.adapters.crypto import CmsSignatureChecks, X509Reader
from services.identity.adapters.events import IdentityEvents
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.pdf_signatures import PyHankoPdfReader
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.trust_list_repository import SqlTrustListRepository
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.config import IdentitySettings
from services.identity.domain.trustlist import Jurisdiction
from services.identity.entrypoints.callers import CALLERS
from services.identity.entrypoints.grpc_api import IdentityServicer
from services.identity.service_layer.application import IdentityApplication
from services.identity.service_layer.ports import PathEngine
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator
from services.identity.service_layer.verify_pdf import PdfVerifier
from services.identity.service_layer.verify_signature import SignatureVerifier

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "migrations"
SERVICE_NAME = identity_service_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name


@dataclass
class IdentityService:
    settings: IdentitySettings
    app: IdentityApplication
    host: ServiceHost

    async def start(self) -> None:
        """Migrate, restore the trust lists, then serve (health turns SERVING only after that)."""
        await self.host.start()

    @property
    def port(self) -> int:
        assert self.host.grpc is not None
        return self.host.grpc.port


def bootstrap(settings: IdentitySettings | None = None) -> IdentityService:
    settings = settings or IdentitySettings()
    db = Database(settings.database_url)
    metrics = ServiceMetrics()
    signers = {
        Jurisdiction(j): [_certificate_der(Path(p)) for p in paths]
        for j, paths in settings.trusted_list_signers.items()
    }
    store = list_store(signers)
    fetch = FetchSettings(
        timeout_seconds=settings.revocation_timeout_seconds,
        allowed_hosts=frozenset(settings.revocation_allowed_hosts) or None,
    )
    validator = certificate_validator(store, PkixEngine(RevocationCache(), fetch))
    recorder = FactRecorder(db, commit_interval=settings.fact_commit_interval_seconds)
    app = IdentityApplication(
        SqlTrustListRepository(db),
        store,
        validator,
        signature_verifier(validator),
        IdentityEvents(EventTypes.from_contracts(), settings.source),
        recorder,
        pdf_verifier(signature_verifier(validator)),
    )
    servicer = IdentityServicer(app, settings.validation_deadline_seconds)

    def register(server: aio.Server) -> None:
        identity_service_pb2_grpc.add_IdentityServiceServicer_to_server(servicer, server)

    host = ServiceHost(
        settings,
        register=register,
        service_names=[SERVICE_NAME],
        callers=CALLERS,
        db=db,
        metrics=metrics,
        migrations=[MIGRATIONS],
        on_start=lambda: app.restore(settings.trust_lists_dir),
        # Worker processes share the database: each follows the lists the others store.
        background=[app.follow_stored_lists] if settings.workers > 1 else [],
    )
    recorder.handoff = host.relay.hand_over  # committed facts go to the relay in memory, and wake it
    return IdentityService(settings, app, host)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def certificate_validator(
    store: TrustListStore, engine: PathEngine | None = None, clock: Callable[[], datetime] = _utc_now
) -> CertificateValidator:
    """The validator over ``store`` (the service's, or an offline tool's), with the real adapters;
    ``clock`` is what "now" is (an offline tool may re-judge a stored signature years later)."""
    return CertificateValidator(store, engine or PkixEngine(), clock=clock, reader=X509Reader())


def signature_verifier(validator: CertificateValidator, clock: Callable[[], datetime] = _utc_now) -> SignatureVerifier:
    return SignatureVerifier(validator, CmsSignatureChecks(), clock)


def pdf_verifier(verifier: SignatureVerifier) -> PdfVerifier:
    """Signed PDFs, read by pyHanko, each CMS and every timestamp judged by `verifier`."""
    return PdfVerifier(verifier, PyHankoPdfReader())


def list_store(signers: Mapping[Jurisdiction, Iterable[bytes]]) -> TrustListStore:
    """A trust-list store that accepts lists signed by ``signers`` (checked with the real crypto)."""
    return TrustListStore(signers, ListSignatureVerifier())


def build_host(settings: IdentitySettings) -> ServiceHost:
    """The host of one identity process (what `run_service` starts once per worker)."""
    return bootstrap(settings).host


def _certificate_der(path: Path) -> bytes:
    """A configured certificate file, PEM or DER, as DER."""
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data
