"""Archive time-stamps over kept evidence (B-LTA): past the signature TSA's own notAfter, a
signature still proves its time when a later archive time-stamp proves that it, its time-stamp
and its validation data existed while that TSA was still good.

A copy of the committed test PKI whose hk-tsa (the signature's TSA) and hk-personal (the signer)
are valid from yesterday until tomorrow; "years later" is two days later, within mo-tsa's
validity (the archive TSA) and the trust lists'. Nothing here fetches anything.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import core
from typer.testing import CliRunner

from baylink import evidence as files
from baylink.cms import tlv, with_unsigned_attribute
from devtools.testpki.build import reissue
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import COMMITTED, TestPKI
from devtools.testpki.revocation import OcspBehaviour, RevocationAuthority
from devtools.testpki.timestamps import add_signature_timestamp, signature_imprint, timestamp_token
from services.identity.adapters.fetchers import build_ocsp_request
from services.identity.adapters.pkix import PkixEngine
from services.identity.bootstrap import certificate_validator, signature_verifier
from services.identity.domain.report import SignatureReport, ValidationData
from services.identity.entrypoints import cli_offline
from services.identity.entrypoints.cli import app
from services.identity.service_layer.verify_signature import VerifyCmsSignature

runner = CliRunner()
DOCUMENT = b"articles of association"
NOW = datetime.now(UTC).replace(microsecond=0)
TWO_DAYS_LATER = NOW + timedelta(days=2)


@pytest.fixture(scope="module")
def short_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    directory = tmp_path_factory.mktemp("archive-pki") / "testpki"
    shutil.copytree(COMMITTED, directory)
    for name in ("hk-tsa", "hk-personal"):
        reissue(directory, name, (NOW - timedelta(days=1), NOW + timedelta(days=1)))
    return TestPKI(directory)


def _trust(pki: TestPKI) -> cli_offline.Trust:
    signers = tuple(pki.directory / "certs" / f"tl-signer-{j}.pem" for j in ("hk", "mo", "gd"))
    return cli_offline.Trust(trust_list_dir=pki.directory / "trustlists", signers=signers)


def _ocsp(pki: TestPKI, name: str) -> bytes:
    issuer = pki.entity(name)["issuer"]
    request = build_ocsp_request(pki.certificate(name), pki.certificate(issuer).public_key.sha1).dump()
    return RevocationAuthority(pki, issuer).ocsp_der(request, OcspBehaviour.NORMAL)


def _kept(pki: TestPKI, signature: bytes | None = None) -> files.EvidenceFiles:
    """What the registry keeps: the CMS stamped by hk-tsa now, the signer's path and OCSP answers."""
    if signature is None:
        unstamped = sign_detached(
            DOCUMENT, pki.key("hk-personal"), pki.certificate("hk-personal"), NOW - timedelta(minutes=1)
        )
        token = timestamp_token(signature_imprint(unstamped), "hk-tsa", NOW, prehashed=True, pki=pki)
        signature = add_signature_timestamp(unstamped, token)
    path = tuple(pki.cert(n) for n in ("hk-personal", "hk-ca", "hk-root", "hk-tsa"))
    answers = tuple(_ocsp(pki, n) for n in ("hk-personal", "hk-ca"))
    return files.EvidenceFiles(DOCUMENT, signature, b"", path, answers, (), {"signer_ref": "x"})


def _archived(pki: TestPKI, kept: files.EvidenceFiles, tsa: str, at: datetime) -> files.EvidenceFiles:
    token = timestamp_token(files.archive_imprint(kept), tsa, at, prehashed=True, pki=pki)
    return files.with_archive_token(kept, token)


def _judge(pki: TestPKI, kept: files.EvidenceFiles, at: datetime) -> SignatureReport:
    data = ValidationData(kept.certificates, kept.ocsp_responses, kept.crls)
    policy = cli_offline.policy(None, None)
    archive = cli_offline.archive_stamps(kept)
    return cli_offline.verify_with_evidence(_trust(pki), DOCUMENT, kept.signature, data, policy, at, archive)


def test_an_archive_time_stamp_keeps_the_proof_past_the_signature_tsa_expiry(short_pki: TestPKI) -> None:
    kept = _kept(short_pki)
    assert short_pki.certificate("hk-tsa").not_valid_after < TWO_DAYS_LATER
    assert short_pki.certificate("hk-personal").not_valid_after < TWO_DAYS_LATER

    without = _judge(short_pki, kept, TWO_DAYS_LATER)
    [stamp] = without.timestamps
    assert not stamp.trusted and stamp.reason.value == "anchor_expired", stamp  # the listed TSA, judged now
    assert without.proven_signing_time is None and without.level.value == "B-B"
    assert (without.indication.value, without.sub_indication and without.sub_indication.value) == (
        "INDETERMINATE",
        "OUT_OF_BOUNDS_NO_POE",
    ), without

    archived = _archived(short_pki, kept, "mo-tsa", NOW + timedelta(hours=1))
    report = _judge(short_pki, archived, TWO_DAYS_LATER)
    [archive] = report.archive_timestamps
    assert archive.trusted and archive.gen_time == NOW + timedelta(hours=1), archive
    assert report.timestamps[0].trusted  # judged at the archive time, when hk-tsa was good
    assert report.proven_signing_time == NOW
    assert (report.indication.value, report.reason.value, report.level.value) == (
        "TOTAL_PASSED",
        "expired_after_poe",
        "B-LTA",
    ), report


