"""The partner PKI for local use: CA, server certificate, city certificates, reading the city back."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from baylink import errors
from services.gateway.partner.adapters.pki import PkiPaths, city_of_certificate, init_pki, issue_city


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiPaths:
    paths = init_pki(tmp_path_factory.mktemp("pki"))
    issue_city(paths.root, "440605")
    return paths


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_a_city_certificate_carries_its_division_code_as_a_san_uri_and_chains_to_the_ca(pki: PkiPaths) -> None:
    cert, ca = _cert(pki.city_cert("440605")), _cert(pki.ca_cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:baylink:city:440605"]
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    cert.verify_directly_issued_by(ca)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
    assert stat.S_IMODE(os.stat(pki.city_key("440605")).st_mode) == 0o600


def test_the_city_is_read_back_from_the_certificate_with_its_fingerprint(pki: PkiPaths) -> None:
    identity = city_of_certificate(pki.city_cert("440605").read_bytes())
    assert identity.city == "440605" and len(identity.fingerprint) == 64


def test_the_server_certificate_names_localhost_and_the_loopback_address(pki: PkiPaths) -> None:
    cert = _cert(pki.server_cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    cert.verify_directly_issued_by(_cert(pki.ca_cert))


def test_a_certificate_without_a_city_is_not_a_partner_identity(pki: PkiPaths) -> None:
    with pytest.raises(errors.Unauthenticated) as refused:
        city_of_certificate(pki.server_cert.read_bytes())
    assert refused.value.reason == "NOT_A_CITY_CERTIFICATE"


@pytest.mark.parametrize("code", ["440000", "810000", "4406051", "abc"])
def test_only_partner_cities_get_a_certificate(pki: PkiPaths, code: str) -> None:
    with pytest.raises(errors.InvalidInput):
        issue_city(pki.root, code)


def test_init_keeps_an_existing_ca_so_issued_certificates_stay_valid(pki: PkiPaths) -> None:
    before = pki.ca_cert.read_bytes()
    init_pki(pki.root)
    assert pki.ca_cert.read_bytes() == before


def test_issuing_before_init_is_a_failed_precondition(tmp_path: Path) -> None:
    with pytest.raises(errors.FailedPrecondition):
        issue_city(tmp_path, "440300")
