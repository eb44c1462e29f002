"""The identity service over gRPC: real server, real responder, real broker, real database."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc import aio
from grpc_status import rpc_status

from baylink.common.v1 import common_pb2
from baylink.events.v1 import identity_events_pb2
from baylink.identity.v1 import identity_service_pb2 as api
from baylink.identity.v1 import identity_service_pb2_grpc as api_grpc
from baylink.identity.v1 import validation_pb2 as pb
from baylink.runtime.events import EventTypes, from_kafka
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from services.identity.adapters.trustlist_signature import sign_trust_list
from services.identity.bootstrap import IdentityService, bootstrap
from services.identity.config import IdentitySettings
from services.identity.domain.trustlist import Jurisdiction
from services.identity.domain.trustlist_codec import decode_document
from tests.support.topics import wait_for_records

pytestmark = pytest.mark.kafka
TYPES = EventTypes.from_contracts()


def settings_for(pki: TestPKI, tmp_path: Path, kafka: KafkaSettings) -> IdentitySettings:
    return IdentitySettings(
        grpc_port=0,
        metrics_port=0,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}",
        trust_lists_dir=pki.directory / "trustlists",
        trusted_list_signers={
            j.value: [pki.directory / "certs" / f"tl-signer-{j.value.lower()}.pem"] for j in Jurisdiction
        },
        revocation_timeout_seconds=0.5,
        revocation_allowed_hosts=["127.0.0.1"],
        drain_delay_seconds=0,
        kafka=kafka,
    )


@pytest.fixture
async def service(live_pki: TestPKI, tmp_path: Path, kafka_settings: KafkaSettings) -> AsyncIterator[IdentityService]:
    svc = bootstrap(settings_for(live_pki, tmp_path, kafka_settings))
    await svc.start()
    yield svc
    await svc.host.shutdown()


@pytest.fixture
async def stub(service: IdentityService) -> AsyncIterator[api_grpc.IdentityServiceStub]:
    async with aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        yield api_grpc.IdentityServiceStub(channel)


def validate(pki: TestPKI, name: str) -> api.ValidateCertificateRequest:
    return api.ValidateCertificateRequest(certificate_der=pki.cert(name), intermediates_der=pki.intermediates(name))


@pytest.mark.parametrize(
    ("name", "jurisdiction"),
    [
        ("hk-personal", common_pb2.JURISDICTION_HK),
        ("mo-personal", common_pb2.JURISDICTION_MO),
        ("gd-personal", common_pb2.JURISDICTION_GD),
    ],
)
async def test_signing_certificates_of_each_jurisdiction_pass_with_their_chain_and_an_event(
    stub, live_pki: TestPKI, responder, kafka_settings: KafkaSettings, name: str, jurisdiction: int
) -> None:  # type: ignore[no-untyped-def]
    started = datetime.now(UTC)
    reply = await stub.ValidateCertificate(validate(live_pki, name))
    report = reply.report
    assert report.indication == pb.INDICATION_TOTAL_PASSED, report
    assert report.jurisdiction == jurisdiction
    fingerprint = hashlib.sha256(live_pki.cert(name)).hexdigest()
    assert report.chain[0].sha256_fingerprint == fingerprint and len(report.chain) == 3
    assert {m.en for m in report.messages} and {m.zh_hant for m in report.messages}

    records = await wait_for_records(
        kafka_settings,
        "baylink.identity.v1",
        lambda r: r.key == fingerprint.encode() and from_kafka(r.headers, r.value).time >= started,
        since=started - timedelta(seconds=5),
    )
    event = from_kafka(records[-1].headers, records[-1].value)
    message = TYPES.decode(event)
    assert isinstance(message, identity_events_pb2.CertificateValidated)
    assert message.indication == pb.INDICATION_TOTAL_PASSED and message.jurisdiction == jurisdiction
    subject_name = live_pki.certificate(name).subject.native.get("common_name", "").encode()
    assert subject_name and subject_name not in records[-1].value  # no personal data in the event


async def test_a_revoked_certificate_is_total_failed_revoked(stub, live_pki: TestPKI, responder) -> None:  # type: ignore[no-untyped-def]
    report = (await stub.ValidateCertificate(validate(live_pki, "hk-revoked"))).report
    assert (report.indication, report.sub_indication) == (pb.INDICATION_TOTAL_FAILED, pb.SUB_INDICATION_REVOKED)


async def test_with_the_revocation_responder_down_hard_fail_says_try_later(stub, live_pki: TestPKI) -> None:  # type: ignore[no-untyped-def]
    report = (await stub.ValidateCertificate(validate(live_pki, "mo-personal"))).report
    assert (report.indication, report.sub_indication) == (pb.INDICATION_INDETERMINATE, pb.SUB_INDICATION_TRY_LATER)


@pytest.mark.parametrize(
    ("certificate", "field"),
    [(b"\x00garbage", "certificate"), (b"\x30\x82\x01", "certificate"), (b"\x30" * 11_000_000, "certificate")],
)
async def test_bad_certificate_bytes_are_invalid_argument_naming_the_field(
    stub, certificate: bytes, field: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(aio.AioRpcError) as info:
        await stub.ValidateCertificate(api.ValidateCertificateRequest(certificate_der=certificate))
    assert info.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    if info.value.code() == grpc.StatusCode.INVALID_ARGUMENT:
        status = rpc_status.from_call(info.value)
        bad = error_details_pb2.BadRequest()
        assert any(d.Unpack(bad) for d in status.details if d.Is(bad.DESCRIPTOR))
        assert bad.field_violations[0].field == field


async def test_a_cms_signature_verifies_and_a_changed_document_does_not(stub, live_pki: TestPKI, responder) -> None:  # type: ignore[no-untyped-def]
    document = "營業執照申請書 — 佛山市南海區".encode()
    signature = sign_detached(
        document,
        live_pki.key("gd-personal"),
        live_pki.certificate("gd-personal"),
        datetime.now(UTC) - timedelta(minutes=5),
        [live_pki.certificate("gd-ca")],
    )
    request = api.VerifySignatureRequest(cms_signature=signature, document_digest=_digest_for(signature, document))
    reply = await stub.VerifySignature(request)
    assert reply.report.indication == pb.INDICATION_TOTAL_PASSED, reply.report
    assert reply.signature_valid and reply.algorithm == pb.SIGNATURE_ALGORITHM_SM2_SM3
    assert reply.at_signing_time.indication == pb.INDICATION_TOTAL_PASSED
    assert reply.at_verification_time.indication == pb.INDICATION_TOTAL_PASSED
    assert reply.HasField("claimed_signing_time")

    tampered = api.VerifySignatureRequest(cms_signature=signature, document_digest=_digest_for(signature, b"other"))
    bad = await stub.VerifySignature(tampered)
    assert (bad.report.indication, bad.report.sub_indication) == (
        pb.INDICATION_TOTAL_FAILED,
        pb.SUB_INDICATION_HASH_FAILURE,
    )


async def test_validation_data_is_returned_only_when_asked_and_holds_the_path_and_ocsp(  # type: ignore[no-untyped-def]
    stub, live_pki: TestPKI, responder
) -> None:
    from asn1crypto import ocsp

    document = b"articles of association"
    signature = sign_detached(
        document,
        live_pki.key("hk-personal"),
        live_pki.certificate("hk-personal"),
        datetime.now(UTC) - timedelta(minutes=1),
        [live_pki.certificate("hk-ca")],
    )
    request = api.VerifySignatureRequest(cms_signature=signature, document_digest=_digest_for(signature, document))
    plain = await stub.VerifySignature(request)
    assert not plain.HasField("validation_data")
    request.include_validation_data = True
    reply = await stub.VerifySignature(request)
    assert reply.report.indication == pb.INDICATION_TOTAL_PASSED, reply.report
    data = reply.validation_data
    assert list(data.certificates) == [live_pki.cert(n) for n in ("hk-personal", "hk-ca", "hk-root")]
    assert data.ocsp_responses or data.crls
    for der in data.ocsp_responses:
        assert ocsp.OCSPResponse.load(der)["response_status"].native == "successful"


def _digest_for(signature: bytes, document: bytes) -> bytes:
    """The document digest under the algorithm the SignerInfo names (SM3 for SM2 signers)."""
    from asn1crypto import cms

    from services.identity.adapters.sm2 import sm3

    info = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    name = info["digest_algorithm"]["algorithm"].dotted
    if name == "1.2.156.10197.1.401":
        return sm3(document)
    return hashlib.new(info["digest_algorithm"]["algorithm"].native, document).digest()


async def test_a_tampered_trust_list_is_refused_and_the_previous_one_stays_in_force(stub, live_pki: TestPKI) -> None:  # type: ignore[no-untyped-def]
    before = (await stub.GetTrustList(api.GetTrustListRequest(jurisdiction=common_pb2.JURISDICTION_HK))).trust_list
    document = bytearray(live_pki.trust_list_document(Jurisdiction.HK))
    document[document.index(b'"sequence_number"') + 19] ^= 0x01  # flip a bit inside the signed content
    with pytest.raises(aio.AioRpcError) as info:
        await stub.UpdateTrustList(api.UpdateTrustListRequest(signed_trust_list=bytes(document)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = (await stub.GetTrustList(api.GetTrustListRequest(jurisdiction=common_pb2.JURISDICTION_HK))).trust_list
    assert after == before


async def test_a_newer_signed_list_is_accepted_persisted_across_restart_and_announced(
    service: IdentityService, stub, live_pki: TestPKI, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:  # type: ignore[no-untyped-def]
    started = datetime.now(UTC)
    current = decode_document(live_pki.trust_list_document(Jurisdiction.MO)).trust_list
    newer = dataclasses.replace(
        current, sequence_number=current.sequence_number + 1, issue_date=current.issue_date + timedelta(seconds=1)
    )
    signed = sign_trust_list(newer, live_pki.key("tl-signer-mo"), live_pki.cert("tl-signer-mo"))
    reply = await stub.UpdateTrustList(api.UpdateTrustListRequest(signed_trust_list=signed))
    assert reply.trust_list.sequence_number == newer.sequence_number

    with pytest.raises(aio.AioRpcError) as info:  # going back is refused
        await stub.UpdateTrustList(
            api.UpdateTrustListRequest(signed_trust_list=live_pki.trust_list_document(Jurisdiction.MO))
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    await service.host.shutdown()
    again = bootstrap(settings_for(live_pki, tmp_path, kafka_settings))
    await again.start()
    try:
        restored = again.app.trust_list(Jurisdiction.MO)[0]
        assert restored.sequence_number == newer.sequence_number  # the stored list beat the older file
    finally:
        await again.host.shutdown()
    digest = hashlib.sha256(decode_document(signed).signing_input).digest()
    [update] = await wait_for_records(
        kafka_settings,
        "baylink.identity.v1",
        lambda r: r.key == b"trustlist/MO" and TYPES.decode(from_kafka(r.headers, r.value)).digest == digest,
        since=started - timedelta(seconds=5),
    )
    assert TYPES.decode(from_kafka(update.headers, update.value)).sequence_number == newer.sequence_number
