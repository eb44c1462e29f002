"""The Baylink partner PKI for local use: a root CA, the gateway's server certificate, one client
certificate per partner city (EC P-256 throughout).

Where the city is: a client certificate carries exactly one subjectAltName URI
``urn:baylink:city:<division code>`` (e.g. ``urn:baylink:city:440605``). The SAN is the field
RFC 5280/6125 give to identities; a URN of our own namespace cannot be mistaken for a host name,
and the common name (``Baylink partner city 440605 Nanhai``) is for people only and never read.
The gateway reads the city from the certificate the TLS handshake verified against this CA, and
from nowhere else.

Layout of the directory (default ``.local/pki``)::

    ca.crt ca.key  crl.pem  server.crt server.key  cities/<code>.crt cities/<code>.key

A city certificate is revoked by listing it in the CA's CRL (``revocation.py``); re-issuing a
city's certificate revokes the one it replaces (reason: superseded).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baylink import errors
from baylink.runtime.pki.builder import certificate_builder, key_usage, name_attribute, self_signed_ca
from baylink.runtime.settings import LOCAL_DIR
from services.gateway.audit.adapters.keys import write_private
from services.gateway.partner.adapters.revocation import Revoked, needs_renewal, write_crl
from services.gateway.partner.domain.cities import PARTNER_CITIES, check_partner_city

DEFAULT_PKI_DIR = LOCAL_DIR / "pki"
CITY_URI_PREFIX = "urn:baylink:city:"
CA_DAYS, SERVER_DAYS, CITY_DAYS = 3650, 825, 397


@dataclass(frozen=True)
class PkiPaths:
    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def crl(self) -> Path:
        return self.root / "crl.pem"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"

    def city_cert(self, city: str) -> Path:
        return self.root / "cities" / f"{city}.crt"

    def city_key(self, city: str) -> Path:
        return self.root / "cities" / f"{city}.key"


@dataclass(frozen=True)
class CityIdentity:
    city: str
    fingerprint: str  # SHA-256 of the certificate (DER), hex


def init_pki(
    directory: Path = DEFAULT_PKI_DIR,
    *,
    hostnames: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
) -> PkiPaths:
    """Make the CA, its CRL and the gateway's server certificate where missing; existing ones are kept,
    except a CRL past half its life, which is renewed (same entries, next number)."""
    paths = PkiPaths(directory)
    if not paths.ca_cert.exists():
        paths.ca_key.unlink(missing_ok=True)  # a key without its certificate is the leftover of a failed run
        paths.crl.unlink(missing_ok=True)  # a new CA starts a new list
        cert, key = self_signed_ca("Baylink Partner CA", CA_DAYS)
        _save(paths.ca_cert, paths.ca_key, cert, key)
    if not paths.server_cert.exists():
        paths.server_key.unlink(missing_ok=True)
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        _issue(
            paths,
            paths.server_cert,
            paths.server_key,
            "baylink-gateway",
            sans,
            ExtendedKeyUsageOID.SERVER_AUTH,
            SERVER_DAYS,
        )
    if needs_renewal(paths.crl, paths.ca_cert):
        write_crl(paths.crl, paths.ca_cert, paths.ca_key)  # keeps its entries; refuses a list the CA did not sign
    return paths


def issue_city(directory: Path, city: str) -> PkiPaths:
    """A client certificate for ``city`` (a partner city's division code); InvalidInput for any other."""
    check_partner_city(city)
    paths = PkiPaths(directory)
    if not paths.ca_cert.exists():
        raise errors.FailedPrecondition(f"no partner CA in {directory}; run `baylink pki init` first")
    name = f"Baylink partner city {city} {PARTNER_CITIES[city]}"
    uri: list[x509.GeneralName] = [x509.UniformResourceIdentifier(CITY_URI_PREFIX + city)]
    if paths.city_cert(city).exists():  # re-issuing replaces the city's credentials and revokes the old ones
        _revoke_if_ours(paths, paths.city_cert(city).read_bytes(), x509.ReasonFlags.superseded)
    for stale in (paths.city_cert(city), paths.city_key(city)):
        stale.unlink(missing_ok=True)
    _issue(paths, paths.city_cert(city), paths.city_key(city), name, uri, ExtendedKeyUsageOID.CLIENT_AUTH, CITY_DAYS)
    return paths


def revoke_city(directory: Path, pem: bytes, reason: x509.ReasonFlags = x509.ReasonFlags.unspecified) -> int:
    """Put a city certificate of this CA on the CA's CRL; its serial number. InvalidInput if not ours."""
    paths = PkiPaths(directory)
    if not paths.ca_cert.exists():
        raise errors.FailedPrecondition(f"no partner CA in {directory}; run `baylink pki init` first")
    serial = _revoke_if_ours(paths, pem, reason)
    if serial is None:
        raise errors.InvalidInput.field("certificate", "not a certificate issued by this partner CA")
    return serial


def _revoke_if_ours(paths: PkiPaths, pem: bytes, reason: x509.ReasonFlags) -> int | None:
    try:
        cert = x509.load_pem_x509_certificate(pem)
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()))
    except (ValueError, TypeError, InvalidSignature):
        return None
    write_crl(paths.crl, paths.ca_cert, paths.ca_key, Revoked(cert.serial_number, reason))
    return cert.serial_number


def city_of_certificate(pem: bytes) -> CityIdentity:
    """The partner city a (handshake-verified) client certificate names; Unauthenticated if none."""
    cert = x509.load_pem_x509_certificate(pem)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier
        )
    except x509.ExtensionNotFound:
        usages, uris = x509.ExtendedKeyUsage([]), []
    cities = [u.removeprefix(CITY_URI_PREFIX) for u in uris if u.startswith(CITY_URI_PREFIX)]
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages or len(cities) != 1 or cities[0] not in PARTNER_CITIES:
        raise errors.Unauthenticated(
            "the client certificate names no partner city",
            reason="NOT_A_CITY_CERTIFICATE",
            metadata={"certificate_sha256": fingerprint},
        )
    return CityIdentity(cities[0], fingerprint)


def _issue(
    paths: PkiPaths,
    cert_path: Path,
    key_path: Path,
    common_name: str,
    sans: list[x509.GeneralName],
    purpose: x509.ObjectIdentifier,
    days: int,
) -> None:
    ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [name_attribute(NameOID.ORGANIZATION_NAME, "Baylink"), name_attribute(NameOID.COMMON_NAME, common_name)]
    )
    builder = (
        certificate_builder(subject, ca_cert.subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    _save(cert_path, key_path, builder.sign(ca_key, hashes.SHA256()), key)


def _save(cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(key_path, pem)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
