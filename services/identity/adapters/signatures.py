"""Signature verification for every algorithm of the scheme, plugged into pyhanko-certvalidator.

pyhanko-certvalidator verifies certificate, CRL and OCSP signatures through the
`SignatureValidator` object of its ValidationContext. `SchemeSignatureValidator` hands SM2
signatures to the SM2 adapter and everything else to the engine's own (pyca) validator, so one
path-validation engine serves RSA, ECDSA, Ed25519 and SM2 chains alike.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from pyhanko_certvalidator.policy_decl import AlgorithmUsageConstraint, AlgorithmUsagePolicy
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from services.identity.adapters import sm2

SM2_SIGNATURE_OIDS = frozenset({sm2.SM2_WITH_SM3_OID, sm2.SM2_SIGN_OID})


class SchemeSignatureValidator(DefaultSignatureValidator):
    """Raises InvalidSignature for every kind of failure: malformed keys or signatures, key and
    algorithm that do not belong together, unsupported mechanisms. The engine only expects
    InvalidSignature, so anything else would escape as an unhandled error."""

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        oid = signature_algorithm["algorithm"].dotted
        try:
            key_is_sm2 = sm2.is_sm2_key(public_key_info)
            if oid in SM2_SIGNATURE_OIDS or key_is_sm2:
                self._validate_sm2(signature, signed_data, public_key_info, oid, context)
                return
            super().validate_signature(signature, signed_data, public_key_info, signature_algorithm, context)
        except InvalidSignature:
            raise
        except (ValueError, TypeError, AssertionError, KeyError, UnsupportedAlgorithm) as exc:
            raise InvalidSignature(f"signature cannot be checked: {type(exc).__name__}") from exc

    @staticmethod
    def _validate_sm2(
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        oid: str,
        context: SignatureValidationContext,
    ) -> None:
        if oid not in SM2_SIGNATURE_OIDS or not sm2.is_sm2_key(public_key_info):
            raise InvalidSignature("SM2 signatures need an SM2 key and an SM2 key only signs with SM2")
        if context.prehashed:
            raise InvalidSignature("SM2 cannot verify a bare digest: Z must be hashed with the message")
        if not sm2.verify(public_key_info["public_key"].native, signed_data, signature):
            raise InvalidSignature("SM2 signature does not verify")


def verify(
    signature: bytes,
    data: bytes,
    public_key_info: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    *,
    digest_algorithm: str | None = None,
    prehashed: bool = False,
) -> bool:
    """True if `signature` verifies; False for any failure (never raises on bad input)."""
    context = SignatureValidationContext(contextual_md_algorithm=digest_algorithm, prehashed=prehashed)
    try:
        SchemeSignatureValidator().validate_signature(signature, data, public_key_info, algorithm, context)
    except InvalidSignature:
        return False
    return True


# Hashes acceptable in 2026 for new validations; SHA-1 and MD5 are refused outright.
_STRONG_DIGESTS = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", sm2.SM3_OID})
_MIN_RSA_BITS = 2048


class SchemeAlgorithmPolicy(AlgorithmUsagePolicy):
    """Allow-list policy: RSA ≥ 2048 (PKCS#1 v1.5, PSS), ECDSA, Ed25519 and SM2-with-SM3."""

    def digest_algorithm_allowed(
        self, algo: algos.DigestAlgorithm, moment: datetime | None
    ) -> AlgorithmUsageConstraint:
        name = algo["algorithm"].native
        return AlgorithmUsageConstraint(allowed=name in _STRONG_DIGESTS or algo["algorithm"].dotted == sm2.SM3_OID)

    def signature_algorithm_allowed(
        self,
        algo: algos.SignedDigestAlgorithm,
        moment: datetime | None,
        public_key: keys.PublicKeyInfo | None,
    ) -> AlgorithmUsageConstraint:
        oid = algo["algorithm"].dotted
        if oid in SM2_SIGNATURE_OIDS:
            return AlgorithmUsageConstraint(allowed=True)
        try:
            mechanism = algo.signature_algo
        except ValueError:
            return AlgorithmUsageConstraint(allowed=False, failure_reason=f"unknown signature mechanism {oid}")
        if mechanism in ("ed25519", "ed448"):
            return AlgorithmUsageConstraint(allowed=True)
        if mechanism.startswith("rsa") and public_key is not None and public_key.bit_size < _MIN_RSA_BITS:
            return AlgorithmUsageConstraint(allowed=False, failure_reason=f"RSA key below {_MIN_RSA_BITS} bits")
        if mechanism not in ("rsassa_pkcs1v15", "rsassa_pss", "ecdsa"):
            return AlgorithmUsageConstraint(allowed=False, failure_reason=f"mechanism {mechanism} not accepted")
        try:
            digest = algo.hash_algo
        except ValueError:
            return AlgorithmUsageConstraint(allowed=False, failure_reason="digest algorithm not identifiable")
        return AlgorithmUsageConstraint(
            allowed=digest in _STRONG_DIGESTS,
            failure_reason=None if digest in _STRONG_DIGESTS else f"weak {digest}",
        )
