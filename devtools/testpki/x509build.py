"""Issue X.509 certificates and CRLs with asn1crypto structures and our own signers.

One code path for every algorithm: the TBS structure is built here and signed by `SigningKey`,
which is what makes SM2-with-SM3 chains possible (pyca/cryptography cannot sign with SM2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from asn1crypto import core, crl, keys, x509

from services.identity.adapters.keys import Scheme, SigningKey, algorithm_identifier


@dataclass(frozen=True)
class Issuer:
    name: x509.Name
    key: SigningKey
    key_identifier: bytes
    scheme: Scheme


@dataclass(frozen=True)
class CertificateProfile:
    serial: int
    subject: x509.Name
    not_before: datetime
    not_after: datetime
    is_ca: bool = False
    key_usage: frozenset[str] = frozenset({"digital_signature", "non_repudiation"})
    policies: tuple[str, ...] = ()
    crl_url: str | None = None
    ocsp_url: str | None = None
    extended_key_usage: tuple[str, ...] = ()
    extended_key_usage_critical: bool = False  # RFC 3161 2.3: critical, and only time_stamping, for a TSA
    ocsp_no_check: bool = False
    # (OID, critical) of extensions this module knows nothing about, for negative tests.
    extra_extensions: tuple[tuple[str, bool], ...] = field(default_factory=tuple)
    date_of_birth: date | None = None


def name(common_name: str, organisation: str, country: str) -> x509.Name:
    return x509.Name.build({"country_name": country, "organization_name": organisation, "common_name": common_name})


def key_identifier(public_key: keys.PublicKeyInfo) -> bytes:
    # RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents.
    return hashlib.sha1(public_key["public_key"].contents[1:]).digest()  # an identifier, not a security use


def asn1_time(moment: datetime) -> x509.Time:
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    return x509.Time({"utc_time" if moment.year < 2050 else "general_time": moment})


def issue(
    profile: CertificateProfile,
    public_key: keys.PublicKeyInfo,
    issuer: Issuer | None,
    self_key: SigningKey | None = None,
) -> x509.Certificate:
    """Issue a certificate; with `issuer` None it is self-signed by `self_key`."""
    if issuer is None:
        if self_key is None:
            raise ValueError("a self-signed certificate needs its own key")
        issuer = Issuer(profile.subject, self_key, key_identifier(public_key), self_key.default_scheme())
    algorithm = algorithm_identifier(issuer.scheme)
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": profile.serial,
            "signature": algorithm,
            "issuer": issuer.name,
            "validity": {
                "not_before": asn1_time(profile.not_before),
                "not_after": asn1_time(profile.not_after),
            },
            "subject": profile.subject,
            "subject_public_key_info": public_key,
            "extensions": _extensions(profile, public_key, issuer.key_identifier),
        }
    )
    signature = issuer.key.sign(tbs.dump(), issuer.scheme)
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature})


def _extensions(profile: CertificateProfile, public_key: keys.PublicKeyInfo, authority_ki: bytes) -> list[dict]:
    ext: list[dict] = [
        _ext("basic_constraints", {"ca": profile.is_ca}, critical=True),
        _ext("key_usage", set(profile.key_usage), critical=True),
        _ext("key_identifier", key_identifier(public_key)),
        _ext("authority_key_identifier", {"key_identifier": authority_ki}),
    ]
    if profile.policies:
        ext.append(_ext("certificate_policies", [{"policy_identifier": oid} for oid in profile.policies]))
    if profile.crl_url:
        point = {"distribution_point": {"full_name": [_uri(profile.crl_url)]}}
        ext.append(_ext("crl_distribution_points", [point]))
    if profile.ocsp_url:
        access = {"access_method": "ocsp", "access_location": _uri(profile.ocsp_url)}
        ext.append(_ext("authority_information_access", [access]))
    if profile.extended_key_usage:
        eku = list(profile.extended_key_usage)
        ext.append(_ext("extended_key_usage", eku, critical=profile.extended_key_usage_critical))
    if profile.ocsp_no_check:
        ext.append(_ext("ocsp_no_check", core.Null()))
    if profile.date_of_birth is not None:
        ext.append(_ext("subject_directory_attributes", [date_of_birth_attribute(profile.date_of_birth)]))
    for oid, critical in profile.extra_extensions:
        ext.append({"extn_id": oid, "critical": critical, "extn_value": core.ParsableOctetString(b"\x05\x00")})
    return ext


DATE_OF_BIRTH = "1.3.6.1.5.5.7.9.1"  # RFC 3739 dateOfBirth: GeneralizedTime at 12:00:00Z


def date_of_birth_attribute(day: date) -> dict[str, object]:
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return {"type": DATE_OF_BIRTH, "values": [core.GeneralizedTime(noon)]}


def _uri(url: str) -> x509.GeneralName:
    return x509.GeneralName(name="uniform_resource_identifier", value=url)


def _ext(extn_id: str, value: object, critical: bool = False) -> dict:
    return {"extn_id": extn_id, "critical": critical, "extn_value": value}


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: str  # asn1crypto CRLReason name, e.g. "key_compromise"


def build_crl(
    issuer: Issuer, number: int, this_update: datetime, next_update: datetime, revoked: Sequence[RevokedEntry]
) -> crl.CertificateList:
    algorithm = algorithm_identifier(issuer.scheme)
    fields: dict[str, object] = {
        "version": "v2",
        "signature": algorithm,
        "issuer": issuer.name,
        "this_update": asn1_time(this_update),
        "next_update": asn1_time(next_update),
        "crl_extensions": [
            _ext("crl_number", number),
            _ext("authority_key_identifier", {"key_identifier": issuer.key_identifier}),
        ],
    }
    if revoked:  # RFC 5280 5.1.2.6: the list is absent, not empty, when nothing is revoked
        fields["revoked_certificates"] = [
            {
                "user_certificate": entry.serial,
                "revocation_date": asn1_time(entry.revoked_at),
                "crl_entry_extensions": [_ext("crl_reason", entry.reason)],
            }
            for entry in revoked
        ]
    tbs = crl.TbsCertList(fields)
    signature = issuer.key.sign(tbs.dump(), issuer.scheme)
    return crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": algorithm, "signature": signature})


def issuer_for(certificate: x509.Certificate, key: SigningKey, scheme: Scheme | None = None) -> Issuer:
    return Issuer(certificate.subject, key, key_identifier(certificate.public_key), scheme or key.default_scheme())
