"""Detached CMS SignedData (RFC 5652), built in one place for everyone who signs a material.

Signing happens in two halves, as remote-signing services do it: ``signed_attributes`` gives the
DER the signer's key must sign (content-type, message-digest, signing-time and the ESS
signing-certificate-v2 that pins the signer's certificate, RFC 5035); ``assemble`` wraps the
signature and the certificates into the SignedData. A key at hand does both at once with
``sign_detached``. A browser signs the first half with WebCrypto, whose ECDSA signatures are IEEE
P1363 ``r || s``: ``ecdsa_der`` turns them into the DER ``SEQUENCE {r, s}`` CMS carries.

SM2 follows GM/T 0010: digest SM3, algorithm SM2-with-SM3, signed over the same SET OF attributes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from asn1crypto import algos, cms, pem, tsp, x509

SM3_OID = "1.2.156.10197.1.401"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}

# key kind → (digest, signature algorithm as CMS names it), as the e-Cert schemes use them.
KEY_ALGORITHMS: dict[str, tuple[str, str]] = {
    "rsa": ("sha256", "sha256_rsa"),
    "rsa-pss": ("sha256", "rsassa_pss"),
    "ec-p256": ("sha256", "sha256_ecdsa"),
    "ec-p384": ("sha384", "sha384_ecdsa"),
    "ed25519": ("sha512", "ed25519"),
    "sm2": ("sm3", SM2_WITH_SM3_OID),
}


class CmsError(ValueError):
    """Input that cannot become a CMS signature (a wrong length, an unknown algorithm)."""


def digest_algorithm(name: str) -> algos.DigestAlgorithm:
    if name not in DIGEST_SIZES:
        raise CmsError(f"unsupported digest {name!r}; one of {', '.join(DIGEST_SIZES)}")
    return algos.DigestAlgorithm({"algorithm": SM3_OID if name == "sm3" else name})


def signature_algorithm(name: str) -> algos.SignedDigestAlgorithm:
    """The SignerInfo's signatureAlgorithm; RSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt (RFC 4055)."""
    if name == "rsassa_pss":
        params = {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        }
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    return algos.SignedDigestAlgorithm({"algorithm": name})


def signed_attributes(
    digest_name: str, message_digest: bytes, certificate: x509.Certificate, signing_time: datetime | None
) -> bytes:
    """The DER SET OF signed attributes: exactly the bytes the signer's key signs (RFC 5652 5.4)."""
    if len(message_digest) != DIGEST_SIZES.get(digest_name, -1):
        raise CmsError(f"a {digest_name} message digest is {DIGEST_SIZES.get(digest_name, '?')} bytes")
    pinned = tsp.ESSCertIDv2(
        {
            "hash_algorithm": {"algorithm": "sha256"},
            "cert_hash": hashlib.sha256(certificate.dump()).digest(),
            "issuer_serial": {
                "issuer": [x509.GeneralName(name="directory_name", value=certificate.issuer)],
                "serial_number": certificate.serial_number,
            },
        }
    )
    attributes = [
        {"type": "content_type", "values": ["data"]},
        {"type": "message_digest", "values": [message_digest]},
    ]
    if signing_time is not None:
        attributes.append({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]})
    attributes.append({"type": "signing_certificate_v2", "values": [{"certs": [pinned]}]})
    return bytes(cms.CMSAttributes(attributes).dump())


def assemble(
    attributes_der: bytes,
    signature: bytes,
    certificate: x509.Certificate,
    digest_name: str,
    algorithm: str,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """The detached SignedData (ContentInfo, DER) around a signature over ``attributes_der``."""
    try:
        attributes = cms.CMSAttributes.load(attributes_der, strict=True)
        attributes.native  # noqa: B018 - parse every attribute now: bad input fails here, not in the verifier
    except (ValueError, TypeError) as error:
        raise CmsError(f"the signed attributes are not a DER SET OF attributes: {error}") from error
    digests = digest_algorithm(digest_name)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
            ),
            "digest_algorithm": digests,
            "signed_attrs": attributes,  # stored with the [0] IMPLICIT tag, signed as the SET OF
            "signature_algorithm": signature_algorithm(algorithm),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digests],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices(name="certificate", value=c) for c in (certificate, *chain)],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def sign_detached(
    message_digest: bytes,
    sign: Callable[[bytes], bytes],
    certificate: x509.Certificate,
    digest_name: str,
    algorithm: str,
    signing_time: datetime | None,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Both halves with a key at hand: ``sign`` signs the attributes' DER (ECDSA and SM2 give DER)."""
    attributes = signed_attributes(digest_name, message_digest, certificate, signing_time)
    return assemble(attributes, sign(attributes), certificate, digest_name, algorithm, chain)


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


_SIGNED_DATA_FIELDS = ("version", "digest_algorithms", "encap_content_info", "certificates", "crls")
_SIGNER_INFO_FIELDS = ("version", "sid", "digest_algorithm", "signed_attrs", "signature_algorithm", "signature")


def with_unsigned_attribute(signature: bytes, attribute: bytes) -> bytes:
    """The CMS ``signature`` (ContentInfo, DER) with ``attribute`` (a DER Attribute) added to its first
    SignerInfo's unsigned attributes; every other byte as it was (asn1crypto would re-encode it all)."""
    content = cms.ContentInfo.load(signature)
    signed_data = content["content"]
    infos = signed_data["signer_infos"]
    first = infos[0]
    present = first["unsigned_attrs"].contents if first["unsigned_attrs"].native else b""
    stamped = b"".join(first[name].dump() for name in _SIGNER_INFO_FIELDS) + tlv(0xA1, present + attribute)
    others = b"".join(info.dump() for info in list(infos)[1:])
    body = b"".join(signed_data[name].dump() for name in _SIGNED_DATA_FIELDS) + tlv(0x31, tlv(0x30, stamped) + others)
    return tlv(0x30, content["content_type"].dump() + tlv(0xA0, tlv(0x30, body)))


def ecdsa_der(p1363: bytes, curve_bytes: int) -> bytes:
    """An IEEE P1363 ECDSA signature (``r || s``, each ``curve_bytes`` long) as DER ``SEQUENCE {r, s}``."""
    if len(p1363) != 2 * curve_bytes:
        raise CmsError(f"an ECDSA signature on this curve is {2 * curve_bytes} bytes r||s, got {len(p1363)}")
    r = int.from_bytes(p1363[:curve_bytes], "big")
    s = int.from_bytes(p1363[curve_bytes:], "big")
    if r == 0 or s == 0:
        raise CmsError("an ECDSA signature's r and s are never zero")
    return bytes(algos.DSASignature({"r": r, "s": s}).dump())


def load_certificates(pem_text: str) -> list[x509.Certificate]:
    """Certificates of a PEM bundle, in order (the signer's first); CmsError when there are none."""
    found: list[x509.Certificate] = []
    data = pem_text.encode()
    if not pem.detect(data):
        raise CmsError("expected PEM certificates (-----BEGIN CERTIFICATE-----)")
    try:
        for kind, _headers, der in pem.unarmor(data, multiple=True):
            if kind == "CERTIFICATE":
                certificate = x509.Certificate.load(der, strict=True)
                certificate.native  # noqa: B018 - parse it all now
                found.append(certificate)
    except (ValueError, TypeError) as error:
        raise CmsError(f"a certificate could not be read: {error}") from error
    if not found:
        raise CmsError("no CERTIFICATE block found")
    return found
