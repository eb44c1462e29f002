"""Issuing RFC 3161 time-stamp tokens, and refusing requests that cannot have one.

A request is answered with a TimeStampResp in every case: ``granted`` with a token, or
``rejection`` with a failInfo naming what is wrong (RFC 3161 2.4.2):

- ``badDataFormat``: the body is not a DER TimeStampReq, or the imprint's length does not fit
  its hash algorithm;
- ``badAlg``: the imprint's hash algorithm is not one we accept (SHA-1 and MD5 are refused);
- ``badRequest``: a version other than 1;
- ``unacceptedPolicy``: a reqPolicy other than ours; ``unacceptedExtension``: any extension.

The token is a SignedData (version 3) over the DER TSTInfo with the signed attributes
content-type, message-digest and the ESS signing-certificate-v2 that pins the TSA certificate
(RFC 5816); its serial comes from ``SerialStore``, the nonce is echoed, genTime is UTC with
millisecond precision and the stated accuracy. The structures are asn1crypto's; the parts every
token repeats are encoded once and each token is assembled from DER (see ``__init__``).
pyHanko's ``DummyTimeStamper`` was not reused: it signs with RSA PKCS#1 only, draws random
serials, states a foreign policy and the local time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import algos, cms, core, tsp, x509
from pyhanko.sign.general import as_signing_certificate_v2

from baylink.cms import tlv
from baylink.tsp import TimeStampResponse
from services.identity.adapters.cms_signer import digest
from services.identity.adapters.keys import Scheme, SigningKey, algorithm_identifier
from services.identity.adapters.sm2 import SM3_OID

# Baylink TSA policy (ours: a UUID OID, which nobody else can have been assigned).
BAYLINK_TSA_POLICY = "2.25.161028403577921544041977174708811926623"
# Imprint hash algorithms accepted, by OID, with the digest length each must have.
ACCEPTED_IMPRINTS = {
    "2.16.840.1.101.3.4.2.1": 32,  # SHA-256
    "2.16.840.1.101.3.4.2.2": 48,  # SHA-384
    "2.16.840.1.101.3.4.2.3": 64,  # SHA-512
    SM3_OID: 32,
}
# The digest the token's signed attributes use, by the TSA key's signature scheme.
_ATTRIBUTE_DIGEST = {
    Scheme.RS256: "sha256",
    Scheme.PS256: "sha256",
    Scheme.ES256: "sha256",
    Scheme.ES384: "sha384",
    Scheme.EDDSA: "sha512",
    Scheme.SM2_SM3: "sm3",
}


class Refused(Exception):
    """A request the authority does not grant; ``fail_info`` is an asn1crypto PKIFailureInfo bit name."""

    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


@dataclass(frozen=True)
class Issued:
    serial: int
    gen_time: datetime
    response: bytes  # DER TimeStampResp


def rejection(fail_info: str, text: str) -> bytes:
    """A DER TimeStampResp with status rejection, the failInfo bit and a statusString."""
    status = tsp.PKIStatusInfo(
        {"status": "rejection", "status_string": [text], "fail_info": tsp.PKIFailureInfo({fail_info})}
    )
    return bytes(TimeStampResponse({"status": status}).dump())


class TimeStampAuthority:
    def __init__(
        self,
        key: SigningKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        serials: Callable[[], int],
        policy: str = BAYLINK_TSA_POLICY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        accuracy: timedelta = timedelta(seconds=1),
    ) -> None:
        check_certificate(certificate, key)
        self.certificate = certificate
        self.policy = policy
        self._key = key
        self._scheme = key.default_scheme()
        self._hash = _ATTRIBUTE_DIGEST[self._scheme]
        self._serials = serials
        self._clock = clock
        # What every token repeats, encoded once: asn1crypto would re-encode the certificates and
        # algorithm parameters of every token it builds (milliseconds each), so the constant parts
        # are DER here and each token is spliced together around its own TSTInfo and signature.
        digest_algorithm = algos.DigestAlgorithm({"algorithm": SM3_OID if self._hash == "sm3" else self._hash})
        self._digest_algorithm = digest_algorithm.dump()
        self._signature_algorithm = algorithm_identifier(self._scheme).dump()
        self._certificates = b"".join(c.dump() for c in (certificate, *chain))
        sid = cms.IssuerAndSerialNumber({"issuer": certificate.issuer, "serial_number": certificate.serial_number})
        self._sid = sid.dump()
        self._policy = core.ObjectIdentifier(policy).dump()
        self._accuracy = _accuracy(accuracy).dump()
        self._tsa_name = tlv(0xA0, x509.GeneralName(name="directory_name", value=certificate.subject).dump())
        self._content_type = cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}).dump()
        pinned = {"type": "signing_certificate_v2", "values": [as_signing_certificate_v2(certificate)]}
        self._signing_certificate = cms.CMSAttribute(pinned).dump()

    def respond(self, data: bytes) -> bytes:
        """The DER TimeStampResp for a DER TimeStampReq: a token, or a rejection saying why."""
        try:
            return self.issue(data).response
        except Refused as refused:
            return rejection(refused.fail_info, refused.text)

    def issue(self, data: bytes) -> Issued:
        """Refused when the request is not granted."""
        request = read_request(data, self.policy)
        serial = self._serials()
        now = self._clock().astimezone(UTC)
        gen_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
        nonce = request["nonce"].dump() if request["nonce"].native is not None else b""
        tst_info = tlv(
            0x30,
            _VERSION_1
            + self._policy
            + request["message_imprint"].dump()
            + core.Integer(serial).dump()
            + core.GeneralizedTime(gen_time).dump()
            + self._accuracy
            + nonce
            + self._tsa_name,
        )
        token = self._sign(tst_info, bool(request["cert_req"].native))
        return Issued(serial, gen_time, tlv(0x30, _GRANTED + token))

    def _sign(self, tst_info: bytes, with_certificates: bool) -> bytes:
        """The TimeStampToken: ContentInfo around a SignedData (version 3) over ``tst_info``."""
        message_digest = tlv(0x30, _MESSAGE_DIGEST_OID + tlv(0x31, tlv(0x04, digest(self._hash, tst_info))))
        attributes = b"".join(sorted((self._content_type, message_digest, self._signing_certificate), key=_der_order))
        signature = self._key.sign(tlv(0x31, attributes), self._scheme)  # signed as the SET OF (RFC 5652 5.4)
        signer_info = tlv(
            0x30,
            _VERSION_1
            + self._sid
            + self._digest_algorithm
            + tlv(0xA0, attributes)
            + self._signature_algorithm
            + tlv(0x04, signature),
        )
        encapsulated = tlv(0x30, _TST_INFO_OID + tlv(0xA0, tlv(0x04, tst_info)))
        certificates = tlv(0xA0, self._certificates) if with_certificates else b""
        signed_data = tlv(
            0x30,
            _VERSION_3 + tlv(0x31, self._digest_algorithm) + encapsulated + certificates + tlv(0x31, signer_info),
        )
        return tlv(0x30, _SIGNED_DATA_OID + tlv(0xA0, signed_data))


_VERSION_1 = core.Integer(1).dump()
_VERSION_3 = core.Integer(3).dump()
_GRANTED = tsp.PKIStatusInfo({"status": "granted"}).dump()
_MESSAGE_DIGEST_OID = core.ObjectIdentifier("1.2.840.113549.1.9.4").dump()
_TST_INFO_OID = core.ObjectIdentifier("1.2.840.113549.1.9.16.1.4").dump()
_SIGNED_DATA_OID = core.ObjectIdentifier("1.2.840.113549.1.7.2").dump()


def _der_order(encoding: bytes) -> bytes:
    """X.690 11.6: a DER SET OF sorts its elements' encodings, the shorter padded with zeros."""
    return encoding.ljust(4096, b"\0")


