"""The test PKI's CRL and OCSP responder speaks the real protocols over real HTTP."""

import aiohttp
from asn1crypto import crl, ocsp

from devtools.testpki.loader import TestPKI
from devtools.testpki.responder import Behaviour, RevocationResponder
from services.identity.adapters import signatures
from services.identity.adapters.fetchers import build_ocsp_request


async def post_ocsp(responder: RevocationResponder, ca: str, body: bytes) -> ocsp.OCSPResponse:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{responder.base_url}/ocsp/{ca}", data=body, headers={"Content-Type": "application/ocsp-request"}
        ) as response,
    ):
        assert response.status == 200 and response.content_type == "application/ocsp-response"
        return ocsp.OCSPResponse.load(await response.read())


def request_for(pki: TestPKI, leaf: str) -> bytes:
    issuer = pki.entity(leaf)["issuer"]
    return build_ocsp_request(pki.certificate(leaf), pki.certificate(issuer).public_key.sha1).dump()


async def test_crl_is_signed_by_its_ca_and_lists_the_revoked_leaf(responder, live_pki) -> None:
    for ca, revoked in (("hk-ca", "hk-revoked"), ("gd-ca", "gd-revoked")):  # RSA-PSS and SM2 signers
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{responder.base_url}/crl/{ca}.crl") as resp,
        ):
            certificate_list = crl.CertificateList.load(await resp.read())
        issuer = live_pki.certificate(ca)
        assert certificate_list.issuer == issuer.subject
        assert signatures.verify(
            certificate_list["signature"].native,
            certificate_list["tbs_cert_list"].dump(),
            issuer.public_key,
            certificate_list["signature_algorithm"],
        )
        serials = {
            entry["user_certificate"].native for entry in certificate_list["tbs_cert_list"]["revoked_certificates"]
        }
        assert serials == {live_pki.certificate(revoked).serial_number}


async def test_ocsp_answers_good_revoked_and_unknown(responder, live_pki) -> None:
    good = await post_ocsp(responder, "gd-ca", request_for(live_pki, "gd-personal"))
    revoked = await post_ocsp(responder, "gd-ca", request_for(live_pki, "gd-revoked"))
    assert good.response_data["responses"][0]["cert_status"].name == "good"
    status = revoked.response_data["responses"][0]["cert_status"]
    assert status.name == "revoked" and status.chosen["revocation_reason"].native == "key_compromise"
    unknown_request = ocsp.OCSPRequest.load(request_for(live_pki, "gd-personal"))
    unknown_request["tbs_request"]["request_list"][0]["req_cert"]["serial_number"] = 4242
    unknown = await post_ocsp(responder, "gd-ca", unknown_request.dump(force=True))
    assert unknown.response_data["responses"][0]["cert_status"].name == "unknown"


async def test_hk_ca_answers_through_its_delegated_responder(responder, live_pki) -> None:
    answer = await post_ocsp(responder, "hk-ca", request_for(live_pki, "hk-personal-ec"))
    basic = answer.basic_ocsp_response
    delegate = live_pki.certificate("hk-ocsp")
    assert [c.dump() for c in basic["certs"]] == [delegate.dump()]
    assert signatures.verify(
        basic["signature"].native,
        basic["tbs_response_data"].dump(),
        delegate.public_key,
        basic["signature_algorithm"],
    )


async def test_ocsp_refuses_certificates_of_another_ca_and_garbage(responder, live_pki) -> None:
    assert (await post_ocsp(responder, "mo-ca", request_for(live_pki, "gd-personal")))[
        "response_status"
    ].native == "unauthorized"
    assert (await post_ocsp(responder, "mo-ca", b"junk"))["response_status"].native == "malformed_request"


async def test_a_responder_steered_to_fail_answers_try_later_503_and_404(responder, live_pki) -> None:
    responder.behaviour = Behaviour.OCSP_TRY_LATER
    assert (await post_ocsp(responder, "mo-ca", request_for(live_pki, "mo-personal")))[
        "response_status"
    ].native == "try_later"
    responder.behaviour = Behaviour.HTTP_ERROR
    async with aiohttp.ClientSession() as session, session.get(f"{responder.base_url}/crl/mo-ca.crl") as resp:
        assert resp.status == 503
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{responder.base_url}/crl/nobody.crl") as resp,
    ):
        assert resp.status == 404


async def test_going_down_refuses_connections_until_it_comes_back(responder) -> None:
    await responder.go_down()
    async with aiohttp.ClientSession() as session:
        try:
            await session.get(f"{responder.base_url}/crl/mo-ca.crl")
            raise AssertionError("the responder should be down")
        except aiohttp.ClientConnectorError:
            pass
        await responder.come_back()
        async with session.get(f"{responder.base_url}/crl/mo-ca.crl") as resp:
            assert resp.status == 200
