"""Signature time-stamps from an RFC 3161 TSA over HTTP: every signature the registry stores is CAdES B-T.

The token is asked for over SHA-256 of the first SignerInfo's signature value (the
signature-time-stamp of RFC 5126 / EN 319 122-1) and added to that SignerInfo as the unsigned
attribute id-aa-signatureTimeStampToken; the signed attributes keep their exact bytes, so the
signature still verifies. The answer is accepted only if granted, for our nonce and our digest.
A TSA that cannot be reached in time, refuses, or answers something else is UNAVAILABLE with
reason TSA_UNAVAILABLE: the caller stores nothing and may try again.
"""

from __future__ import annotations

import hashlib
from datetime import UTC

import aiohttp
from asn1crypto import cms, core

from baylink import errors, tsp
from baylink.cms import tlv, with_unsigned_attribute
from services.registry.domain.messages import say
from services.registry.service_layer.ports import Stamped

QUERY, REPLY = "application/timestamp-query", "application/timestamp-reply"
_SIGNATURE_TIME_STAMP_TOKEN = core.ObjectIdentifier(
    "1.2.840.113549.1.9.16.2.14"
).dump()  # id-aa-signatureTimeStampToken
MAX_ANSWER_BYTES = 64 * 1024


class HttpTimeStamper:
    """Implements ``ports.SignatureTimeStamper`` against one TSA URL."""

    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.requests = 0

    async def stamp(self, cms_signature: bytes) -> Stamped:
        content = cms.ContentInfo.load(cms_signature)
        signer_info = content["content"]["signer_infos"][0]
        token = await self.token(hashlib.sha256(signer_info["signature"].native).digest())
        token_der = bytes(token.dump())
        attribute = tlv(0x30, _SIGNATURE_TIME_STAMP_TOKEN + tlv(0x31, token_der))
        gen_time = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
        return Stamped(with_unsigned_attribute(cms_signature, attribute), token_der, gen_time.astimezone(UTC))

    async def token(self, digest: bytes) -> cms.ContentInfo:
        """A token over the SHA-256 `digest`; Unavailable (TSA_UNAVAILABLE) if none comes."""
        nonce, body = tsp.request(digest)
        try:
            return tsp.token_of(await self._post(body), nonce, digest)
        except (aiohttp.ClientError, TimeoutError, OSError, tsp.TimeStampError) as error:
            detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise errors.Unavailable(say("timestamp_unavailable", detail=detail), reason="TSA_UNAVAILABLE") from None

    async def _post(self, body: bytes) -> bytes:
        # A session per stamp (one POST; signatures arrive one by one): none outlives its event loop.
        self.requests += 1
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.post(self.url, data=body, headers={"Content-Type": QUERY}) as response,
        ):
            if response.content_type != REPLY:
                raise tsp.TimeStampError(f"HTTP {response.status} with {response.content_type}, not {REPLY}")
            answer = await response.content.read(MAX_ANSWER_BYTES + 1)
            if len(answer) > MAX_ANSWER_BYTES:
                raise tsp.TimeStampError("the answer is larger than any time-stamp token")
            return bytes(answer)
