"""Validation against the live responder: revocation, caching, outages, hangs and wrong answers."""

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from devtools.testpki.responder import Behaviour
from services.identity.adapters.crypto import CmsSignatureChecks
from services.identity.domain.policy import RevocationMode, ValidationPolicy
from services.identity.domain.report import Indication, Reason, SubIndication
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature

HARD = ValidationPolicy(revocation_mode=RevocationMode.HARD_FAIL, deadline_seconds=10)
SOFT = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL, deadline_seconds=10)


async def check(validator: CertificateValidator, pki: TestPKI, leaf: str, policy: ValidationPolicy = HARD):
    return await validator.handle(ValidateCertificate(pki.cert(leaf), tuple(pki.intermediates(leaf)), policy=policy))


@pytest.mark.parametrize("leaf", ["hk-revoked", "gd-revoked"])
async def test_revoked_leaf_is_found_revoked_over_the_network(validator, responder, live_pki, leaf) -> None:
    report = await check(validator, live_pki, leaf)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED)


async def test_sm2_crl_alone_is_enough(validator, responder, live_pki) -> None:
    responder.ocsp_available = False
    assert (await check(validator, live_pki, "gd-revoked")).sub_indication is SubIndication.REVOKED
    assert (await check(validator, live_pki, "gd-personal")).passed


async def test_ocsp_alone_is_enough(validator, responder, live_pki) -> None:
    responder.crl_available = False
    assert (await check(validator, live_pki, "mo-personal")).passed
    assert (await check(validator, live_pki, "hk-revoked")).sub_indication is SubIndication.REVOKED


async def test_fresh_revocation_answers_are_cached(validator, engine, responder, live_pki) -> None:
    assert (await check(validator, live_pki, "hk-personal-ec")).passed
    requests = engine.network_requests
    assert requests >= 2  # the CA's status from the root, the leaf's from the CA
    validator.cache.clear()  # force the PKIX engine to run again: only revocation may be cached
    assert (await check(validator, live_pki, "hk-personal-ec")).passed
    assert (await check(validator, live_pki, "hk-organisation")).passed  # same CA: only the leaf is new
    assert engine.network_requests == requests + 1


async def test_responder_down_is_try_later_in_hard_fail(validator, responder, live_pki) -> None:
    await responder.go_down()
    report = await check(validator, live_pki, "mo-personal")
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert report.reason is Reason.REVOCATION_UNAVAILABLE


async def test_responder_down_passes_with_warnings_in_soft_fail(validator, responder, live_pki) -> None:
    await responder.go_down()
    report = await check(validator, live_pki, "mo-personal", SOFT)
    assert report.passed and report.warnings and "soft-fail" in report.warnings[0]


async def test_try_later_is_not_cached_so_recovery_is_seen_at_once(validator, responder, live_pki) -> None:
    await responder.go_down()
    assert (await check(validator, live_pki, "gd-personal")).sub_indication is SubIndication.TRY_LATER
    await responder.come_back()
    assert (await check(validator, live_pki, "gd-personal")).passed


@pytest.mark.parametrize(("policy", "passes"), [(HARD, False), (SOFT, True)])
async def test_hanging_responder_is_bounded_by_the_fetch_timeout(
    validator, responder, live_pki, policy, passes
) -> None:
    responder.behaviour = Behaviour.HANG
    started = time.monotonic()
    report = await check(validator, live_pki, "hk-personal-ec", policy)
    assert time.monotonic() - started < 4  # four fetches at most, 0.5 s each
    assert report.passed is passes
    if not passes:
        assert report.sub_indication is SubIndication.TRY_LATER


async def test_overall_deadline_cuts_a_slow_validation_short(validator, responder, live_pki) -> None:
    responder.behaviour = Behaviour.HANG
    started = time.monotonic()
    report = await check(
        validator,
        live_pki,
        "hk-personal-ec",
        ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL, deadline_seconds=0.3),
    )
    assert time.monotonic() - started < 1.5
    assert (report.sub_indication, report.reason) == (SubIndication.TRY_LATER, Reason.DEADLINE_EXCEEDED)


async def test_http_errors_are_try_later_in_hard_fail(validator, responder, live_pki) -> None:
    responder.behaviour = Behaviour.HTTP_ERROR
    assert (await check(validator, live_pki, "gd-personal")).sub_indication is SubIndication.TRY_LATER


async def test_ocsp_answer_about_another_certificate_is_never_taken_as_good(
    validator, engine, responder, live_pki
) -> None:
    responder.behaviour = Behaviour.OCSP_WRONG_CERT
    # The CRL still tells the truth ...
    assert (await check(validator, live_pki, "hk-revoked")).sub_indication is SubIndication.REVOKED
    # ... and without it (nor a cached copy) the mismatched answer leaves the status unknown.
    responder.crl_available = False
    engine.cache.clear()
    report = await check(validator, live_pki, "hk-personal")
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)


async def test_ocsp_try_later_without_crl_is_try_later(validator, responder, live_pki) -> None:
    responder.behaviour = Behaviour.OCSP_TRY_LATER
    responder.crl_available = False
    assert (await check(validator, live_pki, "mo-personal")).sub_indication is SubIndication.TRY_LATER


async def test_signatures_of_one_signer_hit_the_network_once(validator, engine, responder, live_pki) -> None:
    verifier = SignatureVerifier(validator, CmsSignatureChecks())
    document = "營業執照申請 business licence application".encode()
    signature = sign_detached(
        document,
        live_pki.key("gd-personal"),
        live_pki.certificate("gd-personal"),
        datetime(2026, 2, 1, tzinfo=UTC),
    )
    command = VerifyCmsSignature(
        signature, document=document, intermediates=tuple(live_pki.intermediates("gd-personal"))
    )
    assert (await verifier.verify_cms(command)).passed
    requests = engine.network_requests
    for _ in range(5):
        assert (await verifier.verify_cms(command)).passed
    assert engine.network_requests == requests


def test_command_line_builds_a_test_pki(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.testpki",
            "build",
            str(out),
            "--base-url",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode == 0, result.stderr
    entities = json.loads((out / "manifest.json").read_text())["entities"]
    assert f"built {len(entities)} certificates" in result.stdout
    assert {"gd-personal", "hk-tsa", "mo-tsa", "gd-tsa"} <= set(entities)
    assert (out / "certs" / "gd-personal.pem").exists() and (out / "trustlists" / "GD.json").exists()
