"""Browser signing's server half: the signed attributes handed out, and the detached CMS assembled around
a WebCrypto signature (ECDSA as IEEE P1363 r||s), checked by identity's own CMS verifier."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.x509.oid import NameOID

from baylink import cms, errors
from services.gateway.kiosk.service_layer import signing
from services.gateway.kiosk.service_layer.model import MaterialView
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson
from services.identity.adapters.cms_verify import check_detached_cms
from services.identity.domain.report import Reason

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DOCUMENT = "公司章程 articles of association".encode()


def self_signed(key: object, name: str) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())  # type: ignore[attr-defined]
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
        .sign(key, algorithm)  # type: ignore[arg-type]
    )  # fmt: skip
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def webcrypto_sign(key: object, kind: str, data: bytes) -> bytes:
    """What crypto.subtle.sign returns for these keys."""
    if kind == "rsa":
        return bytes(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))  # type: ignore[attr-defined]
    if kind == "ed25519":
        return bytes(key.sign(data))  # type: ignore[attr-defined]
    digest = hashes.SHA384() if kind == "ec-p384" else hashes.SHA256()
    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(digest)))  # type: ignore[attr-defined]
    size = 48 if kind == "ec-p384" else 32
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


KEYS = {
    "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}


def person_with(chain_pem: str, kind: str) -> IdentifiedPerson:
    fingerprint = hashlib.sha256(cms.load_certificates(chain_pem)[0].dump()).hexdigest()
    return IdentifiedPerson("h1", "subject-1", "HK", fingerprint, kind, "陳大文", "CHAN Tai Man")


def material() -> MaterialView:
    return MaterialView("m1", "articles_of_association", "a.txt", "text/plain", len(DOCUMENT),
                        hashlib.sha256(DOCUMENT).digest(), "attached")  # fmt: skip


def verify(der: bytes, document: bytes = DOCUMENT) -> Reason | None:
    signed_data = asn1_cms.ContentInfo.load(der)["content"]
    carried = [c.chosen for c in signed_data["certificates"]]
    return check_detached_cms(signed_data, carried, None, document, []).failure


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_a_browser_signature_over_the_handed_out_attributes_verifies_as_detached_cms(kind: str) -> None:
    key = KEYS[kind]()
    chain = self_signed(key, "CHAN Tai Man (TEST)")
    signer = signing.signer_key(person_with(chain, kind), chain)
    digest = hashlib.new(signer.digest_algorithm, DOCUMENT).digest()
    data = signing.data_to_sign(signer, "h1", material(), digest, NOW)
    assert data.webcrypto["name"] in ("RSASSA-PKCS1-v1_5", "ECDSA", "Ed25519")

    der = signing.assembled(signer, data.signed_attributes, webcrypto_sign(key, kind, data.signed_attributes))

    assert verify(der) is None
    assert verify(der, DOCUMENT + b"!") is Reason.DIGEST_MISMATCH


def test_the_signed_attributes_pin_the_signers_certificate_and_time() -> None:
    key = KEYS["ec-p256"]()
    chain = self_signed(key, "LEE Siu Ming (TEST)")
    certificate = cms.load_certificates(chain)[0]
    attributes = asn1_cms.CMSAttributes.load(
        cms.signed_attributes("sha256", hashlib.sha256(DOCUMENT).digest(), certificate, NOW)
    )
    by_type = {a["type"].native: a["values"][0] for a in attributes}
    assert set(by_type) == {"content_type", "message_digest", "signing_time", "signing_certificate_v2"}
    assert by_type["signing_time"].native == NOW
    pinned = by_type["signing_certificate_v2"]["certs"][0]
    assert pinned["cert_hash"].native == hashlib.sha256(certificate.dump()).digest()


def test_a_signature_by_another_key_is_assembled_but_does_not_verify() -> None:
    key, other = KEYS["ec-p256"](), KEYS["ec-p256"]()
    chain = self_signed(key, "LEE Siu Ming (TEST)")
    signer = signing.signer_key(person_with(chain, "ec-p256"), chain)
    data = signing.data_to_sign(signer, "h1", material(), hashlib.sha256(DOCUMENT).digest(), NOW)
    der = signing.assembled(signer, data.signed_attributes, webcrypto_sign(other, "ec-p256", data.signed_attributes))
    assert verify(der) is Reason.SIGNATURE_INVALID


def test_a_certificate_other_than_the_identified_one_is_refused_at_its_field() -> None:
    chain = self_signed(KEYS["ec-p256"](), "LEE Siu Ming (TEST)")
    stranger = self_signed(KEYS["ec-p256"](), "Somebody Else")
    with pytest.raises(errors.InvalidInput) as refused:
        signing.signer_key(person_with(chain, "ec-p256"), stranger)
    assert refused.value.reason == signing.CERTIFICATE_NOT_THE_SIGNERS
    assert [v.field for v in refused.value.violations] == ["certificate_chain_pem"]


def test_an_sm2_key_is_refused_as_unable_to_sign_in_a_browser() -> None:
    chain = self_signed(KEYS["ec-p256"](), "WANG Guangdong (TEST)")
    with pytest.raises(errors.InvalidInput) as refused:
        signing.signer_key(person_with(chain, "sm2"), chain)
    assert refused.value.reason == signing.KEY_CANNOT_SIGN
    assert refused.value.violations[0].field == "person"


def test_not_pem_is_refused_at_the_certificate_field() -> None:
    chain = self_signed(KEYS["ec-p256"](), "LEE Siu Ming (TEST)")
    with pytest.raises(errors.InvalidInput) as refused:
        signing.signer_key(person_with(chain, "ec-p256"), "not a certificate")
    assert refused.value.violations[0].field == "certificate_chain_pem"


@pytest.mark.parametrize(
    ("digest", "why"),
    [(b"\x00" * 31, "32 bytes"), (hashlib.sha256(b"another document").digest(), "not the SHA-256")],
)
def test_a_message_digest_that_is_not_the_materials_is_refused(digest: bytes, why: str) -> None:
    chain = self_signed(KEYS["ec-p256"](), "LEE Siu Ming (TEST)")
    signer = signing.signer_key(person_with(chain, "ec-p256"), chain)
    with pytest.raises(errors.InvalidInput) as refused:
        signing.data_to_sign(signer, "h1", material(), digest, NOW)
    [violation] = refused.value.violations
    assert violation.field == "message_digest_base64" and why in violation.description


@pytest.mark.parametrize(
    ("attributes", "signature", "field"),
    [
        (b"\x31\x03\x02\x01", b"\x01" * 64, "signed_attributes_base64"),
        (None, b"\x01" * 63, "signature_base64"),
        (None, b"\x00" * 64, "signature_base64"),
    ],
)
def test_malformed_signing_input_is_refused_at_its_field(
    attributes: bytes | None, signature: bytes, field: str
) -> None:
    chain = self_signed(KEYS["ec-p256"](), "LEE Siu Ming (TEST)")
    signer = signing.signer_key(person_with(chain, "ec-p256"), chain)
    good = signing.data_to_sign(signer, "h1", material(), hashlib.sha256(DOCUMENT).digest(), NOW)
    with pytest.raises(errors.InvalidInput) as refused:
        signing.assembled(signer, attributes or good.signed_attributes, signature)
    assert refused.value.reason == signing.SIGNATURE_MALFORMED
    assert refused.value.violations[0].field == field


def test_p1363_becomes_der_and_back_to_the_same_numbers() -> None:
    der = cms.ecdsa_der(bytes(range(1, 65)), 32)
    r, s = utils.decode_dss_signature(der)
    assert r == int.from_bytes(bytes(range(1, 33)), "big") and s == int.from_bytes(bytes(range(33, 65)), "big")
