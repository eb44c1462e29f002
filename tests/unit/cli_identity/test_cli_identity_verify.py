"""``baylink identity verify`` offline: detached CMS over a document, signer validated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem
from typer.testing import CliRunner

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from devtools.testpki.timestamps import timestamp_signature
from devtools.testpki.weak import cms_with_algorithm
from services.identity.entrypoints.cli import app
from tests.unit.cli_identity.conftest import CERTS, trust_list_args

runner = CliRunner()
DOCUMENT = "申請表 application form\n".encode()


def signed_files(tmp_path: Path, pki: TestPKI, signer: str, armour: str | None = None) -> tuple[Path, Path]:
    document, signature = tmp_path / "form.txt", tmp_path / ("form.p7s" if armour is None else "form.pem")
    document.write_bytes(DOCUMENT)
    when = datetime.now(UTC) - timedelta(minutes=5)
    cms = sign_detached(DOCUMENT, pki.key(signer), pki.certificate(signer), when)
    signature.write_bytes(cms if armour is None else pem.armor(armour, cms))
    return document, signature


def verify(document: Path, signature: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["verify", "--document", str(document), "--signature", str(signature), *extra, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.usefixtures("responder")
@pytest.mark.parametrize(
    ("signer", "ca", "armour"),
    [("hk-personal", "hk-ca", None), ("mo-personal", "mo-ca", "CMS"), ("gd-personal", "gd-ca", "PKCS7")],
)
def test_valid_signature_passes_in_der_and_pem(
    tmp_path: Path, pki: TestPKI, signer: str, ca: str, armour: str | None
) -> None:
    document, signature = signed_files(tmp_path, pki, signer, armour)
    code, report = verify(document, signature, "--chain", str(CERTS / f"{ca}.pem"), *trust_list_args())
    assert code == 0, report
    assert report["indication"] == "TOTAL_PASSED"
    assert report["signature_valid"] is True
    assert report["claimed_signing_time"] is not None and report["verification_time"] is not None
    assert report["at_signing_time"]["indication"] == "TOTAL_PASSED"
    assert report["at_verification_time"]["chain"][0]["fingerprint_sha256"] == report["signer_fingerprint_sha256"]


@pytest.mark.usefixtures("responder")
def test_changed_document_is_a_hash_failure(tmp_path: Path, pki: TestPKI) -> None:
    document, signature = signed_files(tmp_path, pki, "hk-personal")
    document.write_bytes(DOCUMENT + b"!")
    code, report = verify(document, signature, "--chain", str(CERTS / "hk-ca.pem"), *trust_list_args())
    assert code == 1
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "HASH_FAILURE")
    assert report["signature_valid"] is False


@pytest.mark.usefixtures("responder")
def test_signer_revoked_before_signing_fails(tmp_path: Path, pki: TestPKI) -> None:
    document, signature = signed_files(tmp_path, pki, "gd-revoked")
    code, report = verify(document, signature, "--chain", str(CERTS / "gd-ca.pem"), *trust_list_args())
    assert code == 1
    assert report["sub_indication"] == "REVOKED"


@pytest.mark.usefixtures("responder")
def test_human_report_shows_both_validation_times(tmp_path: Path, pki: TestPKI) -> None:
    document, signature = signed_files(tmp_path, pki, "hk-personal")
    args = ["verify", "--document", str(document), "--signature", str(signature), "--chain", str(CERTS / "hk-ca.pem")]
    result = runner.invoke(app, [*args, "--anchor", str(CERTS / "hk-root.pem")])
    assert result.exit_code == 0, result.output
    assert "signer's certificate at verification time" in result.output
    assert "signer's certificate at the claimed signing time" in result.output


def test_certificate_given_as_the_signature_exits_2_naming_the_file(tmp_path: Path, pki: TestPKI) -> None:
    document, _ = signed_files(tmp_path, pki, "hk-personal")
    not_cms = CERTS / "hk-personal.pem"
    result = runner.invoke(
        app, ["verify", "--document", str(document), "--signature", str(not_cms), *trust_list_args()]
    )
    assert result.exit_code == 2
    assert str(not_cms) in result.output


def test_garbage_der_signature_exits_2_naming_the_file(tmp_path: Path, pki: TestPKI) -> None:
    document, signature = signed_files(tmp_path, pki, "hk-personal")
    signature.write_bytes(b"\x30\x80garbage")
    result = runner.invoke(
        app, ["verify", "--document", str(document), "--signature", str(signature), *trust_list_args()]
    )
    assert result.exit_code == 2
    assert str(signature) in result.output


def test_missing_document_exits_2_naming_it(tmp_path: Path, pki: TestPKI) -> None:
    _, signature = signed_files(tmp_path, pki, "hk-personal")
    missing = tmp_path / "gone.txt"
    result = runner.invoke(app, ["verify", "--document", str(missing), "--signature", str(signature)])
    assert result.exit_code == 2
    assert str(missing) in result.output


@pytest.mark.usefixtures("responder")
@pytest.mark.parametrize("algorithm", ["sha1_rsa", "md5_rsa"])
def test_signature_algorithm_sha1_or_md5_exits_1_with_crypto_constraints_failure(
    tmp_path: Path, pki: TestPKI, algorithm: str
) -> None:
    document, signature = tmp_path / "form.txt", tmp_path / "form.p7s"
    document.write_bytes(DOCUMENT)
    signer = pki.key("hk-personal").private
    signature.write_bytes(cms_with_algorithm(DOCUMENT, signer, pki.certificate("hk-personal"), algorithm))
    code, report = verify(document, signature, "--chain", str(CERTS / "hk-ca.pem"), *trust_list_args())
    assert code == 1, report
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")


BEFORE_REVOCATION = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)  # the test PKI revokes on 2026-03-01


def timestamped_files(tmp_path: Path, pki: TestPKI, signer: str, tsa: str) -> tuple[Path, Path]:
    document, signature = tmp_path / "form.txt", tmp_path / "form.p7s"
    document.write_bytes(DOCUMENT)
    cms = sign_detached(DOCUMENT, pki.key(signer), pki.certificate(signer), BEFORE_REVOCATION)
    signature.write_bytes(timestamp_signature(cms, tsa, BEFORE_REVOCATION))
    return document, signature


@pytest.mark.usefixtures("responder")
def test_timestamped_signature_of_a_since_revoked_signer_passes_at_the_proven_time(
    tmp_path: Path, pki: TestPKI
) -> None:
    document, signature = timestamped_files(tmp_path, pki, "hk-revoked", "hk-tsa")
    code, report = verify(document, signature, "--chain", str(CERTS / "hk-ca.pem"), *trust_list_args())
    assert code == 0, report
    assert (report["indication"], report["reason"]) == ("TOTAL_PASSED", "revoked_after_poe")
    assert report["proven_signing_time"] == "2026-02-01T09:30:00Z" and report["level"] == "B-T"
    [stamp] = report["timestamps"]
    assert stamp["trusted"] is True and stamp["reason"] == "timestamp_trusted" and stamp["jurisdiction"] == "HK"
    assert stamp["tsa_fingerprint_sha256"] == pki.entity("hk-tsa")["sha256"]
    assert stamp["tsa_service"]["en"] == "Hongkong Post TSA (TEST)"


@pytest.mark.usefixtures("responder")
def test_untrusted_timestamp_is_shown_and_proves_nothing(tmp_path: Path, pki: TestPKI) -> None:
    document, signature = timestamped_files(tmp_path, pki, "hk-revoked", "hk-tsa-unlisted")
    code, report = verify(document, signature, "--chain", str(CERTS / "hk-ca.pem"), *trust_list_args())
    assert code == 1, report
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "REVOKED_NO_POE")
    assert report["proven_signing_time"] is None and report["level"] == "B-B"
    assert [s["reason"] for s in report["timestamps"]] == ["tsa_not_trusted"]
    args = ["verify", "--document", str(document), "--signature", str(signature), "--chain", str(CERTS / "hk-ca.pem")]
    result = runner.invoke(app, [*args, *trust_list_args()])
    assert "signature time-stamps" in result.output and "not trusted: proves nothing" in result.output
    assert "- (no trusted timestamp)" in result.output
