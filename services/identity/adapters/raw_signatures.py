"""Raw signatures over a digest (no CMS): the algorithms a caller may name, and the check."""

from __future__ import annotations

from functools import lru_cache

from asn1crypto import algos, x509

from services.identity.adapters import sm2
from services.identity.adapters.algorithm_policy import Described, describe, judge
from services.identity.adapters.cms_signer import DIGESTS
from services.identity.adapters.signatures import prepared_verify
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import Reason

RAW_ALGORITHMS = ("rsa-pkcs1v15", "rsa-pss", "ecdsa", "ed25519", "sm2")


def check_raw(
    signature: bytes,
    document_digest: bytes,
    digest_algorithm: str,
    signature_algorithm: str,
    signer: x509.Certificate,
) -> Reason | None:
    """RSA and ECDSA signatures are over the document (verified from its digest: prehashed);
    Ed25519 and SM2 hash internally in a way a bare digest cannot feed, so for them the signed
    message is the digest value itself."""
    if digest_algorithm not in DIGESTS:
        raise InvalidInput("digest_algorithm", "unsupported", f"one of {sorted(DIGESTS)}")
    if signature_algorithm not in RAW_ALGORITHMS:
        raise InvalidInput("signature_algorithm", "unsupported", f"one of {list(RAW_ALGORITHMS)}")
    if len(document_digest) != DIGESTS[digest_algorithm]:
        raise InvalidInput(
            "document_digest",
            "wrong_length",
            f"{digest_algorithm} digests are {DIGESTS[digest_algorithm]} bytes",
        )
    if signature_algorithm == "sm2" and digest_algorithm != "sm3":
        raise InvalidInput("digest_algorithm", "unsupported", "SM2 signatures go with SM3")
    algorithm = _raw_algorithm(signature_algorithm, digest_algorithm)
    if judge(_described(signer, algorithm, signature_algorithm, digest_algorithm)) is not None:
        return Reason.ALGORITHM_NOT_ALLOWED  # e.g. an RSA key below the catalogue's minimum
    prehashed = signature_algorithm in ("rsa-pkcs1v15", "rsa-pss", "ecdsa")
    # Judged above; `prepared_verify` answers as `verify` does, with the key decoded once.
    check = prepared_verify(signer.public_key, algorithm, digest_algorithm=digest_algorithm, prehashed=prehashed)
    return None if check(signature, document_digest) else Reason.SIGNATURE_INVALID


_DESCRIBED: dict[tuple[bytes, str, str], Described] = {}
_DESCRIBED_MAX = 4096


def _described(signer: x509.Certificate, algorithm: algos.SignedDigestAlgorithm, name: str, digest: str) -> Described:
    """`algorithm_policy.describe`, kept per (signer, algorithm names): asked on every raw signature."""
    key = (signer.sha256, name, digest)
    found = _DESCRIBED.get(key)
    if found is None:
        found = describe(signer.public_key, algorithm, digest)
        if len(_DESCRIBED) >= _DESCRIBED_MAX:
            _DESCRIBED.clear()
        _DESCRIBED[key] = found
    return found


@lru_cache(maxsize=64)
def _raw_algorithm(name: str, hash_name: str) -> algos.SignedDigestAlgorithm:
    # Built once per pair and re-read from DER: asn1crypto re-encodes a structure built in code on
    # every dump(), and the algorithm catalogue's lookup is keyed by the encoding.
    built = _build_algorithm(name, hash_name)
    return algos.SignedDigestAlgorithm.load(built.dump())


def _build_algorithm(name: str, hash_name: str) -> algos.SignedDigestAlgorithm:
    if name == "sm2":
        return algos.SignedDigestAlgorithm({"algorithm": sm2.SM2_WITH_SM3_OID})
    if name == "ed25519":
        return algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
    if name == "rsa-pss":
        params = {
            "hash_algorithm": {"algorithm": hash_name},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
            "salt_length": DIGESTS[hash_name],
        }
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    suffix = "rsa" if name == "rsa-pkcs1v15" else "ecdsa"
    return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_{suffix}"})
