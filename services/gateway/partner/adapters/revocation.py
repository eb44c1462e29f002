"""Revoking partner-city certificates: the partner CA's CRL, written by ``baylink pki``, read by the gateway.

The deny list is an X.509 CRL (RFC 5280) signed by the partner CA's key, in ``<pki dir>/crl.pem``:
whoever can write the file but lacks the CA key can neither un-revoke a certificate nor forge a
list, and a CRL number that only goes up lets the gateway refuse an older list put back in place.

The gateway checks the caller's certificate against the list on every call (``RevocationList``),
re-reading the file when it changes, so ``baylink pki revoke-city`` takes effect without a restart.
It fails closed: with no list, a list that does not verify, or one past its next update, every
partner call is refused (``REVOCATION_STATUS_UNKNOWN``): revocation that may have been missed is
not treated as no revocation. ``baylink pki init`` makes the list and renews it once half its
life is gone; the gateway in development (``pki_auto_init``) does the same at start-up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baylink import errors

CRL_DAYS = 30
log = logging.getLogger("baylink.gateway.partner")
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Revoked:
    serial: int
    reason: x509.ReasonFlags


def load_crl(crl_path: Path, ca_cert: x509.Certificate) -> x509.CertificateRevocationList:
    """The CRL in ``crl_path`` if the CA signed it; ValueError otherwise (or OSError if unreadable)."""
    crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    public_key = ca_cert.public_key()
    if crl.issuer != ca_cert.subject or not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueError(f"{crl_path} is not a CRL of {ca_cert.subject.rfc4514_string()}")
    if not crl.is_signature_valid(public_key):
        raise ValueError(f"{crl_path}: the CRL's signature does not verify with the partner CA's key")
    return crl


def crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


def write_crl(
    crl_path: Path,
    ca_cert_path: Path,
    ca_key_path: Path,
    add: Revoked | None = None,
    *,
    days: int = CRL_DAYS,
    now: datetime | None = None,
) -> x509.CertificateRevocationList:
    """Sign and write the CA's CRL: the listed certificates (plus ``add``), the next CRL number;
    valid from ``now`` (default: now) for ``days``."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    now = now or datetime.now(UTC)
    entries: list[x509.RevokedCertificate] = []
    number = 0
    if crl_path.exists():
        current = load_crl(crl_path, ca_cert)  # never re-sign a list the CA did not sign
        entries, number = list(current), crl_number(current)
    if add is not None and not any(e.serial_number == add.serial for e in entries):
        entries.append(
            x509.RevokedCertificateBuilder()
            .serial_number(add.serial)
            .revocation_date(now)
            .add_extension(x509.CRLReason(add.reason), critical=False)
            .build()
        )
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=days))
        .add_extension(x509.CRLNumber(number + 1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, hashes.SHA256())
    partial = crl_path.with_name(crl_path.name + ".tmp")
    partial.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(partial, crl_path)  # readers see the old list or the new one, never half of one
    return crl


def needs_renewal(crl_path: Path, ca_cert_path: Path, now: datetime | None = None) -> bool:
    """Whether the CRL is missing, unreadable, or past half its life."""
    try:
        crl = load_crl(crl_path, x509.load_pem_x509_certificate(ca_cert_path.read_bytes()))
    except (OSError, ValueError):
        return True
    last, nxt = crl.last_update_utc, crl.next_update_utc
    if nxt is None:
        return True
    return (now or datetime.now(UTC)) >= last + (nxt - last) / 2


class RevocationList:
    """The gateway's view of the CRL: re-read when the file changes; checked on every call."""

    def __init__(self, crl_path: Path, ca_cert_path: Path, *, clock: Clock | None = None):
        self.crl_path = crl_path
        self.ca_cert_path = ca_cert_path
        self.clock = clock or (lambda: datetime.now(UTC))
        self._crl: x509.CertificateRevocationList | None = None
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read

    def check(self, certificate: x509.Certificate, fingerprint: str) -> None:
        """Unauthenticated if ``certificate`` is revoked or its status cannot be known."""
        crl = self._current(fingerprint)
        next_update = crl.next_update_utc
        if next_update is None or self.clock() > next_update:
            raise _unknown(fingerprint, "the partner CA's CRL is past its next update")
        revoked = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
        if revoked is not None and certificate.issuer == crl.issuer:
            raise errors.Unauthenticated(
                "the client certificate has been revoked",
                reason="CERTIFICATE_REVOKED",
                metadata={"certificate_sha256": fingerprint, "serial": format(certificate.serial_number, "x")},
            )

    def _current(self, fingerprint: str) -> x509.CertificateRevocationList:
        try:
            stat = os.stat(self.crl_path)
        except OSError:
            raise _unknown(fingerprint, f"no CRL at {self.crl_path}") from None
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            try:
                crl = load_crl(self.crl_path, x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes()))
            except (OSError, ValueError) as exc:
                log.error("partner CRL unusable; partner calls refused", extra={"error": str(exc)})
                raise _unknown(fingerprint, "the partner CA's CRL cannot be read or does not verify") from None
            if self._crl is not None and crl_number(crl) < crl_number(self._crl):
                # An older list put back would un-revoke: keep the newer one.
                log.error("partner CRL number went backwards; the newer list stays in force")
            else:
                self._crl = crl
            self._seen = (stat.st_mtime_ns, stat.st_size)
        assert self._crl is not None
        return self._crl


def _unknown(fingerprint: str, why: str) -> errors.Unauthenticated:
    return errors.Unauthenticated(
        f"revocation status unknown: {why}",
        reason="REVOCATION_STATUS_UNKNOWN",
        metadata={"certificate_sha256": fingerprint},
    )
