"""Every signature the registry stores is CAdES B-T and B-LT: the real identity service, the real TSA.

Stored: the CMS with a signature-time-stamp token over its signature value (still verifying), and
the validation data identity used (the signer's path and its OCSP answers). With the TSA down the
call is UNAVAILABLE (TSA_UNAVAILABLE) and nothing is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from asn1crypto import cms, ocsp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.identity.v1 import identity_service_pb2 as ids_pb
from baylink.identity.v1 import identity_service_pb2_grpc as ids_grpc
from baylink.identity.v1 import validation_pb2 as val
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.identity.bootstrap import IdentityService
from services.identity.tsa.server import TimeStampServer
from services.registry.bootstrap import RegistryService
from tests.integration.registry.conftest import registry_settings, started_registry
from tests.integration.registry.kiosk import Kiosk

pytestmark = pytest.mark.kafka


@pytest.fixture
async def registry(
    identity_service: IdentityService, tsa: TimeStampServer, tmp_path: Path, kafka_settings: KafkaSettings
) -> AsyncIterator[RegistryService]:
    settings = registry_settings(
        tmp_path,
        kafka_settings,
        identity_target=f"127.0.0.1:{identity_service.port}",
        tsa_url=tsa.url,
        tsa_timeout_seconds=1.0,
        events_topic=f"registry.ts.{uuid.uuid4().hex[:8]}",
    )
    async with started_registry(settings) as svc:
        yield svc


async def test_a_stored_signature_is_time_stamped_and_kept_with_its_chain_and_ocsp(
    stub: rs_grpc.RegistryServiceStub,
    registry: RegistryService,
    identity_service: IdentityService,
    registry_pki: TestPKI,
    tsa: TimeStampServer,
) -> None:
    kiosk = Kiosk(stub, registry_pki)
    app = await kiosk.draft()
    content = b"%PDF-1.7 articles of association"
    material = await kiosk.attach(app.application_id, "articles_of_association", content)
    signature = kiosk.sign(content)
    await kiosk.sign_material(app.application_id, material.material_id, signature)
    assert tsa.granted == 1

    async with registry.registry.uow() as work:
        [evidence] = await work.evidence.of_application(app.application_id)
    signer_info = cms.ContentInfo.load(evidence.stamped.cms_signature)["content"]["signer_infos"][0]
    [attribute] = signer_info["unsigned_attrs"]
    assert attribute["type"].native == "signature_time_stamp_token"
    token = attribute["values"][0]
    assert token.dump() == evidence.stamped.token
    imprint = token["content"]["encap_content_info"]["content"].parsed["message_imprint"]["hashed_message"].native
    assert imprint == hashlib.sha256(signer_info["signature"].native).digest()
    assert (
        signer_info["signed_attrs"].dump()
        == cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["signed_attrs"].dump()
    )

    data = evidence.validation_data
    assert data.certificates[:3] == tuple(registry_pki.cert(n) for n in ("hk-personal", "hk-ca", "hk-root"))
    assert registry_pki.cert("hk-tsa") in data.certificates  # the TSA's path: its time-stamp is judged too
    assert data.ocsp_responses and all(
        ocsp.OCSPResponse.load(r)["response_status"].native == "successful" for r in data.ocsp_responses
    )

    # The stamped CMS still verifies: the token sits outside the signed attributes.
    channel = insecure_channel(f"127.0.0.1:{identity_service.port}")
    try:
        request = ids_pb.VerifySignatureRequest(
            cms_signature=evidence.stamped.cms_signature,
            document_digest=hashlib.sha256(content).digest(),
            digest_algorithm=val.DIGEST_ALGORITHM_SHA256,
        )
        reply = await ids_grpc.IdentityServiceStub(channel).VerifySignature(request)
    finally:
        await channel.close()
    assert reply.report.indication == val.INDICATION_TOTAL_PASSED, reply.report
    assert reply.HasField("proven_signing_time") and reply.level == val.SIGNATURE_LEVEL_B_T


async def test_with_the_tsa_down_signing_is_unavailable_tsa_unavailable_and_nothing_is_stored(
    stub: rs_grpc.RegistryServiceStub, registry: RegistryService, registry_pki: TestPKI, tsa: TimeStampServer
) -> None:
    kiosk = Kiosk(stub, registry_pki)
    app = await kiosk.draft()
    content = b"%PDF-1.7 articles"
    material = await kiosk.attach(app.application_id, "articles_of_association", content)
    await tsa.stop()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await kiosk.sign_material(app.application_id, material.material_id, kiosk.sign(content))
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    status = rpc_status.from_call(raised.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR))
    assert info.reason == "TSA_UNAVAILABLE"

    got = await stub.GetApplication(rs.GetApplicationRequest(application_id=app.application_id))
    assert not [m for m in got.application.materials if m.signatures]
    async with registry.registry.uow() as work:
        assert await work.evidence.of_application(app.application_id) == []


async def test_the_signatures_of_a_signed_pdf_are_stamped_and_kept_too(
    stub: rs_grpc.RegistryServiceStub, registry: RegistryService, registry_pki: TestPKI, tsa: TimeStampServer
) -> None:
    from devtools.testpki import pades
    from services.registry.adapters.pdf_signatures import pdf_signatures

    kiosk = Kiosk(stub, registry_pki)
    app = await kiosk.draft()
    pdf = pades.sign(pades.minimal_pdf(), registry_pki, "hk-personal", "Investor")
    material = await kiosk.attach(app.application_id, "articles_of_association", pdf)
    request = rs.SignMaterialRequest(
        application_id=app.application_id,
        material_id=material.material_id,
        pades=True,
        applicant_ref=kiosk.applicant_ref,
    )
    await stub.SignMaterial(request)
    assert tsa.granted == 1

    async with registry.registry.uow() as work:
        [evidence] = await work.evidence.of_application(app.application_id)
    [part] = pdf_signatures(pdf)
    stamped_info = cms.ContentInfo.load(evidence.stamped.cms_signature)["content"]["signer_infos"][0]
    original_info = cms.ContentInfo.load(part.cms_signature)["content"]["signer_infos"][0]
    assert stamped_info["signature"].native == original_info["signature"].native
    assert [a["type"].native for a in stamped_info["unsigned_attrs"]][-1] == "signature_time_stamp_token"
    assert registry_pki.cert("hk-tsa") in evidence.validation_data.certificates
