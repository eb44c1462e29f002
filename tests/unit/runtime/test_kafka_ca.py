from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baylink.runtime.pki.kafka_ca import init_kafka_pki


def test_each_node_gets_a_pem_keystore_for_127_0_0_1_signed_by_the_cluster_ca(tmp_path: Path) -> None:
    init_kafka_pki(tmp_path, 3)
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    for node in (1, 2, 3):
        store = tmp_path / f"node-{node}.pem"
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        data = store.read_bytes()
        assert data.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8 first: Kafka's PEM keystore layout
        key = serialization.load_pem_private_key(data, password=None)
        cert = x509.load_pem_x509_certificate(data[data.index(b"-----BEGIN CERTIFICATE-----") :])
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert cert.public_key() == key.public_key()
        cert.verify_directly_issued_by(ca)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
        assert sans.get_values_for_type(x509.DNSName) == ["localhost"]


def test_a_second_run_keeps_what_exists_and_a_new_ca_reissues_the_nodes(tmp_path: Path) -> None:
    init_kafka_pki(tmp_path, 2)
    first = (tmp_path / "node-1.pem").read_bytes()
    init_kafka_pki(tmp_path, 2)
    assert (tmp_path / "node-1.pem").read_bytes() == first
    (tmp_path / "ca.crt").unlink()
    init_kafka_pki(tmp_path, 2)
    assert (tmp_path / "node-1.pem").read_bytes() != first
