"""Proof of possession at identify: the person's e-Cert key signs a fresh challenge of this session.

An e-Cert is public (it travels in every signature its holder makes), so showing one proves
nothing. Identify therefore ends with a signature by the certificate's key over data the gateway
made for this session a moment ago:

1. ``issue``: a random nonce, stored server-side with the session it belongs to and a short expiry
   (``ChallengeStore``); the kiosk gets the 32 bytes to sign: SHA-256 of a fixed label, the
   session token's hash and the nonce (the label keeps these bytes from ever being a document).
2. ``prove``: the challenge is taken from the store first (single use, whatever follows: a replayed
   answer finds nothing; another session's challenge is not this session's), then the identity
   service verifies the raw signature with the certificate (``VerifySignature``, raw path). The
   signature must verify and its signer must be the very certificate identify validated.

The gateway does no signature arithmetic of its own: it hashes the challenge the way the raw
path expects and turns WebCrypto's ECDSA ``r || s`` into DER, nothing more.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from baylink import cms, errors
from services.gateway.kiosk.service_layer.model import ValidatedCertificate

LABEL = b"baylink/kiosk/identify/possession/v1\x00"
CHALLENGE_INVALID = "CHALLENGE_INVALID"
POSSESSION_NOT_PROVEN = "POSSESSION_NOT_PROVEN"
KEY_CANNOT_SIGN = "KEY_CANNOT_SIGN_IN_BROWSER"

# key kind → (raw signature algorithm for identity, digest algorithm, ECDSA r||s width or 0).
# RSA and ECDSA sign the challenge bytes (identity gets their digest: the raw path is prehashed);
# Ed25519 signs the 32 bytes themselves, which the raw path takes as a SHA-256-sized digest.
KEYS: dict[str, tuple[str, str, int]] = {
    "rsa": ("rsa-pkcs1v15", "sha256", 0),
    "ec-p256": ("ecdsa-p256", "sha256", 32),
    "ec-p384": ("ecdsa-p384", "sha384", 48),
    "ed25519": ("ed25519", "sha256", 0),
}


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    nonce: bytes
    expires_at: float  # epoch seconds


@dataclass(frozen=True)
class PossessionProof:
    challenge_id: str
    signature: bytes  # as WebCrypto gives it (ECDSA: r || s)

    def __repr__(self) -> str:
        return f"PossessionProof(challenge_id={self.challenge_id!r})"


@dataclass(frozen=True)
class RawVerdict:
    """What identity said of a raw signature: does it verify, and whose certificate signed."""

    signature_valid: bool
    signer_sha256: str
    indication: str


class ChallengeStore(Protocol):
    ttl: float

    async def issue(self, session_token: str) -> Challenge:
        """A new challenge of this session; ResourceExhausted when it has too many open."""
        ...

    async def take(self, session_token: str, challenge_id: str) -> bytes | None:
        """The nonce of this session's live challenge, removed (a second take finds nothing); None when
        there is no such challenge, it has expired or belongs to another session."""
        ...


class RawSignatureVerifier(Protocol):
    async def verify_raw(
        self, chain_pem: str, signature: bytes, algorithm: str, digest_algorithm: str, document_digest: bytes
    ) -> RawVerdict:
        """Have the identity service verify a raw signature by the chain's leaf over ``document_digest``."""
        ...


def data_to_sign(session_token: str, nonce: bytes) -> bytes:
    """The 32 bytes the person's key signs: bound to this session and this nonce."""
    session = hashlib.sha256(session_token.encode("utf-8")).digest()
    return hashlib.sha256(LABEL + session + nonce).digest()


def challenge_invalid() -> errors.InvalidInput:
    return errors.InvalidInput(
        "the challenge is unknown, used or expired; ask for a new one",
        [errors.FieldViolation("challenge_id", f"{CHALLENGE_INVALID}: ask for a new challenge and sign it")],
        reason=CHALLENGE_INVALID,
    )


def not_proven() -> errors.PermissionDenied:
    return errors.PermissionDenied("the signature is not by the key of this e-Cert", reason=POSSESSION_NOT_PROVEN)


async def prove(
    challenges: ChallengeStore, verifier: RawSignatureVerifier, session_token: str, proof: PossessionProof,
    chain_pem: str, validated: ValidatedCertificate,
) -> None:  # fmt: skip
    """Raise unless ``proof`` is a signature by ``validated``'s key over this session's live challenge."""
    nonce = await challenges.take(session_token, proof.challenge_id)  # spent now, whatever follows
    if nonce is None:
        raise challenge_invalid()
    known = KEYS.get(validated.key_kind)
    if known is None:
        raise errors.InvalidInput(
            "this e-Cert's key cannot sign in the kiosk's browser",
            [errors.FieldViolation("certificate_chain_pem", f"{KEY_CANNOT_SIGN}: {validated.key_kind} keys")],
            reason=KEY_CANNOT_SIGN,
        )
    algorithm, digest_name, curve_bytes = known
    data = data_to_sign(session_token, nonce)
    document_digest = data if algorithm == "ed25519" else hashlib.new(digest_name, data).digest()
    try:
        signature = cms.ecdsa_der(proof.signature, curve_bytes) if curve_bytes else proof.signature
    except cms.CmsError:
        raise not_proven() from None
    if not signature:
        raise not_proven()
    verdict = await verifier.verify_raw(chain_pem, signature, algorithm, digest_name, document_digest)
    if not verdict.signature_valid or verdict.signer_sha256.lower() != validated.facts.fingerprint.lower():
        raise not_proven()
