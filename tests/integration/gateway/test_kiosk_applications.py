"""Drafting, materials, signatures and submission through the kiosk API, against the real gateway wired
to the real identity and registry services: every signature is a real detached CMS made with the test
PKI's keys, which the registry has identity verify against the certificate the gateway bound."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from tests.e2e.kiosk_user import CHAN, LEE, KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]

# Each test is a person at a kiosk of their own, as at a real kiosk: the rate limit counts per kiosk
# across the whole gateway (shared state), and the module's calls together exceed one kiosk's burst.


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_pki(tmp_path_factory.mktemp("kiosk-apps-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    pki: TestPKI, tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("kiosk-apps"), kafka_settings, pki, with_payments=False) as s:
        yield s


async def registry_view(stack: Stack, application_id: str):  # type: ignore[no-untyped-def]
    channel = insecure_channel(f"127.0.0.1:{stack.registry.port}")
    try:
        stub = rs_grpc.RegistryServiceStub(channel)
        return (await stub.GetApplication(rs.GetApplicationRequest(application_id=application_id))).application
    finally:
        await channel.close()


async def test_an_identified_person_drafts_signs_every_material_and_submits(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-01")
    await kiosk.open()
    handle = (await kiosk.identify(CHAN)).json()["person"]
    drafted = await kiosk.draft(handle, "湾联")
    assert drafted["name_check"] == {"outcome": "approved", "reasons": []}
    app = drafted["application"]
    assert (app["state"], app["enterprise_name"]) == ("draft", "佛山市南海区湾联贸易有限公司")

    # The registry knows the person by Nanhai's pseudonym and the certificate bound to them; no number.
    held = await registry_view(stack, app["application_id"])
    fingerprint = hashlib.sha256(stack.pki.cert(CHAN.certificate)).hexdigest()
    assert len(held.applicant_ref) == 52 and held.applicant_ref.isalnum()
    assert held.enterprise.investors[0].reference == held.applicant_ref == held.enterprise.legal_representative_ref
    assert held.enterprise.investors[0].certificate_sha256 == fingerprint
    assert held.enterprise.legal_representative_certificate_sha256 == fingerprint
    assert CHAN.hkid not in str(held) and CHAN.travel_permit not in str(held)

    content = b"%PDF-1.7 articles of association"
    attached = await kiosk.attach(app["application_id"], "articles_of_association", content)
    assert attached.status_code == 201, attached.text
    upload = attached.json()
    assert upload["material"]["sha256"] == upload["to_sign"]["sha256"] == hashlib.sha256(content).hexdigest()
    [signer] = upload["to_sign"]["signers"]
    assert (signer["person"], signer["roles"], signer["digest_algorithm"]) == (handle, ["investor"], "sha256")
    assert base64.b64decode(signer["digest_base64"]) == hashlib.sha256(content).digest()
    signed = await kiosk.sign(
        app["application_id"], upload["material"]["material_id"], kiosk.signature(CHAN.certificate, content)
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["material"]["status"] == "verified"

    unsigned = await kiosk.attach(app["application_id"], "premises_proof", b"%PDF-1.7 lease")
    assert unsigned.status_code == 201 and unsigned.json()["to_sign"] is None

    prepared = await kiosk.prepare(app["application_id"])
    assert prepared["materials_verified"]
    submitted = await kiosk.submit(app["application_id"])
    assert submitted["state"] == "submitted" and submitted["deadline"]
    assert submitted["fee"]["amount"] == {"currency": "CNY", "amount": "300.00", "minor_units": 30000}
    assert submitted["fee"]["payment_reference"] and not submitted["fee_paid"]

    tracked = await kiosk.track(app["application_id"])
    assert tracked["state"] == "submitted"
    # Payments is not running in this stack: the quote is refused as unavailable, not as an internal error.
    quote = await kiosk.quote(app["application_id"], "HKD")
    assert quote.status_code == 503 and quote.json()["code"] == "UNAVAILABLE"


async def test_a_signature_by_someone_not_party_to_the_application_is_refused_in_the_kiosks_language(
    stack: Stack,
) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-02")
    await kiosk.open(language="zh-Hant")
    chan = (await kiosk.identify(CHAN)).json()["person"]
    assert (await kiosk.identify(LEE)).status_code == 200  # in the session, but not on the application
    app = (await kiosk.draft(chan, "湾甲"))["application"]
    content = b"%PDF-1.7 articles"
    material = (await kiosk.attach(app["application_id"], "articles_of_association", content)).json()["material"]

    refused = await kiosk.sign(
        app["application_id"], material["material_id"], kiosk.signature(LEE.certificate, content)
    )

    assert refused.status_code == 400
    [field] = refused.json()["fields"]
    assert field["field"] == "cms_signature" and "簽名證書不屬於" in field["description"]


async def test_another_sessions_application_is_not_found(stack: Stack) -> None:
    owner = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-03")
    await owner.open()
    handle = (await owner.identify(CHAN)).json()["person"]
    app = (await owner.draft(handle, "湾乙"))["application"]

    stranger = KioskUser(stack.kiosk, stack.pki, kiosk_id="MO-TST-02")
    await stranger.open()
    nobody = await stranger.http.get(f"/v1/applications/{app['application_id']}", headers=stranger.auth)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "NOT_FOUND")
    assert (await stranger.identify(LEE)).status_code == 200
    someone_else = await stranger.http.get(f"/v1/applications/{app['application_id']}", headers=stranger.auth)
    assert someone_else.status_code == 404


def registry_reads(stack: Stack) -> float:
    """GetApplication calls the registry has answered so far."""
    registry = stack.registry.host.metrics.registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "baylink_grpc_server_handled"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["method"].endswith("GetApplication")
    )


async def test_commands_on_an_application_the_gateway_has_seen_check_its_owner_without_reading_it(
    stack: Stack,
) -> None:
    owner = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-06")
    await owner.open()
    handle = (await owner.identify(CHAN)).json()["person"]
    app_id = (await owner.draft(handle, "湾丁"))["application"]["application_id"]

    before = registry_reads(stack)
    content = b"%PDF-1.7 articles, read by nobody"
    attached = await owner.attach(app_id, "articles_of_association", content)
    assert attached.status_code == 201, attached.text
    material_id = attached.json()["material"]["material_id"]
    signed = await owner.sign(app_id, material_id, owner.signature(CHAN.certificate, content))
    assert signed.status_code == 200, signed.text
    assert registry_reads(stack) == before  # the draft told the gateway whose it is

    # What the gateway knows of the application does not open it to anyone else's session.
    stranger = KioskUser(stack.kiosk, stack.pki, kiosk_id="MO-TST-06")
    await stranger.open()
    assert (await stranger.identify(LEE)).status_code == 200
    refused = await stranger.attach(app_id, "articles_of_association", b"%PDF-1.7 not theirs")
    assert (refused.status_code, refused.json()["code"]) == (404, "NOT_FOUND")
    submit = await stranger.http.post(f"/v1/applications/{app_id}/submit", headers=stranger.auth)
    assert (submit.status_code, submit.json()["code"]) == (404, "NOT_FOUND")
    held = await registry_view(stack, app_id)
    assert [m.sha256 for m in held.materials] == [hashlib.sha256(content).digest()]


async def test_submitting_before_the_materials_are_signed_is_refused_and_there_is_no_fee_yet(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-04")
    await kiosk.open()
    handle = (await kiosk.identify(CHAN)).json()["person"]
    app = (await kiosk.draft(handle, "湾丙"))["application"]

    early = await kiosk.http.post(f"/v1/applications/{app['application_id']}/submit", headers=kiosk.auth)
    # The registry names each missing material as a field violation (INVALID_ARGUMENT → 400).
    assert early.status_code == 400, early.text
    assert {f["field"] for f in early.json()["fields"]} >= {"materials[articles_of_association]"}, early.text
    no_fee = await kiosk.quote(app["application_id"], "HKD")
    assert (no_fee.status_code, no_fee.json()["code"]) == (409, "FEE_NOT_RAISED")
    wrong_currency = await kiosk.quote(app["application_id"], "USD")
    assert wrong_currency.status_code == 422 and wrong_currency.json()["fields"][0]["field"] == "currency"


async def test_a_draft_naming_someone_not_identified_in_the_session_is_refused(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-05")
    await kiosk.open()
    handle = (await kiosk.identify(CHAN)).json()["person"]
    body = {
        "catalogue_item_id": "440605-HKMO-CO-EST",
        "applicant": handle,
        "registered_capital": {"currency": "HKD", "amount": "100.00"},
        "address": "佛山市南海区桂城街道1号",
        "business_scope": "贸易",
        "investors": [{"person": "p-somebody-else"}],
    }
    response = await kiosk.http.post("/v1/applications", json=body, headers=kiosk.auth)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "investors[0].person"

    body["registered_capital"] = {"currency": "HKD", "amount": "100.001"}
    too_precise = await kiosk.http.post("/v1/applications", json=body, headers=kiosk.auth)
    assert too_precise.status_code == 422 and too_precise.json()["fields"][0]["field"] == "registered_capital"


async def test_two_drafts_sent_with_one_x_correlation_id_keep_their_own_flows(stack: Stack) -> None:
    # The header is for tracing only (issue 16, item 3): the registry makes each application's flow id,
    # the key its fee, payment and any refund are followed by.
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-06")
    await kiosk.open()
    handle = (await kiosk.identify(CHAN)).json()["person"]
    chosen = "same-header-for-both"
    first = (await kiosk.draft(handle, "湾追一", correlation_id=chosen))["application"]["application_id"]
    second = (await kiosk.draft(handle, "湾追二", correlation_id=chosen))["application"]["application_id"]

    flows = [(await registry_view(stack, app_id)).flow_id for app_id in (first, second)]
    assert flows == [first, second]
    assert chosen not in flows


async def test_a_request_id_chosen_by_one_person_never_meets_anothers(stack: Stack) -> None:
    # The idempotency key is the caller's word: it counts within their own drafts only, so nobody can
    # take (squat) a key another person's kiosk will send, nor reach their draft with it.
    chan = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-APP-07")
    lee = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-TST-02")
    await chan.open()
    await lee.open()
    chan_handle = (await chan.identify(CHAN)).json()["person"]
    lee_handle = (await lee.identify(LEE)).json()["person"]
    shared = "request-chosen-by-both"

    lees = (await lee.draft(lee_handle, "湾键一", request_id=shared))["application"]
    chans = (await chan.draft(chan_handle, "湾键二", request_id=shared))["application"]
    assert chans["application_id"] != lees["application_id"]
    again = (await chan.draft(chan_handle, "湾键二", request_id=shared))["application"]
    assert again["application_id"] == chans["application_id"]  # still idempotent for its own person
