"""A kiosk and an authority driving applications through the registry's gRPC API, signing with the test PKI.

Used by the end-to-end test and the benchmark: what a Hong Kong investor and the Nanhai authority
would send, with real detached CMS signatures made by the investor's (test) e-Cert.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from asn1crypto import x509

from baylink.common.v1 import common_pb2
from baylink.events.v1 import payments_events_pb2
from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.events import CloudEvent, EventTypes
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI

TYPES = EventTypes.from_contracts()
NANHAI_ESTABLISHMENT = "440605-HKMO-CO-EST"
NANHAI = "440605"
TRADE_CHARS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土"


def trade_name(n: int) -> str:
    """Distinct two-to-five-character trade names for n = 0, 1, 2, …"""
    digits = []
    while True:
        n, r = divmod(n, len(TRADE_CHARS))
        digits.append(TRADE_CHARS[r])
        if not n:
            break
    return "湾" + "".join(digits) + ("" if len(digits) > 1 else "联")


class Kiosk:
    def __init__(self, stub: rs_grpc.RegistryServiceStub, pki: TestPKI, signer: str = "hk-personal"):
        self.stub, self.pki, self.signer = stub, pki, signer
        self.applicant_ref = f"pseud-{signer}"
        self.certificate_sha256 = hashlib.sha256(pki.cert(signer)).hexdigest()
        self._key = pki.key(signer)
        self._certificate = pki.certificate(signer)
        self._chain = [x509.Certificate.load(der) for der in pki.intermediates(signer)]

    def enterprise(self) -> app_pb.EnterpriseDetails:
        capital = common_pb2.Money(currency="HKD", minor_units=1_000_000_00)
        return app_pb.EnterpriseDetails(
            registered_capital=capital,
            address="佛山市南海区桂城街道灯湖东路1号",
            business_scope="贸易咨询；技术服务",
            investors=[
                app_pb.Investor(
                    kind=app_pb.INVESTOR_KIND_NATURAL_PERSON,
                    name="陳大文",
                    jurisdiction=common_pb2.JURISDICTION_HK,
                    reference=self.applicant_ref,
                    subscribed_capital=capital,
                    certificate_sha256=self.certificate_sha256,
                )
            ],
            legal_representative_name="陳大文",
            legal_representative_ref=self.applicant_ref,
            legal_representative_certificate_sha256=self.certificate_sha256,
        )

    def sign(self, document: bytes) -> bytes:
        return sign_detached(document, self._key, self._certificate, datetime.now(UTC), self._chain)

    async def draft(self, item: str = NANHAI_ESTABLISHMENT) -> app_pb.Application:
        request = rs.DraftApplicationRequest(
            request_id=str(uuid.uuid4()),
            catalogue_item_id=item,
            applicant_ref=self.applicant_ref,
            enterprise=self.enterprise(),
        )
        return (await self.stub.DraftApplication(request)).application

    async def declare(self, application_id: str, trade: str) -> app_pb.Application:
        name = app_pb.NameDeclaration(trade_name=trade, industry="贸易", organisational_form="有限公司")
        request = rs.DeclareNameRequest(application_id=application_id, name=name, applicant_ref=self.applicant_ref)
        return (await self.stub.DeclareName(request)).application

    async def attach(self, application_id: str, material_type: str, content: bytes) -> app_pb.Material:
        request = rs.AttachMaterialRequest(
            application_id=application_id,
            material_type=material_type,
            filename=f"{material_type}.pdf",
            media_type="application/pdf",
            content=content,
            sha256=hashlib.sha256(content).digest(),
            applicant_ref=self.applicant_ref,
        )
        return (await self.stub.AttachMaterial(request)).material

    async def sign_material(self, application_id: str, material_id: str, signature: bytes) -> rs.SignMaterialResponse:
        request = rs.SignMaterialRequest(
            application_id=application_id,
            material_id=material_id,
            cms_signature=signature,
            applicant_ref=self.applicant_ref,
        )
        response: rs.SignMaterialResponse = await self.stub.SignMaterial(request)
        return response

    async def prepare(self, application_id: str, item: str = NANHAI_ESTABLISHMENT) -> app_pb.Application:
        """Attach every mandatory material and sign those that need it."""
        catalogue_item = (await self.stub.GetCatalogueItem(rs.GetCatalogueItemRequest(item_id=item))).item
        for requirement in catalogue_item.materials:
            if not requirement.mandatory:
                continue
            content = f"%PDF-1.7 {requirement.material_type} {application_id}".encode()
            material = await self.attach(application_id, requirement.material_type, content)
            if requirement.signature_required:
                await self.sign_material(application_id, material.material_id, self.sign(content))
        request = rs.GetApplicationRequest(application_id=application_id)
        return (await self.stub.GetApplication(request)).application

    async def submit(self, application_id: str) -> app_pb.Application:
        request = rs.SubmitApplicationRequest(application_id=application_id, applicant_ref=self.applicant_ref)
        return (await self.stub.SubmitApplication(request)).application


class Authority:
    def __init__(self, stub: rs_grpc.RegistryServiceStub, code: str = NANHAI, reviewer: str = "nanhai-officer-1"):
        self.stub, self.code, self.reviewer = stub, code, reviewer

    async def start_review(self, application_id: str) -> app_pb.Application:
        request = rs.StartReviewRequest(
            application_id=application_id, reviewer_id=self.reviewer, authority_code=self.code
        )
        return (await self.stub.StartReview(request)).application

    async def approve(self, application_id: str) -> app_pb.Application:
        request = rs.ApproveApplicationRequest(
            application_id=application_id, reviewer_id=self.reviewer, authority_code=self.code
        )
        return (await self.stub.ApproveApplication(request)).application


async def pay(producer: AIOKafkaProducer, topic: str, fee: app_pb.Fee, transfer_id: str = "") -> CloudEvent:
    """What payments publishes when the fee's transfer commits (a TransferCommitted CloudEvent)."""
    transfer_id = transfer_id or f"tr-{uuid.uuid4().hex[:12]}"
    message = payments_events_pb2.TransferCommitted(
        transfer_id=transfer_id,
        payer_participant_id="HK-BANK-1",
        payee_participant_id="CN-TREASURY-440605",
        send_amount=common_pb2.Money(currency="HKD", minor_units=fee.amount.minor_units * 109 // 100),
        receive_amount=fee.amount,
        reference=fee.payment_reference,
    )
    event = TYPES.new(message, subject=transfer_id, source="/baylink/payments")
    await producer.send_and_wait(topic, event.data, key=event.key, headers=event.kafka_headers())
    return event
