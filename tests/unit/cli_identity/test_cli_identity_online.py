"""Online mode against the real identity service (services.identity.bootstrap, gRPC on port 0),
started in process on a loop of its own; revocation from the test PKI's live responder. Kafka is
not needed: the service's fact events wait in its outbox (the broker address given is dead)."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from baylink.runtime.settings import KafkaSettings
from devtools.testpki import plan
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from devtools.testpki.timestamps import timestamp_signature
from services.identity.bootstrap import IdentityService, bootstrap
from services.identity.config import IdentitySettings
from services.identity.entrypoints.cli import app
from tests.unit.cli_identity.conftest import CERTS, LISTS, ThreadedLoop

runner = CliRunner()


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def service(responder: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("identity-service")
    settings = IdentitySettings(
        grpc_port=0,
        metrics_port=0,
        # The host announces its address in run_dir; keep the developer's `make up` files alone.
        run_dir=state / "run",
        database_url=f"sqlite+aiosqlite:///{state / 'identity.db'}",
        trust_lists_dir=LISTS,
        trusted_list_signers={j: [CERTS / f"tl-signer-{j.lower()}.pem"] for j in ("HK", "MO", "GD")},
        revocation_timeout_seconds=1.0,
        revocation_allowed_hosts=["127.0.0.1"],
        drain_delay_seconds=0,
        shutdown_grace_seconds=1,
        kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{_dead_port()}"),
    )
    loop = ThreadedLoop("identity-service")

    async def start() -> IdentityService:
        svc = bootstrap(settings)
        await svc.start()
        return svc

    svc: IdentityService = loop.run(start(), timeout=60)
    try:
        yield f"127.0.0.1:{svc.port}"
    finally:
        loop.run(svc.host.shutdown(), timeout=30)
        loop.close()


def run(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("name", "ca", "jurisdiction", "policy"),
    [
        ("hk-personal", "hk-ca", "HK", plan.POLICY_HK_PERSONAL),
        ("mo-personal", "mo-ca", "MO", plan.POLICY_MO_PERSONAL),
        ("gd-personal", "gd-ca", "GD", plan.POLICY_GD_PERSONAL),
    ],
)
def test_service_passes_the_signing_certificates_of_each_jurisdiction(
    service: str, pki: TestPKI, name: str, ca: str, jurisdiction: str, policy: str
) -> None:
    code, report = run("validate", str(CERTS / f"{name}.pem"), "--chain", str(CERTS / f"{ca}.pem"), "--target", service)
    assert code == 0, report
    assert (report["indication"], report["reason"], report["jurisdiction"]) == ("TOTAL_PASSED", "ok", jurisdiction)
    assert report["policies"] == [policy]
    assert report["chain"][0]["fingerprint_sha256"] == hashlib.sha256(pki.cert(name)).hexdigest()
    assert report["chain"][0]["subject"] and len(report["chain"]) == 3
    assert report["messages"][0]["zh-Hans"]


def test_service_reports_the_revoked_certificate(service: str) -> None:
    args = ("validate", str(CERTS / "gd-revoked.pem"), "--chain", str(CERTS / "gd-ca.pem"), "--target", service)
    code, report = run(*args)
    assert code == 1
    assert (report["indication"], report["sub_indication"], report["reason"]) == ("TOTAL_FAILED", "REVOKED", "revoked")


def test_service_validates_at_the_requested_time(service: str) -> None:
    args = ("validate", str(CERTS / "hk-revoked.pem"), "--chain", str(CERTS / "hk-ca.pem"), "--target", service)
    code, report = run(*args, "--at", "2026-02-01T00:00:00Z")
    assert code == 0, report
    assert report["validation_time"] == "2026-02-01T00:00:00Z"


def test_service_applies_the_requested_key_purpose(service: str) -> None:
    args = ("validate", str(CERTS / "hk-personal.pem"), "--chain", str(CERTS / "hk-ca.pem"), "--target", service)
    code, report = run(*args, "--key-purpose", "client-auth")
    assert code == 1, report
    assert (report["sub_indication"], report["reason"]) == ("CHAIN_CONSTRAINTS_FAILURE", "key_purpose")
    code, report = run(*args)
    assert code == 0, report


def test_service_verifies_a_cms_signature(service: str, pki: TestPKI, tmp_path: Path) -> None:
    document, signature = tmp_path / "form.txt", tmp_path / "form.p7s"
    document.write_bytes(b"declaration 2026\n")
    when = datetime.now(UTC) - timedelta(minutes=1)
    signature.write_bytes(
        sign_detached(document.read_bytes(), pki.key("gd-personal"), pki.certificate("gd-personal"), when)
    )
    args = ["verify", "--document", str(document), "--signature", str(signature), "--target", service]
    code, report = run(*args, "--chain", str(CERTS / "gd-ca.pem"))
    assert code == 0, report
    assert report["signature_valid"] is True and report["signature_algorithm"] == "SM2_SM3"
    assert report["at_signing_time"]["indication"] == "TOTAL_PASSED"
    assert report["signer_fingerprint_sha256"] == hashlib.sha256(pki.cert("gd-personal")).hexdigest()
    document.write_bytes(b"declaration 2027\n")
    code, report = run(*args, "--chain", str(CERTS / "gd-ca.pem"))
    assert code == 1
    assert (report["sub_indication"], report["signature_valid"]) == ("HASH_FAILURE", False)


def test_service_reports_the_proven_signing_time_of_a_timestamped_signature(
    service: str, pki: TestPKI, tmp_path: Path
) -> None:
    document, signature = tmp_path / "form.txt", tmp_path / "form.p7s"
    document.write_bytes(b"declaration 2026\n")
    when = datetime(2026, 2, 1, tzinfo=UTC)  # before gd-revoked was revoked (2026-03-01)
    cms = sign_detached(document.read_bytes(), pki.key("gd-revoked"), pki.certificate("gd-revoked"), when)
    signature.write_bytes(timestamp_signature(cms, "gd-tsa", when, "sm3"))
    args = ["verify", "--document", str(document), "--signature", str(signature), "--target", service]
    code, report = run(*args, "--chain", str(CERTS / "gd-ca.pem"))
    assert code == 0, report
    assert (report["indication"], report["reason"]) == ("TOTAL_PASSED", "revoked_after_poe")
    assert report["proven_signing_time"] == "2026-02-01T00:00:00Z" and report["level"] == "B-T"
    [stamp] = report["timestamps"]
    assert stamp["trusted"] and stamp["jurisdiction"] == "GD" and stamp["tsa_service"]["en"] == "GDCA SM2 TSA (TEST)"


def test_target_comes_from_the_service_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = service.rsplit(":", 1)
    monkeypatch.setenv("BAYLINK_IDENTITY_GRPC_HOST", host)
    monkeypatch.setenv("BAYLINK_IDENTITY_GRPC_PORT", port)
    code, report = run("validate", str(CERTS / "mo-personal.pem"), "--chain", str(CERTS / "mo-ca.pem"))
    assert code == 0, report


def test_human_output_names_the_end_entity_and_every_fingerprint(service: str, pki: TestPKI) -> None:
    args = ["validate", str(CERTS / "hk-personal.pem"), "--chain", str(CERTS / "hk-ca.pem"), "--target", service]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "CHAN Tai Man" in result.output
    for name in ("hk-personal", "hk-ca", "hk-root"):
        assert hashlib.sha256(pki.cert(name)).hexdigest() in result.output


def test_a_refusal_by_the_service_exits_2_naming_the_field(service: str, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.der"
    truncated.write_bytes(b"\x30\x82\x05\x00\x30\x82")  # a certificate's first bytes, cut off
    result = runner.invoke(app, ["validate", str(truncated), "--target", service])
    assert result.exit_code == 2, result.output
    assert "certificate" in result.output


def test_the_revocation_mode_option_is_refused_online(service: str) -> None:
    args = ["validate", str(CERTS / "hk-personal.pem"), "--target", service, "--revocation", "soft-fail"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "offline" in result.output