def read_request(data: bytes, policy: str) -> tsp.TimeStampReq:
    """The request parsed strictly and checked against what we grant; Refused otherwise."""
    try:
        request = tsp.TimeStampReq.load(data, strict=True)
        request.native  # noqa: B018 - parse every field now: a bad one is the client's fault, here
    except (ValueError, TypeError, OverflowError) as error:
        raise Refused("bad_data_format", f"not a DER TimeStampReq: {error}") from None
    if request["version"].native != "v1":
        raise Refused("bad_request", "only version 1 requests are answered")
    imprint = request["message_imprint"]
    oid = imprint["hash_algorithm"]["algorithm"].dotted
    if oid not in ACCEPTED_IMPRINTS:
        name = imprint["hash_algorithm"]["algorithm"].native
        raise Refused("bad_alg", f"imprint hash {name} is not accepted; use SHA-256, SHA-384, SHA-512 or SM3")
    if imprint["hash_algorithm"]["parameters"].native is not None:
        raise Refused("bad_alg", "the imprint's hash algorithm takes no parameters")
    if len(imprint["hashed_message"].native) != ACCEPTED_IMPRINTS[oid]:
        raise Refused("bad_data_format", f"the imprint must be {ACCEPTED_IMPRINTS[oid]} bytes for its hash")
    requested = request["req_policy"].native
    if requested is not None and request["req_policy"].dotted != policy:
        raise Refused("unaccepted_policy", f"this authority stamps under policy {policy} only")
    if request["extensions"].native:
        raise Refused("unaccepted_extensions", "no request extension is supported")
    return request


def check_certificate(certificate: x509.Certificate, key: SigningKey) -> None:
    """RFC 3161 2.3: exactly one extended key usage, id-kp-timeStamping, marked critical; the key
    must be the certificate's. ValueError otherwise (a misconfigured authority does not start)."""
    if certificate.public_key.dump() != key.public_key_info().dump():
        raise ValueError("the TSA key does not belong to the TSA certificate")
    usages = [e for e in certificate["tbs_certificate"]["extensions"] if e["extn_id"].native == "extended_key_usage"]
    if len(usages) != 1 or not usages[0]["critical"].native or usages[0]["extn_value"].native != ["time_stamping"]:
        raise ValueError("the TSA certificate must have the one critical extended key usage id-kp-timeStamping")


def _accuracy(accuracy: timedelta) -> tsp.Accuracy:
    seconds, rest = divmod(round(accuracy.total_seconds() * 1000), 1000)
    fields = {"seconds": seconds} if seconds else {}
    if rest:
        fields["millis"] = rest
    return tsp.Accuracy(fields)
