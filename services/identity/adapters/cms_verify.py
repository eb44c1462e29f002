"""Cryptographic checks of detached CMS SignedData (RFC 5652) and of raw signatures over a digest.

Only the signature itself is judged here; the signer's certificate is validated by the use case.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import algos, cms, x509

from services.identity.adapters import der, sm2
from services.identity.adapters.signatures import SM2_SIGNATURE_OIDS, prepared_verify, verify
from services.identity.adapters.signed_attributes import (
    Attributes,
    attributes_of,
    changing_windows,
    read_signed_attributes,
    utc_time,
)
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import Reason
from services.identity.service_layer.ports import SignatureCheck

DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}
RAW_ALGORITHMS = ("rsa-pkcs1v15", "rsa-pss", "ecdsa", "ed25519", "sm2")


def digest(name: str, data: bytes) -> bytes:
    if name == "sm3":
        return sm2.sm3(data)
    return hashlib.new(name, data).digest()


def digest_name(algorithm: algos.DigestAlgorithm) -> str | None:
    if algorithm["algorithm"].dotted == sm2.SM3_OID:
        return "sm3"
    name = algorithm["algorithm"].native
    return name if name in DIGESTS else None


def check_detached_cms(
    signed_data: cms.SignedData,
    carried: list[x509.Certificate],
    document_digest: bytes | None,
    document: bytes | None,
    extra_certificates: list[x509.Certificate],
) -> SignatureCheck:
    certs = tuple(carried)
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        return SignatureCheck(None, certs, None, "", "", Reason.MALFORMED, "exactly one SignerInfo is supported")
    info = signer_infos[0]
    profile = _SignerProfile.of(signed_data, info, certs)
    # RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF, not as [0].
    signed_bytes = b"\x31" + info["signed_attrs"].dump()[1:]
    return _check(
        profile,
        attributes_of(info["signed_attrs"]),
        signed_bytes,
        info["signature"].native,
        document_digest,
        document,
        extra_certificates,
    )


@dataclass(frozen=True)
class ParsedCms:
    """A detached CMS signature read by `read_detached_cms`, for `check_cms`."""

    certificates: tuple[x509.Certificate, ...]
    # Either the SignedData in full (first signature of a signer, and every unusual shape)...
    signed_data: cms.SignedData | None = None
    parts: der.SignedDataParts | None = None
    # ...or what the signer always repeats, known from before, and the parts new to this signature.
    profile: _SignerProfile | None = None
    signed_attrs: Attributes | None = None


def read_detached_cms(data: bytes, field: str) -> ParsedCms:
    """Parse a detached CMS signature as strictly and completely as `der.load_signed_data`.

    A signer sends the same certificates, identifier and algorithms with every signature. When all
    of these are byte for byte those of a SignedData that was decoded in full before, only the parts
    new to this signature (signed attributes, signature value) are decoded again, and what was read
    off the signer last time is reused. Anything else takes the full path."""
    known = _from_template(data) if type(data) is bytes else None
    if known is not None:
        return known
    parts = der.split_signed_data(data, field)
    profile = _PROFILES.get(parts.repeated) if parts is not None else None
    if parts is None or profile is None:
        signed_data, carried = der.load_signed_data(data, field)
        return ParsedCms(tuple(carried), signed_data=signed_data, parts=parts)
    _PROFILES.move_to_end(parts.repeated)
    parsed = ParsedCms(
        profile.certificates, parts=parts, profile=profile, signed_attrs=read_signed_attributes(parts, field)
    )
    _learn_template(data, parsed)
    return parsed


@dataclass(frozen=True)
class _Template:
    """A signature of a known signer as bytes, for the next one of the same length: identical but
    for the message-digest value, the signing-time text and the signature value, which have a fixed
    place and length when everything around them is identical. Identical bytes decode identically
    (and did, the first time, in full), so only the three values need reading: the digest and the
    signature value are any bytes of their length, the time is read as `read_signed_attributes`
    reads it. Anything else differs from the template somewhere and takes the ordinary path."""

    fixed: tuple[tuple[int, bytes], ...]  # (offset, bytes) of everything outside the three windows
    digest: tuple[int, int]  # (offset, length) of the message-digest value
    time_at: int  # offset of the 13-byte UTCTime text
    attrs: tuple[int, int]  # (offset, end) of the signed attributes element
    signature_at: int  # offset of the signature value, which runs to the end
    repeated: tuple[bytes, ...]
    profile: _SignerProfile
    constant_attrs: Attributes  # the signed attributes but for message-digest and signing-time


def _from_template(data: bytes) -> ParsedCms | None:
    for template in _TEMPLATES.get(len(data), ()):
        if all(data.startswith(part, at) for at, part in template.fixed):
            moment = utc_time(data[template.time_at : template.time_at + 13])
            if moment is None:
                return None
            digest_at, digest_length = template.digest
            attrs = dict(template.constant_attrs)
            attrs["message_digest"] = data[digest_at : digest_at + digest_length]
            attrs["signing_time"] = moment
            start, end = template.attrs
            parts = der.SignedDataParts(template.repeated, data[start:end], data[template.signature_at :])
            return ParsedCms(template.profile.certificates, parts=parts, profile=template.profile, signed_attrs=attrs)
    return None


def _learn_template(data: bytes, parsed: ParsedCms) -> None:
    parts, profile, signed_attrs = parsed.parts, parsed.profile, parsed.signed_attrs
    if type(data) is not bytes or parts is None or profile is None or signed_attrs is None:
        return
    windows = changing_windows(parts.signed_attrs_as_set)
    if windows is None:
        return
    signature_at = len(data) - len(parts.signature)
    octet_header = 2 if len(parts.signature) < 0x80 else 2 + (len(parts.signature).bit_length() + 7) // 8
    attrs_end = signature_at - octet_header - len(parts.repeated[7])  # the signature algorithm between
    attrs_at = attrs_end - len(parts.signed_attrs)
    if data[attrs_at:attrs_end] != parts.signed_attrs:
        return
    digest_at, digest_length, time_at = (attrs_at + windows[0], windows[1], attrs_at + windows[2])
    cuts = sorted([(digest_at, digest_at + digest_length), (time_at, time_at + 13), (signature_at, len(data))])
    fixed, at = [], 0
    for start, end in cuts:
        fixed.append((at, data[at:start]))
        at = end
    constant = {k: v for k, v in signed_attrs.items() if k not in ("message_digest", "signing_time")}
    template = _Template(
        tuple(fixed),
        (digest_at, digest_length),
        time_at,
        (attrs_at, attrs_end),
        signature_at,
        parts.repeated,
        profile,
        constant,
    )
    same_length = _TEMPLATES.setdefault(len(data), [])
    same_length.insert(0, template)
    del same_length[_TEMPLATES_PER_LENGTH:]
    _TEMPLATES.move_to_end(len(data))
    while len(_TEMPLATES) > _TEMPLATES_MAX:
        _TEMPLATES.popitem(last=False)


# Signature templates by signature length, the most recently learnt first: a few per length, so
# that many signers of one length cost a few failed comparisons at most.
_TEMPLATES: OrderedDict[int, list[_Template]] = OrderedDict()
_TEMPLATES_MAX = 1024
_TEMPLATES_PER_LENGTH = 4


def check_cms(
    parsed: ParsedCms,
    document_digest: bytes | None,
    document: bytes | None,
    extra_certificates: list[x509.Certificate],
) -> SignatureCheck:
    """`check_detached_cms` for what `read_detached_cms` returned."""
    if parsed.profile is not None and parsed.parts is not None and parsed.signed_attrs is not None:
        parts = parsed.parts
        return _check(
            parsed.profile,
            parsed.signed_attrs,
            parts.signed_attrs_as_set,
            parts.signature,
            document_digest,
            document,
            extra_certificates,
        )
    assert parsed.signed_data is not None
    check = check_detached_cms(
        parsed.signed_data, list(parsed.certificates), document_digest, document, extra_certificates
    )
    if parsed.parts is not None:
        _remember(parsed.signed_data, parsed.parts, parsed.certificates)
    return check


@dataclass(frozen=True)
class _SignerProfile:
    """What a SignedData says about its one signer that does not change from one signature to the
    next: read off once per signer (see `read_detached_cms`)."""

    certificates: tuple[x509.Certificate, ...]
    content_type: object  # of the encapsulated content, as asn1crypto names it
    sid: cms.SignerIdentifier
    digest_oid: str
    hash_name: str | None
    sig_name: str
    signature_algorithm: algos.SignedDigestAlgorithm
    verify_algorithm: algos.SignedDigestAlgorithm | None  # _cms_algorithm's, once it has been built
    carried_signer: x509.Certificate | None  # the carried certificate the sid names, if any
    verifiers: dict[tuple[bytes, str], Callable[[bytes, bytes], bool]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls, signed_data: cms.SignedData, info: cms.SignerInfo, certs: tuple[x509.Certificate, ...]
    ) -> _SignerProfile:
        hash_name = digest_name(info["digest_algorithm"])
        sig_algorithm = info["signature_algorithm"]
        return cls(
            certs,
            signed_data["encap_content_info"]["content_type"].native,
            info["sid"],
            info["digest_algorithm"]["algorithm"].dotted,
            hash_name,
            sig_algorithm["algorithm"].native,
            sig_algorithm,
            None,
            _find_signer(info["sid"], list(certs)),
        )

    def algorithm(self, hash_name: str) -> algos.SignedDigestAlgorithm:
        """`_cms_algorithm` for this signer, built once (it raises for impossible combinations,
        then as before: when the signature is about to be verified)."""
        if self.verify_algorithm is None:
            object.__setattr__(self, "verify_algorithm", _cms_algorithm(self.signature_algorithm, hash_name))
        assert self.verify_algorithm is not None
        return self.verify_algorithm

    def verifier(self, signer: x509.Certificate, hash_name: str) -> Callable[[bytes, bytes], bool]:
        """`prepared_verify` for this signer's key and algorithm, kept on the profile: finding it
        by the key's bytes costs a tenth of an ECDSA verification."""
        key = (signer.sha256, hash_name)
        found = self.verifiers.get(key)
        if found is None:
            found = prepared_verify(
                signer.public_key, self.algorithm(hash_name), digest_algorithm=hash_name if hash_name != "sm3" else None
            )
            if len(self.verifiers) < 16:  # a sid names one certificate; more only from odd extras
                self.verifiers[key] = found
        return found

    def signer(self, extra_certificates: list[x509.Certificate]) -> x509.Certificate | None:
        """The first of the carried, then the extra certificates that the sid names."""
        if self.carried_signer is not None:
            return self.carried_signer
        return _find_signer(self.sid, extra_certificates) if extra_certificates else None


