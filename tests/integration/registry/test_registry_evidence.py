"""B-LT: a stored signature is judged again from its evidence alone, after its signer was revoked and
its certificate expired, with the responder gone (`baylink registry evidence`, then
`baylink identity verify --offline-evidence`).

The signer is a certificate of the test PKI's HK CA that expires a day after the test starts, so
"years later" is two days later: past the signer's notAfter, within the TSA's and the trust
lists'. The TSA is the test PKI's hk-tsa, a TSA/QTST service of the HK trust list: its time-stamp
proves the signing time, at which the kept OCSP answers say the signer was good.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import pem
from typer.testing import CliRunner

from baylink import evidence as files
from baylink.cli.main import app as baylink
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.settings import KafkaSettings
from devtools.testpki import plan
from devtools.testpki.build import build, profile_for
from devtools.testpki.loader import Revocation, TestPKI
from devtools.testpki.responder import RevocationResponder
from devtools.testpki.x509build import issue, issuer_for
from services.identity.adapters.keys import SigningKey
from services.identity.bootstrap import IdentityService
from services.identity.domain.report import ValidationData
from services.identity.entrypoints import cli_offline
from services.identity.tsa.server import TimeStampServer
from services.registry.bootstrap import RegistryService
from tests.integration.registry.conftest import registry_settings, started_registry
from tests.integration.registry.kiosk import Kiosk

pytestmark = pytest.mark.kafka
runner = CliRunner()
SIGNER = "hk-short"  # issued below: valid from yesterday until tomorrow


@pytest.fixture(scope="module")
def registry_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """The registry's test PKI (responder on a free port) with one more HK signer, short-lived."""
    out = tmp_path_factory.mktemp("evidence-pki")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    build(out, f"http://127.0.0.1:{port}")
    pki = TestPKI(out)
    now = datetime.now(UTC).replace(microsecond=0)
    entity = replace(
        plan.by_name("hk-personal"), name=SIGNER, validity=(now - timedelta(days=1), now + timedelta(days=1))
    )
    key = SigningKey.generate(entity.key_kind, seed=SIGNER.encode())
    issuer = issuer_for(pki.certificate("hk-ca"), pki.key("hk-ca"), entity.scheme)
    certificate = issue(profile_for(entity, pki.base_url), key.public_key_info(), issuer)
    (out / "certs" / f"{SIGNER}.pem").write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
    (out / "keys" / f"{SIGNER}.key.pem").write_bytes(key.private_pem())
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    manifest["entities"][SIGNER] = {
        "role": "leaf",
        "jurisdiction": "HK",
        "issuer": "hk-ca",
        "key_kind": entity.key_kind.value,
        "serial": format(certificate.serial_number, "x"),
        "sha256": hashlib.sha256(certificate.dump()).hexdigest(),
        "revoked_at": None,
        "revocation_reason": None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    return TestPKI(out)


@pytest.fixture
async def registry(
    identity_service: IdentityService, tsa: TimeStampServer, tmp_path: Path, kafka_settings: KafkaSettings
) -> AsyncIterator[RegistryService]:
    settings = registry_settings(
        tmp_path,
        kafka_settings,
        identity_target=f"127.0.0.1:{identity_service.port}",
        tsa_url=tsa.url,
        events_topic=f"registry.evidence.{uuid.uuid4().hex[:8]}",
    )
    async with started_registry(settings) as svc:
        yield svc


async def _stored_and_exported(registry: RegistryService, pki: TestPKI, out: Path) -> Path:
    channel = insecure_channel(f"127.0.0.1:{registry.port}")
    try:
        kiosk = Kiosk(rs_grpc.RegistryServiceStub(channel), pki, signer=SIGNER)
        app = await kiosk.draft()
        content = b"%PDF-1.7 articles of association"
        material = await kiosk.attach(app.application_id, "articles_of_association", content)
        await kiosk.sign_material(app.application_id, material.material_id, kiosk.sign(content))
    finally:
        await channel.close()
    args = ["registry", "evidence", app.application_id, "--out", str(out)]
    result = await asyncio.to_thread(runner.invoke, baylink, [*args, "--database-url", registry.settings.database_url])
    assert result.exit_code == 0, result.output
    [directory] = await asyncio.to_thread(lambda: list(out.iterdir()))
    return directory


def _revoke_after_signing(responder: RevocationResponder, pki: TestPKI, name: str) -> datetime:
    """Revoke the certificate, dated two minutes ahead: clear of the validators' 60 s clock tolerance
    around the signing time, so the revocation is unmistakably after it."""
    serial = pki.certificate(name).serial_number
    revoked_at = datetime.now(UTC) + timedelta(minutes=2)
    responder.authorities["hk-ca"].revoked[serial] = Revocation(serial, revoked_at, "key_compromise")
    return revoked_at


async def _cli(*args: str) -> dict[str, object]:
    result = await asyncio.to_thread(runner.invoke, baylink, ["identity", *args, "--json"])
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return dict(json.loads(result.stdout))


async def test_revoked_and_expired_since_with_the_responder_gone_it_validates_at_its_proven_time(
    registry: RegistryService, registry_pki: TestPKI, revocation: RevocationResponder, tmp_path: Path
) -> None:
    directory = await _stored_and_exported(registry, registry_pki, tmp_path / "evidence")
    kept = files.read(directory)
    assert kept.about["signer_ref"] == f"pseud-{SIGNER}" and kept.timestamp and kept.ocsp_responses
    assert kept.certificates[:3] == tuple(registry_pki.cert(n) for n in (SIGNER, "hk-ca", "hk-root"))
    assert registry_pki.cert("hk-tsa") in kept.certificates  # the TSA's path too, and its OCSP answer
    certs = registry_pki.directory / "certs"

    revoked_at = _revoke_after_signing(revocation, registry_pki, SIGNER)
    after = (revoked_at + timedelta(minutes=1)).isoformat()
    online = await _cli("validate", str(certs / f"{SIGNER}.pem"), "--chain", str(certs / "hk-ca.pem"),
                        "--anchor", str(certs / "hk-root.pem"), "--at", after)  # fmt: skip
    assert online["sub_indication"] == "REVOKED", online  # the responder knows: revoked after signing

    await revocation.stop()
    hits = sum(revocation.hits.values())
    trust = cli_offline.Trust(
        trust_list_dir=registry_pki.directory / "trustlists",
        signers=tuple(certs / f"tl-signer-{j}.pem" for j in ("hk", "mo", "gd")),
    )
    data = ValidationData(kept.certificates, kept.ocsp_responses, kept.crls)
    signer_expired = registry_pki.certificate(SIGNER).not_valid_after
    two_days_later = datetime.now(UTC) + timedelta(days=2)
    assert signer_expired < two_days_later < registry_pki.certificate("hk-tsa").not_valid_after
    report = await asyncio.to_thread(
        cli_offline.verify_with_evidence,
        trust,
        kept.document,
        kept.signature,
        data,
        cli_offline.policy(None, None),
        two_days_later,
    )
    assert report.proven_signing_time is not None
    assert report.proven_signing_time == kept.stamped_at  # the TSA's genTime, now proven
    assert report.at_verification_time is not None and report.at_verification_time.sub_indication.value == "EXPIRED"
    assert (report.indication.value, report.reason.value) == ("TOTAL_PASSED", "expired_after_poe"), report
    assert sum(revocation.hits.values()) == hits  # nothing was fetched

    # The same through the command line, at the real present: passed, proven, no network.
    args = ["--signature", str(directory / "signature.p7s"), "--offline-evidence", str(directory)]
    trust_args = ["--trust-list", str(registry_pki.directory / "trustlists")]
    trust_args += [a for j in ("hk", "mo", "gd") for a in ("--signer", str(certs / f"tl-signer-{j}.pem"))]
    offline = await _cli("verify", *args, *trust_args)
    assert offline["indication"] == "TOTAL_PASSED" and offline["proven_signing_time"], offline
    assert sum(revocation.hits.values()) == hits


async def test_a_signature_inside_a_pdf_is_exported_over_the_bytes_it_covers_and_judged_offline(
    registry: RegistryService, registry_pki: TestPKI, revocation: RevocationResponder, tmp_path: Path
) -> None:
    from baylink.registry.v1 import registry_service_pb2 as rs
    from devtools.testpki import pades

    channel = insecure_channel(f"127.0.0.1:{registry.port}")
    try:
        stub = rs_grpc.RegistryServiceStub(channel)
        kiosk = Kiosk(stub, registry_pki, signer=SIGNER)
        app = await kiosk.draft()
        pdf = pades.sign(pades.minimal_pdf(), registry_pki, SIGNER, "Investor")
        material = await kiosk.attach(app.application_id, "articles_of_association", pdf)
        await stub.SignMaterial(
            rs.SignMaterialRequest(
                application_id=app.application_id,
                material_id=material.material_id,
                pades=True,
                applicant_ref=kiosk.applicant_ref,
            )
        )
    finally:
        await channel.close()
    out = tmp_path / "evidence"
    args = ["registry", "evidence", app.application_id, "--out", str(out)]
    result = await asyncio.to_thread(runner.invoke, baylink, [*args, "--database-url", registry.settings.database_url])
    assert result.exit_code == 0, result.output
    [directory] = await asyncio.to_thread(lambda: list(out.iterdir()))
    kept = files.read(directory)
    assert kept.document != pdf and len(kept.document) < len(pdf) and pdf.startswith(kept.document[:100])
    assert "ByteRange" in kept.about["document"]

    await revocation.stop()
    certs = registry_pki.directory / "certs"
    trust_args = ["--trust-list", str(registry_pki.directory / "trustlists")]
    trust_args += [a for j in ("hk", "mo", "gd") for a in ("--signer", str(certs / f"tl-signer-{j}.pem"))]
    args = ["--signature", str(directory / "signature.p7s"), "--offline-evidence", str(directory)]
    offline = await _cli("verify", *args, *trust_args)
    assert offline["indication"] == "TOTAL_PASSED" and offline["proven_signing_time"], offline


async def test_archive_stamped_evidence_is_b_lta_and_each_renewal_covers_the_last(
    registry: RegistryService, registry_pki: TestPKI, tsa: TimeStampServer, tmp_path: Path
) -> None:
    """`baylink registry archive-stamp DIR` asks Baylink's TSA for a token over the evidence; judged
    offline the signature is then B-LTA (a verified archive time-stamp, not a present one)."""
    directory = await _stored_and_exported(registry, registry_pki, tmp_path / "evidence")
    certs = registry_pki.directory / "certs"
    trust_args = ["--trust-list", str(registry_pki.directory / "trustlists")]
    trust_args += [a for j in ("hk", "mo", "gd") for a in ("--signer", str(certs / f"tl-signer-{j}.pem"))]
    args = ["--signature", str(directory / "signature.p7s"), "--offline-evidence", str(directory), *trust_args]
    before = await _cli("verify", *args)
    assert (before["level"], before["archive_timestamps"]) == ("B-LT", []), before

    for _ in range(2):
        stamp = ["registry", "archive-stamp", str(directory), "--tsa-url", tsa.url]
        result = await asyncio.to_thread(runner.invoke, baylink, stamp)
        assert result.exit_code == 0, result.output
    kept = files.read(directory)
    assert len(kept.archive) == 2
    after = await _cli("verify", *args)
    assert (after["indication"], after["level"]) == ("TOTAL_PASSED", "B-LTA"), after
    assert [a["trusted"] for a in after["archive_timestamps"]] == [True, True], after["archive_timestamps"]

    (directory / "archive" / "01.tst").write_bytes(kept.archive[1])  # the first token replaced by the second
    tampered = await _cli("verify", *args)
    assert tampered["archive_timestamps"][0]["reason"] == "timestamp_imprint_mismatch", tampered
    assert tampered["archive_timestamps"][1]["reason"] == "timestamp_imprint_mismatch"  # it covered the first

    down = ["registry", "archive-stamp", str(directory), "--tsa-url", "http://127.0.0.1:9/"]
    result = await asyncio.to_thread(runner.invoke, baylink, down)
    assert result.exit_code == 1 and "TSA_UNAVAILABLE" in result.output, result.output
    bad = await asyncio.to_thread(runner.invoke, baylink, ["registry", "archive-stamp", str(tmp_path)])
    assert bad.exit_code == 2 and "evidence.json" in bad.output, bad.output
    url = ["registry", "archive-stamp", str(directory), "--tsa-url", "ftp://127.0.0.1/"]
    bad = await asyncio.to_thread(runner.invoke, baylink, url)
    assert bad.exit_code == 2 and "--tsa-url" in bad.output, bad.output