def test_renewed_archive_time_stamps_form_a_chain_of_proofs(short_pki: TestPKI) -> None:
    """The first archive token's TSA (hk-tsa) has expired too: the renewal by mo-tsa proves that it
    existed while hk-tsa was good, and so on down to the signature time-stamp."""
    first = _archived(short_pki, _kept(short_pki), "hk-tsa", NOW + timedelta(hours=1))
    alone = _judge(short_pki, first, TWO_DAYS_LATER)
    assert not alone.archive_timestamps[0].trusted and alone.level.value == "B-B"
    assert alone.indication.value == "INDETERMINATE", alone

    renewed = _archived(short_pki, first, "mo-tsa", NOW + timedelta(hours=20))
    report = _judge(short_pki, renewed, TWO_DAYS_LATER)
    assert [a.trusted for a in report.archive_timestamps] == [True, True], report.archive_timestamps
    assert (report.indication.value, report.level.value) == ("TOTAL_PASSED", "B-LTA"), report


def test_evidence_changed_after_the_archive_time_stamp_is_not_covered(short_pki: TestPKI) -> None:
    archived = _archived(short_pki, _kept(short_pki), "mo-tsa", NOW + timedelta(hours=1))
    changed = files.EvidenceFiles(
        archived.document,
        archived.signature,
        archived.timestamp,
        archived.certificates,
        archived.ocsp_responses[:1],  # an answer dropped since
        archived.crls,
        archived.about,
        archived.archive,
    )
    report = _judge(short_pki, changed, NOW + timedelta(minutes=5))
    [archive] = report.archive_timestamps
    assert not archive.trusted and archive.reason.value == "timestamp_imprint_mismatch", archive
    assert report.level.value == "B-LT"  # a present archive time-stamp that does not verify is not B-LTA


def test_levels_by_what_was_verified(short_pki: TestPKI) -> None:
    kept = _kept(short_pki)
    assert _judge(short_pki, kept, NOW + timedelta(minutes=5)).level.value == "B-LT"  # kept validation data
    untrusted = _archived(short_pki, kept, "hk-tsa-unlisted", NOW + timedelta(hours=1))
    report = _judge(short_pki, untrusted, NOW + timedelta(hours=2))
    assert report.archive_timestamps[0].reason.value == "tsa_not_trusted" and report.level.value == "B-LT"
    assert _judge(short_pki, _archived(short_pki, kept, "mo-tsa", NOW), NOW).level.value == "B-LTA"


def test_a_cades_archive_attribute_that_is_not_verified_does_not_make_b_lta(short_pki: TestPKI) -> None:
    """A CMS carrying certificate values and an archive-time-stamp-v3 attribute: B-LT, not B-LTA."""
    signature = _kept(short_pki).signature
    oid = core.ObjectIdentifier("1.2.840.113549.1.9.16.2.23").dump()  # id-aa-ets-certValues
    cert_values = tlv(0x30, oid + tlv(0x31, tlv(0x30, short_pki.cert("hk-ca"))))
    atsv3 = core.ObjectIdentifier("0.4.0.1733.2.4").dump()  # id-aa-ets-archiveTimestampV3
    token = timestamp_token(b"anything", "mo-tsa", NOW, pki=short_pki)
    attributes = cert_values + tlv(0x30, atsv3 + tlv(0x31, token))  # added at once: asn1crypto reads neither
    signature = with_unsigned_attribute(signature, attributes)
    kept = _kept(short_pki, signature)
    data = ValidationData(kept.certificates, kept.ocsp_responses, ())
    now = NOW + timedelta(minutes=5)
    validator = certificate_validator(
        cli_offline.store_for(_trust(short_pki), []), PkixEngine(evidence=data), lambda: now
    )
    command = VerifyCmsSignature(signature, document=DOCUMENT, intermediates=data.certificates)  # no kept data
    report = asyncio.run(signature_verifier(validator, lambda: now).verify_cms(command))
    assert report.passed and report.level.value == "B-LT", report  # B-LT by the certValues it carries


def test_the_command_line_reads_the_archive_tokens_of_the_directory(short_pki: TestPKI, tmp_path: Path) -> None:
    directory = tmp_path / "evidence"
    files.write(directory, _archived(short_pki, _kept(short_pki), "mo-tsa", NOW))
    assert (directory / "archive" / "01.tst").is_file() and files.read(directory).archive
    args = ["verify", "--signature", str(directory / "signature.p7s"), "--offline-evidence", str(directory)]
    trust = ["--trust-list", str(short_pki.directory / "trustlists")]
    trust += [
        a for j in ("hk", "mo", "gd") for a in ("--signer", str(short_pki.directory / "certs" / f"tl-signer-{j}.pem"))
    ]
    result = runner.invoke(app, [*args, *trust, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["level"] == "B-LTA" and report["archive_timestamps"][0]["trusted"], report
