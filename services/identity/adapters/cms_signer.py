"""What a CMS SignedData says about its one signer, read off once per signer and kept.

The digest helpers, the signer profile that `cms_verify` keeps per returning signer, and finding
the signer's certificate by its identifier (with name comparisons remembered).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from asn1crypto import algos, cms, x509

from services.identity.adapters import sm2
from services.identity.adapters.algorithm_policy import Described
from services.identity.adapters.signatures import SM2_SIGNATURE_OIDS, prepared_verify

DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}


def digest(name: str, data: bytes) -> bytes:
    constructor = _CONSTRUCTORS.get(name)
    if constructor is not None:  # hashlib.new looks the name up anew on every call
        return constructor(data).digest()
    if name == "sm3":
        return sm2.sm3(data)
    return hashlib.new(name, data).digest()


_CONSTRUCTORS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def digest_name(algorithm: algos.DigestAlgorithm) -> str | None:
    if algorithm["algorithm"].dotted == sm2.SM3_OID:
        return "sm3"
    name = algorithm["algorithm"].native
    return name if name in DIGESTS else None


@dataclass(frozen=True)
class SignerProfile:
    """What a SignedData says about its one signer that does not change from one signature to the
    next: read off once per signer (see `read_detached_cms`)."""

    certificates: tuple[x509.Certificate, ...]
    content_type: object  # of the encapsulated content, as asn1crypto names it
    sid: cms.SignerIdentifier
    digest_oid: str
    hash_name: str | None
    sig_name: str
    signature_algorithm: algos.SignedDigestAlgorithm
    verify_algorithm: algos.SignedDigestAlgorithm | None  # cms_algorithm's, once it has been built
    carried_signer: x509.Certificate | None  # the carried certificate the sid names, if any
    verifiers: dict[tuple[bytes, str], Callable[[bytes, bytes], bool]] = field(default_factory=dict, compare=False)
    # The algorithm catalogue's names for this signer's key and algorithm (`algorithm_policy.describe`).
    described: dict[tuple[bytes, str], Described] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls, signed_data: cms.SignedData, info: cms.SignerInfo, certs: tuple[x509.Certificate, ...]
    ) -> SignerProfile:
        hash_name = digest_name(info["digest_algorithm"])
        sig_algorithm = info["signature_algorithm"]
        return cls(
            certs,
            signed_data["encap_content_info"]["content_type"].native,
            info["sid"],
            info["digest_algorithm"]["algorithm"].dotted,
            hash_name,
            sig_algorithm["algorithm"].native,
            sig_algorithm,
            None,
            find_signer(info["sid"], list(certs)),
        )

    def algorithm(self, hash_name: str) -> algos.SignedDigestAlgorithm:
        """`cms_algorithm` for this signer, built once (it raises for impossible combinations,
        then as before: when the signature is about to be verified)."""
        if self.verify_algorithm is None:
            object.__setattr__(self, "verify_algorithm", cms_algorithm(self.signature_algorithm, hash_name))
        assert self.verify_algorithm is not None
        return self.verify_algorithm

    def verifier(self, signer: x509.Certificate, hash_name: str) -> Callable[[bytes, bytes], bool]:
        """`prepared_verify` for this signer's key and algorithm, kept on the profile: finding it
        by the key's bytes costs a tenth of an ECDSA verification."""
        key = (signer.sha256, hash_name)
        found = self.verifiers.get(key)
        if found is None:
            found = prepared_verify(
                signer.public_key, self.algorithm(hash_name), digest_algorithm=hash_name if hash_name != "sm3" else None
            )
            if len(self.verifiers) < 16:  # a sid names one certificate; more only from odd extras
                self.verifiers[key] = found
        return found

    def signer(self, extra_certificates: list[x509.Certificate]) -> x509.Certificate | None:
        """The first of the carried, then the extra certificates that the sid names."""
        if self.carried_signer is not None:
            return self.carried_signer
        return find_signer(self.sid, extra_certificates) if extra_certificates else None


def cms_algorithm(algorithm: algos.SignedDigestAlgorithm, hash_name: str) -> algos.SignedDigestAlgorithm:
    # CMS often names only the key type (rsaEncryption, id-ecPublicKey, SM2 key OID) and puts the
    # digest in digestAlgorithm; spell the full mechanism out for the verifier.
    # Built ones are re-read from DER: asn1crypto re-encodes a structure built in code on every
    # dump(), and the algorithm catalogue's lookup is keyed by the encoding.
    oid = algorithm["algorithm"].dotted
    if oid in SM2_SIGNATURE_OIDS or oid == sm2.SM2_CURVE_OID:
        return _parsed(algos.SignedDigestAlgorithm({"algorithm": sm2.SM2_WITH_SM3_OID}))
    if algorithm["algorithm"].native == "ecdsa" or oid == "1.2.840.10045.2.1":
        return _parsed(algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_ecdsa"}))
    return algorithm


def _parsed(built: algos.SignedDigestAlgorithm) -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm.load(built.dump())


def find_signer(sid: cms.SignerIdentifier, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        return next(
            (
                c
                for c in candidates
                if _same_name(c.issuer, wanted["issuer"]) and c.serial_number == wanted["serial_number"].native
            ),
            None,
        )
    return next((c for c in candidates if c.key_identifier == sid.chosen.native), None)


# Name equality (RFC 5280 7.1: LDAP string preparation of every attribute) costs more than the
# signature check, and the same signers name the same issuers over and over. Its answer depends on
# the two encodings only, so it is remembered by their hashes; a comparison that raises is not.
_NAME_MATCHES: OrderedDict[tuple[bytes, bytes], bool] = OrderedDict()
_NAME_MATCHES_MAX = 4096


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    key = (a.sha256, b.sha256)
    known = _NAME_MATCHES.get(key)
    if known is None:
        known = bool(a == b)
        _NAME_MATCHES[key] = known
        if len(_NAME_MATCHES) > _NAME_MATCHES_MAX:
            _NAME_MATCHES.popitem(last=False)
    return known
