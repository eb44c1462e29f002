"""What a kiosk's signing client must produce for a material, per signer.

The registry stores the material's SHA-256 and has identity verify each detached CMS signature
against the digest the signature names. Which digest that is follows from the signer's key, as the
e-Cert schemes use them: RSA and P-256 sign SHA-256, P-384 SHA-384, Ed25519 SHA-512 (RFC 8419),
SM2 SM3 (GM/T 0010). The gateway gives each signer the algorithm and the digest to sign over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from baylink import cms, errors
from services.gateway.kiosk.service_layer.access import KioskCall
from services.gateway.kiosk.service_layer.deps import KioskDeps, own_application
from services.gateway.kiosk.service_layer.model import MaterialView
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson

# key kind → (signature algorithm, digest algorithm)
ALGORITHMS: dict[str, tuple[str, str]] = {
    "rsa": ("RSASSA-PSS or RSA PKCS#1 v1.5 with SHA-256", "sha256"),
    "ec-p256": ("ECDSA P-256 with SHA-256", "sha256"),
    "ec-p384": ("ECDSA P-384 with SHA-384", "sha384"),
    "ed25519": ("Ed25519", "sha512"),
    "sm2": ("SM2 with SM3", "sm3"),
}
SIGNATURE_FORMAT = "CMS SignedData (RFC 5652), detached, DER, base64"


@dataclass(frozen=True)
class SigningInstruction:
    person: str  # the session's handle
    roles: tuple[str, ...]
    signature_algorithm: str
    digest_algorithm: str
    digest: bytes | None  # None only if this host cannot compute the digest (no SM3 in OpenSSL)


def instruction(person: str, roles: tuple[str, ...], key_kind: str, content: bytes) -> SigningInstruction:
    signature, digest_name = ALGORITHMS.get(key_kind, ("as the certificate's key requires", "sha256"))
    return SigningInstruction(person, roles, signature, digest_name, _digest(digest_name, content))


def _digest(name: str, content: bytes) -> bytes | None:
    if name not in hashlib.algorithms_available:
        return None
    return hashlib.new(name, content).digest()


# Browser signing (the e-Cert's key stays in the browser, under WebCrypto): the gateway hands out the
# DER of the CMS signed attributes, the browser signs them, the gateway assembles the detached CMS.
# WebCrypto has no SM2, so SM2 e-Certs (Guangdong's) cannot sign at a kiosk; HK and MO e-Certs can.
# key kind → (digest, CMS signature algorithm, WebCrypto algorithm, ECDSA r||s width or 0)
BROWSER_KEYS: dict[str, tuple[str, str, dict[str, str], int]] = {
    "rsa": ("sha256", "sha256_rsa", {"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"}, 0),
    "ec-p256": ("sha256", "sha256_ecdsa", {"name": "ECDSA", "namedCurve": "P-256", "hash": "SHA-256"}, 32),
    "ec-p384": ("sha384", "sha384_ecdsa", {"name": "ECDSA", "namedCurve": "P-384", "hash": "SHA-384"}, 48),
    "ed25519": ("sha512", "ed25519", {"name": "Ed25519"}, 0),
}
KEY_CANNOT_SIGN = "KEY_CANNOT_SIGN_IN_BROWSER"
CERTIFICATE_NOT_THE_SIGNERS = "CERTIFICATE_NOT_THE_SIGNERS"
SIGNATURE_MALFORMED = "SIGNATURE_MALFORMED"


@dataclass(frozen=True)
class DataToSign:
    person: str
    key_kind: str
    digest_algorithm: str
    webcrypto: dict[str, str]  # the algorithm to import the key with and sign under
    signed_attributes: bytes  # exactly the bytes to sign


@dataclass(frozen=True)
class BrowserSigner:
    """One signer's part of a browser signature: who, with which certificate chain (PEM, e-Cert first)."""

    person: str
    certificate_chain_pem: str


@dataclass(frozen=True)
class SignerKey:
    key_kind: str
    digest_algorithm: str
    algorithm: str
    webcrypto: dict[str, str]
    curve_bytes: int
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


# Key algorithms a certificate may carry (as identify's parse_chain_pem); another is the kiosk's error, not ours.
KEY_ALGORITHMS = frozenset({"rsa", "rsassa_pss", "ec", "ed25519", "ed448", "dsa"})


