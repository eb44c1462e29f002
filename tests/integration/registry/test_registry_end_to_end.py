"""Draft to approved with a valid USCC: the real identity service verifies every signature, the fee is
paid by a TransferCommitted event on the real broker, and every step is an event on the registry's topic."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.ids import check_uscc
from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.events import EventTypes, from_kafka
from baylink.runtime.kafka import close_quietly, new_producer
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.identity.bootstrap import IdentityService
from services.identity.tsa.server import TimeStampServer
from services.registry.bootstrap import RegistryService
from tests.integration.registry.conftest import registry_settings, started_registry
from tests.integration.registry.kiosk import Authority, Kiosk, pay, trade_name
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka
TYPES = EventTypes.from_contracts()


class Topics:
    def __init__(self, registry: str, payments: str):
        self.registry, self.payments = registry, payments


@pytest.fixture
async def topics(new_topic) -> Topics:  # type: ignore[no-untyped-def]
    return Topics(await new_topic("registry"), await new_topic("payments"))


@pytest.fixture
async def registry(
    identity_service: IdentityService,
    tsa: TimeStampServer,
    topics: Topics,
    tmp_path: Path,
    kafka_settings: KafkaSettings,
) -> AsyncIterator[RegistryService]:
    settings = registry_settings(
        tmp_path,
        kafka_settings,
        identity_target=f"127.0.0.1:{identity_service.port}",
        tsa_url=tsa.url,
        events_topic=topics.registry,
        payments_topic=topics.payments,
        fees_group_id=f"registry.fees.{uuid.uuid4().hex[:8]}",
        overdue_check_seconds=0.2,
    )
    async with started_registry(settings) as svc:
        yield svc


@pytest.fixture
async def producer(kafka_settings: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = new_producer(kafka_settings, "payments-stand-in")
    await producer.start()
    yield producer
    await close_quietly(producer)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)


async def get(stub: rs_grpc.RegistryServiceStub, application_id: str) -> app_pb.Application:
    return (await stub.GetApplication(rs.GetApplicationRequest(application_id=application_id))).application


async def events_of(kafka: KafkaSettings, topic: str, application_id: str, last: str) -> list[str]:
    """Event types of one application on the topic, read until ``last`` appears."""
    key = application_id.encode()
    records = await scan_topic(
        kafka,
        topic,
        match=lambda r: r.key == key,
        done=lambda found: any(dict(r.headers)["ce_type"].decode().endswith(f".{last}.v1") for r in found),
        linger_ms=1000,
    )
    events = [from_kafka(r.headers, r.value) for r in records]
    assert {e.source for e in events} == {"/baylink/registry"} and {e.subject for e in events} == {application_id}
    return [e.type.removeprefix("baylink.registry.application.").removesuffix(".v1") for e in events]


async def test_a_hong_kong_company_goes_from_draft_to_approved_with_a_valid_uscc(
    stub: rs_grpc.RegistryServiceStub,
    registry_pki: TestPKI,
    producer: AIOKafkaProducer,
    topics: Topics,
    kafka_settings: KafkaSettings,
) -> None:
    kiosk, nanhai = Kiosk(stub, registry_pki), Authority(stub)
    app = await kiosk.draft()
    app = await kiosk.declare(app.application_id, "湾联")
    app = await kiosk.prepare(app.application_id)
    assert app.materials_verified and all(
        m.status == app_pb.MATERIAL_STATUS_VERIFIED for m in app.materials if m.signatures
    )
    assert {s.certificate_sha256 for m in app.materials for s in m.signatures} == {kiosk.certificate_sha256}
    app = await kiosk.submit(app.application_id)
    assert app.state == app_pb.APPLICATION_STATE_SUBMITTED and app.fee.payment_reference and not app.fee_paid

    # Payments commits the fee's transfer; the event arrives twice (a redelivery) and once more under a new id.
    first = await pay(producer, topics.payments, app.fee, transfer_id="tr-e2e-1")
    await producer.send_and_wait(topics.payments, first.data, key=first.key, headers=first.kafka_headers())
    await pay(producer, topics.payments, app.fee, transfer_id="tr-e2e-2")
    await until(lambda: _fee_paid(stub, app.application_id))
    assert (await get(stub, app.application_id)).fee.transfer_id == "tr-e2e-1"

    await nanhai.start_review(app.application_id)
    app = await nanhai.approve(app.application_id)
    assert app.state == app_pb.APPLICATION_STATE_APPROVED
    result = check_uscc(app.uscc)
    assert result.valid, result.message
    assert app.uscc[:8] == "91440605" and app.licence.uscc == app.uscc
    assert app.licence.enterprise_name == "佛山市南海区湾联贸易有限公司"

    types = await events_of(kafka_settings, topics.registry, app.application_id, "approved")
    assert types == [
        "drafted",
        "name_approved",
        "material_verified",
        "material_verified",
        "material_verified",
        "submitted",
        "fee_requested",
        "fee_paid",
        "review_started",
        "approved",
    ]


async def _fee_paid(stub: rs_grpc.RegistryServiceStub, application_id: str) -> bool:
    return (await get(stub, application_id)).fee_paid


def bad_request(error: grpc.aio.AioRpcError) -> error_details_pb2.BadRequest:
    status = rpc_status.from_call(error)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR))
    return bad


async def test_signatures_the_identity_service_refuses_or_of_strangers_are_invalid_argument(
    stub: rs_grpc.RegistryServiceStub, registry_pki: TestPKI
) -> None:
    kiosk = Kiosk(stub, registry_pki)
    app = await kiosk.draft()
    content = b"%PDF-1.7 articles"
    material = await kiosk.attach(app.application_id, "articles_of_association", content)

    stranger = Kiosk(stub, registry_pki, signer="hk-personal-ec")  # a valid e-Cert, but not a party
    revoked = Kiosk(stub, registry_pki, signer="hk-revoked")
    cases = [
        (stranger.sign(content), "zh-Hant", "簽名證書不屬於"),
        (kiosk.sign(b"another document"), "en", "HASH_FAILURE"),
        (revoked.sign(content), "zh-Hans", "签名未通过验证"),
    ]
    for signature, language, words in cases:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.SignMaterial(
                rs.SignMaterialRequest(
                    application_id=app.application_id, material_id=material.material_id, cms_signature=signature
                ),
                metadata=(("accept-language", language),),
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        [violation] = bad_request(raised.value).field_violations
        assert violation.field == "cms_signature" and words in violation.description, violation.description


async def test_a_passed_deadline_is_published_once_as_overdue(
    stub: rs_grpc.RegistryServiceStub,
    registry: RegistryService,
    registry_pki: TestPKI,
    topics: Topics,
    kafka_settings: KafkaSettings,
) -> None:
    kiosk = Kiosk(stub, registry_pki)
    app = await kiosk.draft()
    await kiosk.declare(app.application_id, trade_name(7))
    await kiosk.prepare(app.application_id)
    app = await kiosk.submit(app.application_id)
    deadline = app.deadline.ToDatetime().replace(tzinfo=registry.registry.clock().tzinfo)
    registry.registry.clock = lambda: deadline + timedelta(seconds=1)  # time passes

    await until(lambda: _overdue(stub, app.application_id))
    types = await events_of(kafka_settings, topics.registry, app.application_id, "overdue")
    assert types.count("overdue") == 1
    listed = await stub.ListApplications(rs.ListApplicationsRequest(authority_code="440605", overdue_only=True))
    assert [a.application_id for a in listed.applications] == [app.application_id]


async def _overdue(stub: rs_grpc.RegistryServiceStub, application_id: str) -> bool:
    return (await get(stub, application_id)).overdue


@pytest.mark.parametrize("signer", ["mo-personal", "gd-personal"])
async def test_macau_ed25519_and_mainland_sm2_signers_are_verified_with_their_own_digests(
    stub: rs_grpc.RegistryServiceStub, registry_pki: TestPKI, signer: str
) -> None:
    kiosk = Kiosk(stub, registry_pki, signer=signer)
    app = await kiosk.draft()
    await kiosk.declare(app.application_id, trade_name(100 + len(signer)))
    app = await kiosk.prepare(app.application_id)
    assert app.materials_verified
    app = await kiosk.submit(app.application_id)
    assert app.state == app_pb.APPLICATION_STATE_SUBMITTED