def _check(
    profile: _SignerProfile,
    attrs: Attributes,
    signed_bytes: bytes,
    signature: bytes,
    document_digest: bytes | None,
    document: bytes | None,
    extra_certificates: list[x509.Certificate],
) -> SignatureCheck:
    hash_name = profile.hash_name
    signer = profile.signer(extra_certificates)
    claimed = attrs.get("signing_time")
    signing_time = claimed if isinstance(claimed, datetime) else None

    def result(failure: Reason | None, detail: str = "") -> SignatureCheck:
        return SignatureCheck(
            signer, profile.certificates, signing_time, hash_name or "", profile.sig_name, failure, detail
        )

    if hash_name is None:
        return result(Reason.ALGORITHM_NOT_ALLOWED, f"digest {profile.digest_oid}")
    if "message_digest" not in attrs or attrs.get("content_type") != profile.content_type:
        return result(Reason.SIGNED_ATTRIBUTES, "content-type and message-digest must be signed attributes")
    expected = document_digest if document is None else digest(hash_name, document)
    if expected is None or len(expected) != DIGESTS[hash_name]:
        raise InvalidInput("document_digest", "wrong_length", f"a {hash_name} digest is {DIGESTS[hash_name]} bytes")
    if attrs["message_digest"] != expected:
        return result(Reason.DIGEST_MISMATCH, "message-digest differs from the document's digest")
    if signer is None:
        return result(Reason.SIGNER_NOT_FOUND, "no supplied certificate matches the signer identifier")
    verify_signature = profile.verifier(signer, hash_name)
    return result(None if verify_signature(signature, signed_bytes) else Reason.SIGNATURE_INVALID)


