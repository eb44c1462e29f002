"""What a kiosk's signing client must produce for a material, per signer.

The registry stores the material's SHA-256 and has identity verify each detached CMS signature
against the digest the signature names. Which digest that is follows from the signer's key, as the
e-Cert schemes use them: RSA and P-256 sign SHA-256, P-384 SHA-384, Ed25519 SHA-512 (RFC 8419),
SM2 SM3 (GM/T 0010). The gateway gives each signer the algorithm and the digest to sign over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# key kind → (signature algorithm, digest algorithm)
ALGORITHMS: dict[str, tuple[str, str]] = {
    "rsa": ("RSASSA-PSS or RSA PKCS#1 v1.5 with SHA-256", "sha256"),
    "ec-p256": ("ECDSA P-256 with SHA-256", "sha256"),
    "ec-p384": ("ECDSA P-384 with SHA-384", "sha384"),
    "ed25519": ("Ed25519", "sha512"),
    "sm2": ("SM2 with SM3", "sm3"),
}
SIGNATURE_FORMAT = "CMS SignedData (RFC 5652), detached, DER, base64"


@dataclass(frozen=True)
class SigningInstruction:
    person: str  # the session's handle
    roles: tuple[str, ...]
    signature_algorithm: str
    digest_algorithm: str
    digest: bytes | None  # None only if this host cannot compute the digest (no SM3 in OpenSSL)


def instruction(person: str, roles: tuple[str, ...], key_kind: str, content: bytes) -> SigningInstruction:
    signature, digest_name = ALGORITHMS.get(key_kind, ("as the certificate's key requires", "sha256"))
    return SigningInstruction(person, roles, signature, digest_name, _digest(digest_name, content))


def _digest(name: str, content: bytes) -> bytes | None:
    if name not in hashlib.algorithms_available:
        return None
    return hashlib.new(name, content).digest()
