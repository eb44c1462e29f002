"""Signature verification for every algorithm of the scheme, plugged into pyhanko-certvalidator.

pyhanko-certvalidator verifies certificate, CRL and OCSP signatures through the
`SignatureValidator` object of its ValidationContext. `SchemeSignatureValidator` hands SM2
signatures to the SM2 adapter and everything else to the engine's own (pyca) validator, so one
path-validation engine serves RSA, ECDSA, Ed25519 and SM2 chains alike.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)
from pyhanko_certvalidator.util import get_pyca_cryptography_hash_for_signing, process_pss_params

from services.identity.adapters import sm2
from services.identity.adapters.algorithm_policy import AlgorithmRefused, refusal
from services.identity.adapters.sm2 import SM2_SIGNATURE_OIDS

__all__ = ["SM2_SIGNATURE_OIDS", "AlgorithmRefused", "SchemeSignatureValidator", "prepared_verify", "verify"]


class SchemeSignatureValidator(DefaultSignatureValidator):
    """Raises InvalidSignature for every kind of failure: malformed keys or signatures, key and
    algorithm that do not belong together, unsupported mechanisms. The engine only expects
    InvalidSignature, so anything else would escape as an unhandled error.

    Every signature is first judged by the algorithm catalogue (`algorithm_policy.refusal`): the
    engine asks its algorithm policy about certificate signatures only, while CRL and OCSP
    signatures reach this validator directly. Refusals are kept in `refusals`, so that the engine
    can tell a revocation source refused for its algorithm from one that is unreachable."""

    def __init__(self) -> None:
        self.refusals: list[str] = []

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        refused = refusal(public_key_info, signature_algorithm, context.contextual_md_algorithm)
        if refused is not None:
            self.refusals.append(refused)
            raise AlgorithmRefused(refused)
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
