"""The local Kafka cluster's CA and broker certificates (deploy/kafka/cluster.sh), made once.

Brokers read PEM stores (``ssl.keystore.type=PEM``): ``node-<N>.pem`` holds the node's PKCS#8 key
followed by its certificate; clients and brokers trust ``ca.crt``. Each certificate names
127.0.0.1 and localhost, the addresses the nodes advertise, and may act as server and client (a
node is a client of the other controllers and brokers).

    python -m baylink.runtime.pki.kafka_ca DIR NODES
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baylink.runtime.pki.builder import self_signed_ca, tls_leaf

CA_DAYS, NODE_DAYS = 3650, 397


def node_common_name(node: int) -> str:
    """The subject CN of node ``node``; the controller listener maps it to the principal ``kafka-node``."""
    return f"baylink-kafka-{node}"


def init_kafka_pki(directory: Path, nodes: int) -> Path:
    """Make the CA and a keystore per node where missing (a new CA re-issues every node); returns ``directory``."""
    if nodes < 1:
        raise ValueError(f"nodes must be at least 1, not {nodes}")
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = directory / "ca.crt", directory / "ca.key"
    if not ca_cert_path.exists() or not ca_key_path.exists():
        for stale in directory.glob("node-*.pem"):
            stale.unlink()
        cert, key = self_signed_ca("Baylink Kafka CA", CA_DAYS)
        _write_private(ca_key_path, _key_pem(key))
        ca_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not an EC private key")
    for node in range(1, nodes + 1):
        store = directory / f"node-{node}.pem"
        if not store.exists():
            key, cert = _issue_node(ca_cert, ca_key, node)
            _write_private(store, _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM))
    return directory


def _issue_node(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, node: int
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    return tls_leaf(node_common_name(node), sans, ca_cert, ca_key, NODE_DAYS)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    encoding, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, pkcs8, serialization.NoEncryption())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "wb") as out:
        out.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        sys.exit("usage: python -m baylink.runtime.pki.kafka_ca DIR NODES")
    print(init_kafka_pki(Path(sys.argv[1]), int(sys.argv[2])))
