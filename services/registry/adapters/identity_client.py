"""The identity service over gRPC: VerifySignature, reduced to what the registry needs."""

from __future__ import annotations

from datetime import UTC

import grpc

from baylink import errors
from baylink.identity.v1 import identity_service_pb2 as ids_pb
from baylink.identity.v1 import identity_service_pb2_grpc as ids_grpc
from baylink.identity.v1 import validation_pb2 as val
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.errors import from_rpc_error
from baylink.runtime.grpc.tls import InternalTransport
from services.registry.adapters.cms_digest import digest_for
from services.registry.service_layer.ports import SignatureCheck, ValidationData, Verdict


class GrpcIdentity:
    """Implements ``ports.SignatureVerifier`` by calling IdentityService.VerifySignature."""

    def __init__(self, target: str, transport: InternalTransport, timeout_seconds: float = 10.0):
        self.channel = internal_channel(target, transport, "identity")
        self.stub = ids_grpc.IdentityServiceStub(self.channel)
        self.timeout = timeout_seconds

    async def verify(self, cms_signature: bytes, document: bytes) -> SignatureCheck:
        digest, algorithm = digest_for(cms_signature, document)
        request = ids_pb.VerifySignatureRequest(
            cms_signature=cms_signature,
            document_digest=digest,
            digest_algorithm=algorithm,  # type: ignore[arg-type]
            policy=val.ValidationPolicy(key_purpose=val.KEY_PURPOSE_DOCUMENT_SIGNING),
            include_validation_data=True,  # kept beside the stored signature (B-LT)
        )
        try:
            response = await self.stub.VerifySignature(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
            if isinstance(error, errors.InvalidInput):  # not a CMS signature at all
                return SignatureCheck(Verdict.FAILED, "", "FORMAT_FAILURE")
            raise error from None
        return reduce(response)

    async def verify_pdf(self, document: bytes) -> list[SignatureCheck]:
        request = ids_pb.VerifyPdfSignaturesRequest(
            pdf=document, policy=val.ValidationPolicy(key_purpose=val.KEY_PURPOSE_DOCUMENT_SIGNING)
        )
        try:
            response = await self.stub.VerifyPdfSignatures(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
            if isinstance(error, errors.InvalidInput):  # not a PDF, none signed, too large, encrypted
                return [SignatureCheck(Verdict.FAILED, "", error.reason)]
            raise error from None
        return [reduce_pdf(signature) for signature in response.signatures]

    async def close(self) -> None:
        await self.channel.close()


def reduce_pdf(signature: ids_pb.PdfSignatureReport) -> SignatureCheck:
    """One PDF signature: its overall report (the PDF's rules on top of the CMS) decides; the detail
    names the field and the reason (e.g. pdf_modified_after_signing)."""
    check = reduce(signature.cms, signature.report)
    claimed = (
        signature.claimed_signing_time.ToDatetime(tzinfo=UTC) if signature.HasField("claimed_signing_time") else None
    )
    detail = check.detail if check.verdict is Verdict.PASSED else f"{signature.field_name}: {check.detail}"
    if signature.report.reason and check.verdict is not Verdict.PASSED:
        detail += f" {signature.report.reason}"
    return SignatureCheck(check.verdict, check.signer_certificate_sha256, detail, check.claimed_signing_time or claimed)


def reduce(response: ids_pb.VerifySignatureResponse, overall: val.ValidationReport | None = None) -> SignatureCheck:
    report = overall if overall is not None else response.report
    fingerprint = response.signer_certificate_fingerprint or (
        report.chain[0].sha256_fingerprint if len(report.chain) else ""
    )
    claimed = (
        response.claimed_signing_time.ToDatetime(tzinfo=UTC) if response.HasField("claimed_signing_time") else None
    )
    if report.indication == val.INDICATION_TOTAL_PASSED:
        data = response.validation_data
        evidence = ValidationData(tuple(data.certificates), tuple(data.ocsp_responses), tuple(data.crls))
        return SignatureCheck(Verdict.PASSED, fingerprint.lower(), "TOTAL_PASSED", claimed, evidence)
    sub = val.SubIndication.Name(report.sub_indication).removeprefix("SUB_INDICATION_")
    if report.sub_indication == val.SUB_INDICATION_TRY_LATER:
        return SignatureCheck(Verdict.TRY_LATER, fingerprint.lower(), sub, claimed)
    indication = val.Indication.Name(report.indication).removeprefix("INDICATION_")
    return SignatureCheck(Verdict.FAILED, fingerprint.lower(), f"{indication}/{sub}", claimed)
