"""Mutual TLS for partner cities: server credentials, and who is calling.

The server asks every client for a certificate and accepts only chains to the partner CA, so a
client without one, or with one from another CA, fails in the handshake and never reaches a
servicer. A servicer then learns the city from the certificate the handshake verified
(``context.auth_context()``), never from the request.
"""

from __future__ import annotations

import grpc
from cryptography import x509
from grpc import aio

from baylink import errors
from baylink.runtime.grpc.server import GrpcServer, Register, start_grpc_server
from baylink.runtime.metrics import ServiceMetrics
from services.gateway.partner.adapters.pki import PkiPaths, city_of_certificate
from services.gateway.partner.adapters.revocation import RevocationList
from services.gateway.partner.service_layer.access import PartnerCaller

PEER_CERTIFICATE = "x509_pem_cert"


def server_credentials(pki: PkiPaths) -> grpc.ServerCredentials:
    """The gateway's server certificate; client certificates required, trusted only from the partner CA."""
    return grpc.ssl_server_credentials(
        [(pki.server_key.read_bytes(), pki.server_cert.read_bytes())],
        root_certificates=pki.ca_cert.read_bytes(),
        require_client_auth=True,
    )


def city_channel_credentials(pki: PkiPaths, city: str) -> grpc.ChannelCredentials:
    """What a city's client presents (used by tests and local tools; a city's own system does the same)."""
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.city_key(city).read_bytes(),
        certificate_chain=pki.city_cert(city).read_bytes(),
    )


class CityCallers:
    """Who is calling: the city of the handshake-verified client certificate, unless it is revoked."""

    def __init__(self, revocations: RevocationList):
        self.revocations = revocations

    def caller_of(self, context: aio.ServicerContext) -> PartnerCaller:
        """The calling city; Unauthenticated without a city certificate, or with a revoked one."""
        certificates = (context.auth_context() or {}).get(PEER_CERTIFICATE) or []
        if not certificates:
            raise errors.Unauthenticated(
                "a partner city's client certificate is required", reason="CLIENT_CERTIFICATE_REQUIRED"
            )
        identity = city_of_certificate(certificates[0])
        try:
            self.revocations.check(x509.load_pem_x509_certificate(certificates[0]), identity.fingerprint)
        except errors.Unauthenticated as exc:
            exc.metadata["city"] = identity.city  # for the audit record and the alert; the caller's own city
            raise
        return PartnerCaller(identity.city, identity.fingerprint)


async def start_partner_server(
    register: Register,
    service_names: list[str],
    pki: PkiPaths,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    metrics: ServiceMetrics | None = None,
) -> GrpcServer:
    """The partner-facing gRPC server (mTLS only; never an insecure port)."""
    return await start_grpc_server(
        register, service_names, host=host, port=port, metrics=metrics, credentials=server_credentials(pki)
    )