# Signer profiles by the exact bytes of everything a signer repeats (`der.SignedDataParts.repeated`);
# the least recently seen signers go first. A profile keeps its parsed certificates alive.
_PROFILES: OrderedDict[tuple[bytes, ...], _SignerProfile] = OrderedDict()
_PROFILES_MAX = 1024


def _remember(signed_data: cms.SignedData, parts: der.SignedDataParts, certs: tuple[x509.Certificate, ...]) -> None:
    """Keep the profile of a SignedData that was decoded in full, if asn1crypto saw exactly the
    elements that `der.split_signed_data` found (it should; if not, this shape is never shortcut)."""
    info = signed_data["signer_infos"][0]
    seen = (
        signed_data["version"].dump(),
        signed_data["digest_algorithms"].dump(),
        signed_data["encap_content_info"].dump(),
        signed_data["certificates"].dump(),
        info["version"].dump(),
        info["sid"].dump(),
        info["digest_algorithm"].dump(),
        info["signature_algorithm"].dump(),
    )
    if seen != parts.repeated or info["signed_attrs"].dump() != parts.signed_attrs:
        return
    if info["signature"].native != parts.signature:
        return
    _PROFILES[parts.repeated] = _SignerProfile.of(signed_data, info, certs)
    while len(_PROFILES) > _PROFILES_MAX:
        _PROFILES.popitem(last=False)


