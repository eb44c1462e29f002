"""The certificate-building steps every Baylink CA shares (internal, partner, kiosk): P-256 keys,
a validity that starts a little before now, the subject key identifier, and key usage by role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def certificate_builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate a little clock skew between hosts
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """A CA's (certificates and CRLs) or a leaf's (digital signature) key usage."""
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def name_attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value)


def self_signed_ca(common_name: str, days: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new CA of Baylink's (``O=Baylink, CN=common_name``) that issues leaves only, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [name_attribute(NameOID.ORGANIZATION_NAME, "Baylink"), name_attribute(NameOID.COMMON_NAME, common_name)]
    )
    builder = (
        certificate_builder(name, name, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(cert_sign=True), critical=True)
    )
    return builder.sign(key, hashes.SHA256()), key


def tls_leaf(
    common_name: str,
    sans: list[x509.GeneralName],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    days: int,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new key and a leaf of ``ca_cert`` (``O=Baylink, CN=common_name``) for TLS servers and clients."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [name_attribute(NameOID.ORGANIZATION_NAME, "Baylink"), name_attribute(NameOID.COMMON_NAME, common_name)]
    )
    purposes = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        certificate_builder(subject, ca_cert.subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert
