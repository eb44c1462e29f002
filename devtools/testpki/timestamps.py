"""RFC 3161 time-stamp tokens from the test PKI's TSAs, for tests, demos and the test TSA server.

``timestamp_token`` is the one way: it signs a TSTInfo over a message imprint with the key of a
``*-tsa`` entity of ``plan.py`` (hk-tsa ECDSA P-256, mo-tsa ECDSA P-384, gd-tsa SM2-with-SM3,
hk-tsa-unlisted: a well-formed TSA that no trust list names) and returns the token, a DER
ContentInfo of SignedData whose content is the TSTInfo; the signed attributes carry the ESS
signing-certificate-v2 (RFC 5816) that binds the TSA certificate. ``add_signature_timestamp``
puts a token into a CMS signature as its signature-time-stamp (the imprint is the hash of the
SignerInfo's signature value, ETSI EN 319 122-1 5.3), and ``timestamp_response`` answers a DER
TimeStampReq with a TimeStampResp.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from asn1crypto import cms, core, tsp, x509

from baylink.cms import digest_algorithm, signature_algorithm
from devtools.testpki import plan
from devtools.testpki.cms_sign import algorithms_for
from devtools.testpki.loader import COMMITTED, TestPKI
from services.identity.adapters.cms_signer import DIGESTS, digest, digest_name
from services.identity.adapters.keys import KeyKind
from services.identity.tsa.authority import rejection  # one TimeStampResp rejection for both TSAs

# The test TSAs' time-stamping policy (TSTInfo.policy), under the scheme arc of plan.py.
TSA_POLICY = f"{plan.ARC}.5"
_SERIALS = itertools.count(1)


class TimestampRequestError(ValueError):
    """A TimeStampReq that the test TSA cannot answer (malformed or an unknown hash)."""


def timestamp_token(
    data_or_digest: bytes,
    tsa: str = "hk-tsa",
    at: datetime | None = None,
    *,
    prehashed: bool = False,
    hash_name: str | None = None,
    nonce: int | None = None,
    include_certificate: bool = True,
    pki: TestPKI | None = None,
) -> bytes:
    """A time-stamp token (DER ContentInfo) of `tsa` saying `data_or_digest` existed at `at` (now).

    `data_or_digest` is hashed with `hash_name` unless `prehashed` (then it is the imprint itself).
    `hash_name` is one of sha256, sha384, sha512, sm3: by default sm3 for an SM2 TSA, else sha256.
    `include_certificate` (RFC 3161 certReq) puts the TSA certificate into the token.
    """
    pki = pki or TestPKI(COMMITTED)
    if pki.entity(tsa)["role"] != "tsa":
        raise ValueError(f"{tsa!r} is not a time-stamping authority of the test PKI")
    key, certificate = pki.key(tsa), pki.certificate(tsa)
    hash_name = hash_name or ("sm3" if key.kind is KeyKind.SM2 else "sha256")
    if hash_name not in DIGESTS:
        raise ValueError(f"unsupported imprint hash {hash_name!r}; one of {', '.join(DIGESTS)}")
    imprint = data_or_digest if prehashed else digest(hash_name, data_or_digest)
    if len(imprint) != DIGESTS[hash_name]:
        raise ValueError(f"a {hash_name} imprint is {DIGESTS[hash_name]} bytes, got {len(imprint)}")
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": TSA_POLICY,
            "message_imprint": {"hash_algorithm": digest_algorithm(hash_name), "hashed_message": imprint},
            "serial_number": int(moment.timestamp() * 1000) << 16 | next(_SERIALS) & 0xFFFF,
            "gen_time": core.GeneralizedTime(moment.replace(microsecond=0)),
            "accuracy": {"seconds": 1},
            "nonce": nonce,
            "tsa": x509.GeneralName(name="directory_name", value=certificate.subject),
        }
    )
    info_der = bytes(info.dump())
    signer_hash, algorithm = algorithms_for(key)
    attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [digest(signer_hash, info_der)]},
            {"type": "signing_certificate_v2", "values": [{"certs": [_ess_cert_id(certificate, signer_hash)]}]},
        ]
    )
    signature = key.sign(bytes(attributes.dump()))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
            ),
            "digest_algorithm": digest_algorithm(signer_hash),
            "signed_attrs": attributes,
            "signature_algorithm": signature_algorithm(algorithm),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [digest_algorithm(signer_hash)],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(info_der)},
            "certificates": [cms.CertificateChoices(name="certificate", value=certificate)]
            if include_certificate
            else None,
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def signature_imprint(cms_der: bytes, hash_name: str = "sha256") -> bytes:
    """The imprint of a signature-time-stamp: the hash of the (one) SignerInfo's signature value."""
    info = _signer_info(cms.ContentInfo.load(cms_der))
    return digest(hash_name, info["signature"].native)


def add_signature_timestamp(cms_der: bytes, token: bytes) -> bytes:
    """`cms_der` with `token` as its signature-time-stamp unsigned attribute (replacing any)."""
    content = cms.ContentInfo.load(cms_der)
    info = _signer_info(content)
    info["unsigned_attrs"] = cms.CMSAttributes(
        [{"type": "signature_time_stamp_token", "values": [cms.ContentInfo.load(token)]}]
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": content["content"]}).dump())


def timestamp_signature(
    cms_der: bytes, tsa: str = "hk-tsa", at: datetime | None = None, hash_name: str = "sha256"
) -> bytes:
    """`cms_der` time-stamped by `tsa` at `at`: the two functions above in one call."""
    token = timestamp_token(signature_imprint(cms_der, hash_name), tsa, at, prehashed=True, hash_name=hash_name)
    return add_signature_timestamp(cms_der, token)


def timestamp_response(
    request_der: bytes, tsa: str = "hk-tsa", at: datetime | None = None, pki: TestPKI | None = None
) -> bytes:
    """A DER TimeStampResp to a DER TimeStampReq: granted with a token, or rejected with a failInfo.
    `pki`: whose TSA answers (the committed test PKI by default)."""
    try:
        request = tsp.TimeStampReq.load(request_der)
        request.native  # noqa: B018 - parse it all now, so a malformed request is answered as such
        imprint = request["message_imprint"]
        hash_name = digest_name(imprint["hash_algorithm"])
        if hash_name is None:
            return rejection("bad_alg", "unsupported hash algorithm")
        token = timestamp_token(
            imprint["hashed_message"].native,
            tsa,
            at,
            prehashed=True,
            hash_name=hash_name,
            nonce=request["nonce"].native,
            include_certificate=bool(request["cert_req"].native),
            pki=pki,
        )
    except (ValueError, TypeError, KeyError) as error:
        return rejection("bad_data_format", str(error))
    status = {"status": "granted"}
    return bytes(tsp.TimeStampResp({"status": status, "time_stamp_token": cms.ContentInfo.load(token)}).dump())


def _signer_info(content: cms.ContentInfo) -> cms.SignerInfo:
    infos = content["content"]["signer_infos"]
    if content["content_type"].native != "signed_data" or len(infos) != 1:
        raise ValueError("expected a CMS SignedData with exactly one SignerInfo")
    return infos[0]


def _ess_cert_id(certificate: x509.Certificate, hash_name: str) -> tsp.ESSCertIDv2:
    return tsp.ESSCertIDv2(
        {
            "hash_algorithm": digest_algorithm(hash_name),
            "cert_hash": digest(hash_name, certificate.dump()),
            "issuer_serial": {
                "issuer": [x509.GeneralName(name="directory_name", value=certificate.issuer)],
                "serial_number": certificate.serial_number,
            },
        }
    )
