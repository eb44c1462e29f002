"""Identify with proof of possession, in two calls of the session (``Authorization: Bearer``):

1. ``POST /v1/sessions/current/identify/challenge`` → a challenge id and the 32 bytes to sign, valid
   for a short while and for one answer, in this session only.
2. ``POST /v1/sessions/current/identify``: documents, declared name and date of birth, the e-Cert
   chain, and the signature of those bytes by the e-Cert's key (WebCrypto: RSASSA-PKCS1-v1_5 with
   SHA-256; ECDSA P-256/SHA-256 or P-384/SHA-384 as ``r || s``; Ed25519) → the person's handle.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import Base64Bytes, BaseModel, Field

from services.gateway.binding.domain.model import DeclaredPerson, Documents
from services.gateway.kiosk.entrypoints.api import ERRORS, AcceptLanguage, KioskApi, Lang, Token, token_of
from services.gateway.kiosk.entrypoints.responses import PersonOut
from services.gateway.kiosk.entrypoints.schemas import IdentifyIn
from services.gateway.kiosk.service_layer import identify as use_case
from services.gateway.kiosk.service_layer.possession import PossessionProof, data_to_sign
from services.gateway.kiosk.service_layer.signing import ALGORITHMS

ChallengeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="From the challenge call")]


class ChallengeOut(BaseModel):
    challenge_id: str
    data_to_sign_base64: str = Field(description="Sign exactly these 32 bytes with the e-Cert's key")
    expires_at: datetime


class ProvenIdentifyIn(IdentifyIn):
    challenge_id: ChallengeId
    signature_base64: Base64Bytes = Field(
        max_length=2048, description="The e-Cert key's signature of data_to_sign (ECDSA: r || s, as WebCrypto gives)"
    )


def identify_router(api: KioskApi) -> APIRouter:
    router = APIRouter(prefix="/v1/sessions/current", responses=ERRORS, tags=["sessions"])

    @router.post("/identify/challenge", status_code=201, response_model=ChallengeOut)
    async def identify_challenge(
        request: Request, token: Token, lang: Lang = None, accept_language: AcceptLanguage = None
    ) -> ChallengeOut:
        given = token_of(token)
        async with api.call(request, "IdentifyChallenge", token=given, lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            issued = await use_case.challenge(api.deps, call)
        data = data_to_sign(given or "", issued.nonce)
        return ChallengeOut(challenge_id=issued.challenge_id, data_to_sign_base64=base64.b64encode(data).decode(),
                            expires_at=datetime.fromtimestamp(issued.expires_at, UTC))  # fmt: skip

    @router.post("/identify", response_model=PersonOut)
    async def identify_person(
        body: ProvenIdentifyIn, request: Request, token: Token, lang: Lang = None,
        accept_language: AcceptLanguage = None,
    ) -> PersonOut:  # fmt: skip
        command = use_case.IdentifyPerson(
            Documents(body.documents.travel_permit, body.documents.hkid, body.documents.macau_id,
                      body.documents.residence_permit),
            DeclaredPerson(body.date_of_birth, body.name_zh, body.name_en),
            body.certificate_chain_pem,
            PossessionProof(body.challenge_id, body.signature_base64),
        )  # fmt: skip
        async with api.call(request, "Identify", token=token_of(token), lang=lang,
                            accept_language=accept_language) as call:  # fmt: skip
            person = await use_case.identify(api.deps, call, command)
        signature, digest = ALGORITHMS.get(person.key_kind, ("as the certificate's key requires", "sha256"))
        return PersonOut(person=person.handle, jurisdiction=person.jurisdiction, signature_algorithm=signature,
                         digest_algorithm=digest)  # fmt: skip

    return router
