"""The kiosk door against a stranger with network access: real TLS on the gateway's kiosk port, device
certificates issued by the real ``issue-kiosk`` code into temporary directories, the real gateway
(with identity and registry behind it) and its database.

Shown here: no certificate, or one from another CA, or a partner city's, fails in the handshake; a
kiosk is the one its certificate names, whatever the body says; a session belongs to its kiosk and
ends after its absolute lifetime however busy; bodies over the limit get 413 before anything reads
them, and a call without a session is refused before its body is parsed; every answer says
``no-store`` and ``nosniff``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, client_context, issue_kiosk, revoke_kiosk
from services.gateway.partner.adapters.pki import PkiPaths, init_pki, issue_city
from tests.e2e.kiosk_user import KioskUser
from tests.e2e.stack import Stack, build_pki, kiosk_client, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]
LIFETIME = 1200.0  # seconds; the idle timeout stays the default 900
HANDSHAKE_REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_pki(tmp_path_factory.mktemp("kiosk-door-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    pki: TestPKI, tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("kiosk-door"), kafka_settings, pki, with_payments=False,
                             kiosk_session_max_lifetime_seconds=LIFETIME) as s:  # fmt: skip
        yield s


@pytest.fixture
def clock(stack: Stack) -> Iterator[list[float]]:
    """Moves the sessions' wall clock: append an offset in seconds."""
    sessions = stack.gateway.parts.sessions
    real = sessions.clock
    offset = [0.0]
    sessions.clock = lambda: real() + offset[-1]
    try:
        yield offset
    finally:
        sessions.clock = real


def door_ca(stack: Stack) -> KioskPkiPaths:
    return stack.gateway.kiosk_pki


async def test_a_client_without_a_certificate_is_refused_in_the_handshake(stack: Stack) -> None:
    context = ssl.create_default_context(cafile=door_ca(stack).ca.ca_cert)  # trusts the door, presents nothing
    async with httpx.AsyncClient(base_url=stack.gateway.kiosk_url, verify=context) as stranger:
        with pytest.raises(HANDSHAKE_REFUSED):
            await stranger.post("/v1/sessions", json={"kiosk_id": "HK-TST-01"})


async def test_a_plain_http_client_gets_nothing(stack: Stack) -> None:
    plain = stack.gateway.kiosk_url.replace("https://", "http://")
    async with httpx.AsyncClient(base_url=plain) as stranger:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            await stranger.post("/v1/sessions", json={"kiosk_id": "HK-TST-01"})


async def test_a_kiosk_certificate_from_another_ca_is_refused_in_the_handshake(stack: Stack, tmp_path: Path) -> None:
    foreign = issue_kiosk(tmp_path / "foreign", "HK-TST-01")  # same kiosk id, same layout, another CA
    context = ssl.create_default_context(cafile=door_ca(stack).ca.ca_cert)
    context.load_cert_chain(foreign.device_cert("HK-TST-01"), foreign.device_key("HK-TST-01"))
    async with httpx.AsyncClient(base_url=stack.gateway.kiosk_url, verify=context) as impostor:
        with pytest.raises(HANDSHAKE_REFUSED):
            await impostor.post("/v1/sessions", json={})


async def test_a_partner_citys_certificate_does_not_open_the_kiosk_door(stack: Stack, tmp_path: Path) -> None:
    city = PkiPaths(init_pki(tmp_path / "partner").root)
    issue_city(city.root, "440605")
    context = ssl.create_default_context(cafile=door_ca(stack).ca.ca_cert)
    context.load_cert_chain(city.city_cert("440605"), city.city_key("440605"))
    async with httpx.AsyncClient(base_url=stack.gateway.kiosk_url, verify=context) as city_client:
        with pytest.raises(HANDSHAKE_REFUSED):
            await city_client.post("/v1/sessions", json={})


async def test_the_kiosk_is_the_one_its_certificate_names_whatever_the_body_says(stack: Stack) -> None:
    victim = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-VICTIM-01")
    async with kiosk_client(stack.gateway, "HK-ATTACKER-01") as attacker:
        answers = []
        for _ in range(200):  # the burst (30) and whatever refills meanwhile (5/s)
            answer = await attacker.post("/v1/sessions", json={"kiosk_id": "HK-VICTIM-01"})
            answers.append(answer)
            if answer.status_code != 201:
                break
    assert answers[0].json()["kiosk_id"] == "HK-ATTACKER-01"  # the body's kiosk_id is not believed
    refused = answers[-1]  # the attacker spent its own kiosk's allowance ...
    assert (refused.status_code, refused.json()["code"]) == (429, "RATE_LIMIT_EXCEEDED"), refused.text
    opened = await victim.open()  # ... and none of the victim's
    assert opened["kiosk_id"] == "HK-VICTIM-01"


async def test_a_session_opened_by_one_kiosk_is_refused_to_another(stack: Stack) -> None:
    owner = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-OWNER-01")
    opened = await owner.open()
    assert opened["kiosk_id"] == "HK-OWNER-01"
    async with kiosk_client(stack.gateway, "HK-THIEF-01") as thief:
        stolen = await thief.get("/v1/catalogue", headers=owner.auth)
        identify = await thief.post("/v1/sessions/current/identify", json={}, headers=owner.auth)
        ended = await thief.delete("/v1/sessions/current", headers=owner.auth)
    for refused in (stolen, identify, ended):
        assert (refused.status_code, refused.json()["code"]) == (403, "SESSION_OF_ANOTHER_KIOSK"), refused.text
    assert (await owner.http.get("/v1/catalogue", headers=owner.auth)).status_code == 200  # still the owner's


