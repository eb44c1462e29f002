"""IdentityService over gRPC: translate the request, call the use case, translate the answer back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from grpc import aio

from baylink.errors import BaylinkError
from baylink.identity.v1 import identity_service_pb2 as api
from baylink.identity.v1 import identity_service_pb2_grpc as api_grpc
from baylink.runtime.context import current_correlation_id
from baylink.runtime.grpc.items import fill_item_status
from services.identity.adapters import pdf_mapping
from services.identity.adapters import proto_mapping as m
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import SignatureReport
from services.identity.service_layer.application import IdentityApplication
from services.identity.service_layer.validate_certificate import ValidateCertificate
from services.identity.service_layer.verify_pdf import VerifyPdfSignatures
from services.identity.service_layer.verify_signature import VerifyCmsSignature, VerifyRawSignature

log = logging.getLogger("baylink.identity")
MAX_PAGE_SIZE = 200
MAX_BATCH_ITEMS = 100  # VerifySignatures: a batch is answered in one go, so it is bounded
DEFAULT_SM2_ID = b"1234567812345678"  # GB/T 35276


class IdentityServicer(api_grpc.IdentityServiceServicer):
    def __init__(self, app: IdentityApplication, deadline_seconds: float):
        self.app = app
        self.deadline_seconds = deadline_seconds

    async def ValidateCertificate(
        self, request: api.ValidateCertificateRequest, context: aio.ServicerContext
    ) -> api.ValidateCertificateResponse:
        command = ValidateCertificate(
            certificate=request.certificate_der,
            intermediates=tuple(request.intermediates_der),
            validation_time=m.moment(request.validation_time, request.HasField("validation_time"), "validation_time"),
            policy=m.policy(request.policy, self.deadline_seconds),
        )
        return api.ValidateCertificateResponse(report=m.report(await self.app.validate_certificate(command)))

    async def VerifySignature(
        self, request: api.VerifySignatureRequest, context: aio.ServicerContext
    ) -> api.VerifySignatureResponse:
        report = await self.app.verify_signature(self._verify_command(request))
        return m.signature_response(report, request.include_validation_data)

    async def VerifySignatures(
        self, request: api.VerifySignaturesRequest, context: aio.ServicerContext
    ) -> api.VerifySignaturesResponse:
        count = len(request.requests)
        if not 0 < count <= MAX_BATCH_ITEMS:
            raise InvalidInput("requests", "out_of_range", f"between 1 and {MAX_BATCH_ITEMS} items, not {count}")
        outcomes: list[SignatureReport | Exception | None] = [None] * count
        commands, positions = [], []
        for index, item in enumerate(request.requests):
            try:
                commands.append(self._verify_command(item))
                positions.append(index)
            except BaylinkError as exc:
                outcomes[index] = exc
        for index, outcome in zip(positions, await self.app.verify_signatures(commands), strict=True):
            outcomes[index] = outcome
        response = api.VerifySignaturesResponse()
        for item, outcome in zip(request.requests, outcomes, strict=True):
            result = response.results.add()
            if isinstance(outcome, SignatureReport):
                m.fill_signature_response(result.response, outcome, item.include_validation_data)
            else:
                assert outcome is not None
                fill_item_status(result.error, outcome, current_correlation_id())
        return response

    async def VerifyPdfSignatures(
        self, request: api.VerifyPdfSignaturesRequest, context: aio.ServicerContext
    ) -> api.VerifyPdfSignaturesResponse:
        command = VerifyPdfSignatures(
            pdf=request.pdf,
            intermediates=tuple(request.intermediates_der),
            policy=m.policy(request.policy, self.deadline_seconds),
        )
        return pdf_mapping.pdf_response(await self.app.verify_pdf_signatures(command))

    def _verify_command(self, request: api.VerifySignatureRequest) -> VerifyCmsSignature | VerifyRawSignature:
        """The VerifySignature request as a command; InvalidInput naming the field if it is not one."""
        policy = m.policy(request.policy, self.deadline_seconds)
        if request.HasField("validation_time"):
            raise InvalidInput(
                "validation_time", "unsupported", "leave unset: signatures are validated at the claimed time and now"
            )
        if not request.document_digest:
            raise InvalidInput("document_digest", "missing", "the digest of the signed document is required")
        kind = request.WhichOneof("signature")
        if kind == "cms_signature":
            return VerifyCmsSignature(
                signature=request.cms_signature,
                document_digest=request.document_digest,
                intermediates=tuple(request.intermediates_der),
                policy=policy,
            )
        if kind == "raw_signature":
            raw = request.raw_signature
            if raw.sm2_signer_id not in (b"", DEFAULT_SM2_ID):
                raise InvalidInput("raw_signature.sm2_signer_id", "unsupported", "only the default SM2 signer id")
            return VerifyRawSignature(
                signature=raw.signature,
                document_digest=request.document_digest,
                digest_algorithm=m.digest_algorithm(request.digest_algorithm),
                signature_algorithm=m.signature_algorithm(raw.algorithm),
                certificate=raw.signer_certificate_der,
                intermediates=tuple(request.intermediates_der),
                claimed_signing_time=m.moment(
                    raw.claimed_signing_time, raw.HasField("claimed_signing_time"), "raw_signature.claimed_signing_time"
                ),
                policy=policy,
            )
        raise InvalidInput("signature", "missing", "give cms_signature or raw_signature")

    async def GetTrustList(
        self, request: api.GetTrustListRequest, context: aio.ServicerContext
    ) -> api.GetTrustListResponse:
        jurisdiction = m.jurisdiction_filter(request.jurisdiction)
        if jurisdiction is None:
            raise InvalidInput("jurisdiction", "missing", "name the jurisdiction: HK, MO or GD")
        trust_list, digest, signer = self.app.trust_list(jurisdiction)
        return api.GetTrustListResponse(trust_list=m.trust_list(trust_list, digest, signer))

    async def ListRecognisedAuthorities(
        self, request: api.ListRecognisedAuthoritiesRequest, context: aio.ServicerContext
    ) -> api.ListRecognisedAuthoritiesResponse:
        jurisdiction = m.jurisdiction_filter(request.jurisdiction)
        size = request.page_size or 50
        if not 0 < size <= MAX_PAGE_SIZE:
            raise InvalidInput("page_size", "out_of_range", f"between 1 and {MAX_PAGE_SIZE}")
        offset = _offset(request.page_token)
        now = datetime.now(UTC)
        authorities = [
            m.authority(t, s, now)
            for t in sorted(self.app.store.lists(), key=lambda t: t.jurisdiction.value)
            if jurisdiction in (None, t.jurisdiction)
            for s in t.services
        ]
        if not request.include_withdrawn:
            authorities = [a for a in authorities if a.status == m.tl_pb.AUTHORITY_STATUS_GRANTED]
        page = authorities[offset : offset + size]
        next_token = str(offset + size) if offset + size < len(authorities) else ""
        return api.ListRecognisedAuthoritiesResponse(authorities=page, next_page_token=next_token)

    async def UpdateTrustList(
        self, request: api.UpdateTrustListRequest, context: aio.ServicerContext
    ) -> api.UpdateTrustListResponse:
        result = await self.app.update_trust_list(request.signed_trust_list)
        assert result.jurisdiction is not None
        trust_list, digest, signer = self.app.trust_list(result.jurisdiction)
        return api.UpdateTrustListResponse(trust_list=m.trust_list(trust_list, digest, signer))


def _offset(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise InvalidInput("page_token", "invalid", "use the next_page_token of the previous page")
    return int(token)
