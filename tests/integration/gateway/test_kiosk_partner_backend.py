"""The partner-city API over real mutual TLS, backed by the real registry (``RegistryPartnerBackend``):
an application handed in at a kiosk, seen by Nanhai under Nanhai's pseudonym, by Foshan (its parent city)
under Foshan's, and not at all by Shenzhen. Deciding needs the fee paid, which the end-to-end test does."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from grpc import aio

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.gateway.partner.adapters.pki import PkiPaths, issue_city
from services.gateway.partner.adapters.registry_backend import RegistryPartnerBackend
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.e2e.kiosk_user import CHAN, KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]
NANHAI, FOSHAN, SHENZHEN = "440605", "440600", "440300"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_pki(tmp_path_factory.mktemp("kiosk-partner-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    pki: TestPKI, tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("kiosk-partner"), kafka_settings, pki, with_payments=False) as s:
        for city in (NANHAI, FOSHAN, SHENZHEN):
            issue_city(s.gateway.settings.pki_dir, city)
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def submitted(stack: Stack) -> dict[str, object]:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open()
    _, application = await kiosk.submitted(CHAN, "湾丁")
    return application


class Cities:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.channels: list[aio.Channel] = []

    def __call__(self, city: str) -> api_grpc.PartnerCityServiceStub:
        credentials = city_channel_credentials(PkiPaths(self.stack.gateway.settings.pki_dir), city)
        channel = aio.secure_channel(f"127.0.0.1:{self.stack.gateway.partner_port}", credentials)
        self.channels.append(channel)
        return api_grpc.PartnerCityServiceStub(channel)


@pytest_asyncio.fixture(loop_scope="module")
async def city(stack: Stack) -> AsyncIterator[Cities]:
    cities = Cities(stack)
    yield cities
    for channel in cities.channels:
        await channel.close()


async def test_nanhai_lists_and_reads_its_application_under_its_own_pseudonym(
    city: Cities, submitted: dict[str, object], stack: Stack
) -> None:
    application_id = str(submitted["application_id"])
    listed = await city(NANHAI).ListPendingApplications(api.ListPendingApplicationsRequest())
    [app] = [a for a in listed.applications if a.application_id == application_id]
    held = await stack.gateway.clients[1].application(application_id)

    assert app.status == pc.APPLICATION_STATUS_SUBMITTED and app.authority_code == NANHAI
    assert app.applicant_pseudonym == held.applicant_ref == app.legal_representative_pseudonym
    assert app.materials_verified and all(
        m.signature_verified for m in app.materials if m.signer_certificate_fingerprint
    )
    assert app.enterprise_name == "佛山市南海区湾丁贸易有限公司" and not app.fee_paid


async def test_foshan_sees_its_districts_application_under_a_pseudonym_of_its_own(
    city: Cities, submitted: dict[str, object]
) -> None:
    application_id = str(submitted["application_id"])
    nanhai = (await city(NANHAI).GetApplication(api.GetApplicationRequest(application_id=application_id))).application
    foshan = (await city(FOSHAN).GetApplication(api.GetApplicationRequest(application_id=application_id))).application

    assert foshan.applicant_pseudonym and foshan.applicant_pseudonym != nanhai.applicant_pseudonym
    assert foshan.investors[0].reference == foshan.applicant_pseudonym
    subject = (await city(FOSHAN).LookupSubject(api.LookupSubjectRequest(pseudonym=foshan.applicant_pseudonym))).subject
    assert application_id in subject.application_ids and subject.date_of_birth == "1980-03-15"
    assert subject.name == f"{CHAN.name_zh} {CHAN.name_en}"


async def test_shenzhen_can_neither_read_nor_look_up_nanhais_people(city: Cities, submitted: dict[str, object]) -> None:
    application_id = str(submitted["application_id"])
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await city(SHENZHEN).GetApplication(api.GetApplicationRequest(application_id=application_id))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await city(SHENZHEN).ListPendingApplications(api.ListPendingApplicationsRequest())
    assert application_id not in [a.application_id for a in listed.applications]

    nanhai = (await city(NANHAI).GetApplication(api.GetApplicationRequest(application_id=application_id))).application
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await city(SHENZHEN).LookupSubject(api.LookupSubjectRequest(pseudonym=nanhai.applicant_pseudonym))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_deciding_an_unpaid_application_is_refused(city: Cities, submitted: dict[str, object]) -> None:
    application_id = str(submitted["application_id"])
    nanhai = city(NANHAI)
    with pytest.raises(grpc.aio.AioRpcError) as unpaid:
        await nanhai.DecideApplication(
            api.DecideApplicationRequest(request_id="r-1", application_id=application_id, decision=pc.DECISION_APPROVE)
        )
    assert unpaid.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # the fee is not paid yet


async def test_nanhai_and_foshan_read_the_materials_exactly_as_the_kiosk_attached_them(
    city: Cities, submitted: dict[str, object], stack: Stack
) -> None:
    application_id = str(submitted["application_id"])
    for reader in (NANHAI, FOSHAN):
        request = api.GetApplicationRequest(application_id=application_id, include_material_content=True)
        app = (await city(reader).GetApplication(request)).application
        assert app.materials
        for material in app.materials:
            # KioskUser.prepare attached exactly these bytes for each mandatory material.
            assert material.content == f"%PDF-1.7 {material.material_type} {application_id}".encode()
            assert hashlib.sha256(material.content).digest() == material.sha256
            assert material.size_bytes == len(material.content)

    first, *rest = app.materials
    request = api.GetApplicationRequest(
        application_id=application_id, include_material_content=True, material_ids=[first.material_id]
    )
    one = (await city(NANHAI).GetApplication(request)).application
    assert [m.material_id for m in one.materials if m.content] == [first.material_id]
    assert all(not m.content for m in one.materials[1:]) and rest

    without = (await city(NANHAI).GetApplication(api.GetApplicationRequest(application_id=application_id))).application
    assert all(not m.content for m in without.materials)


async def test_content_reads_are_refused_for_other_cities_unknown_materials_and_beyond_the_size_limit(
    city: Cities, submitted: dict[str, object], stack: Stack
) -> None:
    application_id = str(submitted["application_id"])
    with pytest.raises(grpc.aio.AioRpcError) as other_city:
        await city(SHENZHEN).GetApplication(
            api.GetApplicationRequest(application_id=application_id, include_material_content=True)
        )
    assert other_city.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await city(NANHAI).GetApplication(
            api.GetApplicationRequest(
                application_id=application_id, include_material_content=True, material_ids=["no-such-material"]
            )
        )
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # The same backend with a small limit, against the same registry: refused before any byte is read.
    gateway = stack.gateway
    small = RegistryPartnerBackend(
        gateway.clients[1], gateway.parts.bindings, gateway.parts.grants, max_content_bytes=10
    )
    app = await small.get_application(NANHAI, application_id, include_material_content=False)
    with pytest.raises(errors.FailedPrecondition) as too_large:
        await small.read_material_contents(NANHAI, app, ())
    assert too_large.value.reason == "CONTENT_TOO_LARGE"
    assert all(not m.content for m in app.materials)
