"""``baylink identity verify --signature FILE.pdf`` offline: every signature of a signed PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devtools.testpki import pades
from devtools.testpki.loader import TestPKI
from services.identity.entrypoints.cli import app
from tests.unit.cli_identity.conftest import CERTS, trust_list_args

runner = CliRunner()


def verify(pdf: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["verify", "--signature", str(pdf), *extra, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="module")
def signed_once(pki: TestPKI) -> bytes:
    return pades.sign(pades.minimal_pdf(), pki, "hk-personal", "Applicant")


@pytest.mark.usefixtures("responder")
def test_a_pdf_signed_twice_and_timestamped_reports_each_signature(
    tmp_path: Path, pki: TestPKI, signed_once: bytes
) -> None:
    pdf = tmp_path / "application.pdf"
    pdf.write_bytes(pades.timestamp(pades.sign(signed_once, pki, "mo-personal", "Director"), pades.PkiTsa("mo-tsa")))
    code, report = verify(pdf, *trust_list_args())
    assert code == 0, report
    first, second = report["signatures"]
    assert (first["field_name"], first["indication"], first["coverage"]) == (
        "Applicant",
        "TOTAL_PASSED",
        "entire_revision",
    )
    # No signature timestamp, but the document timestamp over revision 4 proves both signatures existed.
    assert (first["revision"], first["revisions"], first["level"]) == (2, 4, "B-T")
    assert second["signer"].startswith("陳澳門") and second["cms"]["signature_valid"] is True
    (stamp,) = report["document_timestamps"]
    assert (stamp["kind"], stamp["judgement"], stamp["revision"]) == ("document", "passed", 4)


@pytest.mark.usefixtures("responder")
def test_a_pdf_changed_after_signing_exits_1_with_the_reason(tmp_path: Path, signed_once: bytes) -> None:
    pdf = tmp_path / "changed.pdf"
    pdf.write_bytes(pades.change_page(signed_once))
    code, report = verify(pdf, "--anchor", str(CERTS / "hk-root.pem"))
    assert code == 1
    (signature,) = report["signatures"]
    assert (signature["indication"], signature["reason"]) == ("TOTAL_FAILED", "pdf_modified_after_signing")
    assert signature["cms"]["indication"] == "TOTAL_PASSED" and signature["change_after_signing"] == "other"


@pytest.mark.usefixtures("responder")
def test_human_report_of_a_pdf_names_fields_and_coverage(tmp_path: Path, signed_once: bytes) -> None:
    pdf = tmp_path / "application.pdf"
    pdf.write_bytes(signed_once)
    result = runner.invoke(app, ["verify", "--signature", str(pdf), "--anchor", str(CERTS / "hk-root.pem")])
    assert result.exit_code == 0, result.output
    assert "signature field Applicant" in result.stdout and "the whole document" in result.stdout


def test_a_pdf_with_document_or_a_cms_without_one_is_a_usage_error(tmp_path: Path, signed_once: bytes) -> None:
    pdf, other = tmp_path / "application.pdf", tmp_path / "form.p7s"
    pdf.write_bytes(signed_once)
    other.write_bytes(b"\x30\x03\x02\x01\x01")
    anchor = ["--anchor", str(CERTS / "hk-root.pem")]
    with_document = runner.invoke(app, ["verify", "--signature", str(pdf), "--document", str(other), *anchor])
    assert with_document.exit_code == 2 and "leave out --document" in with_document.output
    without = runner.invoke(app, ["verify", "--signature", str(other), *anchor])
    assert without.exit_code == 2 and "--document" in without.output


def test_a_pdf_without_signatures_is_an_input_error(tmp_path: Path) -> None:
    pdf = tmp_path / "blank.pdf"
    pdf.write_bytes(pades.minimal_pdf())
    result = runner.invoke(app, ["verify", "--signature", str(pdf), "--anchor", str(CERTS / "hk-root.pem")])
    assert result.exit_code == 2 and "pdf: the PDF has no signed signature field" in result.output