def check_raw(
    signature: bytes,
    document_digest: bytes,
    digest_algorithm: str,
    signature_algorithm: str,
    signer: x509.Certificate,
) -> Reason | None:
    """RSA and ECDSA signatures are over the document (verified from its digest: prehashed);
    Ed25519 and SM2 hash internally in a way a bare digest cannot feed, so for them the signed
    message is the digest value itself."""
    if digest_algorithm not in DIGESTS:
        raise InvalidInput("digest_algorithm", "unsupported", f"one of {sorted(DIGESTS)}")
    if signature_algorithm not in RAW_ALGORITHMS:
        raise InvalidInput("signature_algorithm", "unsupported", f"one of {list(RAW_ALGORITHMS)}")
    if len(document_digest) != DIGESTS[digest_algorithm]:
        raise InvalidInput(
            "document_digest",
            "wrong_length",
            f"{digest_algorithm} digests are {DIGESTS[digest_algorithm]} bytes",
        )
    if signature_algorithm == "sm2" and digest_algorithm != "sm3":
        raise InvalidInput("digest_algorithm", "unsupported", "SM2 signatures go with SM3")
    algorithm = _raw_algorithm(signature_algorithm, digest_algorithm)
    prehashed = signature_algorithm in ("rsa-pkcs1v15", "rsa-pss", "ecdsa")
    ok = verify(
        signature,
        document_digest,
        signer.public_key,
        algorithm,
        digest_algorithm=digest_algorithm,
        prehashed=prehashed,
    )
    return None if ok else Reason.SIGNATURE_INVALID


def _raw_algorithm(name: str, hash_name: str) -> algos.SignedDigestAlgorithm:
    if name == "sm2":
        return algos.SignedDigestAlgorithm({"algorithm": sm2.SM2_WITH_SM3_OID})
    if name == "ed25519":
        return algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
    if name == "rsa-pss":
        params = {
            "hash_algorithm": {"algorithm": hash_name},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
            "salt_length": DIGESTS[hash_name],
        }
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    suffix = "rsa" if name == "rsa-pkcs1v15" else "ecdsa"
    return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_{suffix}"})


def _cms_algorithm(algorithm: algos.SignedDigestAlgorithm, hash_name: str) -> algos.SignedDigestAlgorithm:
    # CMS often names only the key type (rsaEncryption, id-ecPublicKey, SM2 key OID) and puts the
    # digest in digestAlgorithm; spell the full mechanism out for the verifier.
    oid = algorithm["algorithm"].dotted
    if oid in SM2_SIGNATURE_OIDS or oid == sm2.SM2_CURVE_OID:
        return algos.SignedDigestAlgorithm({"algorithm": sm2.SM2_WITH_SM3_OID})
    if algorithm["algorithm"].native == "ecdsa" or oid == "1.2.840.10045.2.1":
        return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_ecdsa"})
    return algorithm


def _find_signer(sid: cms.SignerIdentifier, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        return next(
            (
                c
                for c in candidates
                if _same_name(c.issuer, wanted["issuer"]) and c.serial_number == wanted["serial_number"].native
            ),
            None,
        )
    return next((c for c in candidates if c.key_identifier == sid.chosen.native), None)


# Name equality (RFC 5280 7.1: LDAP string preparation of every attribute) costs more than the
# signature check, and the same signers name the same issuers over and over. Its answer depends on
# the two encodings only, so it is remembered by their hashes; a comparison that raises is not.
_NAME_MATCHES: OrderedDict[tuple[bytes, bytes], bool] = OrderedDict()
_NAME_MATCHES_MAX = 4096


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    key = (a.sha256, b.sha256)
    known = _NAME_MATCHES.get(key)
    if known is None:
        known = bool(a == b)
        _NAME_MATCHES[key] = known
        if len(_NAME_MATCHES) > _NAME_MATCHES_MAX:
            _NAME_MATCHES.popitem(last=False)
    return known
