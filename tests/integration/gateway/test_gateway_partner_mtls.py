"""Partner cities over real mutual TLS on loopback: who may connect, and what each city may do.

The backend behind the servicer is the in-memory ``MemoryBackend`` (conftest), used ONLY to
exercise the gateway's own certificate, authorisation and audit logic; the lead's end-to-end
tests use the real registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from services.gateway.audit.adapters.keys import Ed25519Signer
from services.gateway.partner.adapters.pki import PkiPaths
from services.gateway.partner.domain.cities import CityGrants
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.integration.gateway.conftest import PartnerGateway, partner_gateway

NANHAI_APP, SHENZHEN_APP = "app-nanhai-1", "app-shenzhen-1"
APPLICANT = "9f2c" * 16


@pytest.fixture
async def gateway(partner_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer) -> AsyncIterator[PartnerGateway]:
    async with partner_gateway(partner_pki, tmp_path, signer) as gw:
        gw.backend.add_application(NANHAI_APP, "440605", APPLICANT)
        gw.backend.add_application(SHENZHEN_APP, "440300", "77aa" * 16)
        yield gw


def _reason(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    raise AssertionError("no ErrorInfo")


async def test_a_city_with_its_certificate_reads_its_own_application_and_is_audited(gateway: PartnerGateway) -> None:
    stub = gateway.city("440605")
    response = await stub.GetApplication(
        api.GetApplicationRequest(application_id=NANHAI_APP), metadata=(("x-correlation-id", "corr-1"),)
    )
    assert response.application.application_id == NANHAI_APP
    [row] = await gateway.audit_rows()
    assert (row["actor"], row["action"], row["result"], row["subject"], row["correlation_id"]) == (
        "city:440605",
        "partner.GetApplication",
        "OK",
        APPLICANT,
        "corr-1",
    )


async def test_listing_without_an_authority_returns_only_the_calling_citys_applications(
    gateway: PartnerGateway,
) -> None:
    response = await gateway.city("440605").ListPendingApplications(api.ListPendingApplicationsRequest())
    assert [a.application_id for a in response.applications] == [NANHAI_APP]


async def test_foshan_acts_on_an_application_of_its_district_nanhai(gateway: PartnerGateway) -> None:
    decided = await gateway.city("440600").DecideApplication(
        api.DecideApplicationRequest(
            request_id="r-1", application_id=NANHAI_APP, decision=pc.DECISION_APPROVE, reviewer_id="FS-0042"
        )
    )
    assert decided.application.status == pc.APPLICATION_STATUS_APPROVED
    assert gateway.backend.decided == [("440600", "440605", NANHAI_APP)]
    [row] = await gateway.audit_rows()
    assert row["actor"] == "city:440600" and '"decision":"DECISION_APPROVE"' in str(row["details"])


async def test_a_shenzhen_certificate_acting_on_a_nanhai_application_is_permission_denied(
    gateway: PartnerGateway,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await gateway.city("440300").DecideApplication(
            api.DecideApplicationRequest(request_id="r-2", application_id=NANHAI_APP, decision=pc.DECISION_REJECT)
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _reason(denied.value) == "AUTHORITY_NOT_SERVED"
    assert gateway.backend.decided == []
    [row] = await gateway.audit_rows()
    assert (row["actor"], row["result"]) == ("city:440300", "AUTHORITY_NOT_SERVED")


async def test_naming_another_citys_authority_in_the_request_does_not_change_who_the_caller_is(
    gateway: PartnerGateway,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await gateway.city("440300").ListPendingApplications(
            api.ListPendingApplicationsRequest(authority_code="440605")
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_method_outside_the_citys_scopes_is_permission_denied(
    partner_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer
) -> None:
    grants = CityGrants.from_config({"440605": ["applications:read"]})
    async with partner_gateway(partner_pki, tmp_path, signer, grants=grants) as gw:
        gw.backend.add_application(NANHAI_APP, "440605", APPLICANT)
        stub = gw.city("440605")
        await stub.GetApplication(api.GetApplicationRequest(application_id=NANHAI_APP))
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.DecideApplication(
                api.DecideApplicationRequest(request_id="r", application_id=NANHAI_APP, decision=pc.DECISION_APPROVE)
            )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _reason(denied.value) == "SCOPE_NOT_GRANTED"


async def test_material_content_needs_the_materials_scope_and_is_audited_by_size(
    partner_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer
) -> None:
    grants = CityGrants.from_config(
        {"440605": ["applications:read"], "440300": ["applications:read", "materials:read"]}
    )
    async with partner_gateway(partner_pki, tmp_path, signer, grants=grants) as gw:
        gw.backend.add_application(NANHAI_APP, "440605", APPLICANT)
        gw.backend.add_application(SHENZHEN_APP, "440300", "77aa" * 16)
        for app_id in (NANHAI_APP, SHENZHEN_APP):
            material = pc.PartnerMaterial(material_id=f"m-{app_id}", size_bytes=7)
            gw.backend.applications[app_id].materials.append(material)
            gw.backend.contents[material.material_id] = b"%PDF-1."
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await gw.city("440605").GetApplication(
                api.GetApplicationRequest(application_id=NANHAI_APP, include_material_content=True)
            )
        read = await gw.city("440300").GetApplication(
            api.GetApplicationRequest(application_id=SHENZHEN_APP, include_material_content=True)
        )
        rows = [r for r in await gw.audit_rows() if r["action"] == "partner.GetApplication"]
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _reason(denied.value) == "SCOPE_NOT_GRANTED"
    assert [m.content for m in read.application.materials] == [b"%PDF-1."]
    assert [r["result"] for r in rows] == ["SCOPE_NOT_GRANTED", "OK"]
    assert '"content_bytes":7' in str(rows[1]["details"]) and '"materials_read":1' in str(rows[1]["details"])


async def test_without_a_client_certificate_the_handshake_fails(gateway: PartnerGateway) -> None:
    anonymous = grpc.ssl_channel_credentials(root_certificates=gateway.pki.ca_cert.read_bytes())
    async with gateway.channel(anonymous) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await api_grpc.PartnerCityServiceStub(channel).ListPendingApplications(
                api.ListPendingApplicationsRequest(), timeout=5
            )
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await gateway.audit_rows() == []  # nothing reached the service


async def test_a_client_certificate_from_another_ca_is_refused(gateway: PartnerGateway, foreign_pki: PkiPaths) -> None:
    impostor = grpc.ssl_channel_credentials(
        root_certificates=gateway.pki.ca_cert.read_bytes(),
        private_key=foreign_pki.city_key("440605").read_bytes(),
        certificate_chain=foreign_pki.city_cert("440605").read_bytes(),
    )
    async with gateway.channel(impostor) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await api_grpc.PartnerCityServiceStub(channel).GetApplication(
                api.GetApplicationRequest(application_id=NANHAI_APP), timeout=5
            )
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await gateway.audit_rows() == []


async def test_the_gateways_server_certificate_cannot_be_used_as_a_client_certificate(
    gateway: PartnerGateway,
) -> None:
    pki = gateway.pki
    server_as_client = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.server_key.read_bytes(),
        certificate_chain=pki.server_cert.read_bytes(),
    )
    async with gateway.channel(server_as_client) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api_grpc.PartnerCityServiceStub(channel).GetApplication(
                api.GetApplicationRequest(application_id=NANHAI_APP), timeout=5
            )
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # serverAuth only: refused in the handshake


async def test_a_client_certificate_of_the_partner_ca_that_names_no_city_is_unauthenticated(
    gateway: PartnerGateway, tmp_path: Path
) -> None:
    key_pem, cert_pem = _client_certificate_without_city(gateway.pki)
    nameless = grpc.ssl_channel_credentials(
        root_certificates=gateway.pki.ca_cert.read_bytes(), private_key=key_pem, certificate_chain=cert_pem
    )
    async with gateway.channel(nameless) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api_grpc.PartnerCityServiceStub(channel).GetApplication(
                api.GetApplicationRequest(application_id=NANHAI_APP), timeout=5
            )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _reason(refused.value) == "NOT_A_CITY_CERTIFICATE"
    [row] = await gateway.audit_rows()
    assert (row["actor"], row["result"]) == ("peer", "NOT_A_CITY_CERTIFICATE")


async def test_a_city_looks_up_a_subject_by_its_own_pseudonym(gateway: PartnerGateway) -> None:
    gateway.backend.subjects[("440605", APPLICANT)] = pc.PartnerSubject(pseudonym=APPLICANT, name="陳大文")
    found = await gateway.city("440605").LookupSubject(api.LookupSubjectRequest(pseudonym=APPLICANT))
    assert found.subject.name == "陳大文"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await gateway.city("440300").LookupSubject(api.LookupSubjectRequest(pseudonym=APPLICANT))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_identity_number_in_place_of_a_pseudonym_is_refused_and_never_logged(gateway: PartnerGateway) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await gateway.city("440605").LookupSubject(api.LookupSubjectRequest(pseudonym="A123456(3)"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    [row] = await gateway.audit_rows()
    assert row["subject"] == "" and "A123456" not in str(row["details"])


async def test_events_stream_to_the_city_and_the_stream_is_audited_with_its_count(gateway: PartnerGateway) -> None:
    gateway.backend.events = [
        pc.PartnerEvent(id=f"e{i}", type="baylink.registry.application.submitted.v1") for i in range(3)
    ]
    stream = gateway.city("440605").StreamEvents(api.StreamEventsRequest())
    received = [r.event.id async for r in stream]
    assert received == ["e0", "e1", "e2"]
    [row] = await gateway.audit_rows()
    assert (row["action"], row["result"]) == ("partner.StreamEvents", "OK") and '"delivered":3' in str(row["details"])


def test_city_credentials_are_read_from_the_pki_directory(partner_pki: PkiPaths) -> None:
    assert isinstance(city_channel_credentials(partner_pki, "440605"), grpc.ChannelCredentials)


def _client_certificate_without_city(pki: PkiPaths) -> tuple[bytes, bytes]:
    """A client-auth certificate signed by the partner CA, with a DNS name instead of a city URI."""
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Baylink partner city 440605")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("city-440605.example")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
