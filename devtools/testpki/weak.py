"""Deliberately weak test material, made on demand from the committed test PKI's keys.

For the algorithm-catalogue tests: a CMS whose digestAlgorithm is SHA-256 but whose
signatureAlgorithm is sha1WithRSA or md5WithRSA, CRLs and certificates re-signed with those, an
RSA-1024 signer, and signers with or without an extendedKeyUsage. Never committed as files: weak
material is made where a test needs it, so nothing weak lies around to be mistaken for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from asn1crypto import algos, crl, keys, ocsp, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from baylink import cms
from devtools.testpki.loader import TestPKI
from devtools.testpki.plan import POLICY_HK_PERSONAL
from devtools.testpki.x509build import CertificateProfile, issue, issuer_for, name
from services.identity.adapters.cms_verify import digest

# rsassa_pkcs1v15 is rsaEncryption, which names no hash: the digestAlgorithm's (SHA-256) applies.
_HASHES = {
    "sha1_rsa": hashes.SHA1(),
    "md5_rsa": hashes.MD5(),
    "sha256_rsa": hashes.SHA256(),
    "rsassa_pkcs1v15": hashes.SHA256(),
}


def rsa_sign(private: rsa.RSAPrivateKey, data: bytes, algorithm: str) -> bytes:
    """PKCS #1 v1.5 with the hash `algorithm` names (sha1_rsa, md5_rsa, sha256_rsa)."""
    return bytes(private.sign(data, padding.PKCS1v15(), _HASHES[algorithm]))


def cms_with_algorithm(
    document: bytes,
    private: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    algorithm: str,
    signing_time: datetime | None = None,
) -> bytes:
    """A detached CMS whose digestAlgorithm is SHA-256 and whose signatureAlgorithm is `algorithm`,
    signed with that algorithm's hash: cryptographically a good signature, by a weak algorithm."""
    when = signing_time or datetime.now(UTC) - timedelta(minutes=5)
    return cms.sign_detached(
        digest("sha256", document),
        lambda attributes: rsa_sign(private, attributes, algorithm),
        certificate,
        "sha256",
        algorithm,
        when,
    )


def resign_crl(
    certificate_list: crl.CertificateList, private: rsa.RSAPrivateKey, algorithm: str
) -> crl.CertificateList:
    """The same CRL, signed again by its issuer with `algorithm` (e.g. sha1_rsa)."""
    identifier = algos.SignedDigestAlgorithm({"algorithm": algorithm})
    tbs = crl.TbsCertList.load(certificate_list["tbs_cert_list"].dump())
    tbs["signature"] = identifier
    return crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": identifier, "signature": rsa_sign(private, tbs.dump(), algorithm)}
    )


def resign_ocsp(response: ocsp.OCSPResponse, private: ec.EllipticCurvePrivateKey) -> ocsp.OCSPResponse:
    """The same OCSP answer, signed again by its (EC) responder with ECDSA over SHA-1."""
    basic = ocsp.BasicOCSPResponse.load(response["response_bytes"]["response"].parsed.dump())
    data = basic["tbs_response_data"]
    basic["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "sha1_ecdsa"})
    basic["signature"] = private.sign(data.dump(), ec.ECDSA(hashes.SHA1()))
    response_bytes = {"response_type": "basic_ocsp_response", "response": basic}
    return ocsp.OCSPResponse({"response_status": "successful", "response_bytes": response_bytes})


def resign_certificate(certificate: x509.Certificate, private: rsa.RSAPrivateKey, algorithm: str) -> x509.Certificate:
    """The same certificate, signed again by its issuer with `algorithm` (e.g. md5_rsa)."""
    identifier = algos.SignedDigestAlgorithm({"algorithm": algorithm})
    tbs = x509.TbsCertificate.load(certificate["tbs_certificate"].dump())
    tbs["signature"] = identifier
    return x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": identifier,
            "signature_value": rsa_sign(private, tbs.dump(), algorithm),
        }
    )


def hk_signer(
    pki: TestPKI,
    serial: int,
    *,
    key_size: int = 2048,
    extended_key_usage: Sequence[str] = (),
    not_after: datetime | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh Hong Kong personal signer issued by the test PKI's hk-ca: an RSA key of `key_size`
    bits, the personal-signing policy, hk-ca's CRL (no OCSP), optionally an extendedKeyUsage."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    public = keys.PublicKeyInfo.load(
        private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = datetime.now(UTC)
    profile = CertificateProfile(
        serial=serial,
        subject=name(f"Weak Material {serial} (TEST)", "Baylink Test", "HK"),
        not_before=now - timedelta(days=1),
        not_after=not_after or now + timedelta(days=365),
        policies=(POLICY_HK_PERSONAL,),
        crl_url=f"{pki.base_url}/crl/hk-ca.crl",
        extended_key_usage=tuple(extended_key_usage),
    )
    issuer = issuer_for(pki.certificate("hk-ca"), pki.key("hk-ca"))
    return private, issue(profile, public, issuer)
