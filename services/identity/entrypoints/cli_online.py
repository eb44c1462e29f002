"""Online mode of `baylink identity`: ask the running identity service over gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from baylink import errors
from baylink.identity.v1 import identity_service_pb2, identity_service_pb2_grpc, validation_pb2
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.errors import from_rpc_error
from baylink.runtime.grpc.tls import operator_transport
from services.identity.domain.policy import KeyPurpose
from services.identity.entrypoints.cli_inputs import InputError

DEFAULT_TARGET = "127.0.0.1:50051"
TIMEOUT_SECONDS = 30.0
_DIGESTS: dict[str, validation_pb2.DigestAlgorithm.ValueType] = {
    "sha256": validation_pb2.DIGEST_ALGORITHM_SHA256,
    "sha384": validation_pb2.DIGEST_ALGORITHM_SHA384,
    "sha512": validation_pb2.DIGEST_ALGORITHM_SHA512,
    "sm3": validation_pb2.DIGEST_ALGORITHM_SM3,
}


class ServiceError(Exception):
    """The service could not be asked or refused the request; the message is one line."""


def default_target() -> str:
    """host:port from the identity service's settings (env BAYLINK_IDENTITY_*), if it has any."""
    try:
        from services.identity.config import IdentitySettings
    except ImportError:
        return DEFAULT_TARGET
    try:
        settings = IdentitySettings()
    except ValueError as exc:  # pydantic's ValidationError: a bad BAYLINK_IDENTITY_* variable
        raise InputError(f"identity service settings: {exc}".splitlines()[0]) from exc
    if not settings.grpc_port:
        return DEFAULT_TARGET
    return f"{settings.grpc_host}:{settings.grpc_port}"


_PURPOSES = {
    KeyPurpose.DOCUMENT_SIGNING: validation_pb2.KEY_PURPOSE_DOCUMENT_SIGNING,
    KeyPurpose.CLIENT_AUTH: validation_pb2.KEY_PURPOSE_CLIENT_AUTH,
    KeyPurpose.TIME_STAMPING: validation_pb2.KEY_PURPOSE_TIME_STAMPING,
}


def _policy(
    requested: frozenset[str] | None, purpose: KeyPurpose = KeyPurpose.DOCUMENT_SIGNING
) -> validation_pb2.ValidationPolicy:
    return validation_pb2.ValidationPolicy(
        acceptable_policy_oids=sorted(requested or ()), key_purpose=_PURPOSES[purpose]
    )


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _describe(target: str, error: errors.BaylinkError) -> str:
    if isinstance(error, errors.Unavailable) and error.reason == "DEADLINE_EXCEEDED":
        return f"identity service at {target} did not answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(error, errors.Unavailable):
        return (
            f"identity service not reachable at {target} "
            f"(start it with `make up`, or use --anchor/--trust-list to work offline); gRPC: {error.message}"
        )
    if isinstance(error, errors.InvalidInput):
        fields = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
        return f"identity service at {target} refused the request: {fields or error.message}"
    if isinstance(error, errors.FailedPrecondition):
        return f"identity service at {target} cannot answer now: {error.message}"
    return f"identity service at {target} failed: {error.reason}: {error.message}"


async def _call(target: str, method: str, request: Any) -> Any:
    try:
        transport = operator_transport()
    except errors.BaylinkError as exc:
        raise ServiceError(exc.message) from exc
    async with internal_channel(target, transport, "identity") as channel:
        stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
        try:
            return await getattr(stub, method)(request, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            raise ServiceError(_describe(target, from_rpc_error(exc))) from exc


def validate(
    target: str,
    leaf: bytes,
    chain: Sequence[bytes],
    at: datetime | None,
    requested: frozenset[str] | None,
    purpose: KeyPurpose = KeyPurpose.DOCUMENT_SIGNING,
) -> Any:
    request = identity_service_pb2.ValidateCertificateRequest(
        certificate_der=leaf, intermediates_der=list(chain), policy=_policy(requested, purpose)
    )
    if at is not None:
        request.validation_time.CopyFrom(_timestamp(at))
    return asyncio.run(_call(target, "ValidateCertificate", request)).report


def document_digest(signature: bytes, document: bytes) -> tuple[bytes, validation_pb2.DigestAlgorithm.ValueType]:
    """The document's digest under the digest algorithm the CMS SignerInfo names."""
    from services.identity.adapters import der
    from services.identity.adapters.cms_signer import digest, digest_name

    signed_data, _ = der.load_signed_data(signature, "signature")
    infos = signed_data["signer_infos"]
    name = digest_name(infos[0]["digest_algorithm"]) if len(infos) else None
    if name is None:
        raise InputError("the signature names no supported digest algorithm (sha256/384/512, sm3)")
    return digest(name, document), _DIGESTS[name]


def verify(
    target: str, document: bytes, signature: bytes, chain: Sequence[bytes], requested: frozenset[str] | None
) -> Any:
    digest_value, algorithm = document_digest(signature, document)
    request = identity_service_pb2.VerifySignatureRequest(
        cms_signature=signature,
        document_digest=digest_value,
        digest_algorithm=algorithm,
        intermediates_der=list(chain),
        policy=_policy(requested),
    )
    return asyncio.run(_call(target, "VerifySignature", request))


def verify_pdf(target: str, pdf: bytes, chain: Sequence[bytes], requested: frozenset[str] | None) -> Any:
    request = identity_service_pb2.VerifyPdfSignaturesRequest(
        pdf=pdf, intermediates_der=list(chain), policy=_policy(requested)
    )
    return asyncio.run(_call(target, "VerifyPdfSignatures", request))
