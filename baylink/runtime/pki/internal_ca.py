"""The internal CA: one certificate per Baylink service identity, for mutual TLS between services.

Made by ``baylink pki init`` (idempotent: what exists is kept). It is a different CA from the
partner CA (``.local/pki/ca.crt``): a partner city's certificate never opens an internal door, and
an internal certificate never opens the partner port.

Identity: the certificate carries the service name as its common name, as a DNS subjectAltName
(what a client checks as the server's name, ``grpc.ssl_target_name_override``) and as the URI
subjectAltName ``urn:baylink:service:<name>``, which is what servers read as the caller
(``baylink/runtime/grpc/authz.py``). Every certificate may act as server and as client.

Layout (default ``.local/pki/internal``)::

    ca.crt ca.key  <identity>.crt <identity>.key   (identity, registry, payments, gateway, ...)
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baylink.runtime.pki.builder import self_signed_ca, tls_leaf
from baylink.runtime.settings import LOCAL_DIR

DEFAULT_INTERNAL_PKI_DIR = LOCAL_DIR / "pki" / "internal"
SERVICE_URI_PREFIX = "urn:baylink:service:"
# The callers and servers of internal gRPC; ``operator`` is the operators' CLIs.
SERVICE_IDENTITIES = ("identity", "registry", "payments", "gateway", "gateway-flows", "operator")
CA_DAYS, LEAF_DAYS = 3650, 397


def ca_paths(directory: Path) -> tuple[Path, Path]:
    return directory / "ca.crt", directory / "ca.key"


def identity_paths(directory: Path, identity: str) -> tuple[Path, Path]:
    return directory / f"{identity}.crt", directory / f"{identity}.key"


def init_internal_ca(
    directory: Path = DEFAULT_INTERNAL_PKI_DIR, identities: tuple[str, ...] = SERVICE_IDENTITIES
) -> Path:
    """Make the CA and one certificate per identity where missing; returns the directory."""
    ca_cert, ca_key = ca_paths(directory)
    if not ca_cert.exists():
        for stale in [ca_key, *(p for i in identities for p in identity_paths(directory, i))]:
            stale.unlink(missing_ok=True)  # leaves of an old CA would no longer chain
        cert, key = self_signed_ca("Baylink Internal CA", CA_DAYS)
        _save(ca_cert, ca_key, cert, key)
    for identity in identities:
        if not identity_paths(directory, identity)[0].exists():
            issue_identity(directory, identity)
    return directory


def issue_identity(directory: Path, identity: str) -> tuple[Path, Path]:
    """(Re-)issue the certificate of ``identity`` from the CA in ``directory``."""
    ca_cert_path, ca_key_path = ca_paths(directory)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    sans: list[x509.GeneralName] = [
        x509.DNSName(identity),
        x509.UniformResourceIdentifier(SERVICE_URI_PREFIX + identity),
    ]
    key, cert = tls_leaf(identity, sans, ca_cert, ca_key, LEAF_DAYS)
    cert_path, key_path = identity_paths(directory, identity)
    _save(cert_path, key_path, cert, key)
    return cert_path, key_path


def _save(cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
