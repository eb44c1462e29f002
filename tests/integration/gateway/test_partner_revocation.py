"""Revoked partner-city certificates are refused, over real mutual TLS with the real partner PKI code.

Each test has a PKI of its own (revoking changes it), made and revoked with the functions behind
``baylink pki``; the gateway's check reads the CRL file on every call, as in production.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from services.gateway.audit.adapters.keys import Ed25519Signer
from services.gateway.partner.adapters.pki import PkiPaths, init_pki, issue_city, revoke_city
from services.gateway.partner.adapters.revocation import crl_number, load_crl, write_crl
from tests.integration.gateway.conftest import PartnerGateway, partner_gateway
from tests.integration.gateway.test_gateway_partner_mtls import _reason

NANHAI_APP = "app-nanhai-1"


@dataclass(frozen=True)
class Credentials:
    key: bytes
    certificate: bytes

    @classmethod
    def of(cls, pki: PkiPaths, city: str) -> Credentials:
        return cls(pki.city_key(city).read_bytes(), pki.city_cert(city).read_bytes())

    def stub(self, gateway: PartnerGateway) -> api_grpc.PartnerCityServiceStub:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=gateway.pki.ca_cert.read_bytes(),
            private_key=self.key,
            certificate_chain=self.certificate,
        )
        return api_grpc.PartnerCityServiceStub(gateway.channel(credentials))


@pytest.fixture
def own_pki(tmp_path: Path) -> PkiPaths:
    paths = init_pki(tmp_path / "pki")
    issue_city(paths.root, "440605")
    return paths


@pytest.fixture
async def gateway(own_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer) -> AsyncIterator[PartnerGateway]:
    async with partner_gateway(own_pki, tmp_path, signer) as gw:
        gw.backend.add_application(NANHAI_APP, "440605", "9f2c" * 16)
        yield gw


async def _get(stub: api_grpc.PartnerCityServiceStub) -> api.GetApplicationResponse:
    return await stub.GetApplication(api.GetApplicationRequest(application_id=NANHAI_APP), timeout=5)


async def _refused(stub: api_grpc.PartnerCityServiceStub) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _get(stub)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return _reason(refused.value)


async def test_a_revoked_city_certificate_is_refused_audited_and_alerted_once(gateway: PartnerGateway) -> None:
    nanhai = Credentials.of(gateway.pki, "440605")
    assert (await _get(nanhai.stub(gateway))).application.application_id == NANHAI_APP
    serial = revoke_city(gateway.pki.root, nanhai.certificate, x509.ReasonFlags.key_compromise)
    assert await _refused(nanhai.stub(gateway)) == "CERTIFICATE_REVOKED"
    assert await _refused(nanhai.stub(gateway)) == "CERTIFICATE_REVOKED"
    rows = await gateway.audit_rows()
    assert [(r["actor"], r["action"], r["result"]) for r in rows] == [
        ("city:440605", "partner.GetApplication", "OK"),
        ("peer", "security.alert_raised", "revoked_certificate_presented"),  # once, however often it knocks
        ("peer", "partner.GetApplication", "CERTIFICATE_REVOKED"),
        ("peer", "partner.GetApplication", "CERTIFICATE_REVOKED"),
    ]
    assert f'"serial":"{serial:x}"' in str(rows[2]["details"]) and '"city":"440605"' in str(rows[2]["details"])


async def test_reissuing_a_city_certificate_revokes_the_one_it_replaces(gateway: PartnerGateway) -> None:
    superseded = Credentials.of(gateway.pki, "440605")
    issue_city(gateway.pki.root, "440605")
    assert await _refused(superseded.stub(gateway)) == "CERTIFICATE_REVOKED"
    assert (await _get(Credentials.of(gateway.pki, "440605").stub(gateway))).application.application_id == NANHAI_APP
    [entry] = list(load_crl(gateway.pki.crl, x509.load_pem_x509_certificate(gateway.pki.ca_cert.read_bytes())))
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.superseded


async def test_an_older_crl_put_back_does_not_unrevoke(gateway: PartnerGateway, tmp_path: Path) -> None:
    nanhai = Credentials.of(gateway.pki, "440605")
    await _get(nanhai.stub(gateway))  # the gateway has read the list as it was
    shutil.copy(gateway.pki.crl, tmp_path / "old-crl.pem")
    revoke_city(gateway.pki.root, nanhai.certificate)
    assert await _refused(nanhai.stub(gateway)) == "CERTIFICATE_REVOKED"
    shutil.copy(tmp_path / "old-crl.pem", gateway.pki.crl)  # genuinely signed, but older
    assert await _refused(nanhai.stub(gateway)) == "CERTIFICATE_REVOKED"


async def test_without_a_valid_crl_every_partner_call_is_refused(
    gateway: PartnerGateway, foreign_pki: PkiPaths, tmp_path: Path
) -> None:
    nanhai = Credentials.of(gateway.pki, "440605")
    gateway.pki.crl.unlink()
    assert await _refused(nanhai.stub(gateway)) == "REVOCATION_STATUS_UNKNOWN"
    # A list signed by another CA (here an empty one) cannot stand in for the partner CA's.
    forged = tmp_path / "forged-crl.pem"
    write_crl(forged, foreign_pki.ca_cert, foreign_pki.ca_key)
    shutil.copy(forged, gateway.pki.crl)
    assert await _refused(nanhai.stub(gateway)) == "REVOCATION_STATUS_UNKNOWN"
    # A list past its next update says nothing about what was revoked since.
    gateway.pki.crl.unlink()
    issued = datetime.now(UTC) - timedelta(days=31)
    write_crl(gateway.pki.crl, gateway.pki.ca_cert, gateway.pki.ca_key, days=30, now=issued)
    assert await _refused(nanhai.stub(gateway)) == "REVOCATION_STATUS_UNKNOWN"


def test_pki_init_keeps_the_revocations_when_it_renews_the_crl(own_pki: PkiPaths) -> None:
    revoke_city(own_pki.root, own_pki.city_cert("440605").read_bytes())
    ca = x509.load_pem_x509_certificate(own_pki.ca_cert.read_bytes())
    before = load_crl(own_pki.crl, ca)
    old = datetime.now(UTC) - timedelta(days=20)
    write_crl(own_pki.crl, own_pki.ca_cert, own_pki.ca_key, now=old)  # past half its 30 days: renewed at init
    init_pki(own_pki.root)
    after = load_crl(own_pki.crl, ca)
    assert crl_number(after) == crl_number(before) + 2
    assert [e.serial_number for e in after] == [e.serial_number for e in before]


async def test_a_certificate_revoked_mid_stream_gets_no_further_event(gateway: PartnerGateway) -> None:
    released = asyncio.Event()
    submitted = "baylink.registry.application.submitted.v1"

    async def stream(*_: object) -> AsyncIterator[pc.PartnerEvent]:
        yield pc.PartnerEvent(id="e1", type=submitted)
        await released.wait()  # the second event comes only after the revocation
        yield pc.PartnerEvent(id="e2", type=submitted)

    gateway.backend.stream_events = stream  # type: ignore[method-assign]
    nanhai = Credentials.of(gateway.pki, "440605")
    call = nanhai.stub(gateway).StreamEvents(api.StreamEventsRequest())
    first = await call.read()
    assert first.event.id == "e1"
    revoke_city(gateway.pki.root, nanhai.certificate)
    released.set()
    with pytest.raises(grpc.aio.AioRpcError) as cut:
        await call.read()
    assert cut.value.code() == grpc.StatusCode.UNAUTHENTICATED and _reason(cut.value) == "CERTIFICATE_REVOKED"
    [row] = [r for r in await gateway.audit_rows() if r["action"] == "partner.StreamEvents"]
    assert row["result"] == "CERTIFICATE_REVOKED" and '"delivered":1' in str(row["details"])
