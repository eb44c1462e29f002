"""Signature verification for every algorithm of the scheme, plugged into pyhanko-certvalidator.

pyhanko-certvalidator verifies certificate, CRL and OCSP signatures through the
`SignatureValidator` object of its ValidationContext. `SchemeSignatureValidator` hands SM2
signatures to the SM2 adapter and everything else to the engine's own (pyca) validator, so one
path-validation engine serves RSA, ECDSA, Ed25519 and SM2 chains alike.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pyhanko_certvalidator.policy_decl import AlgorithmUsageConstraint, AlgorithmUsagePolicy
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)
from pyhanko_certvalidator.util import get_pyca_cryptography_hash_for_signing, process_pss_params

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
            if not _validate_with_cached_key(signature, signed_data, public_key_info, signature_algorithm, context):
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


# The mechanisms of the scheme, verified here with a cached key object; the engine's own validator
# (which decodes the key anew for every signature) keeps everything else: DSA, Ed448, ML-DSA and
# RSASSA-PSS-only keys.
_CACHED_KEY_MECHANISMS = frozenset({"rsassa_pkcs1v15", "rsassa_pss", "ecdsa", "ed25519"})


@lru_cache(maxsize=4096)
def _public_key(spki_der: bytes) -> PublicKeyTypes:
    # Decoding a key costs a third of an ECDSA verification; CA, responder and signer keys repeat.
    # Keys that do not decode raise and are not cached.
    return serialization.load_der_public_key(spki_der)


def _validate_with_cached_key(
    signature: bytes,
    signed_data: bytes,
    public_key_info: keys.PublicKeyInfo,
    signature_algorithm: algos.SignedDigestAlgorithm,
    context: SignatureValidationContext,
) -> bool:
    """What pyhanko-certvalidator's default validator does, step for step and raising the same
    exceptions, minus decoding the key each time. False: not handled here, use the engine's."""
    check = _cached_key_check(public_key_info, signature_algorithm, context)
    if check is None:
        return False
    check(signature, signed_data)
    return True


Check = Callable[[bytes, bytes], None]  # raises InvalidSignature (or a decoding error) if it does not verify


def _cached_key_check(
    public_key_info: keys.PublicKeyInfo,
    signature_algorithm: algos.SignedDigestAlgorithm,
    context: SignatureValidationContext,
) -> Check | None:
    """The verification `_validate_with_cached_key` makes, with everything that does not depend on
    the signature and the data worked out; None if it is not one of ours."""
    try:
        mechanism = signature_algorithm.signature_algo
    except ValueError:
        mechanism = signature_algorithm["algorithm"].native
    parameters = signature_algorithm["parameters"]
    if mechanism not in _CACHED_KEY_MECHANISMS or public_key_info.algorithm not in ("rsa", "ec", "ed25519"):
        return None
    public_key = _public_key(public_key_info.dump())
    try:
        hash_algo = signature_algorithm.hash_algo
    except ValueError:
        hash_algo = context.contextual_md_algorithm
    if mechanism == "rsassa_pkcs1v15":
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise AssertionError
        rsa_key, pkcs1 = public_key, padding.PKCS1v15()
        digest = get_pyca_cryptography_hash_for_signing(hash_algo, prehashed=context.prehashed)
        return lambda signature, data: rsa_key.verify(signature, data, pkcs1, digest)
    if mechanism == "rsassa_pss":
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise AssertionError
        pss_key = public_key
        pss_padding, digest = process_pss_params(parameters, prehashed=context.prehashed)
        return lambda signature, data: pss_key.verify(signature, data, pss_padding, digest)
    if mechanism == "ecdsa":
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise AssertionError
        ec_key = public_key
        ecdsa = ec.ECDSA(get_pyca_cryptography_hash_for_signing(hash_algo, prehashed=context.prehashed))
        return lambda signature, data: ec_key.verify(signature, data, ecdsa)
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise AssertionError
    return public_key.verify


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


_UNCHECKABLE = (ValueError, TypeError, AssertionError, KeyError, UnsupportedAlgorithm)
_PREPARED: OrderedDict[tuple[bytes, bytes, str | None, bool], Callable[[bytes, bytes], bool]] = OrderedDict()
_PREPARED_MAX = 4096


def prepared_verify(
    public_key_info: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    *,
    digest_algorithm: str | None = None,
    prehashed: bool = False,
) -> Callable[[bytes, bytes], bool]:
    """`verify` for this key and algorithm as a function of (signature, data), with the same
    answers. Which mechanism, which key object and whether the two belong together depend on the
    key's and the algorithm's bytes only, so that is worked out once per (key, algorithm) and kept:
    a signer's every signature then costs the library's verify and little else."""
    cache_key = (public_key_info.dump(), algorithm.dump(), digest_algorithm, prehashed)
    prepared = _PREPARED.get(cache_key)
    if prepared is None:
        prepared = _prepare(public_key_info, algorithm, digest_algorithm, prehashed)
        _PREPARED[cache_key] = prepared
        if len(_PREPARED) > _PREPARED_MAX:
            _PREPARED.popitem(last=False)
    return prepared


def _prepare(
    public_key_info: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    digest_algorithm: str | None,
    prehashed: bool,
) -> Callable[[bytes, bytes], bool]:
    # The same decisions, in the same order, as SchemeSignatureValidator.validate_signature; one
    # that raises there raises for every signature, so it means "never verifies" here.
    context = SignatureValidationContext(contextual_md_algorithm=digest_algorithm, prehashed=prehashed)
    try:
        oid = algorithm["algorithm"].dotted
        key_is_sm2 = sm2.is_sm2_key(public_key_info)
        if oid in SM2_SIGNATURE_OIDS or key_is_sm2:
            if oid not in SM2_SIGNATURE_OIDS or not key_is_sm2 or prehashed:
                return _never
            point = public_key_info["public_key"].native
            return lambda signature, data: _answer(lambda: sm2.verify(point, data, signature))
        check = _cached_key_check(public_key_info, algorithm, context)
    except _UNCHECKABLE:
        return _never
    if check is None:  # the engine's own validator, every time
        return lambda signature, data: verify(
            signature, data, public_key_info, algorithm, digest_algorithm=digest_algorithm, prehashed=prehashed
        )
    known = check

    def run(signature: bytes, data: bytes) -> bool:
        try:
            known(signature, data)
        except (InvalidSignature, *_UNCHECKABLE):
            return False
        return True

    return run


def _never(signature: bytes, data: bytes) -> bool:
    return False


def _answer(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except (InvalidSignature, *_UNCHECKABLE):
        return False


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
