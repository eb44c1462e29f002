"""Cryptographic checks of detached CMS SignedData (RFC 5652); raw signatures: `raw_signatures`.

Only the signature itself is judged here; the signer's certificate is validated by the use case.
A returning signer's SignedData is read the short way (`read_detached_cms`): what it always
repeats is known from its profile (`cms_signer`), and a signature laid out byte for byte like the
last one of the same length is read from a template.
Kept in one module although over 300 lines: the template reading, the full reading and the checks
share one `ParsedCms` and its caches, and every signature passes through all three.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, core, x509

from services.identity.adapters import der
from services.identity.adapters.algorithm_policy import describe, judge
from services.identity.adapters.cms_signer import DIGESTS, SignerProfile, digest
from services.identity.adapters.signed_attributes import (
    Attributes,
    attributes_of,
    changing_windows,
    read_signed_attributes,
    utc_time,
)
from services.identity.adapters.unsigned_attributes import unsigned_element, with_unsigned_attributes
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import Reason
from services.identity.service_layer.ports import SignatureCheck


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
    profile = SignerProfile.of(signed_data, info, certs)
    # RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF, not as [0].
    signed_bytes = b"\x31" + info["signed_attrs"].dump()[1:]
    check = _check(
        profile,
        attributes_of(info["signed_attrs"]),
        signed_bytes,
        info["signature"].native,
        document_digest,
        document,
        extra_certificates,
    )
    if isinstance(info["unsigned_attrs"], core.Void) and isinstance(signed_data["crls"], core.Void):
        return check
    return with_unsigned_attributes(check, signed_data, info)


@dataclass(frozen=True)
class ParsedCms:
    """A detached CMS signature read by `read_detached_cms`, for `check_cms`."""

    certificates: tuple[x509.Certificate, ...]
    # Either the SignedData in full (first signature of a signer, and every unusual shape)...
    signed_data: cms.SignedData | None = None
    parts: der.SignedDataParts | None = None
    # ...or what the signer always repeats, known from before, and the parts new to this signature.
    profile: SignerProfile | None = None
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
    reads it. Unsigned attributes (a signature time-stamp) after the signature value are a window
    too, read by `unsigned_attributes`. Anything else takes the ordinary path."""

    fixed: tuple[tuple[int, bytes], ...]  # (offset, bytes) of everything outside the three windows
    digest: tuple[int, int]  # (offset, length) of the message-digest value
    time_at: int  # offset of the 13-byte UTCTime text
    attrs: tuple[int, int]  # (offset, end) of the signed attributes element
    signature_at: int  # offset of the signature value, which runs to `unsigned_at`
    unsigned_at: int  # offset of the unsigned attributes, to the end (the end if there are none)
    repeated: tuple[bytes, ...]
    profile: SignerProfile
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
            unsigned_at = template.unsigned_at
            if unsigned_at != len(data) and not der.last_element(data, unsigned_at, 0xA1):
                return None
            start, end = template.attrs
            signature, unsigned = data[template.signature_at : unsigned_at], data[unsigned_at:]
            parts = der.SignedDataParts(template.repeated, data[start:end], signature, unsigned)
            return ParsedCms(template.profile.certificates, parts=parts, profile=template.profile, signed_attrs=attrs)
    return None


def _learn_template(data: bytes, parsed: ParsedCms) -> None:
    parts, profile, signed_attrs = parsed.parts, parsed.profile, parsed.signed_attrs
    if type(data) is not bytes or parts is None or profile is None or signed_attrs is None:
        return
    windows = changing_windows(parts.signed_attrs_as_set)
    if windows is None:
        return
    unsigned_at = len(data) - len(parts.unsigned_attrs)  # a signature time-stamp: after the signature
    signature_at = unsigned_at - len(parts.signature)
    if data[signature_at:] != parts.signature + parts.unsigned_attrs:
        return
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
        unsigned_at,
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
            unsigned_element(parts.unsigned_attrs) if parts.unsigned_attrs else None,
        )
    assert parsed.signed_data is not None
    check = check_detached_cms(
        parsed.signed_data, list(parsed.certificates), document_digest, document, extra_certificates
    )
    if parsed.parts is not None:
        _remember(parsed.signed_data, parsed.parts, parsed.certificates)
    return check


