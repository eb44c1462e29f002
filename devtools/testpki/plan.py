"""What the test PKI contains: one entry per certificate, roots first.

Policy OIDs (our choice, under the scheme arc 2.16.344.8.2.2008.810.2 of DESIGN.md):
  .1  Hong Kong personal e-Cert for signing      .2  Hong Kong organisational e-Cert
  .3  Macau personal signing certificate          .4  Guangdong personal signing certificate
Negative-test OIDs use the 2.25 (UUID) arc, which nobody else can have assigned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.identity.adapters.keys import KeyKind, Scheme

ARC = "2.16.344.8.2.2008.810.2"
POLICY_HK_PERSONAL = f"{ARC}.1"
POLICY_HK_ORGANISATION = f"{ARC}.2"
POLICY_MO_PERSONAL = f"{ARC}.3"
POLICY_GD_PERSONAL = f"{ARC}.4"
POLICY_UNRECOGNISED = "2.25.190349284123870211763480163530869561411"
UNKNOWN_CRITICAL_EXTENSION = "2.25.273919862401298613377920188237123306507"
ANY_POLICY = "2.5.29.32.0"


def _t(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


ROOT_VALIDITY = (_t(2025), _t(2045))
CA_VALIDITY = (_t(2025), _t(2040))
LEAF_VALIDITY = (_t(2025, 6), _t(2035, 6))
REVOKED_AT = _t(2026, 3, 1)


@dataclass(frozen=True)
class Entity:
    name: str
    role: str  # root | ca | leaf | ocsp | tsa | list-signer
    jurisdiction: str
    key_kind: KeyKind
    common_name: str
    issuer: str | None = None  # None: self-signed
    scheme: Scheme | None = None  # how the issuer signs; None: the issuer key's default
    policies: tuple[str, ...] = ()
    key_usage: frozenset[str] | None = None
    validity: tuple[datetime, datetime] = LEAF_VALIDITY
    revoked: bool = False
    unknown_critical_extension: bool = False
    # Personal certificates state the holder's date of birth (RFC 3739 subject directory
    # attribute), which the gateway checks against the documents when it binds a person.
    date_of_birth: date | None = None


_NON_REP = frozenset({"digital_signature", "non_repudiation"})
_HK, _MO, _GD = "HK", "MO", "GD"
_O = {_HK: "Baylink Test Hongkong Post", _MO: "Baylink Test eSignTrust Macao", _GD: "Baylink Test GDCA"}

ENTITIES: tuple[Entity, ...] = (
    # Hong Kong: RSA-2048 root, RSA-2048 issuing CA signed with RSA-PSS, delegated OCSP responder.
    Entity("hk-root", "root", _HK, KeyKind.RSA_2048, "Baylink Test HK Root CA", validity=ROOT_VALIDITY),
    Entity(
        "hk-ca",
        "ca",
        _HK,
        KeyKind.RSA_2048,
        "Baylink Test HK e-Cert CA",
        "hk-root",
        Scheme.PS256,
        validity=CA_VALIDITY,
    ),
    Entity("hk-ocsp", "ocsp", _HK, KeyKind.EC_P256, "Baylink Test HK OCSP Responder", "hk-ca", Scheme.PS256),
    Entity(
        "hk-personal",
        "leaf",
        _HK,
        KeyKind.RSA_2048,
        "陳大文 CHAN Tai Man (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        date_of_birth=date(1980, 3, 15),
    ),
    Entity(
        "hk-personal-ec",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "李小明 LEE Siu Ming (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        date_of_birth=date(1992, 1, 9),
    ),
    Entity(
        "hk-organisation",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Baylink Test Trading Ltd",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_ORGANISATION,),
    ),
    Entity(
        "hk-revoked",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Revoked Leaf (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        revoked=True,
    ),
    Entity(
        "hk-expired",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Expired Leaf (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        validity=(_t(2025, 2), _t(2025, 7)),
    ),
    Entity(
        "hk-not-yet-valid",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Future Leaf (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        validity=(_t(2039), _t(2039, 12)),
    ),
    Entity(
        "hk-wrong-key-usage",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Encryption Only (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        key_usage=frozenset({"key_encipherment"}),
    ),
    Entity(
        "hk-critical-extension",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Critical Extension (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_HK_PERSONAL,),
        unknown_critical_extension=True,
    ),
    Entity(
        "hk-no-policy",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "Unrecognised Policy (TEST)",
        "hk-ca",
        Scheme.PS256,
        (POLICY_UNRECOGNISED,),
    ),
    # A second Hong Kong root whose trust-list service is withdrawn.
    Entity("hk-old-root", "root", _HK, KeyKind.EC_P256, "Baylink Test HK Old Root CA", validity=ROOT_VALIDITY),
    Entity(
        "hk-old-personal",
        "leaf",
        _HK,
        KeyKind.EC_P256,
        "張三 CHEUNG Sam (TEST)",
        "hk-old-root",
        policies=(POLICY_HK_PERSONAL,),
    ),
    # Macau: ECDSA P-384 root and CA, Ed25519 signing leaf; the CA answers OCSP itself.
    Entity("mo-root", "root", _MO, KeyKind.EC_P384, "Baylink Test MO Root CA", validity=ROOT_VALIDITY),
    Entity("mo-ca", "ca", _MO, KeyKind.EC_P384, "Baylink Test MO Qualified CA", "mo-root", validity=CA_VALIDITY),
    Entity(
        "mo-personal",
        "leaf",
        _MO,
        KeyKind.ED25519,
        "陳澳門 CHAN Ou Mun (TEST)",
        "mo-ca",
        policies=(POLICY_MO_PERSONAL,),
        date_of_birth=date(1975, 11, 2),
    ),
    # Guangdong: SM2 all the way, signed with SM2-with-SM3.
    Entity("gd-root", "root", _GD, KeyKind.SM2, "Baylink Test GD SM2 Root CA", validity=ROOT_VALIDITY),
    Entity("gd-ca", "ca", _GD, KeyKind.SM2, "Baylink Test GD SM2 Issuing CA", "gd-root", validity=CA_VALIDITY),
    Entity(
        "gd-personal",
        "leaf",
        _GD,
        KeyKind.SM2,
        "王广东 WANG Guangdong (TEST)",
        "gd-ca",
        policies=(POLICY_GD_PERSONAL,),
        date_of_birth=date(1988, 7, 30),
    ),
    Entity(
        "gd-revoked",
        "leaf",
        _GD,
        KeyKind.SM2,
        "Revoked SM2 Leaf (TEST)",
        "gd-ca",
        policies=(POLICY_GD_PERSONAL,),
        revoked=True,
    ),
    # Time-stamping authorities (RFC 3161), listed on their jurisdiction's trust list as TSA/QTST
    # services: one per jurisdiction, and in Hong Kong a second with an RSA key like the HK signers'
    # (a time-stamp then costs what the signature it stamps costs to verify); hk-tsa-unlisted is a
    # well-formed TSA that no trust list names.
    Entity("hk-tsa", "tsa", _HK, KeyKind.EC_P256, "Baylink Test HK Time-Stamping Unit", "hk-ca", Scheme.PS256),
    Entity("hk-tsa-rsa", "tsa", _HK, KeyKind.RSA_2048, "Baylink Test HK RSA Time-Stamping Unit", "hk-ca", Scheme.PS256),
    Entity("mo-tsa", "tsa", _MO, KeyKind.EC_P384, "Baylink Test MO Time-Stamping Unit", "mo-ca"),
    Entity("gd-tsa", "tsa", _GD, KeyKind.SM2, "Baylink Test GD SM2 Time-Stamping Unit", "gd-ca"),
    Entity("hk-tsa-unlisted", "tsa", _HK, KeyKind.EC_P256, "Unlisted Time-Stamping Unit (TEST)", "hk-ca", Scheme.PS256),
    # Keys of the scheme operators that sign each jurisdiction's trust list.
    Entity(
        "tl-signer-hk",
        "list-signer",
        _HK,
        KeyKind.EC_P256,
        "Baylink Test HK Trust List Signer",
        validity=ROOT_VALIDITY,
    ),
    Entity(
        "tl-signer-mo",
        "list-signer",
        _MO,
        KeyKind.ED25519,
        "Baylink Test MO Trust List Signer",
        validity=ROOT_VALIDITY,
    ),
    Entity(
        "tl-signer-gd",
        "list-signer",
        _GD,
        KeyKind.SM2,
        "Baylink Test GD Trust List Signer",
        validity=ROOT_VALIDITY,
    ),
)

# The TSAs each trust list names as a TSA/QTST service.
LISTED_TSAS = {_HK: ("hk-tsa", "hk-tsa-rsa"), _MO: ("mo-tsa",), _GD: ("gd-tsa",)}

# Which CA answers OCSP through a delegated responder certificate instead of signing itself.
DELEGATED_RESPONDERS = {"hk-ca": "hk-ocsp"}


def organisation(entity: Entity) -> str:
    return _O[entity.jurisdiction]


def country(entity: Entity) -> str:
    # Guangdong is a province of CN; "GD" as a country code would be Grenada.
    return {"HK": "HK", "MO": "MO", "GD": "CN"}[entity.jurisdiction]


def by_name(name: str) -> Entity:
    return next(e for e in ENTITIES if e.name == name)
