"""The kiosk API's sessions and identification, against the real gateway wired to the real identity and
registry services (each on port 0, own database, real broker): e-Certs validated by identity with live
CRL/OCSP from the test PKI's responder, people bound by the binding service, every call audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import sqlalchemy as sa

from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.gateway.audit.adapters.store import audit_records
from tests.e2e.kiosk_user import CHAN, CHAN_MO, LEE, KioskUser, chain_pem
from tests.e2e.stack import Stack, build_pki, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_pki(tmp_path_factory.mktemp("kiosk-identify-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    pki: TestPKI, tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("kiosk-identify"), kafka_settings, pki, with_payments=False) as s:
        yield s


async def audit_rows(stack: Stack, action: str) -> list[dict[str, object]]:
    query = sa.select(audit_records).where(audit_records.c.action == action).order_by(audit_records.c.sequence)
    async with stack.gateway.host.db.transaction() as session:
        return [dict(r) for r in (await session.execute(query)).mappings()]


async def test_a_hong_kong_person_with_a_valid_e_cert_gets_a_handle_and_never_a_number(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-TST-01")
    await kiosk.open()
    response = await kiosk.identify(CHAN)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["person"].startswith("p-") and answer["jurisdiction"] == "HK"
    assert answer["signature_algorithm"].startswith("RSA") and answer["digest_algorithm"] == "sha256"
    assert CHAN.hkid not in response.text and CHAN.travel_permit not in response.text
    [*_, identified] = await audit_rows(stack, "kiosk.Identify")
    [*_, bound] = await audit_rows(stack, "identity.bind")
    assert (identified["actor"], identified["result"]) == ("kiosk:HK-TST-01", "OK")
    assert (bound["actor"], bound["result"], bound["subject"]) == ("kiosk:HK-TST-01", "bound", identified["subject"])
    assert identified["correlation_id"] == response.headers["x-correlation-id"]


async def test_a_name_that_differs_from_the_e_cert_is_refused_with_the_reason_in_the_kiosks_language(
    stack: Stack,
) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open(language="zh-Hant")
    response = await kiosk.identify(CHAN, name_zh=LEE.name_zh, name_en=None)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "NAME_MISMATCH"
    assert body["message"] == "姓名與電子證書上的不符。"
    assert [f["field"] for f in body["fields"]] == ["name_zh"]
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    [*_, refused] = await audit_rows(stack, "identity.bind")
    assert refused["result"] == "refused:name_mismatch" and refused["subject"] == ""


async def test_a_date_of_birth_that_differs_from_the_e_cert_is_refused(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open()
    response = await kiosk.identify(CHAN, date_of_birth="1980-03-16")

    assert response.status_code == 400
    assert response.json()["code"] == "DATE_OF_BIRTH_MISMATCH"
    assert [f["field"] for f in response.json()["fields"]] == ["date_of_birth"]


async def test_a_revoked_e_cert_is_refused_because_identity_did_not_pass_it(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open(language="pt")
    response = await kiosk.identify(
        CHAN, certificate_chain_pem=chain_pem(stack.pki, "hk-revoked"), signer="hk-revoked"
    )  # its holder proves possession, but identity does not pass the certificate

    assert response.status_code == 403
    assert response.json()["code"] == "CERTIFICATE_NOT_PASSED"
    assert response.json()["message"] == "O seu certificado digital não passou a validação."


async def test_an_expired_session_is_401_with_a_clear_code_and_unknown_or_missing_ones_too(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-TST-EXP")
    await kiosk.open()
    proof = await kiosk.proof(CHAN.certificate)
    sessions = stack.gateway.parts.sessions
    real_clock = sessions.clock
    sessions.clock = lambda: real_clock() + sessions.ttl + 1
    try:
        expired = await kiosk.identify(CHAN, proof=proof)
    finally:
        sessions.clock = real_clock

    assert expired.status_code == 401 and expired.headers["www-authenticate"] == "Bearer"
    assert expired.json()["code"] == "SESSION_EXPIRED"
    assert expired.json()["message"] == "Your session has expired; please start again."
    [*_, audited] = await audit_rows(stack, "kiosk.Authenticate")  # refused at the edge, before the body is read
    assert (audited["actor"], audited["result"]) == ("kiosk:HK-TST-EXP", "SESSION_EXPIRED")

    unknown = await stack.kiosk.post(
        "/v1/sessions/current/identify", json={**kiosk.identify_body(CHAN), **proof},
        headers={"Authorization": "Bearer not-a-session"},
    )  # fmt: skip
    assert (unknown.status_code, unknown.json()["code"]) == (401, "SESSION_UNKNOWN")
    missing = await stack.kiosk.get("/v1/catalogue")
    assert (missing.status_code, missing.json()["code"]) == (401, "SESSION_REQUIRED")


async def test_malformed_bodies_are_422_with_one_message_per_field(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open()
    body = {**kiosk.identify_body(CHAN, date_of_birth="15/03/1980"), **await kiosk.proof(CHAN.certificate)}
    del body["documents"]["travel_permit"]
    response = await stack.kiosk.post("/v1/sessions/current/identify", json=body, headers=kiosk.auth)

    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_REQUEST"
    assert {f["field"] for f in response.json()["fields"]} == {"documents.travel_permit", "date_of_birth"}
    assert all(f["description"] for f in response.json()["fields"])


async def test_a_bad_document_number_names_the_field_in_the_requested_language(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open(language="en")
    response = await kiosk.identify(
        CHAN, documents={"hkid": "A123456(4)", "travel_permit": CHAN.travel_permit}, lang_query="zh-Hans"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DOCUMENT" and response.json()["message"] == "证件号码无效。"
    assert response.json()["fields"] == [{"field": "documents.hkid", "description": "校验位不符（是否输入错误？）"}]


async def test_the_language_is_lang_then_accept_language_then_the_sessions(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open(language="en")
    url = "/v1/catalogue"
    by_session = await stack.kiosk.get(url, params={"authority": "440605"}, headers=kiosk.auth)
    by_header = await stack.kiosk.get(
        url, params={"authority": "440605"}, headers={**kiosk.auth, "Accept-Language": "zh-HK, en;q=0.5"}
    )
    by_query = await stack.kiosk.get(
        url, params={"authority": "440605", "lang": "zh-Hans"}, headers={**kiosk.auth, "Accept-Language": "zh-HK"}
    )

    titles = [r.json()["items"][0]["authority_name"] for r in (by_session, by_header, by_query)]
    assert titles == [
        "Foshan Nanhai District Administration for Market Regulation",
        "佛山市南海區市場監督管理局",
        "佛山市南海区市场监督管理局",
    ]


async def test_a_kiosk_over_its_rate_is_429_with_retry_after_and_the_operators_are_alerted(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-TST-BURST")
    await kiosk.open()
    responses = await asyncio.gather(
        *(kiosk.http.get("/v1/catalogue", params={"authority": "440300"}, headers=kiosk.auth) for _ in range(60))
    )

    limited = [r for r in responses if r.status_code == 429]
    assert limited and all(r.status_code in (200, 429) for r in responses)
    assert limited[0].json()["code"] == "RATE_LIMIT_EXCEEDED" and int(limited[0].headers["retry-after"]) >= 1
    alerts = [r for r in await audit_rows(stack, "security.alert_raised") if r["actor"] == "kiosk:HK-TST-BURST"]
    assert [a["result"] for a in alerts] == ["rate_limit_exceeded"]


async def test_the_openapi_document_and_the_explorer_are_served(stack: Stack) -> None:
    spec = await stack.kiosk.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {
        "/v1/sessions",
        "/v1/sessions/current/identify/challenge",
        "/v1/sessions/current/identify",
        "/v1/catalogue",
        "/v1/applications/{application_id}/pay",
    } <= set(paths)
    assert (await stack.kiosk.get("/docs")).status_code == 200


# Proof of possession (issue 16, item 2): the e-Cert is public, so holding it and the documents proves
# nothing; the person's key must sign a fresh challenge of this very session.


async def test_a_stranger_with_the_public_e_cert_and_the_documents_but_not_the_key_is_refused(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-TST-POP")
    await kiosk.open()
    binds_before = len(await audit_rows(stack, "identity.bind"))
    # Signed by another key (LEE's) over a genuine challenge, presenting CHAN's certificate.
    forged = await kiosk.identify(CHAN, signer=LEE.certificate)

    assert forged.status_code == 403, forged.text
    assert forged.json()["code"] == "POSSESSION_NOT_PROVEN"
    [*_, audited] = await audit_rows(stack, "kiosk.Identify")
    assert (audited["actor"], audited["result"]) == ("kiosk:HK-TST-POP", "POSSESSION_NOT_PROVEN")
    assert audited["subject"] == ""
    assert len(await audit_rows(stack, "identity.bind")) == binds_before  # nobody was bound
    # Without a signature at all there is no identify: the old route that took the certificate's word is gone.
    unsigned = await kiosk.http.post("/v1/sessions/current/identify", json=kiosk.identify_body(CHAN),
                                     headers=kiosk.auth)  # fmt: skip
    assert unsigned.status_code == 422
    assert {"challenge_id", "signature_base64"} <= {f["field"] for f in unsigned.json()["fields"]}
    old = await kiosk.http.post(
        f"/v1/sessions/{kiosk.token}/identify", json=kiosk.identify_body(CHAN), headers=kiosk.auth
    )
    assert old.status_code in (404, 405)


async def test_a_replayed_answer_is_refused(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open()
    proof = await kiosk.proof(CHAN.certificate)
    first = await kiosk.identify(CHAN, proof=proof)
    assert first.status_code == 200, first.text

    replayed = await kiosk.identify(CHAN, proof=proof)
    assert replayed.status_code == 400
    assert replayed.json()["code"] == "CHALLENGE_INVALID"
    assert [f["field"] for f in replayed.json()["fields"]] == ["challenge_id"]


async def test_an_answer_to_another_sessions_challenge_is_refused_and_stays_that_sessions(stack: Stack) -> None:
    owner, other = KioskUser(stack.kiosk, stack.pki), KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-TST-02")
    await owner.open()
    await other.open()
    proof = await owner.proof(CHAN.certificate)

    stolen = await other.identify(CHAN, proof=proof)
    assert (stolen.status_code, stolen.json()["code"]) == (400, "CHALLENGE_INVALID")
    # The same answer under a challenge id of the other session does not verify either: it signed
    # bytes bound to the owner's session.
    mixed = {**proof, "challenge_id": (await other.challenge())["challenge_id"]}
    assert (await other.identify(CHAN, proof=mixed)).json()["code"] == "POSSESSION_NOT_PROVEN"
    assert (await owner.identify(CHAN, proof=proof)).status_code == 200


async def test_ec_and_ed25519_e_certs_prove_possession_as_webcrypto_signs(stack: Stack) -> None:
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="MO-TST-01")
    await kiosk.open()
    for person in (LEE, CHAN_MO):
        response = await kiosk.identify(person)
        assert response.status_code == 200, (person.certificate, response.text)
