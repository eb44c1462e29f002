"""SM2 signatures with SM3 (GB/T 32918, GM/T 0009) on top of tongsuopy (Tongsuo's compiled SM2).

pyca/cryptography has no SM2, so every SM2 operation of the service goes through this module.
Signing and verifying apply the GM/T 0009 user-identity digest Z with the default identity
"1234567812345678": e = SM3(Z ‖ M), Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA).
`z_value` computes Z itself so tests can check the library against the standard.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, TypeAlias

from asn1crypto import keys
from tongsuopy.crypto import hashes as ts_hashes
from tongsuopy.crypto import serialization as ts_serialization
from tongsuopy.crypto.asymciphers import ec as ts_ec

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_SIGN_OID = "1.2.156.10197.1.301.1"  # sm2sign, as some CMS producers label SM2 signatures
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM3_OID = "1.2.156.10197.1.401"
SM2_SIGNATURE_OIDS = frozenset({SM2_WITH_SM3_OID, SM2_SIGN_OID})
DEFAULT_USER_ID = b"1234567812345678"

# Curve parameters of the recommended SM2 curve (GB/T 32918.5), needed only to compute Z.
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

SM2PrivateKey: TypeAlias = Any  # tongsuopy ships no type information


def sm3(data: bytes) -> bytes:
    if _HASHLIB_SM3:  # the same digest; hashlib's costs a quarter of tongsuopy's on short data
        return hashlib.new("sm3", data).digest()
    digest = ts_hashes.Hash(ts_hashes.SM3())
    digest.update(data)
    return bytes(digest.finalize())


_HASHLIB_SM3 = "sm3" in hashlib.algorithms_available  # OpenSSL built with SM3


def z_value(public_point: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """GM/T 0009 Z for an uncompressed public point (04 ‖ x ‖ y)."""
    if len(public_point) != 65 or public_point[0] != 4:
        raise ValueError("expected an uncompressed 65-byte SM2 point")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    params = b"".join(v.to_bytes(32, "big") for v in (_A, _B, _GX, _GY))
    return sm3(entl + user_id + params + public_point[1:])


def generate_private_key(seed: bytes | None = None) -> SM2PrivateKey:
    """A new key; with a seed, the same key every time (test PKIs are rebuilt reproducibly)."""
    if seed is None:
        return ts_ec.generate_private_key(ts_ec.SM2())
    scalar = int.from_bytes(hashlib.sha512(b"baylink-sm2" + seed).digest(), "big") % (N - 1) + 1
    return ts_ec.derive_private_key(scalar, ts_ec.SM2())


def sign(private_key: SM2PrivateKey, message: bytes) -> bytes:
    """DER SEQUENCE {r, s} over SM3(Z ‖ message) with the default user identity."""
    return bytes(private_key.sign(message, ts_ec.ECDSA(ts_hashes.SM3())))


def verify(public_point: bytes, message: bytes, signature: bytes) -> bool:
    """False for a wrong signature and for garbage (bad point, bad DER): never raises."""
    try:
        key = _public_key(bytes(public_point))
        key.verify(signature, message, ts_ec.ECDSA(ts_hashes.SM3()))
    except Exception:  # noqa: BLE001 - tongsuopy raises InternalError for malformed DER; all of it means "invalid"
        return False
    return True


@lru_cache(maxsize=4096)
def _public_key(public_point: bytes) -> Any:
    # Decoding and checking a point is a large share of a verification, and the same CA and
    # signer keys come back all day. Only points that decode are kept (exceptions are not cached).
    return ts_ec.EllipticCurvePublicKey.from_encoded_point(ts_ec.SM2(), public_point)


def public_point(private_key: SM2PrivateKey) -> bytes:
    return bytes(
        private_key.public_key().public_bytes(
            ts_serialization.Encoding.X962, ts_serialization.PublicFormat.UncompressedPoint
        )
    )


def public_key_info(private_key: SM2PrivateKey) -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": ("named", SM2_CURVE_OID)},
            "public_key": public_point(private_key),
        }
    )


def private_key_pem(private_key: SM2PrivateKey) -> bytes:
    return bytes(
        private_key.private_bytes(
            ts_serialization.Encoding.PEM,
            ts_serialization.PrivateFormat.PKCS8,
            ts_serialization.NoEncryption(),
        )
    )


def load_private_key_pem(data: bytes) -> SM2PrivateKey:
    key = ts_serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ts_ec.EllipticCurvePrivateKey):
        raise ValueError("not an SM2 private key")
    return key


def is_sm2_key(public_key: keys.PublicKeyInfo) -> bool:
    algorithm = public_key["algorithm"]
    if algorithm["algorithm"].native != "ec":
        return False
    params = algorithm["parameters"]
    return bool(params.name == "named" and params.chosen.dotted == SM2_CURVE_OID)
