"""Which digest a detached CMS signature covers, so identity gets the matching digest of the document.

A Hong Kong RSA or P-256 signer digests with SHA-256, a Macau Ed25519 signer with SHA-512 and a
mainland SM2 signer with SM3; identity checks the signed messageDigest against the digest we send,
so we send the one the signature names, computed from the stored document.
"""

from __future__ import annotations

import hashlib

from asn1crypto import cms  # type: ignore[import-untyped]

from baylink.identity.v1 import validation_pb2 as val

SM3_OID = "1.2.156.10197.1.401"
_ALGORITHMS = {
    "sha256": ("sha256", val.DIGEST_ALGORITHM_SHA256),
    "sha384": ("sha384", val.DIGEST_ALGORITHM_SHA384),
    "sha512": ("sha512", val.DIGEST_ALGORITHM_SHA512),
    "sm3": ("sm3", val.DIGEST_ALGORITHM_SM3),
    SM3_OID: ("sm3", val.DIGEST_ALGORITHM_SM3),
}


def signed_digest_algorithm(cms_signature: bytes) -> str:
    """The first signer's digest algorithm (sha256 when the structure cannot be read: identity judges it)."""
    try:
        signed_data = cms.ContentInfo.load(cms_signature)["content"]
        name = signed_data["signer_infos"][0]["digest_algorithm"]["algorithm"].native
    except (ValueError, TypeError, KeyError, IndexError):
        return "sha256"
    return str(name) if name in _ALGORITHMS else "sha256"


def digest_for(cms_signature: bytes, document: bytes) -> tuple[bytes, int]:
    """(digest of ``document`` under the signature's algorithm, identity's DigestAlgorithm value)."""
    name, enum = _ALGORITHMS[signed_digest_algorithm(cms_signature)]
    return _hash(name, document), enum


def _hash(name: str, data: bytes) -> bytes:
    if name == "sm3" and "sm3" not in hashlib.algorithms_available:  # OpenSSL without SM3
        from tongsuopy.crypto import hashes  # type: ignore[import-untyped]

        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return bytes(h.finalize())
    return hashlib.new(name, data).digest()
