"""Kiosk device credentials: a kiosk CA of its own, the kiosk door's server certificate, one client
certificate per kiosk (EC P-256, as the partner PKI, whose certificate helpers this reuses).

A kiosk is known by the subjectAltName URI ``urn:baylink:kiosk:<kiosk id>`` of the certificate the
TLS handshake verified against the kiosk CA, and by nothing a request says. The kiosk CA is separate
from the partner CA, so a partner city's certificate can never open a kiosk session (and a kiosk's
certificate can never read a city's applications).

Layout (under the PKI directory, default ``.local/pki``)::

    kiosk/ca.crt kiosk/ca.key  kiosk/server.crt kiosk/server.key  kiosk/devices/<kiosk id>.crt|.key
    kiosk/revoked.txt   (SHA-256 of each revoked device certificate, one a line, then its kiosk id)

Re-issuing a kiosk's certificate, or ``revoke-kiosk``, revokes the one it had: the door refuses a
revoked certificate on every request (``RevokedKiosks`` rereads the list when it changes).
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from baylink import errors
from baylink.runtime.pki.builder import self_signed_ca
from services.gateway.partner.adapters.pki import CA_DAYS, SERVER_DAYS, PkiPaths, _issue, _save

KIOSK_URI_PREFIX = "urn:baylink:kiosk:"
KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEVICE_DAYS = 397
NOT_A_KIOSK = "NOT_A_KIOSK_CERTIFICATE"


@dataclass(frozen=True)
class KioskPkiPaths:
    """The kiosk CA's directory (``<pki dir>/kiosk``)."""

    root: Path

    @classmethod
    def under(cls, pki_dir: Path) -> KioskPkiPaths:
        return cls(pki_dir / "kiosk")

    @property
    def ca(self) -> PkiPaths:  # ca.crt, ca.key, server.crt, server.key: the partner layout, kiosk CA
        return PkiPaths(self.root)

    def device_cert(self, kiosk_id: str) -> Path:
        return self.root / "devices" / f"{check_kiosk_id(kiosk_id)}.crt"

    def device_key(self, kiosk_id: str) -> Path:
        return self.root / "devices" / f"{check_kiosk_id(kiosk_id)}.key"

    @property
    def revoked(self) -> Path:
        return self.root / "revoked.txt"


@dataclass(frozen=True)
class KioskDevice:
    kiosk_id: str
    fingerprint: str  # SHA-256 of the certificate (DER), hex


def check_kiosk_id(kiosk_id: str) -> str:
    if not KIOSK_ID.fullmatch(kiosk_id):
        raise errors.InvalidInput.field("kiosk_id", "1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
    return kiosk_id


def init_kiosk_pki(
    pki_dir: Path, *, hostnames: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)
) -> KioskPkiPaths:
    """Make the kiosk CA and the kiosk door's server certificate where missing; existing ones are kept."""
    paths = KioskPkiPaths.under(pki_dir)
    ca = paths.ca
    if not ca.ca_cert.exists():
        ca.ca_key.unlink(missing_ok=True)  # a key without its certificate is the leftover of a failed run
        cert, key = self_signed_ca("Baylink Kiosk CA", CA_DAYS)
        _save(ca.ca_cert, ca.ca_key, cert, key)
    if not ca.server_cert.exists():
        ca.server_key.unlink(missing_ok=True)
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        _issue(ca, ca.server_cert, ca.server_key, "baylink-gateway-kiosk-door", sans,
               ExtendedKeyUsageOID.SERVER_AUTH, SERVER_DAYS)  # fmt: skip
    return paths


def issue_kiosk(pki_dir: Path, kiosk_id: str) -> KioskPkiPaths:
    """A device certificate for ``kiosk_id`` (re-issuing replaces the kiosk's key and certificate)."""
    check_kiosk_id(kiosk_id)
    paths = init_kiosk_pki(pki_dir)
    cert, key = paths.device_cert(kiosk_id), paths.device_key(kiosk_id)
    _revoke(paths, kiosk_id)
    uri: list[x509.GeneralName] = [x509.UniformResourceIdentifier(KIOSK_URI_PREFIX + kiosk_id)]
    _issue(paths.ca, cert, key, f"Baylink kiosk {kiosk_id}", uri, ExtendedKeyUsageOID.CLIENT_AUTH, DEVICE_DAYS)
    return paths


def revoke_kiosk(pki_dir: Path, kiosk_id: str) -> bool:
    """Revoke a kiosk's device certificate (and delete it and its key); False when it has none."""
    return _revoke(KioskPkiPaths.under(pki_dir), check_kiosk_id(kiosk_id))


def _revoke(paths: KioskPkiPaths, kiosk_id: str) -> bool:
    cert, key = paths.device_cert(kiosk_id), paths.device_key(kiosk_id)
    if not cert.exists():
        key.unlink(missing_ok=True)
        return False
    fingerprint = x509.load_pem_x509_certificate(cert.read_bytes()).fingerprint(hashes.SHA256()).hex()
    paths.revoked.parent.mkdir(parents=True, exist_ok=True)
    with paths.revoked.open("a", encoding="ascii") as listed:
        listed.write(f"{fingerprint} {kiosk_id}\n")
    cert.unlink()
    key.unlink(missing_ok=True)
    return True


class RevokedKiosks:
    """The revoked device certificates' fingerprints, reread whenever the file changes."""

    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple[float, int] | None = None
        self._fingerprints: frozenset[str] = frozenset()

    def __contains__(self, fingerprint: object) -> bool:
        try:
            stat = self.path.stat()
            seen = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            seen = (0.0, 0)
        if seen != self._seen:
            text = self.path.read_text(encoding="ascii") if seen != (0.0, 0) else ""
            self._fingerprints = frozenset(line.split()[0].lower() for line in text.splitlines() if line.strip())
            self._seen = seen
        return fingerprint in self._fingerprints


def kiosk_of_certificate(der: bytes) -> KioskDevice:
    """The kiosk a (handshake-verified) client certificate names; Unauthenticated if it names none."""
    cert = x509.load_der_x509_certificate(der)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier
        )
    except x509.ExtensionNotFound:
        usages, uris = x509.ExtendedKeyUsage([]), []
    kiosks = [u.removeprefix(KIOSK_URI_PREFIX) for u in uris if u.startswith(KIOSK_URI_PREFIX)]
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages or len(kiosks) != 1 or not KIOSK_ID.fullmatch(kiosks[0]):
        raise errors.Unauthenticated("the client certificate names no kiosk", reason=NOT_A_KIOSK)
    return KioskDevice(kiosks[0], fingerprint)


def server_context(paths: KioskPkiPaths) -> ssl.SSLContext:
    """The kiosk door: TLS 1.2+, a client certificate required, trusted only when it chains to the kiosk CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths.ca.server_cert, paths.ca.server_key)
    context.load_verify_locations(cafile=paths.ca.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(paths: KioskPkiPaths, kiosk_id: str) -> ssl.SSLContext:
    """What a kiosk presents (its agent, tests): its device certificate; the door verified by the kiosk CA."""
    context = ssl.create_default_context(cafile=paths.ca.ca_cert)
    context.load_cert_chain(paths.device_cert(kiosk_id), paths.device_key(kiosk_id))
    return context
