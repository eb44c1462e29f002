"""Kiosk device credentials (``baylink pki issue-kiosk``): what they name, and what they never name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from baylink import errors
from baylink.cli.main import app
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, RevokedKiosks, issue_kiosk, kiosk_of_certificate
from services.gateway.partner.adapters.pki import PkiPaths, init_pki, issue_city

runner = CliRunner()


def der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)


def test_issue_kiosk_on_the_command_line_makes_the_kiosk_ca_and_a_certificate_naming_the_kiosk(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pki", "issue-kiosk", "HK-TST-01", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    paths = KioskPkiPaths.under(tmp_path)
    assert paths.ca.ca_cert.exists() and paths.ca.server_cert.exists()
    device = kiosk_of_certificate(der(paths.device_cert("HK-TST-01")))
    assert device.kiosk_id == "HK-TST-01" and len(device.fingerprint) == 64


def test_reissuing_a_kiosk_replaces_its_key_and_certificate(tmp_path: Path) -> None:
    paths = issue_kiosk(tmp_path, "HK-TST-01")
    first = (paths.device_cert("HK-TST-01").read_bytes(), paths.device_key("HK-TST-01").read_bytes())
    issue_kiosk(tmp_path, "HK-TST-01")
    second = (paths.device_cert("HK-TST-01").read_bytes(), paths.device_key("HK-TST-01").read_bytes())
    assert first[0] != second[0] and first[1] != second[1]


@pytest.mark.parametrize("kiosk_id", ["", "../etc", "a/b", "-HK", "x" * 65])
def test_a_kiosk_id_that_is_not_a_plain_name_is_refused(tmp_path: Path, kiosk_id: str) -> None:
    result = runner.invoke(app, ["pki", "issue-kiosk", kiosk_id, "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert not (tmp_path / "kiosk" / "devices").exists() or not any((tmp_path / "kiosk" / "devices").iterdir())


def test_a_partner_citys_certificate_names_no_kiosk(tmp_path: Path) -> None:
    partner = init_pki(tmp_path / "partner")
    issue_city(partner.root, "440605")
    with pytest.raises(errors.Unauthenticated) as refused:
        kiosk_of_certificate(der(PkiPaths(partner.root).city_cert("440605")))
    assert refused.value.reason == "NOT_A_KIOSK_CERTIFICATE"


def test_the_kiosk_doors_server_certificate_names_no_kiosk(tmp_path: Path) -> None:
    paths = issue_kiosk(tmp_path, "HK-TST-01")
    with pytest.raises(errors.Unauthenticated):
        kiosk_of_certificate(der(paths.ca.server_cert))


def test_pki_init_makes_the_kiosk_ca_beside_the_partner_ca(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pki", "init", "--dir", str(tmp_path), "--internal-dir", str(tmp_path / "internal")])
    assert result.exit_code == 0, result.output
    assert "kiosk CA" in result.output
    kiosk_ca = x509.load_pem_x509_certificate(KioskPkiPaths.under(tmp_path).ca.ca_cert.read_bytes())
    partner_ca = x509.load_pem_x509_certificate(PkiPaths(tmp_path).ca_cert.read_bytes())
    assert kiosk_ca.subject != partner_ca.subject and kiosk_ca.public_key() != partner_ca.public_key()


def test_revoke_kiosk_lists_the_certificate_and_removes_it(tmp_path: Path) -> None:
    paths = issue_kiosk(tmp_path, "HK-TST-01")
    fingerprint = kiosk_of_certificate(der(paths.device_cert("HK-TST-01"))).fingerprint
    revoked = RevokedKiosks(paths.revoked)
    assert fingerprint not in revoked
    result = runner.invoke(app, ["pki", "revoke-kiosk", "HK-TST-01", "--dir", str(tmp_path)])
    assert result.exit_code == 0 and "revoked" in result.output
    assert fingerprint in revoked and not paths.device_cert("HK-TST-01").exists()
