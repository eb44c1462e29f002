"""``baylink identity verify --offline-evidence DIR``: judged from the kept evidence, never the network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from baylink import evidence as files
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from devtools.testpki.revocation import OcspBehaviour, RevocationAuthority
from services.identity.adapters.fetchers import build_ocsp_request
from services.identity.entrypoints.cli import app
from tests.unit.cli_identity.conftest import CERTS

runner = CliRunner()
DOCUMENT = b"articles of association"


def _ocsp(pki: TestPKI, name: str) -> bytes:
    issuer = pki.entity(name)["issuer"]
    request = build_ocsp_request(pki.certificate(name), pki.certificate(issuer).public_key.sha1).dump()
    return RevocationAuthority(pki, issuer).ocsp_der(request, OcspBehaviour.NORMAL)


def _evidence(tmp_path: Path, pki: TestPKI, with_ocsp: bool) -> Path:
    signature = sign_detached(
        DOCUMENT, pki.key("hk-personal"), pki.certificate("hk-personal"), datetime.now(UTC) - timedelta(minutes=1)
    )
    answers = tuple(_ocsp(pki, n) for n in ("hk-personal", "hk-ca")) if with_ocsp else ()
    path = tuple(pki.cert(n) for n in ("hk-personal", "hk-ca", "hk-root"))
    directory = tmp_path / "evidence"
    files.write(directory, files.EvidenceFiles(DOCUMENT, signature, b"", path, answers, (), {"signer_ref": "x"}))
    return directory


def _verify(directory: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["verify", "--signature", str(directory / "signature.p7s"), "--offline-evidence", str(directory)]
    result = runner.invoke(app, [*args, "--anchor", str(CERTS / "hk-root.pem"), *extra, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_kept_ocsp_answers_pass_the_signature_with_no_responder(tmp_path: Path, pki: TestPKI) -> None:
    code, report = _verify(_evidence(tmp_path, pki, with_ocsp=True))
    assert (code, report["indication"]) == (0, "TOTAL_PASSED"), report


def test_without_kept_revocation_data_nothing_is_fetched_and_it_is_indeterminate(tmp_path: Path, pki: TestPKI) -> None:
    code, report = _verify(_evidence(tmp_path, pki, with_ocsp=False))  # even if a responder runs on 8399
    assert (code, report["indication"], report["sub_indication"]) == (1, "INDETERMINATE", "TRY_LATER"), report


def test_a_directory_that_is_not_evidence_is_a_usage_error(tmp_path: Path) -> None:
    signature = tmp_path / "s.p7s"
    signature.write_bytes(b"x")
    result = runner.invoke(app, ["verify", "--signature", str(signature), "--offline-evidence", str(tmp_path)])
    assert result.exit_code == 2 and "evidence.json" in result.output


def test_revocation_options_do_not_apply_to_evidence(tmp_path: Path, pki: TestPKI) -> None:
    directory = _evidence(tmp_path, pki, with_ocsp=True)
    args = ["verify", "--signature", str(directory / "signature.p7s"), "--offline-evidence", str(directory)]
    result = runner.invoke(app, [*args, "--revocation", "soft-fail"])
    assert result.exit_code == 2 and "--revocation" in result.output
