"""Make detached CMS SignedData (RFC 5652) like a kiosk's signing client does, for tests and demos.

SM2 follows GM/T 0010: digest SM3, signature algorithm SM2-with-SM3, signature over the
DER SET OF signed attributes with the default user identity.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import algos, cms, x509

from services.identity.adapters import sm2
from services.identity.adapters.cms_verify import digest
from services.identity.adapters.keys import KeyKind, Scheme, SigningKey, algorithm_identifier

_DIGEST_FOR = {KeyKind.EC_P384: "sha384", KeyKind.ED25519: "sha512", KeyKind.SM2: "sm3"}


def sign_detached(
    document: bytes,
    key: SigningKey,
    certificate: x509.Certificate,
    signing_time: datetime | None,
    extra_certificates: list[x509.Certificate] | None = None,
    scheme: Scheme | None = None,
) -> bytes:
    scheme = scheme or key.default_scheme()
    hash_name = _DIGEST_FOR.get(key.kind, "sha256")
    attributes = [
        {"type": "content_type", "values": ["data"]},
        {"type": "message_digest", "values": [digest(hash_name, document)]},
    ]
    if signing_time is not None:
        attributes.append({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]})
    signed_attrs = cms.CMSAttributes(attributes)
    # Signed over the SET OF encoding; stored with the [0] IMPLICIT tag.
    signature = key.sign(signed_attrs.dump(), scheme)
    digest_algorithm = algos.DigestAlgorithm({"algorithm": sm2.SM3_OID if hash_name == "sm3" else hash_name})
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": signed_attrs,
            "signature_algorithm": algorithm_identifier(scheme),
            "signature": signature,
        }
    )
    certs = [certificate, *(extra_certificates or [])]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices(name="certificate", value=c) for c in certs],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())
