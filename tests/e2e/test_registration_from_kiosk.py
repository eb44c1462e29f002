"""The headline flow, end to end through the gateway: a Hong Kong company registers in Nanhai (440605)
from the kiosk API and gets an approved USCC, paying the fee in HKD (and a Macau resident pays in MOP).

All four services run for real (each on port 0 with its own database), talking over gRPC; the payment
travels as a committed-transfer event through the real broker to the registry, which marks the fee paid.
The Nanhai authority decides over the partner API with the client certificate `baylink pki issue-city
440605` made; a caller without a certificate, and Shenzhen acting on Nanhai's application, are refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from grpc import aio

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.ids import check_uscc
from baylink.runtime.events import from_kafka
from baylink.runtime.settings import KafkaSettings
from services.gateway.audit.adapters.store import audit_records
from services.gateway.partner.adapters.pki import PkiPaths
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.e2e.kiosk_user import CHAN, CHAN_MO, KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka
BAYLINK = Path(sys.executable).parent / "baylink"


@pytest.fixture
async def stack(tmp_path: Path, kafka_settings: KafkaSettings) -> AsyncIterator[Stack]:
    pki = build_pki(tmp_path / "testpki")
    async with running_stack(tmp_path, kafka_settings, pki, with_payments=True) as s:
        yield s


def issue_city(pki_dir: Path, city: str) -> None:
    """What an operator runs for a partner city."""
    done = subprocess.run(
        [str(BAYLINK), "pki", "issue-city", city, "--dir", str(pki_dir)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def city_stub(
    stack: Stack, credentials: grpc.ChannelCredentials
) -> tuple[aio.Channel, api_grpc.PartnerCityServiceStub]:
    channel = aio.secure_channel(f"127.0.0.1:{stack.gateway.partner_port}", credentials)
    return channel, api_grpc.PartnerCityServiceStub(channel)


async def fee_paid(kiosk: KioskUser, application_id: str, timeout: float = 60) -> dict[str, object]:
    async with asyncio.timeout(timeout):
        while True:
            tracked = await kiosk.track(application_id)
            if tracked["fee_paid"]:
                return tracked
            await asyncio.sleep(0.2)


async def test_a_hong_kong_company_registers_in_nanhai_from_a_kiosk_and_gets_its_uscc(
    stack: Stack, kafka_settings: KafkaSettings
) -> None:
    pki_dir = stack.gateway.settings.pki_dir
    for city in ("440605", "440300"):
        issue_city(pki_dir, city)

    # 1-3. Identify, apply, sign, hand in: at the kiosk, in Traditional Chinese.
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-CWB-07")
    await kiosk.open(language="zh-Hant")
    _, submitted = await kiosk.submitted(CHAN, "湾联")
    application_id = submitted["application_id"]
    assert submitted["state"] == "submitted" and submitted["fee"]["amount"]["amount"] == "300.00"

    # 4. Pay the CNY fee in HKD: a quote in which the authority receives exactly the fee, then the transfer.
    quote = await kiosk.quote(application_id, "HKD")
    assert quote.status_code == 200, quote.text
    assert quote.json()["receive"] == {"currency": "CNY", "amount": "300.00", "minor_units": 30000}
    assert quote.json()["pay"]["currency"] == "HKD" and quote.json()["pay"]["minor_units"] > 30000
    paid = await kiosk.pay(application_id, quote.json()["quote_id"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["state"] == "committed" and paid.json()["reference"] == submitted["fee"]["payment_reference"]
    again = await kiosk.pay(application_id, quote.json()["quote_id"])  # a kiosk retrying: no second payment
    assert again.status_code in (200, 409), again.text
    tracked = await fee_paid(kiosk, application_id)
    assert tracked["state"] == "submitted"

    # 5. Decide, over the partner API with mutual TLS.
    ca = PkiPaths(pki_dir).ca_cert.read_bytes()
    anonymous, anonymous_stub = city_stub(stack, grpc.ssl_channel_credentials(root_certificates=ca))
    shenzhen, shenzhen_stub = city_stub(stack, city_channel_credentials(PkiPaths(pki_dir), "440300"))
    nanhai, nanhai_stub = city_stub(stack, city_channel_credentials(PkiPaths(pki_dir), "440605"))
    approve = api.DecideApplicationRequest(
        request_id="nanhai-decision-1",
        application_id=application_id,
        decision=pc.DECISION_APPROVE,
        reviewer_id="nanhai-officer-7",
    )
    try:
        with pytest.raises(grpc.aio.AioRpcError) as no_certificate:
            await anonymous_stub.DecideApplication(approve, timeout=10)
        assert no_certificate.value.code() == grpc.StatusCode.UNAVAILABLE  # refused in the TLS handshake
        with pytest.raises(grpc.aio.AioRpcError) as other_city:
            await shenzhen_stub.DecideApplication(approve)
        assert other_city.value.code() == grpc.StatusCode.PERMISSION_DENIED

        pending = await nanhai_stub.ListPendingApplications(api.ListPendingApplicationsRequest())
        assert application_id in [a.application_id for a in pending.applications]
        decided = (await nanhai_stub.DecideApplication(approve)).application
        replay = (await nanhai_stub.DecideApplication(approve)).application
    finally:
        for channel in (anonymous, shenzhen, nanhai):
            await channel.close()

    assert decided.status == pc.APPLICATION_STATUS_APPROVED and decided.fee_paid
    assert check_uscc(decided.uscc).valid and decided.uscc.startswith("91440605")
    assert replay.uscc == decided.uscc  # the same decision again changes nothing

    # 6. The kiosk sees the result; the registry's events and the gateway's audit tell the story.
    final = await kiosk.track(application_id)
    assert (final["state"], final["uscc"], final["decision"]["outcome"]) == ("approved", decided.uscc, "approved")
    types = await registry_events(kafka_settings, stack.topics.registry, application_id)
    assert types[-1] == "approved" and {"submitted", "fee_requested", "fee_paid", "review_started"} <= set(types)
    audited = await audit_trail(stack)
    assert ("kiosk:HK-CWB-07", "kiosk.PayFee", "OK") in audited
    assert ("city:440300", "partner.DecideApplication", "AUTHORITY_NOT_SERVED") in audited
    assert ("city:440605", "partner.DecideApplication", "OK") in audited


async def registry_events(kafka: KafkaSettings, topic: str, application_id: str) -> list[str]:
    key = application_id.encode()
    records = await scan_topic(
        kafka,
        topic,
        match=lambda r: r.key == key,
        done=lambda found: any(dict(r.headers)["ce_type"].decode().endswith(".approved.v1") for r in found),
    )
    events = [from_kafka(r.headers, r.value) for r in records]
    return [e.type.removeprefix("baylink.registry.application.").removesuffix(".v1") for e in events]


async def audit_trail(stack: Stack) -> list[tuple[str, str, str]]:
    query = sa.select(audit_records.c.actor, audit_records.c.action, audit_records.c.result)
    async with stack.gateway.host.db.transaction() as session:
        return [tuple(r) for r in await session.execute(query.order_by(audit_records.c.sequence))]  # type: ignore[misc]


async def test_a_macau_resident_signs_with_ed25519_and_pays_the_fee_in_mop(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="MO-SEN-02")
    await kiosk.open(language="pt")
    identified = await kiosk.identify(CHAN_MO)
    assert identified.status_code == 200, identified.text
    assert (identified.json()["jurisdiction"], identified.json()["digest_algorithm"]) == ("MO", "sha512")
    handle = identified.json()["person"]
    application_id = (await kiosk.draft(handle, "澳联", currency="MOP"))["application"]["application_id"]
    content = b"%PDF-1.7 articles of association"
    upload = (await kiosk.attach(application_id, "articles_of_association", content)).json()
    [signer] = upload["to_sign"]["signers"]
    assert (signer["signature_algorithm"], signer["digest_algorithm"]) == ("Ed25519", "sha512")
    assert base64.b64decode(signer["digest_base64"]) == hashlib.sha512(content).digest()
    assert (await kiosk.prepare(application_id))["materials_verified"]
    submitted = await kiosk.submit(application_id)

    quote = await kiosk.quote(application_id, "MOP")
    assert quote.status_code == 200, quote.text
    assert quote.json()["pay"]["currency"] == "MOP" and quote.json()["receive"]["amount"] == "300.00"
    paid = await kiosk.pay(application_id, quote.json()["quote_id"])
    assert paid.status_code == 200 and paid.json()["reference"] == submitted["fee"]["payment_reference"]
    assert (await fee_paid(kiosk, application_id))["fee_paid"]
