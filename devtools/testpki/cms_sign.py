"""Make detached CMS SignedData (RFC 5652) like a kiosk's signing client does, for tests and demos.

The CMS is built by ``baylink.cms`` (the one way Baylink builds a CMS, shared with the kiosk's
browser signing); this module only picks the digest and the algorithm for a test key and signs.
SM2 follows GM/T 0010: digest SM3, signature algorithm SM2-with-SM3.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509

from baylink import cms
from services.identity.adapters.cms_verify import digest
from services.identity.adapters.keys import KeyKind, Scheme, SigningKey

_DIGEST_FOR = {KeyKind.EC_P384: "sha384", KeyKind.ED25519: "sha512", KeyKind.SM2: "sm3"}
_ALGORITHM_FOR = {
    Scheme.RS256: "sha256_rsa",
    Scheme.PS256: "rsassa_pss",
    Scheme.ES256: "sha256_ecdsa",
    Scheme.ES384: "sha384_ecdsa",
    Scheme.EDDSA: "ed25519",
    Scheme.SM2_SM3: cms.SM2_WITH_SM3_OID,
}


def algorithms_for(key: SigningKey, scheme: Scheme | None = None) -> tuple[str, str]:
    """(digest, CMS signature algorithm) with which `key` signs a CMS SignerInfo."""
    return _DIGEST_FOR.get(key.kind, "sha256"), _ALGORITHM_FOR[scheme or key.default_scheme()]


def sign_detached(
    document: bytes,
    key: SigningKey,
    certificate: x509.Certificate,
    signing_time: datetime | None,
    extra_certificates: list[x509.Certificate] | None = None,
    scheme: Scheme | None = None,
) -> bytes:
    scheme = scheme or key.default_scheme()
    hash_name, algorithm = algorithms_for(key, scheme)
    return cms.sign_detached(
        digest(hash_name, document),
        lambda attributes: key.sign(attributes, scheme),
        certificate,
        hash_name,
        algorithm,
        signing_time,
        extra_certificates or (),
    )
