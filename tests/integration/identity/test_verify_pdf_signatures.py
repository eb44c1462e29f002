"""VerifyPdfSignatures over gRPC: a real service, the live responder, signed PDFs from the test PKI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc import aio
from grpc_status import rpc_status

from baylink.identity.v1 import identity_service_pb2 as api
from baylink.identity.v1 import identity_service_pb2_grpc as api_grpc
from baylink.identity.v1 import validation_pb2 as pb
from baylink.runtime.settings import KafkaSettings
from devtools.testpki import pades
from devtools.testpki.loader import TestPKI
from services.identity.bootstrap import bootstrap
from services.identity.domain.pdf import MAX_PDF_BYTES
from tests.integration.identity.test_identity_service import settings_for

pytestmark = pytest.mark.kafka


@pytest.fixture
async def stub(
    live_pki: TestPKI, tmp_path: Path, kafka_settings: KafkaSettings
) -> AsyncIterator[api_grpc.IdentityServiceStub]:
    service = bootstrap(settings_for(live_pki, tmp_path, kafka_settings))
    await service.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            yield api_grpc.IdentityServiceStub(channel)
    finally:
        await service.host.shutdown()


async def test_two_signatures_and_a_document_timestamp_are_each_reported(
    stub: api_grpc.IdentityServiceStub,
    live_pki: TestPKI,
    responder: object,
) -> None:
    once = pades.sign(pades.minimal_pdf(), live_pki, "hk-personal", "Applicant")
    twice = pades.sign(once, live_pki, "gd-personal", "Director")
    stamped = pades.timestamp(twice, pades.PkiTsa("hk-tsa"))  # its TSA chain is seeded: this PKI's too
    reply = await stub.VerifyPdfSignatures(api.VerifyPdfSignaturesRequest(pdf=stamped))
    assert reply.all_passed and reply.revisions == 4 and reply.file_bytes == len(stamped)
    first, second = reply.signatures
    assert (first.field_name, first.revision, first.coverage) == ("Applicant", 2, api.PDF_COVERAGE_ENTIRE_REVISION)
    assert first.report.indication == pb.INDICATION_TOTAL_PASSED and first.cms.signature_valid
    assert first.cms.algorithm == pb.SIGNATURE_ALGORITHM_RSA_PKCS1V15
    # No signature timestamps: the document timestamp over revision 4 proves that both existed (B-T).
    assert second.cms.algorithm == pb.SIGNATURE_ALGORITHM_SM2_SM3 and second.level == api.PADES_LEVEL_B_T
    assert first.level == api.PADES_LEVEL_B_T and first.cms.proven_signing_time.seconds > 0
    assert second.change_after_signing == api.PDF_CHANGE_LTA_UPDATES
    (stamp,) = reply.document_timestamps
    assert (stamp.judgement, stamp.revision, stamp.detail) == (api.TIMESTAMP_JUDGEMENT_PASSED, 4, "timestamp_trusted")


async def test_a_page_changed_after_signing_is_refused_with_the_reason(
    stub: api_grpc.IdentityServiceStub,
    live_pki: TestPKI,
    responder: object,
) -> None:
    changed = pades.change_page(pades.sign(pades.minimal_pdf(), live_pki, "hk-personal", "Applicant"))
    reply = await stub.VerifyPdfSignatures(api.VerifyPdfSignaturesRequest(pdf=changed))
    (signature,) = reply.signatures
    assert not reply.all_passed
    assert signature.report.indication == pb.INDICATION_TOTAL_FAILED
    assert signature.report.reason == "pdf_modified_after_signing"
    assert signature.report.messages[0].zh_hant and signature.cms.report.reason == "ok"
    assert signature.change_after_signing == api.PDF_CHANGE_OTHER


@pytest.mark.parametrize(
    ("pdf", "reason"),
    [
        (b"GIF89a", "not_a_pdf"),
        (pades.minimal_pdf(), "no_signatures"),
        (b"%PDF-1.7\n" + bytes(MAX_PDF_BYTES), "too_large"),
    ],
    ids=["not_a_pdf", "no_signatures", "too_large"],  # the same on every xdist worker (a PDF's /ID is random)
)
async def test_bad_pdfs_are_invalid_argument_naming_the_field(
    stub: api_grpc.IdentityServiceStub,
    pdf: bytes,
    reason: str,
) -> None:
    with pytest.raises(aio.AioRpcError) as info:
        await stub.VerifyPdfSignatures(api.VerifyPdfSignaturesRequest(pdf=pdf))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(info.value)
    bad, details = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    assert any(d.Unpack(bad) for d in status.details if d.Is(bad.DESCRIPTOR))
    assert any(d.Unpack(details) for d in status.details if d.Is(details.DESCRIPTOR))
    assert bad.field_violations[0].field == "pdf" and details.reason == reason