def signer_key(person: IdentifiedPerson, certificate_chain_pem: str) -> SignerKey:
    """The signer's certificate (the one they identified with) and how their key signs in a browser."""
    known = BROWSER_KEYS.get(person.key_kind)
    if known is None:
        raise errors.InvalidInput(
            "this e-Cert's key cannot sign in a browser",
            [errors.FieldViolation("person", f"{KEY_CANNOT_SIGN}: {person.key_kind} keys have no WebCrypto signer")],
            reason=KEY_CANNOT_SIGN,
        )
    try:
        certificates = cms.load_certificates(certificate_chain_pem)
        for certificate in certificates:
            certificate.native  # noqa: B018 - read it all now: an unknown key algorithm is the kiosk's error
            if certificate.public_key["algorithm"]["algorithm"].native not in KEY_ALGORITHMS:
                raise ValueError("unknown key algorithm")
    except cms.CmsError as error:
        raise errors.InvalidInput.field("certificate_chain_pem", str(error)) from error
    except (ValueError, TypeError, KeyError) as error:
        raise errors.InvalidInput.field("certificate_chain_pem", f"a certificate could not be read "
                                        f"({type(error).__name__})") from None  # fmt: skip
    if hashlib.sha256(certificates[0].dump()).hexdigest() != person.certificate_sha256.lower():
        raise errors.InvalidInput(
            "the certificate is not the one this person identified with",
            [errors.FieldViolation("certificate_chain_pem", f"{CERTIFICATE_NOT_THE_SIGNERS}: identify with it first")],
            reason=CERTIFICATE_NOT_THE_SIGNERS,
        )
    digest_name, algorithm, webcrypto, curve_bytes = known
    return SignerKey(person.key_kind, digest_name, algorithm, dict(webcrypto), curve_bytes, certificates[0],
                     tuple(certificates[1:]))  # fmt: skip


def data_to_sign(
    key: SignerKey, person: str, material: MaterialView, message_digest: bytes, now: datetime
) -> DataToSign:
    """The signed attributes over ``message_digest`` (the material's digest under the key's algorithm)."""
    size = cms.DIGEST_SIZES[key.digest_algorithm]
    if len(message_digest) != size:
        raise _malformed("message_digest_base64", f"a {key.digest_algorithm} digest is {size} bytes")
    if key.digest_algorithm == "sha256" and message_digest != material.sha256:
        raise _malformed("message_digest_base64", "this is not the SHA-256 of the attached material")
    attributes = cms.signed_attributes(key.digest_algorithm, message_digest, key.certificate, now)
    return DataToSign(person, key.key_kind, key.digest_algorithm, key.webcrypto, attributes)


def assembled(key: SignerKey, signed_attributes: bytes, signature: bytes) -> bytes:
    """The detached CMS around a WebCrypto signature (ECDSA's r||s becomes DER here)."""
    try:
        value = cms.ecdsa_der(signature, key.curve_bytes) if key.curve_bytes else signature
        if not value:
            raise cms.CmsError("the signature is empty")
        return cms.assemble(signed_attributes, value, key.certificate, key.digest_algorithm, key.algorithm, key.chain)
    except cms.CmsError as error:
        field = "signed_attributes_base64" if "attributes" in str(error) else "signature_base64"
        raise _malformed(field, str(error)) from error


def _malformed(field: str, text: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        "the signature cannot be built", [errors.FieldViolation(field, f"{SIGNATURE_MALFORMED}: {text}")],
        reason=SIGNATURE_MALFORMED,
    )  # fmt: skip


async def prepare(
    deps: KioskDeps, call: KioskCall, application_id: str, material_id: str, signer: BrowserSigner,
    message_digest: bytes, now: datetime,
) -> DataToSign:  # fmt: skip
    """What ``signer`` signs for a material of the session's application (their e-Cert's key, in the browser)."""
    material = await _material(deps, call, application_id, material_id)
    key = signer_key(call.live.person(signer.person, "person"), signer.certificate_chain_pem)
    call.note(key_kind=key.key_kind)
    return data_to_sign(key, signer.person, material, message_digest, now)


def browser_cms(call: KioskCall, signer: BrowserSigner, signed_attributes: bytes, signature: bytes) -> bytes:
    """The detached CMS of a browser signature, for the sign path (where identity verifies it)."""
    key = signer_key(call.live.person(signer.person, "person"), signer.certificate_chain_pem)
    call.note(key_kind=key.key_kind)
    return assembled(key, signed_attributes, signature)


async def _material(deps: KioskDeps, call: KioskCall, application_id: str, material_id: str) -> MaterialView:
    call.note(application_id=application_id, material_id=material_id)
    app, owner = await own_application(deps, call.live, application_id)
    call.about(owner.subject_id)
    material = app.material(material_id)
    if material is None:
        raise errors.NotFound("material", material_id)
    return material
