"""``baylink identity validate`` offline: reports, exit codes (0 passed, 1 not, 2 input error)."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devtools.testpki import plan
from devtools.testpki.loader import TestPKI
from services.identity.entrypoints.cli import app
from tests.unit.cli_identity.conftest import CERTS, LISTS, SAMPLE_LISTS, trust_list_args

runner = CliRunner()

ISSUING_CA = {"hk": "hk-ca", "mo": "mo-ca", "gd": "gd-ca"}


def validate(name: str, *extra: str) -> tuple[int, str]:
    ca = ISSUING_CA[name.split("-")[0]]
    result = runner.invoke(app, ["validate", str(CERTS / f"{name}.pem"), "--chain", str(CERTS / f"{ca}.pem"), *extra])
    return result.exit_code, result.output


def validate_json(name: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, output = validate(name, *extra, "--json")
    return code, json.loads(output)


@pytest.mark.usefixtures("responder")
@pytest.mark.parametrize(
    ("name", "jurisdiction", "policy"),
    [
        ("hk-personal", "HK", plan.POLICY_HK_PERSONAL),
        ("mo-personal", "MO", plan.POLICY_MO_PERSONAL),
        ("gd-personal", "GD", plan.POLICY_GD_PERSONAL),
    ],
)
def test_signing_certificates_of_each_jurisdiction_pass_against_the_signed_lists(
    pki: TestPKI, name: str, jurisdiction: str, policy: str
) -> None:
    code, report = validate_json(name, *trust_list_args())
    assert code == 0, report
    assert report["indication"] == "TOTAL_PASSED"
    assert report["sub_indication"] is None
    assert report["reason"] == "ok"
    assert report["jurisdiction"] == jurisdiction
    assert report["policies"] == [policy]
    assert report["chain"][0]["fingerprint_sha256"] == hashlib.sha256(pki.cert(name)).hexdigest()
    assert len(report["chain"]) == 3
    assert report["messages"][0]["en"].startswith("The certificate is valid")
    assert set(report["messages"][0]) == {"zh-Hant", "zh-Hans", "en"}


@pytest.mark.usefixtures("responder")
@pytest.mark.parametrize("name", ["hk-revoked", "gd-revoked"])
def test_revoked_certificate_exits_1_with_total_failed_revoked(name: str) -> None:
    code, report = validate_json(name, *trust_list_args())
    assert code == 1
    assert (report["indication"], report["sub_indication"], report["reason"]) == ("TOTAL_FAILED", "REVOKED", "revoked")
    assert report["messages"][0]["zh-Hant"] == "證書已被撤銷。"


@pytest.mark.usefixtures("responder")
def test_validation_time_before_the_revocation_passes() -> None:
    code, report = validate_json("hk-revoked", *trust_list_args(), "--at", "2026-02-01T08:00:00+08:00")
    assert code == 0, report
    assert report["validation_time"] == "2026-02-01T00:00:00Z"


def test_unreachable_revocation_under_hard_fail_is_indeterminate_try_later(responder_down: object) -> None:
    code, report = validate_json("hk-personal", *trust_list_args())
    assert code == 1
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    assert report["reason"] == "revocation_unavailable"


def test_unreachable_revocation_under_soft_fail_passes_with_a_warning(responder_down: object) -> None:
    code, report = validate_json("hk-personal", *trust_list_args(), "--revocation", "soft-fail")
    assert code == 0, report
    assert any("soft-fail" in warning for warning in report["warnings"])


@pytest.mark.usefixtures("responder")
def test_human_report_shows_chain_subjects_fingerprints_and_three_languages(pki: TestPKI) -> None:
    code, output = validate("mo-personal", *trust_list_args())
    assert code == 0, output
    assert "TOTAL_PASSED" in output
    assert "Baylink Test MO Root CA" in output
    assert hashlib.sha256(pki.cert("mo-personal")).hexdigest() in output
    for language, text in (("zh-Hant", "證書有效"), ("zh-Hans", "证书有效"), ("en", "The certificate is valid")):
        assert f"message [{language}]" in output
        assert text in output


@pytest.mark.usefixtures("responder")
def test_signer_certificates_beside_the_lists_are_trusted_without_signer_option(lists_copy: Path) -> None:
    code, report = validate_json("gd-personal", "--trust-list", str(lists_copy))
    assert code == 0, report


@pytest.mark.usefixtures("responder")
def test_bare_anchor_trusts_the_root_and_accepts_the_scheme_policy_the_chain_certifies() -> None:
    code, report = validate_json("gd-personal", "--anchor", str(CERTS / "gd-root.pem"))
    assert code == 0, report
    assert report["jurisdiction"] == "GD"
    assert report["policies"] == [plan.POLICY_GD_PERSONAL]


@pytest.mark.usefixtures("responder")
def test_certificate_without_a_scheme_policy_is_not_recognised_under_a_bare_anchor() -> None:
    code, report = validate_json("hk-no-policy", "--anchor", str(CERTS / "hk-root.pem"))
    assert code == 1
    assert report["reason"] == "policy_not_recognised", report


@pytest.mark.usefixtures("responder")
def test_requested_policy_that_the_certificate_lacks_is_not_recognised() -> None:
    code, report = validate_json("hk-personal", *trust_list_args(), "--policy", plan.POLICY_HK_ORGANISATION)
    assert code == 1
    assert (report["indication"], report["reason"]) == ("INDETERMINATE", "policy_not_recognised")


def test_chain_to_an_unlisted_root_finds_no_chain() -> None:
    code, report = validate_json("hk-personal", "--trust-list", str(SAMPLE_LISTS))
    assert code == 1
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")


def test_tampered_trust_list_is_refused_with_the_reason(lists_copy: Path) -> None:
    document = json.loads((lists_copy / "HK.json").read_text("utf-8"))
    document["trust_list"]["sequence_number"] += 1
    (lists_copy / "HK.json").write_text(json.dumps(document), "utf-8")
    code, output = validate("hk-personal", "--trust-list", str(lists_copy))
    assert code == 2
    assert "HK.json" in output
    assert "signature_invalid" in output


def test_unsigned_trust_list_is_refused(lists_copy: Path) -> None:
    document = json.loads((lists_copy / "MO.json").read_text("utf-8"))
    del document["signature"]
    (lists_copy / "MO.json").write_text(json.dumps(document), "utf-8")
    code, output = validate("mo-personal", "--trust-list", str(lists_copy))
    assert code == 2
    assert "MO.json" in output and "malformed" in output


def test_list_signed_by_an_untrusted_signer_is_refused() -> None:
    code, output = validate("hk-personal", "--trust-list", str(LISTS), "--signer", str(CERTS / "hk-root.pem"))
    assert code == 2
    assert "signer_not_trusted" in output


def test_missing_certificate_file_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    result = runner.invoke(app, ["validate", str(missing), *trust_list_args()])
    assert result.exit_code == 2
    assert str(missing) in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content",
    [b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", b"\x30\x03\x02\x01"],
)
def test_bad_pem_or_der_exits_2_naming_the_file(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "broken.pem"
    bad.write_bytes(content)
    code, output = validate("hk-personal", "--chain", str(bad), *trust_list_args())
    assert code == 2
    assert str(bad) in output


def test_der_certificate_files_are_accepted(tmp_path: Path, pki: TestPKI, responder: object) -> None:
    leaf, ca = tmp_path / "leaf.der", tmp_path / "ca.der"
    leaf.write_bytes(pki.cert("hk-personal"))
    ca.write_bytes(pki.cert("hk-ca"))
    result = runner.invoke(app, ["validate", str(leaf), "--chain", str(ca), *trust_list_args(), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["indication"] == "TOTAL_PASSED"


@pytest.mark.usefixtures("responder")
def test_pem_bundle_carries_the_chain(tmp_path: Path, pki: TestPKI) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"Bag Attributes: ignored\n" + pki.cert_pem("mo-personal") + pki.cert_pem("mo-ca"))
    result = runner.invoke(app, ["validate", str(bundle), *trust_list_args(), "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "2026-05-01T00:00:00"], "timezone"),
        (["--at", "yesterday"], "ISO-8601"),
        (["--policy", "personal"], "OID"),
        (["--anchor", str(CERTS / "hk-root.pem")], "either --anchor or --trust-list"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    code, output = validate("hk-personal", *trust_list_args(), *args)
    assert code == 2
    assert message in output


def test_service_down_exits_2_with_a_hint_to_start_it_or_work_offline() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, output = validate("hk-personal", "--target", f"127.0.0.1:{port}")
    assert code == 2
    assert f"identity service not reachable at 127.0.0.1:{port}" in output
    assert "make up" in output and "--anchor/--trust-list" in output


@pytest.mark.usefixtures("responder")
def test_key_purpose_client_auth_refuses_a_certificate_without_the_client_auth_eku() -> None:
    code, report = validate_json("hk-personal", *trust_list_args(), "--key-purpose", "client-auth")
    assert code == 1, report
    assert (report["indication"], report["sub_indication"], report["reason"]) == (
        "INDETERMINATE",
        "CHAIN_CONSTRAINTS_FAILURE",
        "key_purpose",
    )
    code, report = validate_json("hk-personal", *trust_list_args(), "--key-purpose", "document-signing")
    assert code == 0, report
