"""A signed PDF (PAdES) as a material, through the kiosk API against the real gateway, registry and
identity services: the PDF carries its signatures, which identity verifies with VerifyPdfSignatures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from baylink.runtime.settings import KafkaSettings
from devtools.testpki import pades
from devtools.testpki.loader import TestPKI
from tests.e2e.kiosk_user import CHAN, KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_pki(tmp_path_factory.mktemp("kiosk-pades-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    pki: TestPKI, tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("kiosk-pades"), kafka_settings, pki, with_payments=False) as s:
        yield s


async def drafted(stack: Stack, name: str) -> tuple[KioskUser, str]:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open()
    handle = (await kiosk.identify(CHAN)).json()["person"]
    return kiosk, (await kiosk.draft(handle, name))["application"]["application_id"]


async def sign_embedded(kiosk: KioskUser, application_id: str, material_id: str):  # type: ignore[no-untyped-def]
    path = f"/v1/applications/{application_id}/materials/{material_id}/signatures"
    return await kiosk.http.post(path, json={"pades": True}, headers=kiosk.auth)


async def test_a_pdf_the_applicant_signed_verifies_the_material(stack: Stack) -> None:
    kiosk, application_id = await drafted(stack, "湾丁")
    pdf = pades.sign(pades.minimal_pdf(), stack.pki, CHAN.certificate, "Investor")
    attached = await kiosk.attach(application_id, "articles_of_association", pdf)
    assert attached.status_code == 201, attached.text
    material_id = attached.json()["material"]["material_id"]

    signed = await sign_embedded(kiosk, application_id, material_id)

    assert signed.status_code == 200, signed.text
    assert signed.json()["material"]["status"] == "verified"


async def test_a_signed_pdf_changed_after_signing_is_refused_with_the_reason(stack: Stack) -> None:
    kiosk, application_id = await drafted(stack, "湾戊")
    pdf = pades.change_page(pades.sign(pades.minimal_pdf(), stack.pki, CHAN.certificate, "Investor"))
    material_id = (await kiosk.attach(application_id, "articles_of_association", pdf)).json()["material"]["material_id"]

    refused = await sign_embedded(kiosk, application_id, material_id)

    assert refused.status_code == 400, refused.text
    [field] = refused.json()["fields"]
    assert field["field"] == "pades" and "pdf_modified_after_signing" in field["description"]


async def test_pades_with_a_cms_too_or_on_an_unsigned_pdf_is_refused(stack: Stack) -> None:
    kiosk, application_id = await drafted(stack, "湾己")
    blank = pades.minimal_pdf()
    attached = await kiosk.attach(application_id, "articles_of_association", blank)
    material_id = attached.json()["material"]["material_id"]
    path = f"/v1/applications/{application_id}/materials/{material_id}/signatures"
    both = {"pades": True, "cms_base64": kiosk.signature(CHAN.certificate, blank)}
    twice = await kiosk.http.post(path, json=both, headers=kiosk.auth)
    assert twice.status_code == 400 and twice.json()["fields"][0]["field"] == "cms_base64", twice.text

    unsigned = await sign_embedded(kiosk, application_id, material_id)
    assert unsigned.status_code == 400, unsigned.text
    [field] = unsigned.json()["fields"]
    assert field["field"] == "pades" and "no_signatures" in field["description"]
