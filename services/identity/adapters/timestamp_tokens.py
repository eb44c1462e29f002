"""Cryptographic checks of RFC 3161 time-stamp tokens; whether their TSA is trusted is the use case's.

A token is a CMS SignedData whose content is a TSTInfo. It is checked the way every CMS signature
is (`cms_verify.check_detached_cms`: signed attributes, algorithm catalogue, signature), with the
TSTInfo as the signed content, and then as a time-stamp: version 1, a message imprint over the
data it is said to cover, hashed with an algorithm the catalogue accepts, and an ESS
signing-certificate(-v2) attribute (RFC 3161 2.4.1, RFC 5816) that names the certificate of the
key that signed it, which must be a TSA certificate (RFC 3161 2.3: extendedKeyUsage critical and
timeStamping only).
"""

from __future__ import annotations

import hmac
from collections import OrderedDict

from asn1crypto import cms, core, x509

from services.identity.adapters import certinfo, der, token_templates, tst_info
from services.identity.adapters.algorithm_policy import today
from services.identity.adapters.cms_signer import DIGESTS, SignerProfile, digest
from services.identity.adapters.cms_verify import ParsedCms, check_cms, decoded_repeated
from services.identity.adapters.signed_attributes import Attributes, read_signed_attributes
from services.identity.adapters.sm2 import SM3_OID
from services.identity.domain.algorithms import Use, algorithm_refusal
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import MAX_SIGNATURE_BYTES, TIME_STAMPING_EKU
from services.identity.domain.report import Reason
from services.identity.service_layer.ports import TokenCheck

# What a failed CMS check of the token means for the token.
_CMS_FAILURES = {
    Reason.ALGORITHM_NOT_ALLOWED: Reason.ALGORITHM_NOT_ALLOWED,
    Reason.SIGNER_NOT_FOUND: Reason.TIMESTAMP_INVALID,
    Reason.DIGEST_MISMATCH: Reason.TIMESTAMP_INVALID,
    Reason.SIGNATURE_INVALID: Reason.TIMESTAMP_INVALID,
    Reason.SIGNED_ATTRIBUTES: Reason.TIMESTAMP_INVALID,
    Reason.MALFORMED: Reason.TIMESTAMP_INVALID,
}


def check_token(token: bytes, imprint_data: bytes, extra_certificates: list[x509.Certificate]) -> TokenCheck:
    """Check `token` as a time-stamp over `imprint_data` (for a signature time-stamp: the
    SignerInfo's signature value). Never raises for a bad token: the failure is in the result."""
    known = token_templates.check(token, imprint_data)
    if known is not None:
        return known
    try:
        parsed, info_der = _read_token(token)
        info = tst_info.read(info_der)
    except InvalidInput as exc:
        return TokenCheck(None, (), None, Reason.TIMESTAMP_INVALID, exc.message)
    except der.PARSE_ERRORS as exc:
        return TokenCheck(
            None, (), None, Reason.TIMESTAMP_INVALID, f"not a DER time-stamp token ({type(exc).__name__})"
        )
    gen_time = info.gen_time
    check = check_cms(parsed, None, info_der, extra_certificates)
    tsa = check.signer

    def result(failure: Reason | None, detail: str = "") -> TokenCheck:
        return TokenCheck(tsa, check.certificates, gen_time, failure, detail, check.digest_algorithm)

    if check.failure is not None:
        return result(_CMS_FAILURES.get(check.failure, Reason.TIMESTAMP_INVALID), check.detail or check.failure.value)
    assert tsa is not None and parsed.signed_attrs is not None
    if info.version != 1:
        return result(Reason.TIMESTAMP_INVALID, "TSTInfo version must be 1")
    unbound = _certificate_binding(parsed.signed_attrs, tsa)
    if unbound is not None:
        return result(*unbound)
    hash_name = info.hash_name
    refused = algorithm_refusal(Use.DIGEST, hash_name, today())
    if refused is not None or hash_name not in DIGESTS:
        return result(Reason.ALGORITHM_NOT_ALLOWED, f"message imprint: {refused or hash_name + ' is not supported'}")
    if not hmac.compare_digest(info.hashed_message, digest(hash_name, imprint_data)):
        return result(Reason.TIMESTAMP_IMPRINT_MISMATCH, f"the {hash_name} message imprint does not match")
    usage = certinfo.extended_key_usage(tsa)
    if usage != frozenset({TIME_STAMPING_EKU}) or "extended_key_usage" not in tsa.critical_extensions:
        return result(
            Reason.KEY_PURPOSE, "RFC 3161 2.3: the TSA certificate's extendedKeyUsage is critical, timeStamping only"
        )
    token_templates.learn(token, parsed, info_der, hash_name)
    return result(None)


