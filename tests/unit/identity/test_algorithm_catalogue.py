"""One algorithm catalogue for everything identity verifies: SHA-1, MD5 and RSA below 2048 bits
are refused with CRYPTO_CONSTRAINTS_FAILURE wherever they appear (CMS, raw signatures, the
signer's own key, CRLs, trust lists)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from asn1crypto import crl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from devtools.testpki.loader import TestPKI
from devtools.testpki.revocation import RevocationAuthority
from devtools.testpki.weak import cms_with_algorithm, hk_signer, resign_crl, resign_ocsp
from services.identity.adapters.crypto import X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.keys import KeyKind, SigningKey
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache, ocsp_key
from services.identity.adapters.trustlist_signature import ListSignatureVerifier, sign_trust_list
from services.identity.domain.algorithms import CATALOGUE, AlgorithmEntry, Use, algorithm_refusal
from services.identity.domain.report import Indication, Reason, SubIndication
from services.identity.domain.trustlist import Jurisdiction
from services.identity.domain.trustlist_codec import decode_document
from services.identity.service_layer.trust_store import LoadOutcome, Refusal, TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature, VerifyRawSignature

DOCUMENT = "申請表 application form\n".encode()
TODAY = date(2026, 12, 6)


@pytest.mark.parametrize("digest", ["md5", "sha1"])
def test_catalogue_refuses_md5_and_sha1(digest: str) -> None:
    assert algorithm_refusal(Use.DIGEST, digest, TODAY) is not None


def test_catalogue_accepts_the_scheme_algorithms() -> None:
    for use, name in [(Use.DIGEST, "sha256"), (Use.DIGEST, "sm3"), (Use.KEY, "secp384r1"), (Use.KEY, "sm2")]:
        assert algorithm_refusal(use, name, TODAY) is None


def test_catalogue_refuses_rsa_below_2048_bits_and_unknown_algorithms() -> None:
    assert algorithm_refusal(Use.KEY, "rsa", TODAY, 2048) is None
    assert "2048" in (algorithm_refusal(Use.KEY, "rsa", TODAY, 1024) or "")
    assert algorithm_refusal(Use.KEY, "dsa", TODAY) is not None
    assert algorithm_refusal(Use.DIGEST, "ripemd160", TODAY) is not None


def test_catalogue_entries_are_dated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CATALOGUE, (Use.DIGEST, "sha256"), AlgorithmEntry(allowed_until=date(2030, 12, 31)))
    assert algorithm_refusal(Use.DIGEST, "sha256", date(2030, 12, 31)) is None
    assert algorithm_refusal(Use.DIGEST, "sha256", date(2031, 1, 1)) is not None


def _refused(report: object) -> None:
    assert report.indication is Indication.INDETERMINATE, report
    assert report.sub_indication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE, report
    assert report.reason is Reason.ALGORITHM_NOT_ALLOWED, report


@pytest.mark.parametrize("algorithm", ["sha1_rsa", "md5_rsa"])
async def test_cms_signed_with_sha1_or_md5_under_a_sha256_digest_is_refused(
    verifier: SignatureVerifier, pki: TestPKI, algorithm: str
) -> None:
    signature = cms_with_algorithm(DOCUMENT, pki.key("hk-personal").private, pki.certificate("hk-personal"), algorithm)
    report = await verifier.verify_cms(
        VerifyCmsSignature(signature, document=DOCUMENT, intermediates=tuple(pki.intermediates("hk-personal")))
    )
    _refused(report)
    assert not report.signature_valid and report.digest_algorithm == "sha256"


async def test_the_same_cms_with_sha256_still_passes(verifier: SignatureVerifier, pki: TestPKI) -> None:
    signature = cms_with_algorithm(
        DOCUMENT, pki.key("hk-personal").private, pki.certificate("hk-personal"), "sha256_rsa"
    )
    report = await verifier.verify_cms(
        VerifyCmsSignature(signature, document=DOCUMENT, intermediates=tuple(pki.intermediates("hk-personal")))
    )
    assert report.passed, report


async def test_cms_naming_rsa_encryption_takes_the_digest_algorithm(verifier: SignatureVerifier, pki: TestPKI) -> None:
    # rsaEncryption as signatureAlgorithm (as OpenSSL writes it): SHA-256 from digestAlgorithm.
    key, certificate = pki.key("hk-personal").private, pki.certificate("hk-personal")
    signature = cms_with_algorithm(DOCUMENT, key, certificate, "rsassa_pkcs1v15")
    report = await verifier.verify_cms(
        VerifyCmsSignature(signature, document=DOCUMENT, intermediates=tuple(pki.intermediates("hk-personal")))
    )
    assert report.passed, report


async def test_cms_by_an_rsa_1024_signer_is_refused(verifier: SignatureVerifier, pki: TestPKI) -> None:
    private, certificate = hk_signer(pki, 0x1024_0001, key_size=1024)
    signature = cms_with_algorithm(DOCUMENT, private, certificate, "sha256_rsa")
    report = await verifier.verify_cms(
        VerifyCmsSignature(signature, document=DOCUMENT, intermediates=tuple(pki.intermediates("hk-personal")))
    )
    _refused(report)


async def test_raw_signature_by_an_rsa_1024_signer_is_refused(verifier: SignatureVerifier, pki: TestPKI) -> None:
    private, certificate = hk_signer(pki, 0x1024_0002, key_size=1024)
    digest = hashlib.sha256(DOCUMENT).digest()
    from cryptography.hazmat.primitives.asymmetric import utils

    signature = private.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    report = await verifier.verify_raw(
        VerifyRawSignature(
            signature, digest, "sha256", "rsa-pkcs1v15", certificate.dump(), tuple(pki.intermediates("hk-personal"))
        )
    )
    _refused(report)


async def test_certificate_with_an_rsa_1024_key_is_refused(validator: CertificateValidator, pki: TestPKI) -> None:
    _, certificate = hk_signer(pki, 0x1024_0003, key_size=1024)
    report = await validator.handle(ValidateCertificate(certificate.dump(), tuple(pki.intermediates("hk-personal"))))
    _refused(report)


async def test_crl_signed_with_sha1_is_a_crypto_constraints_failure(store: TrustListStore, pki: TestPKI) -> None:
    cache = RevocationCache()
    now = datetime.now(UTC)
    for name in ("hk-root", "hk-ca"):
        document = crl.CertificateList.load(RevocationAuthority(pki, name).crl_der(now))
        if name == "hk-ca":
            document = resign_crl(document, pki.key("hk-ca").private, "sha1_rsa")
        cache.put_crl(f"{pki.base_url}/crl/{name}.crl", document)
    # No fetching at all: the sha1 CRL in the cache is the only revocation source.
    engine = PkixEngine(cache=cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset()))
    validator = CertificateValidator(store, engine, reader=X509Reader())
    _, certificate = hk_signer(pki, 0x5A1_0001)
    report = await validator.handle(
        ValidateCertificate(certificate.dump(), tuple(pki.intermediates("hk-personal")), now + timedelta(seconds=1))
    )
    _refused(report)
    assert "sha1" in report.detail


def test_trust_list_signed_with_an_rsa_1024_key_is_refused(pki: TestPKI) -> None:
    private, certificate = hk_signer(pki, 0x1024_0004, key_size=1024)
    store = TrustListStore({Jurisdiction.HK: [certificate.dump()]}, ListSignatureVerifier())
    trust_list = decode_document(pki.trust_list_document(Jurisdiction.HK)).trust_list
    # KeyKind only labels the key for signing (RS256); its real size is 1024 bits.
    document = sign_trust_list(trust_list, SigningKey(KeyKind.RSA_2048, private), certificate.dump())
    result = store.load(document)
    assert result.outcome is LoadOutcome.REFUSED and result.refusal is Refusal.ALGORITHM_NOT_ALLOWED, result
    assert store.current(Jurisdiction.HK) is None


async def test_ocsp_answer_signed_with_sha1_is_a_crypto_constraints_failure(
    store: TrustListStore, seeded_cache: RevocationCache, pki: TestPKI
) -> None:
    certificate = pki.certificate("hk-personal")
    good = seeded_cache.get_ocsp(ocsp_key(certificate))
    assert good is not None and pki.responder_for("hk-ca") == "hk-ocsp"
    cache = RevocationCache()
    now = datetime.now(UTC)
    # hk-ca is checked against hk-root's CRL as usual; hk-personal only by the re-signed OCSP answer.
    cache.put_crl(
        f"{pki.base_url}/crl/hk-root.crl", crl.CertificateList.load(RevocationAuthority(pki, "hk-root").crl_der(now))
    )
    cache.put_ocsp(ocsp_key(certificate), resign_ocsp(good, pki.key("hk-ocsp").private))
    engine = PkixEngine(cache=cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset()))
    validator = CertificateValidator(store, engine, reader=X509Reader())
    report = await validator.handle(
        ValidateCertificate(pki.cert("hk-personal"), tuple(pki.intermediates("hk-personal")))
    )
    _refused(report)
    assert "sha1" in report.detail
