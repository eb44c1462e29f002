"""Fixtures of the identity unit tests: the committed test PKI, its signed trust lists, and
validators whose revocation cache is pre-filled, so that no test here touches the network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devtools.testpki.loader import COMMITTED, TestPKI
from devtools.testpki.revocation import seed_cache
from services.identity.adapters.crypto import CmsSignatureChecks, X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator
from services.identity.service_layer.verify_signature import SignatureVerifier


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return TestPKI(COMMITTED)


@pytest.fixture(scope="session")
def seeded_cache(pki: TestPKI) -> RevocationCache:
    cache = RevocationCache()
    seed_cache(pki, cache)
    return cache


@pytest.fixture
def store(pki: TestPKI) -> TrustListStore:
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        assert store.load(pki.trust_list_document(jurisdiction)).accepted
    return store


@pytest.fixture
def engine(seeded_cache: RevocationCache) -> PkixEngine:
    # A fetch that is attempted anyway goes to a port nothing listens on and fails fast.
    return PkixEngine(
        cache=seeded_cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset({"127.0.0.1"}))
    )


@pytest.fixture
def validator(store: TrustListStore, engine: PkixEngine) -> CertificateValidator:
    return CertificateValidator(store, engine, reader=X509Reader())


@pytest.fixture
def verifier(validator: CertificateValidator) -> SignatureVerifier:
    return SignatureVerifier(validator, CmsSignatureChecks())


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