def _read_token(token: bytes) -> tuple[ParsedCms, bytes]:
    """The token as `cms_verify.check_cms` takes it, and the DER of its TSTInfo.

    Decoded as strictly and completely as `der.load_signed_data` decodes a SignedData, but each
    part a TSA repeats in every token (algorithms, certificates, signer identifier, the ESS
    attribute) is decoded in full once and remembered by its bytes, and its signer profile is
    kept: asn1crypto's full decode of a whole token costs more than everything else together.
    A token of the usual shape from a TSA seen before is split by `der.split_signed_data` and
    only its new parts are read; its repeated parts are byte for byte ones decoded before."""
    parts = der.split_signed_data(token, "timestamp")
    if parts is not None and not parts.unsigned_attrs:
        key = (*parts.repeated[:2], *parts.repeated[3:])
        profile = _PROFILES.get(key)
        info_der = _encapsulated_tst_info(parts.repeated[2])
        if profile is not None and info_der is not None:
            _PROFILES.move_to_end(key)
            attributes = read_signed_attributes(parts, "timestamp")
            return ParsedCms(profile.certificates, parts=parts, profile=profile, signed_attrs=attributes), info_der
    return _read_token_in_full(token, parts)


def _read_token_in_full(token: bytes, split: der.SignedDataParts | None) -> tuple[ParsedCms, bytes]:
    if len(token) > MAX_SIGNATURE_BYTES:
        raise InvalidInput("timestamp", "too_large", f"a token above {MAX_SIGNATURE_BYTES} bytes")
    content = cms.ContentInfo.load(token, strict=True)
    if content["content_type"].native != "signed_data":
        raise InvalidInput("timestamp", "unsupported", "a time-stamp token is a CMS SignedData")
    signed_data = content["content"]
    der.decode_once(signed_data["version"], "version")
    der.decode_once(signed_data["digest_algorithms"], "digest_algorithms")
    encap = signed_data["encap_content_info"]
    if encap["content_type"].native != "tst_info" or isinstance(encap["content"], core.Void):
        raise InvalidInput("timestamp", "unsupported", "the token's content is not a TSTInfo")
    choices = signed_data["certificates"]
    ders = [] if isinstance(choices, core.Void) else [c.chosen.dump() for c in choices if c.name == "certificate"]
    certificates = tuple(der.load_certificates(ders, "timestamp.certificates"))
    if not isinstance(signed_data["crls"], core.Void):
        der.decode_once(signed_data["crls"], "crls")
    infos = signed_data["signer_infos"]
    if len(infos) != 1:
        raise InvalidInput("timestamp", "unsupported", "a time-stamp token has exactly one SignerInfo")
    info = infos[0]
    for name in ("version", "sid", "digest_algorithm", "signature_algorithm"):
        der.decode_once(info[name], name)
    signature = info["signature"].native
    der.frame_unsigned(info["unsigned_attrs"])
    if isinstance(info["signed_attrs"], core.Void):
        raise InvalidInput("timestamp", "unsupported", "a time-stamp token has signed attributes")
    parts = der.SignedDataParts((), bytes(info["signed_attrs"].dump()), bytes(signature))
    attributes = read_signed_attributes(parts, "timestamp")
    profile = SignerProfile.of(signed_data, info, certificates)
    info_der = bytes(encap["content"].contents)
    if split is not None and _same_parts(split, signed_data, info, signature, info_der):
        # Decoded in full just now: the next token with these repeated parts takes the short way.
        _PROFILES[(*split.repeated[:2], *split.repeated[3:])] = profile
        while len(_PROFILES) > _PROFILES_MAX:
            _PROFILES.popitem(last=False)
    return ParsedCms(certificates, parts=parts, profile=profile, signed_attrs=attributes), info_der


