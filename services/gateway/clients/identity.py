"""The identity service over gRPC: ValidateCertificate, reduced to the facts identity binding needs,
and VerifySignature's raw path, for the kiosk's proof of possession at identify.

The holder's name and date of birth are read from the end-entity certificate the identity service
validated: its bytes from the report (``report.chain[0].der``) when identity returns them, else the
bytes sent, but only when their SHA-256 is the fingerprint the report names as the end entity. If
the digests disagree the facts say so (indication ``CHAIN_MISMATCH``) and binding refuses: no name
is ever taken from a certificate nobody validated.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from baylink.identity.v1 import identity_service_pb2 as ids_pb
from baylink.identity.v1 import identity_service_pb2_grpc as ids_grpc
from baylink.identity.v1 import validation_pb2 as val
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from services.gateway.binding.adapters.identity import certificate_facts
from services.gateway.clients.calls import call
from services.gateway.clients.certificate import parse_chain_pem, read_certificate
from services.gateway.kiosk.service_layer.model import ValidatedCertificate
from services.gateway.kiosk.service_layer.possession import RawVerdict

CHAIN_MISMATCH = "CHAIN_MISMATCH"
RAW_ALGORITHMS = {
    "rsa-pkcs1v15": val.SIGNATURE_ALGORITHM_RSA_PKCS1V15,
    "ecdsa-p256": val.SIGNATURE_ALGORITHM_ECDSA_P256,
    "ecdsa-p384": val.SIGNATURE_ALGORITHM_ECDSA_P384,
    "ed25519": val.SIGNATURE_ALGORITHM_ED25519,
}
DIGESTS = {"sha256": val.DIGEST_ALGORITHM_SHA256, "sha384": val.DIGEST_ALGORITHM_SHA384}


class IdentityClient:
    """Implements the kiosk's ``CertificateValidator`` port."""

    def __init__(self, target: str, transport: InternalTransport, timeout_seconds: float = 10.0):
        self.channel = internal_channel(target, transport, "identity")
        self.stub = ids_grpc.IdentityServiceStub(self.channel)
        self.timeout = timeout_seconds

    async def validate(self, chain_pem: str) -> ValidatedCertificate:
        chain = parse_chain_pem(chain_pem)
        request = ids_pb.ValidateCertificateRequest(
            certificate_der=chain.leaf,
            intermediates_der=list(chain.intermediates),
            policy=val.ValidationPolicy(key_purpose=val.KEY_PURPOSE_DOCUMENT_SIGNING),
        )
        response: ids_pb.ValidateCertificateResponse = await call(self.stub.ValidateCertificate, request, self.timeout)
        return validated_facts(response.report, chain.leaf)

    async def verify_raw(
        self, chain_pem: str, signature: bytes, algorithm: str, digest_algorithm: str, document_digest: bytes
    ) -> RawVerdict:
        chain = parse_chain_pem(chain_pem)
        raw = ids_pb.RawSignature(
            signature=signature, algorithm=RAW_ALGORITHMS[algorithm], signer_certificate_der=chain.leaf
        )
        request = ids_pb.VerifySignatureRequest(
            raw_signature=raw,
            document_digest=document_digest,
            digest_algorithm=DIGESTS[digest_algorithm],
            intermediates_der=list(chain.intermediates),
            policy=val.ValidationPolicy(key_purpose=val.KEY_PURPOSE_DOCUMENT_SIGNING),
        )
        response: ids_pb.VerifySignatureResponse = await call(self.stub.VerifySignature, request, self.timeout)
        indication = val.Indication.Name(response.report.indication).removeprefix("INDICATION_")
        return RawVerdict(response.signature_valid, response.signer_certificate_fingerprint, indication)

    async def close(self) -> None:
        await self.channel.close()


def validated_facts(report: val.ValidationReport, sent_leaf: bytes) -> ValidatedCertificate:
    """The binding facts of a report, read from the certificate bytes the report names as validated."""
    if not report.chain:  # no chain was built: the indication says why, and binding refuses on it
        return ValidatedCertificate(certificate_facts(report), read_certificate(sent_leaf).key_kind)
    end_entity = report.chain[0]
    # The report carries the validated bytes, or at least their SHA-256: either way the facts come
    # from bytes whose digest is the one identity reports as the end entity it validated.
    validated = end_entity.der or sent_leaf
    fingerprint = hashlib.sha256(validated).hexdigest()
    details = read_certificate(validated)
    facts = replace(certificate_facts(report, details.date_of_birth), common_name=details.common_name)
    if fingerprint != end_entity.sha256_fingerprint.lower() or fingerprint != hashlib.sha256(sent_leaf).hexdigest():
        facts = replace(facts, indication=CHAIN_MISMATCH)
    return ValidatedCertificate(facts, details.key_kind)
