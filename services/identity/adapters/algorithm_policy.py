"""The algorithm catalogue (`domain.algorithms`) applied to asn1crypto structures, in one place.

`refusal` names the hash and key of one signature the catalogue's way and asks it; everything that
verifies a signature asks through here: the path engine (`SchemeAlgorithmPolicy`, for chain
certificates), the signature validator it calls for CRLs and OCSP answers, CMS and raw signature
checks, and the trust-list signature check. Naming a (key, algorithm) pair is remembered, so a
returning signer costs the dict lookups of the catalogue and nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.policy_decl import AlgorithmUsageConstraint, AlgorithmUsagePolicy

from services.identity.adapters import sm2
from services.identity.domain.algorithms import Use, algorithm_refusal, signature_refusal


class AlgorithmRefused(InvalidSignature):
    """A signature that is not even checked: its algorithm or key is refused by the catalogue.
    An InvalidSignature, so the path engine treats it as it treats every unusable signature."""


def today() -> date:
    return datetime.now(UTC).date()


Described = tuple[str | None, str, int | None] | str  # (digest, key, RSA bits), or why it cannot be named


def refusal(
    public_key_info: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    digest_hint: str | None = None,
    on: date | None = None,
) -> str | None:
    """Why this signature's algorithm or key may not be relied on; None when it may.

    `digest_hint` is the digest a signature algorithm that names none uses (CMS rsaEncryption or
    plain ecdsa with the SignerInfo's digestAlgorithm). Never raises on hostile input."""
    return judge(describe(public_key_info, algorithm, digest_hint), on)


def describe(
    public_key_info: keys.PublicKeyInfo, algorithm: algos.SignedDigestAlgorithm, digest_hint: str | None = None
) -> Described:
    """The catalogue's names for a signature's hash and key (or why they cannot be named); what
    `judge` decides on, and what a hot path keeps per signer instead of asking again."""
    # Keyed by the algorithm's OID, not its encoding: asn1crypto re-encodes an identifier built in
    # code on every dump(), which costs more than the signature check. Only RSASSA-PSS carries a
    # digest in its parameters; the rest are named by the OID (and the hint) alone.
    try:
        oid = algorithm["algorithm"].dotted
        parameters = algorithm["parameters"].dump() if oid == _PSS_OID else b""
        spki = public_key_info.dump()
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"signature algorithm or key cannot be identified ({type(exc).__name__})"
    return _describe(spki, oid, parameters, digest_hint)


def judge(described: Described, on: date | None = None) -> str | None:
    """The catalogue's verdict on a described signature: today's (one dict lookup once the day's
    first verdict for it is known), or the one for day `on`."""
    if on is not None:
        return _verdict(described, on)
    day = int(time.time() // 86400)  # UTC day number: the verdicts change at most once a day
    if day != _TODAY.day:
        _TODAY.day, _TODAY.verdicts = day, {}
    try:
        return _TODAY.verdicts[described]
    except KeyError:
        verdict = _TODAY.verdicts[described] = _verdict(described, today())
        if len(_TODAY.verdicts) > 4096:
            _TODAY.verdicts = {}
        return verdict


def _verdict(described: Described, on: date) -> str | None:
    if isinstance(described, str):
        return described
    digest, key, bits = described
    return signature_refusal(digest, key, bits, on)


class _Day:
    def __init__(self) -> None:
        self.day = -1
        self.verdicts: dict[Described, str | None] = {}


_TODAY = _Day()


_PSS_OID = "1.2.840.113549.1.1.10"


@lru_cache(maxsize=4096)
def _describe(spki_der: bytes, oid: str, parameters: bytes, digest_hint: str | None) -> Described:
    try:
        public_key_info = keys.PublicKeyInfo.load(spki_der)
        fields: dict[str, object] = {"algorithm": oid}
        if parameters:
            fields["parameters"] = algos.RSASSAPSSParams.load(parameters)
        return _key(public_key_info, algos.SignedDigestAlgorithm(fields), digest_hint)
    except (ValueError, TypeError, KeyError, AttributeError, UnboundLocalError) as exc:
        return f"signature algorithm or key cannot be identified ({type(exc).__name__})"


def _key(
    public_key_info: keys.PublicKeyInfo, algorithm: algos.SignedDigestAlgorithm, digest_hint: str | None
) -> Described:
    if algorithm["algorithm"].dotted in sm2.SM2_SIGNATURE_OIDS:
        return "sm3", "sm2", None
    key, bits = _key_name(public_key_info)
    if key == "sm2":
        return "sm3", key, None
    if key in ("ed25519", "ed448"):
        return None, key, None  # the hash is part of the scheme
    return _digest(algorithm, digest_hint), key, bits


def _key_name(public_key_info: keys.PublicKeyInfo) -> tuple[str, int | None]:
    """The catalogue's name of a public key, and its size where the size matters (RSA)."""
    if sm2.is_sm2_key(public_key_info):
        return "sm2", None
    kind = public_key_info.algorithm
    if kind in ("rsa", "rsassa_pss"):
        return "rsa", public_key_info.bit_size
    if kind == "ec":
        form, curve = public_key_info.curve
        return (curve if form == "named" else f"unnamed curve ({form})"), None
    return str(kind), None


def key_refusal(public_key_info: keys.PublicKeyInfo, on: date | None = None) -> str | None:
    """Why a certificate's own key may not be relied on (an RSA-1024 signer); None when it may."""
    described = _describe_key(public_key_info.dump())
    if isinstance(described, str):
        return described
    return algorithm_refusal(Use.KEY, described[0], on or today(), described[1])


@lru_cache(maxsize=4096)
def _describe_key(spki_der: bytes) -> tuple[str, int | None] | str:
    try:
        return _key_name(keys.PublicKeyInfo.load(spki_der))
    except (ValueError, TypeError, KeyError, AttributeError, UnboundLocalError) as exc:
        return f"public key cannot be identified ({type(exc).__name__})"


def _digest(algorithm: algos.SignedDigestAlgorithm, digest_hint: str | None) -> str:
    name = algorithm["algorithm"].native
    if name == "rsassa_pss":
        return str(algorithm["parameters"]["hash_algorithm"]["algorithm"].native)
    try:
        return str(algorithm.hash_algo)
    except ValueError:
        # CMS often names the key type only (rsaEncryption, id-ecPublicKey, plain ecdsa): the
        # digest is then the SignerInfo's digestAlgorithm, passed as the hint.
        if digest_hint is None:
            raise
        return digest_hint


class SchemeAlgorithmPolicy(AlgorithmUsagePolicy):
    """The catalogue as pyhanko-certvalidator's algorithm policy (chain certificates, OCSP
    responder paths). The engine passes the validation time; the catalogue is asked for the day
    of verification instead (see `domain.algorithms`)."""

    def __init__(self, clock: Callable[[], date] = today) -> None:
        self._clock = clock

    def digest_algorithm_allowed(
        self, algo: algos.DigestAlgorithm, moment: datetime | None
    ) -> AlgorithmUsageConstraint:
        name = "sm3" if algo["algorithm"].dotted == sm2.SM3_OID else str(algo["algorithm"].native)
        refused = algorithm_refusal(Use.DIGEST, name, self._clock())
        return AlgorithmUsageConstraint(allowed=refused is None, failure_reason=refused)

    def signature_algorithm_allowed(
        self,
        algo: algos.SignedDigestAlgorithm,
        moment: datetime | None,
        public_key: keys.PublicKeyInfo | None,
    ) -> AlgorithmUsageConstraint:
        if public_key is None:  # the engine always has the issuer's key; refuse rather than guess
            return AlgorithmUsageConstraint(allowed=False, failure_reason="no public key to judge")
        refused = refusal(public_key, algo, None, self._clock())
        return AlgorithmUsageConstraint(allowed=refused is None, failure_reason=refused)