def _same_parts(
    split: der.SignedDataParts, signed_data: cms.SignedData, info: cms.SignerInfo, signature: bytes, info_der: bytes
) -> bool:
    """Whether asn1crypto saw exactly the elements that `der.split_signed_data` found."""
    return (
        decoded_repeated(signed_data, info) == split.repeated
        and info["signed_attrs"].dump() == split.signed_attrs
        and signature == split.signature
        and _encapsulated_tst_info(split.repeated[2]) == info_der
    )


def _encapsulated_tst_info(encap: bytes) -> bytes | None:
    """The TSTInfo DER of an encapContentInfo element of the usual shape, else None."""
    span = tst_info.encapsulated_span(encap)
    return encap[span[0] : span[1]] if span is not None else None


# Signer profiles of TSAs by the bytes of what a TSA repeats in each token; the least recent go first.
_PROFILES: OrderedDict[tuple[bytes, ...], SignerProfile] = OrderedDict()
_PROFILES_MAX = 256


def _certificate_binding(attributes: Attributes, tsa: x509.Certificate) -> tuple[Reason, str] | None:
    """RFC 3161 2.4.1 / RFC 5816: the first ESSCertID(v2) must be the signing certificate's."""
    v2, v1 = attributes.get("signing_certificate_v2"), attributes.get("signing_certificate")
    if isinstance(v2, dict) and v2.get("certs"):
        first = v2["certs"][0]
        algorithm = (first.get("hash_algorithm") or {}).get("algorithm") or "sha256"  # RFC 5035 DEFAULT
        hash_name = "sm3" if algorithm == SM3_OID else str(algorithm)
    elif isinstance(v1, dict) and v1.get("certs"):
        first, hash_name = v1["certs"][0], "sha1"
    else:
        return Reason.TIMESTAMP_INVALID, "no ESS signing-certificate(-v2) attribute names the TSA certificate"
    refused = algorithm_refusal(Use.DIGEST, hash_name, today())
    if refused is not None:
        return Reason.ALGORITHM_NOT_ALLOWED, f"ESS certificate identifier: {refused}"
    if hash_name not in DIGESTS:
        return Reason.ALGORITHM_NOT_ALLOWED, f"ESS certificate identifier: {hash_name} is not supported"
    if not hmac.compare_digest(first["cert_hash"], _certificate_hash(hash_name, tsa)):
        return Reason.TIMESTAMP_INVALID, "the ESS certificate identifier names another certificate than the signer's"
    issuer_serial = first.get("issuer_serial")
    if issuer_serial and issuer_serial.get("serial_number") != tsa.serial_number:
        return Reason.TIMESTAMP_INVALID, "the ESS issuer and serial name another certificate than the signer's"
    return None


_CERTIFICATE_HASHES: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()


def _certificate_hash(hash_name: str, certificate: x509.Certificate) -> bytes:
    """`hash_name` of a TSA certificate, computed once per certificate (SM3 costs as much as a check)."""
    key = (hash_name, certificate.sha256)
    found = _CERTIFICATE_HASHES.get(key)
    if found is None:
        found = _CERTIFICATE_HASHES[key] = digest(hash_name, certificate.dump())
        if len(_CERTIFICATE_HASHES) > 256:
            _CERTIFICATE_HASHES.popitem(last=False)
    return found
