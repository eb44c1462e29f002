"""The real GBA roots (shared/reference/certs) in the sample trust lists of data/trustlists."""

import hashlib
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import pem

from services.identity.adapters.crypto import X509Reader
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.policy import RevocationMode, ValidationPolicy
from services.identity.domain.report import Indication, Reason, SubIndication
from services.identity.domain.trustlist import Jurisdiction, ServiceStatus
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate

REPO = Path(__file__).resolve().parents[3]
LISTS = REPO / "devtools" / "data" / "trustlists"
CERTS = REPO.parent / "shared" / "reference" / "certs"
REAL_ROOTS = {
    "hk-hongkong-post-root-ca-3.pem": Jurisdiction.HK,
    "mo-esigntrust-root-g03.pem": Jurisdiction.MO,
    "mo-macao-post-esigntrust-root-g02-expired.pem": Jurisdiction.MO,
    "cn-gdca-trustauth-r5-root.pem": Jurisdiction.GD,
    "cn-cfca-ev-root.pem": Jurisdiction.GD,
}
G02 = "mo-macao-post-esigntrust-root-g02-expired.pem"

needs_certs = pytest.mark.skipif(not CERTS.is_dir(), reason="shared/reference/certs is not beside the repository")


@pytest.fixture
def reference_store() -> TrustListStore:
    signer = pem.unarmor((LISTS / "sample-list-signer.pem").read_bytes())[2]
    store = TrustListStore({j: [signer] for j in Jurisdiction}, ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        result = store.load((LISTS / f"{jurisdiction.value}.json").read_bytes())
        assert result.accepted, result
    return store


def der_of(filename: str) -> bytes:
    return pem.unarmor((CERTS / filename).read_bytes())[2]


@needs_certs
def test_real_rsa_4096_roots_load_into_their_jurisdictions(reference_store: TrustListStore) -> None:
    for filename, jurisdiction in REAL_ROOTS.items():
        service = reference_store.current(jurisdiction).service_for(der_of(filename))
        assert service is not None, filename
    hk = reference_store.current(Jurisdiction.HK).services[0]
    from asn1crypto import x509

    assert x509.Certificate.load(hk.certificate_der).public_key.bit_size == 4096


@needs_certs
@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
def test_reference_root_fingerprints_equal_what_openssl_computes(reference_store: TrustListStore) -> None:
    for filename, jurisdiction in REAL_ROOTS.items():
        out = subprocess.run(
            ["openssl", "x509", "-in", str(CERTS / filename), "-noout", "-fingerprint", "-sha256"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        expected = re.sub(r"[^0-9a-f]", "", out.split("=", 1)[1].lower())
        service = reference_store.current(jurisdiction).service_for(der_of(filename))
        assert service.fingerprint_sha256 == expected == hashlib.sha256(der_of(filename)).hexdigest()


@needs_certs
def test_expired_g02_service_is_withdrawn_from_its_expiry(reference_store: TrustListStore) -> None:
    g02 = reference_store.current(Jurisdiction.MO).service_for(der_of(G02))
    assert g02.status_at(datetime(2019, 12, 31, tzinfo=UTC)) is ServiceStatus.GRANTED
    assert g02.status_at(datetime(2020, 1, 6, tzinfo=UTC)) is ServiceStatus.WITHDRAWN


@needs_certs
@pytest.mark.parametrize("moment", [datetime(2020, 1, 6, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)])
async def test_expired_g02_root_yields_expired_after_2020_01_05(reference_store, moment) -> None:
    validator = CertificateValidator(reference_store, PkixEngine(), reader=X509Reader())
    policy = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL)
    report = await validator.handle(ValidateCertificate(der_of(G02), validation_time=moment, policy=policy))
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.EXPIRED)
    assert report.jurisdiction is Jurisdiction.MO


@needs_certs
async def test_g02_root_was_anchored_before_it_expired(reference_store) -> None:
    validator = CertificateValidator(reference_store, PkixEngine(), reader=X509Reader())
    policy = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL)
    moment = datetime(2019, 6, 1, tzinfo=UTC)
    report = await validator.handle(ValidateCertificate(der_of(G02), validation_time=moment, policy=policy))
    # A root is no signing certificate, but it is recognised: the failure is key usage, not trust.
    assert report.reason is Reason.KEY_USAGE and report.jurisdiction is Jurisdiction.MO


@needs_certs
def test_reference_lists_are_the_ones_the_generator_makes() -> None:
    from devtools.testpki.trustlists import reference_lists
    from services.identity.domain.trustlist_codec import decode_document

    expected = reference_lists(CERTS)
    for jurisdiction, trust_list in expected.items():
        assert decode_document((LISTS / f"{jurisdiction.value}.json").read_bytes()).trust_list == trust_list