async def test_a_busy_session_ends_after_its_absolute_lifetime(stack: Stack, clock: list[float]) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-BUSY-01")
    await kiosk.open()
    clock.append(800.0)  # within the idle timeout of the last call, within the lifetime
    assert (await kiosk.http.get("/v1/catalogue", headers=kiosk.auth)).status_code == 200
    clock.append(LIFETIME + 100.0)  # only 500 s idle, but opened longer ago than its lifetime
    late = await kiosk.http.get("/v1/catalogue", headers=kiosk.auth)
    assert (late.status_code, late.json()["code"]) == (401, "SESSION_EXPIRED"), late.text


async def test_a_16_mib_body_without_a_session_gets_413(stack: Stack) -> None:
    body = b'{"content_base64": "' + b"A" * (16 * 1024 * 1024) + b'"}'
    response = await stack.kiosk.post("/v1/applications", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE")


async def test_a_chunked_body_is_counted_and_refused_once_past_the_limit(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-CHUNKS-01")
    await kiosk.open()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: only counting can stop it
        nonlocal sent
        yield b'{"material_type": "x", "filename": "x.pdf", "content_base64": "'
        for _ in range(64):
            sent += 256 * 1024
            yield b"A" * (256 * 1024)
        yield b'"}'

    limit = stack.gateway.settings.kiosk_max_body_bytes
    response = await kiosk.http.post("/v1/applications/any/materials", content=chunks(),
                                      headers={**kiosk.auth, "Content-Type": "application/json"})  # fmt: skip
    assert sent > limit
    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE"), response.text


async def test_a_call_without_a_session_is_refused_before_its_body_is_parsed(stack: Stack) -> None:
    json_type = {"Content-Type": "application/json"}
    garbage = await stack.kiosk.post("/v1/applications", content=b"{not json", headers=json_type)
    assert (garbage.status_code, garbage.json()["code"]) == (401, "SESSION_REQUIRED"), garbage.text
    unknown = await stack.kiosk.post("/v1/applications", content=b"{not json",
                                     headers={"Authorization": "Bearer not-a-session"})  # fmt: skip
    assert (unknown.status_code, unknown.json()["code"]) == (401, "SESSION_UNKNOWN"), unknown.text


async def test_every_answer_says_no_store_and_nosniff(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-HEADERS-01")
    await kiosk.open()
    answers = [
        await kiosk.http.get("/v1/catalogue", headers=kiosk.auth),  # 200
        await kiosk.http.get("/v1/catalogue"),  # 401 at the edge
        await kiosk.http.get("/v1/applications/nope", headers=kiosk.auth),  # 404 from a route
        await kiosk.http.post("/v1/applications", json={}, headers=kiosk.auth),  # 422 from validation
        await kiosk.http.get("/openapi.json"),
    ]
    for response in answers:
        assert response.headers.get("cache-control") == "no-store", (response.status_code, response.headers)
        assert response.headers.get("x-content-type-options") == "nosniff", (response.status_code, response.headers)


async def test_the_device_client_context_verifies_the_door(stack: Stack) -> None:
    """The kiosk side of the handshake: the door's certificate is checked against the kiosk CA."""
    paths = door_ca(stack)
    issue_kiosk(stack.gateway.settings.pki_dir, "HK-VERIFY-01")
    context = client_context(paths, "HK-VERIFY-01")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


async def test_through_the_kiosk_agent_the_web_app_and_its_api_work_as_before(stack: Stack) -> None:
    """The device software: a browser at the kiosk talks plain HTTP to its loopback, the agent talks
    mutual TLS to the door with the kiosk's key; the kiosk is still the certificate's."""
    url = await stack.kiosk.agent("HK-AGENT-01")
    async with httpx.AsyncClient(base_url=url) as browser:
        page = await browser.get("/kiosk/")
        opened = await browser.post("/v1/sessions", json={"kiosk_id": "SOMEONE-ELSE", "language": "en"})
        token = opened.json()["session_token"]
        catalogue = await browser.get("/v1/catalogue", params={"authority": "440605"},
                                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        anonymous = await browser.get("/v1/catalogue")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (opened.status_code, opened.json()["kiosk_id"]) == (201, "HK-AGENT-01")
    assert catalogue.status_code == 200 and catalogue.json()["items"]
    assert catalogue.headers["cache-control"] == "no-store"
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "SESSION_REQUIRED")


async def test_a_revoked_device_certificate_is_refused_from_the_next_request(stack: Stack) -> None:
    pki_dir = stack.gateway.settings.pki_dir
    issue_kiosk(pki_dir, "HK-STOLEN-01")
    async with kiosk_client(stack.gateway, "HK-STOLEN-01") as stolen:  # holds the old key and certificate
        assert (await stolen.post("/v1/sessions", json={})).status_code == 201
        issue_kiosk(pki_dir, "HK-STOLEN-01")  # re-issued to the kiosk: the old certificate is revoked
        refused = await stolen.post("/v1/sessions", json={})
        assert (refused.status_code, refused.json()["code"]) == (401, "KIOSK_CERTIFICATE_REVOKED"), refused.text
    async with kiosk_client(stack.gateway, "HK-STOLEN-01") as reissued:
        assert (await reissued.post("/v1/sessions", json={})).status_code == 201
        revoke_kiosk(pki_dir, "HK-STOLEN-01")  # lost for good
        gone = await reissued.post("/v1/sessions", json={})
        assert (gone.status_code, gone.json()["code"]) == (401, "KIOSK_CERTIFICATE_REVOKED")
