"""Private keys of every algorithm of the scheme behind one signing interface.

Used to sign trust lists and by the test PKI to issue certificates, CRLs and OCSP responses.
Signatures of ECDSA and SM2 are DER SEQUENCE {r, s}; RSA-PSS uses SHA-256, MGF1-SHA-256 and a
32-byte salt (the profile RFC 4055 recommends for SHA-256).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from asn1crypto import algos, keys, pem
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from services.identity.adapters import sm2


class KeyKind(StrEnum):
    RSA_2048 = "rsa-2048"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    ED25519 = "ed25519"
    SM2 = "sm2"


class Scheme(StrEnum):
    """Signature schemes, named like JWS algorithms where JWS has a name for them."""

    RS256 = "RS256"
    PS256 = "PS256"
    ES256 = "ES256"
    ES384 = "ES384"
    EDDSA = "EdDSA"
    SM2_SM3 = "SM2-SM3"


_DEFAULT_SCHEME = {
    KeyKind.RSA_2048: Scheme.RS256,
    KeyKind.EC_P256: Scheme.ES256,
    KeyKind.EC_P384: Scheme.ES384,
    KeyKind.ED25519: Scheme.EDDSA,
    KeyKind.SM2: Scheme.SM2_SM3,
}
_CURVES = {KeyKind.EC_P256: ec.SECP256R1(), KeyKind.EC_P384: ec.SECP384R1()}
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def algorithm_identifier(scheme: Scheme) -> algos.SignedDigestAlgorithm:
    # A fresh object read from DER built once: asn1crypto re-encodes a structure built in code on
    # every dump() (milliseconds for the PSS parameters), and signature checks dump it.
    return algos.SignedDigestAlgorithm.load(_identifier_der(scheme))


@cache
def _identifier_der(scheme: Scheme) -> bytes:
    return bytes(_build_identifier(scheme).dump())


def _build_identifier(scheme: Scheme) -> algos.SignedDigestAlgorithm:
    if scheme is Scheme.PS256:
        params = {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        }
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    names = {
        Scheme.RS256: "sha256_rsa",
        Scheme.ES256: "sha256_ecdsa",
        Scheme.ES384: "sha384_ecdsa",
        Scheme.EDDSA: "ed25519",
        Scheme.SM2_SM3: sm2.SM2_WITH_SM3_OID,
    }
    return algos.SignedDigestAlgorithm({"algorithm": names[scheme]})


@dataclass(frozen=True)
class SigningKey:
    kind: KeyKind
    private: Any

    @classmethod
    def generate(cls, kind: KeyKind, seed: bytes | None = None) -> SigningKey:
        """EC, Ed25519 and SM2 keys are derived from `seed` when given; RSA keys are always fresh
        (pyca offers no seeded RSA generation), which is why the test PKI is only
        "deterministic enough"."""
        if kind is KeyKind.RSA_2048:
            return cls(kind, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        if kind is KeyKind.SM2:
            return cls(kind, sm2.generate_private_key(seed))
        if kind is KeyKind.ED25519:
            raw = hashlib.sha256(b"baylink-ed25519" + seed).digest() if seed else None
            private = ed25519.Ed25519PrivateKey.from_private_bytes(raw) if raw else ed25519.Ed25519PrivateKey.generate()
            return cls(kind, private)
        curve = _CURVES[kind]
        if seed is None:
            return cls(kind, ec.generate_private_key(curve))
        order = int.from_bytes(hashlib.sha512(b"baylink-ec" + seed).digest(), "big")
        return cls(kind, ec.derive_private_key(order % (2 ** (curve.key_size - 1)) + 1, curve))

    @classmethod
    def load_pem(cls, data: bytes) -> SigningKey:
        if _is_sm2_pem(data):
            return cls(KeyKind.SM2, sm2.load_private_key_pem(data))
        private = serialization.load_pem_private_key(data, password=None)
        if isinstance(private, rsa.RSAPrivateKey):
            return cls(KeyKind.RSA_2048, private)
        if isinstance(private, ed25519.Ed25519PrivateKey):
            return cls(KeyKind.ED25519, private)
        if isinstance(private, ec.EllipticCurvePrivateKey):
            kind = KeyKind.EC_P384 if private.curve.name == "secp384r1" else KeyKind.EC_P256
            return cls(kind, private)
        raise ValueError("unsupported private key type")

    def private_pem(self) -> bytes:
        if self.kind is KeyKind.SM2:
            return sm2.private_key_pem(self.private)
        return bytes(
            self.private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def public_key_info(self) -> keys.PublicKeyInfo:
        if self.kind is KeyKind.SM2:
            return sm2.public_key_info(self.private)
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return keys.PublicKeyInfo.load(der)

    def default_scheme(self) -> Scheme:
        return _DEFAULT_SCHEME[self.kind]

    def sign(self, data: bytes, scheme: Scheme | None = None) -> bytes:
        scheme = scheme or self.default_scheme()
        if scheme is Scheme.SM2_SM3:
            return sm2.sign(self.private, data)
        if scheme is Scheme.EDDSA:
            return bytes(self.private.sign(data))
        if scheme is Scheme.RS256:
            return bytes(self.private.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        if scheme is Scheme.PS256:
            return bytes(self.private.sign(data, _PSS, hashes.SHA256()))
        digest = hashes.SHA384() if scheme is Scheme.ES384 else hashes.SHA256()
        return bytes(self.private.sign(data, ec.ECDSA(digest)))


def _is_sm2_pem(data: bytes) -> bool:
    # The PKCS#8 AlgorithmIdentifier names the SM2 curve OID; pyca would refuse to load it.
    try:
        _, _, der = pem.unarmor(data)
        info = keys.PrivateKeyInfo.load(bytes(der))
        algorithm = info["private_key_algorithm"]
        if algorithm["algorithm"].native != "ec":
            return False
        params = algorithm["parameters"]
        return bool(params.name == "named" and params.chosen.dotted == sm2.SM2_CURVE_OID)
    except (ValueError, KeyError, TypeError):
        return False