def _check(
    profile: SignerProfile,
    attrs: Attributes,
    signed_bytes: bytes,
    signature: bytes,
    document_digest: bytes | None,
    document: bytes | None,
    extra_certificates: list[x509.Certificate],
    unsigned: tuple[tuple[bytes, ...], bool] | None = None,
) -> SignatureCheck:
    """`unsigned`: what the unsigned attributes carry (`unsigned_attributes.unsigned_element`), if any."""
    hash_name = profile.hash_name
    signer = profile.signer(extra_certificates)
    claimed = attrs.get("signing_time")
    signing_time = claimed if isinstance(claimed, datetime) else None
    tokens, validation_data = unsigned or ((), False)
    value = signature if unsigned is not None else b""

    def result(failure: Reason | None, detail: str = "") -> SignatureCheck:
        return SignatureCheck(
            signer,
            profile.certificates,
            signing_time,
            hash_name or "",
            profile.sig_name,
            failure,
            detail,
            tokens,
            value,
            validation_data,
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
    refused = _algorithm_refusal(profile, signer, hash_name)
    if refused is not None:
        return result(Reason.ALGORITHM_NOT_ALLOWED, refused)
    verify_signature = profile.verifier(signer, hash_name)
    return result(None if verify_signature(signature, signed_bytes) else Reason.SIGNATURE_INVALID)


def _algorithm_refusal(profile: SignerProfile, signer: x509.Certificate, hash_name: str) -> str | None:
    # The signatureAlgorithm is judged as well as the digestAlgorithm: a SignerInfo may name
    # SHA-256 as its digest and still sign with sha1WithRSA or md5WithRSA.
    key = (signer.sha256, hash_name)
    described = profile.described.get(key)
    if described is None:
        try:
            described = describe(signer.public_key, profile.algorithm(hash_name), hash_name)
        except ValueError as exc:
            described = f"signature algorithm {profile.sig_name} cannot be used with {hash_name} ({exc})"
        if len(profile.described) < 16:  # a sid names one certificate; more only from odd extras
            profile.described[key] = described
    return judge(described)


# Signer profiles by the exact bytes of everything a signer repeats (`der.SignedDataParts.repeated`);
# the least recently seen signers go first. A profile keeps its parsed certificates alive.
_PROFILES: OrderedDict[tuple[bytes, ...], SignerProfile] = OrderedDict()
_PROFILES_MAX = 1024


def decoded_repeated(signed_data: cms.SignedData, info: cms.SignerInfo) -> tuple[bytes, ...]:
    """What `der.SignedDataParts.repeated` holds, as asn1crypto decoded it (to check the two agree)."""
    return (
        signed_data["version"].dump(),
        signed_data["digest_algorithms"].dump(),
        signed_data["encap_content_info"].dump(),
        signed_data["certificates"].dump(),
        info["version"].dump(),
        info["sid"].dump(),
        info["digest_algorithm"].dump(),
        info["signature_algorithm"].dump(),
    )


def _remember(signed_data: cms.SignedData, parts: der.SignedDataParts, certs: tuple[x509.Certificate, ...]) -> None:
    """Keep the profile of a SignedData that was decoded in full, if asn1crypto saw exactly the
    elements that `der.split_signed_data` found (it should; if not, this shape is never shortcut)."""
    info = signed_data["signer_infos"][0]
    if decoded_repeated(signed_data, info) != parts.repeated or info["signed_attrs"].dump() != parts.signed_attrs:
        return
    if info["signature"].native != parts.signature:
        return
    _PROFILES[parts.repeated] = SignerProfile.of(signed_data, info, certs)
    while len(_PROFILES) > _PROFILES_MAX:
        _PROFILES.popitem(last=False)
