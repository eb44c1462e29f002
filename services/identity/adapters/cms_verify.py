"""Cryptographic checks of detached CMS SignedData (RFC 5652) and of raw signatures over a digest.

Only the signature itself is judged here; the signer's certificate is validated by the use case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos, cms, core, x509

from services.identity.adapters import sm2
from services.identity.adapters.signatures import SM2_SIGNATURE_OIDS, verify
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import Reason

DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}
RAW_ALGORITHMS = ("rsa-pkcs1v15", "rsa-pss", "ecdsa", "ed25519", "sm2")


def digest(name: str, data: bytes) -> bytes:
    if name == "sm3":
        return sm2.sm3(data)
    return hashlib.new(name, data).digest()


def digest_name(algorithm: algos.DigestAlgorithm) -> str | None:
    if algorithm["algorithm"].dotted == sm2.SM3_OID:
        return "sm3"
    name = algorithm["algorithm"].native
    return name if name in DIGESTS else None


@dataclass(frozen=True)
class SignatureCheck:
    signer: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    signing_time: datetime | None
    digest_algorithm: str
    signature_algorithm: str
    failure: Reason | None  # None: the signature verifies over the document
    detail: str = ""


def check_detached_cms(
    signed_data: cms.SignedData,
    carried: list[x509.Certificate],
    document_digest: bytes | None,
    document: bytes | None,
    extra_certificates: list[x509.Certificate],
) -> SignatureCheck:
    certs = tuple(carried)
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        return SignatureCheck(None, certs, None, "", "", Reason.MALFORMED, "exactly one SignerInfo is supported")
    info = signer_infos[0]
    hash_name = digest_name(info["digest_algorithm"])
    sig_algorithm = info["signature_algorithm"]
    sig_name = sig_algorithm["algorithm"].native
    signer = _find_signer(info["sid"], [*certs, *extra_certificates])
    attrs = _signed_attributes(info)
    claimed = attrs.get("signing_time")
    signing_time = claimed if isinstance(claimed, datetime) else None

    def result(failure: Reason | None, detail: str = "") -> SignatureCheck:
        return SignatureCheck(signer, certs, signing_time, hash_name or "", sig_name, failure, detail)

    if hash_name is None:
        return result(Reason.ALGORITHM_NOT_ALLOWED, f"digest {info['digest_algorithm']['algorithm'].dotted}")
    if (
        "message_digest" not in attrs
        or attrs.get("content_type") != signed_data["encap_content_info"]["content_type"].native
    ):
        return result(Reason.SIGNED_ATTRIBUTES, "content-type and message-digest must be signed attributes")
    expected = document_digest if document is None else digest(hash_name, document)
    if expected is None or len(expected) != DIGESTS[hash_name]:
        raise InvalidInput("document_digest", "wrong_length", f"a {hash_name} digest is {DIGESTS[hash_name]} bytes")
    if attrs["message_digest"] != expected:
        return result(Reason.DIGEST_MISMATCH, "message-digest differs from the document's digest")
    if signer is None:
        return result(Reason.SIGNER_NOT_FOUND, "no supplied certificate matches the signer identifier")
    # RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF, not as [0].
    signed_bytes = b"\x31" + info["signed_attrs"].dump()[1:]
    ok = verify(
        info["signature"].native,
        signed_bytes,
        signer.public_key,
        _cms_algorithm(sig_algorithm, hash_name),
        digest_algorithm=hash_name if hash_name != "sm3" else None,
    )
    return result(None if ok else Reason.SIGNATURE_INVALID)


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
    prehashed = signature_algorithm in ("rsa-pkcs1v15", "rsa-pss", "ecdsa")
    ok = verify(
        signature,
        document_digest,
        signer.public_key,
        algorithm,
        digest_algorithm=digest_algorithm,
        prehashed=prehashed,
    )
    return None if ok else Reason.SIGNATURE_INVALID


def _raw_algorithm(name: str, hash_name: str) -> algos.SignedDigestAlgorithm:
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


def _cms_algorithm(algorithm: algos.SignedDigestAlgorithm, hash_name: str) -> algos.SignedDigestAlgorithm:
    # CMS often names only the key type (rsaEncryption, id-ecPublicKey, SM2 key OID) and puts the
    # digest in digestAlgorithm; spell the full mechanism out for the verifier.
    oid = algorithm["algorithm"].dotted
    if oid in SM2_SIGNATURE_OIDS or oid == sm2.SM2_CURVE_OID:
        return algos.SignedDigestAlgorithm({"algorithm": sm2.SM2_WITH_SM3_OID})
    if algorithm["algorithm"].native == "ecdsa" or oid == "1.2.840.10045.2.1":
        return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_ecdsa"})
    return algorithm


def _signed_attributes(info: cms.SignerInfo) -> dict[str, object]:
    attrs: dict[str, object] = {}
    if isinstance(info["signed_attrs"], core.Void):
        return attrs
    for attr in info["signed_attrs"]:
        values = attr["values"]
        if len(values) != 1:
            continue  # RFC 5652 demands exactly one value for the attributes we read
        attrs[attr["type"].native] = values[0].native
    return attrs


def _find_signer(sid: cms.SignerIdentifier, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        return next(
            (
                c
                for c in candidates
                if c.issuer == wanted["issuer"] and c.serial_number == wanted["serial_number"].native
            ),
            None,
        )
    return next((c for c in candidates if c.key_identifier == sid.chosen.native), None)
