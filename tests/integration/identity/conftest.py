"""A test PKI built for a free loopback port, and its live CRL/OCSP responder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devtools.testpki.build import build
from devtools.testpki.loader import TestPKI
from devtools.testpki.responder import RevocationResponder
from services.identity.adapters.crypto import X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator
from tests.support.ports import free_port

LOOPBACK = frozenset({"127.0.0.1"})
FETCH_TIMEOUT = 0.5


@pytest.fixture(scope="session")
def live_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    out = tmp_path_factory.mktemp("live-pki")
    build(out, f"http://127.0.0.1:{free_port()}")
    return TestPKI(out)


@pytest.fixture
async def responder(live_pki: TestPKI) -> AsyncIterator[RevocationResponder]:
    server = RevocationResponder(live_pki)
    await server.start(port=int(live_pki.base_url.rsplit(":", 1)[1]))
    yield server
    await server.stop()


@pytest.fixture
def engine() -> PkixEngine:
    return PkixEngine(
        cache=RevocationCache(), fetch=FetchSettings(timeout_seconds=FETCH_TIMEOUT, allowed_hosts=LOOPBACK)
    )


@pytest.fixture
def validator(live_pki: TestPKI, engine: PkixEngine) -> CertificateValidator:
    store = TrustListStore(live_pki.list_signers(), ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        assert store.load(live_pki.trust_list_document(jurisdiction)).accepted
    return CertificateValidator(store, engine, reader=X509Reader())
