"""Reading certificates for identity binding: the PEM chain a kiosk sends, and the facts of a certificate.

- ``parse_chain_pem``: one or more PEM ``CERTIFICATE`` blocks, the holder's certificate first, then
  the intermediates it was issued under (anything else is refused, field ``certificate_chain_pem``).
- ``read_certificate``: the subject's commonName, the RFC 3739 ``dateOfBirth`` subject directory
  attribute (1.3.6.1.5.5.7.9.1, GeneralizedTime at noon GMT, so its UTC date is the birth date) and
  the kind of key, which decides the signature algorithm the holder signs with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from asn1crypto import pem, x509  # type: ignore[import-untyped]

from baylink import errors

FIELD = "certificate_chain_pem"
MAX_CHAIN = 6
KEY_ALGORITHMS = frozenset({"rsa", "rsassa_pss", "ec", "ed25519", "ed448", "dsa"})  # SM2 keys are "ec" keys
SM2_CURVE = "1.2.156.10197.1.301"
_CURVES = {"secp256r1": "ec-p256", "secp384r1": "ec-p384", SM2_CURVE: "sm2"}


@dataclass(frozen=True)
class CertificateChain:
    leaf: bytes
    intermediates: tuple[bytes, ...]


@dataclass(frozen=True)
class CertificateDetails:
    common_name: str
    date_of_birth: date | None
    key_kind: str

    def __repr__(self) -> str:
        return f"CertificateDetails(key_kind={self.key_kind!r}, <redacted>)"


def parse_chain_pem(text: str) -> CertificateChain:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else b""
    if not pem.detect(data):
        raise errors.InvalidInput.field(FIELD, "must be PEM: the holder's certificate first, then its issuers")
    ders: list[bytes] = []
    try:
        for kind, _headers, der in pem.unarmor(data, multiple=True):
            if kind != "CERTIFICATE":
                raise errors.InvalidInput.field(FIELD, f"holds a {kind} block; only certificates belong here")
            certificate = x509.Certificate.load(der)
            certificate.native  # noqa: B018 - parse it fully now, not in the middle of binding
            algorithm = certificate["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"]
            if algorithm.native not in KEY_ALGORITHMS:
                raise errors.InvalidInput.field(FIELD, f"a certificate's key algorithm is unknown ({algorithm.dotted})")
            ders.append(bytes(der))
    except (ValueError, TypeError, KeyError) as exc:  # KeyError: asn1crypto meeting an OID it has no name for
        raise errors.InvalidInput.field(FIELD, f"a certificate could not be read ({type(exc).__name__})") from None
    if not ders or len(ders) > MAX_CHAIN:
        raise errors.InvalidInput.field(FIELD, f"1 to {MAX_CHAIN} certificates")
    return CertificateChain(ders[0], tuple(ders[1:]))


def read_certificate(der: bytes) -> CertificateDetails:
    certificate = x509.Certificate.load(der)
    names = certificate.subject.native
    common_name = names.get("common_name", "") if isinstance(names, dict) else ""
    if isinstance(common_name, list):  # several CN attributes: the holder's name is the last
        common_name = common_name[-1]
    return CertificateDetails(str(common_name), _date_of_birth(certificate), _key_kind(certificate))


def _date_of_birth(certificate: x509.Certificate) -> date | None:
    for extension in certificate["tbs_certificate"]["extensions"]:
        if extension["extn_id"].native != "subject_directory_attributes":
            continue
        for attribute in extension["extn_value"].parsed:
            if attribute["type"].dotted == "1.3.6.1.5.5.7.9.1":
                values = attribute["values"].native
                if values and isinstance(values[0], datetime):
                    return values[0].date()
    return None


def _key_kind(certificate: x509.Certificate) -> str:
    algorithm = certificate.public_key.algorithm
    if algorithm == "ec":
        curve = certificate.public_key["algorithm"]["parameters"].chosen  # a named curve's OID (else: other)
        name, dotted = getattr(curve, "native", None), getattr(curve, "dotted", None)
        return _CURVES.get(name) or _CURVES.get(dotted) or "other"
    return {"rsa": "rsa", "rsassa_pss": "rsa", "ed25519": "ed25519"}.get(algorithm, "other")
