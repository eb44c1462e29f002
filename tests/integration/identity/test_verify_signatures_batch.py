"""VerifySignatures over gRPC: many signatures in one call, each answered as VerifySignature answers it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc import aio

from baylink.events.v1 import identity_events_pb2
from baylink.identity.v1 import identity_service_pb2 as api
from baylink.identity.v1 import validation_pb2 as pb
from baylink.identity.v1.identity_service_pb2_grpc import IdentityServiceStub
from baylink.runtime.events import from_kafka
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from services.identity.adapters.sm2 import sm3
from services.identity.bootstrap import bootstrap
from services.identity.entrypoints.grpc_api import MAX_BATCH_ITEMS
from tests.integration.identity.test_identity_service import TYPES, settings_for
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka


@pytest.fixture
async def stub(live_pki: TestPKI, tmp_path: Path, kafka_settings: KafkaSettings) -> AsyncIterator[IdentityServiceStub]:
    service = bootstrap(settings_for(live_pki, tmp_path, kafka_settings))
    await service.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            yield IdentityServiceStub(channel)
    finally:
        await service.host.shutdown()


def signed(pki: TestPKI, leaf: str, document: bytes, ca: str) -> api.VerifySignatureRequest:
    signature = sign_detached(
        document, pki.key(leaf), pki.certificate(leaf), datetime.now(UTC) - timedelta(minutes=5), [pki.certificate(ca)]
    )
    digest = sm3(document) if leaf.startswith("gd-") else hashlib.sha256(document).digest()
    return api.VerifySignatureRequest(cms_signature=signature, document_digest=digest)


def bad_request_fields(error: api.ItemStatus) -> list[str]:
    status = status_pb2.Status.FromString(error.SerializeToString())  # ItemStatus is a google.rpc.Status
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(bad.DESCRIPTOR))
    return [v.field for v in bad.field_violations]


def comparable(reply: api.VerifySignatureResponse) -> api.VerifySignatureResponse:
    """The reply without the moments of validation, which differ from one call to the next."""
    copy = api.VerifySignatureResponse()
    copy.CopyFrom(reply)
    for report in (copy.report, copy.at_signing_time, copy.at_verification_time):
        report.ClearField("validation_time")
    return copy


async def test_each_item_is_answered_in_order_as_verify_signature_answers_it_and_bad_items_fail_alone(
    stub, live_pki: TestPKI, responder, kafka_settings: KafkaSettings
) -> None:  # type: ignore[no-untyped-def]
    started = datetime.now(UTC)
    p256 = signed(live_pki, "hk-personal-ec", "商業登記 — 香港".encode(), "hk-ca")
    sm2 = signed(live_pki, "gd-personal", "營業執照申請書 — 南海區".encode(), "gd-ca")
    tampered = api.VerifySignatureRequest()
    tampered.CopyFrom(p256)
    tampered.document_digest = hashlib.sha256(b"another document").digest()
    garbage = api.VerifySignatureRequest(cms_signature=b"\x30\x03junk", document_digest=bytes(32))
    no_digest = api.VerifySignatureRequest(cms_signature=p256.cms_signature)
    items = [p256, garbage, sm2, no_digest, tampered]

    reply = await stub.VerifySignatures(api.VerifySignaturesRequest(requests=items))

    results = reply.results
    assert [r.WhichOneof("outcome") for r in results] == ["response", "error", "response", "error", "response"]
    assert results[0].response.report.indication == pb.INDICATION_TOTAL_PASSED, results[0].response.report
    assert results[0].response.algorithm == pb.SIGNATURE_ALGORITHM_ECDSA_P256
    assert results[2].response.report.indication == pb.INDICATION_TOTAL_PASSED, results[2].response.report
    assert results[2].response.algorithm == pb.SIGNATURE_ALGORITHM_SM2_SM3
    assert (results[4].response.report.indication, results[4].response.report.sub_indication) == (
        pb.INDICATION_TOTAL_FAILED,
        pb.SUB_INDICATION_HASH_FAILURE,
    )
    for index, field in ((1, "signature"), (3, "document_digest")):
        error = results[index].error
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0], error
        assert bad_request_fields(error) == [field]
        with pytest.raises(aio.AioRpcError) as alone:  # the error VerifySignature gives the same request
            await stub.VerifySignature(items[index])
        assert alone.value.code() == grpc.StatusCode.INVALID_ARGUMENT and error.message == alone.value.details()
    for index in (0, 2, 4):
        assert comparable(results[index].response) == comparable(await stub.VerifySignature(items[index]))

    # One fact event per verified item (the refused ones have none, as with VerifySignature).
    digests = {items[i].document_digest for i in (0, 2, 4)}

    def ours(record) -> bool:  # type: ignore[no-untyped-def]
        event = from_kafka(record.headers, record.value)
        message = TYPES.decode(event) if event.time >= started else None
        return isinstance(message, identity_events_pb2.SignatureVerified) and message.document_digest in digests

    records = await scan_topic(
        kafka_settings,
        "baylink.identity.v1",
        done=lambda found: {TYPES.decode(from_kafka(r.headers, r.value)).document_digest for r in found} == digests,
        match=ours,
        since=started - timedelta(seconds=5),
    )
    by_digest = {TYPES.decode(from_kafka(r.headers, r.value)).document_digest for r in records}
    assert by_digest == digests


@pytest.mark.parametrize("count", [0, MAX_BATCH_ITEMS + 1])
async def test_an_empty_or_oversized_batch_is_invalid_argument_naming_requests(
    stub, live_pki: TestPKI, count: int
) -> None:  # type: ignore[no-untyped-def]
    item = api.VerifySignatureRequest(cms_signature=b"\x30\x00", document_digest=bytes(32))
    with pytest.raises(aio.AioRpcError) as info:
        await stub.VerifySignatures(api.VerifySignaturesRequest(requests=[item] * count))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = status_pb2.Status.FromString(dict(info.value.trailing_metadata())["grpc-status-details-bin"])
    item_status = api.ItemStatus.FromString(status.SerializeToString())
    assert bad_request_fields(item_status) == ["requests"]


async def test_a_full_batch_of_the_same_signer_passes_item_by_item(stub, live_pki: TestPKI, responder) -> None:  # type: ignore[no-untyped-def]
    items = [signed(live_pki, "hk-personal-ec", b"material %d" % i, "hk-ca") for i in range(MAX_BATCH_ITEMS)]
    reply = await stub.VerifySignatures(api.VerifySignaturesRequest(requests=items))
    assert len(reply.results) == MAX_BATCH_ITEMS
    outcomes = {(r.response.report.indication, r.response.report.reason) for r in reply.results}
    assert outcomes == {(pb.INDICATION_TOTAL_PASSED, "ok")}  # the chain validated once, revocation fetched once
    digests = [r.response.signer_certificate_fingerprint for r in reply.results]
    assert set(digests) == {hashlib.sha256(live_pki.cert("hk-personal-ec")).hexdigest()}
