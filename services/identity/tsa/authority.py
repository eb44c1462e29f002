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
millisecond precision and the stated accuracy. pyHanko's ``DummyTimeStamper`` was not reused:
it signs with RSA PKCS#1 only, draws random serials, states a foreign policy and the local time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import algos, cms, core, tsp, x509
from pyhanko.sign.general import as_signing_certificate_v2

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
        self._digest_algorithm = algos.DigestAlgorithm({"algorithm": SM3_OID if self._hash == "sm3" else self._hash})
        self._signature_algorithm = algorithm_identifier(self._scheme)
        self._certificates = [cms.CertificateChoices(name="certificate", value=c) for c in (certificate, *chain)]
        self._serials = serials
        self._clock = clock
        self._accuracy = accuracy
        self._sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
        )
        self._signing_certificate = as_signing_certificate_v2(certificate)
        self._tsa_name = x509.GeneralName(name="directory_name", value=certificate.subject)

    def respond(self, data: bytes) -> bytes:
        """The DER TimeStampResp for a DER TimeStampReq: a token, or a rejection saying why."""
        try:
            return self.issue(data).response
        except Refused as refused:
            return rejection(refused.fail_info, refused.text)

    def issue(self, data: bytes) -> Issued:
        """Refused when the request is not granted."""
        request = read_request(data, self.policy)
        imprint = request["message_imprint"]
        serial = self._serials()
        now = self._clock().astimezone(UTC)
        gen_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
        info: dict[str, object] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": imprint,
            "serial_number": serial,
            "gen_time": gen_time,
            "accuracy": _accuracy(self._accuracy),
            "tsa": self._tsa_name,
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"]
        tst_info = bytes(tsp.TSTInfo(info).dump())
        token = self._sign(tst_info, bool(request["cert_req"].native))
        granted = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        return Issued(serial, gen_time, bytes(granted.dump()))

    def _sign(self, tst_info: bytes, with_certificates: bool) -> cms.ContentInfo:
        attributes = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [digest(self._hash, tst_info)]},
                {"type": "signing_certificate_v2", "values": [self._signing_certificate]},
            ]
        )
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": self._digest_algorithm,
                "signed_attrs": attributes,
                "signature_algorithm": self._signature_algorithm,
                "signature": self._key.sign(attributes.dump(), self._scheme),
            }
        )
        signed: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [self._digest_algorithm],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_info)},
            "signer_infos": [signer_info],
        }
        if with_certificates:
            signed["certificates"] = self._certificates
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})


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
