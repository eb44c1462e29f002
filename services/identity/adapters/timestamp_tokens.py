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

from asn1crypto import cms, tsp, x509

from services.identity.adapters import der
from services.identity.adapters.algorithm_policy import today
from services.identity.adapters.cms_signer import DIGESTS, digest, digest_name
from services.identity.adapters.cms_verify import check_detached_cms
from services.identity.domain.algorithms import Use, algorithm_refusal
from services.identity.domain.errors import InvalidInput
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
    try:
        signed_data, carried = der.load_signed_data(token, "timestamp")
        content_type = signed_data["encap_content_info"]["content_type"].native
        content = signed_data["encap_content_info"]["content"]
        if content_type != "tst_info" or content.native is None:
            return TokenCheck(None, tuple(carried), None, Reason.TIMESTAMP_INVALID, "the content is not a TSTInfo")
        info_der = bytes(content.contents)
        info = tsp.TSTInfo.load(info_der, strict=True)
        info.native  # noqa: B018 - full decode: a malformed TSTInfo fails here
    except InvalidInput as exc:
        return TokenCheck(None, (), None, Reason.TIMESTAMP_INVALID, exc.message)
    except der.PARSE_ERRORS as exc:
        return TokenCheck(None, (), None, Reason.TIMESTAMP_INVALID, f"not a DER TSTInfo ({type(exc).__name__})")
    gen_time = info["gen_time"].native
    check = check_detached_cms(signed_data, carried, None, info_der, extra_certificates)
    tsa = check.signer

    def result(failure: Reason | None, detail: str = "") -> TokenCheck:
        return TokenCheck(tsa, check.certificates, gen_time, failure, detail, check.digest_algorithm)

    if check.failure is not None:
        return result(_CMS_FAILURES.get(check.failure, Reason.TIMESTAMP_INVALID), check.detail or check.failure.value)
    assert tsa is not None
    if info["version"].native != "v1":
        return result(Reason.TIMESTAMP_INVALID, "TSTInfo version must be 1")
    unbound = _certificate_binding(signed_data["signer_infos"][0], tsa)
    if unbound is not None:
        return result(*unbound)
    imprint = info["message_imprint"]
    hash_name = digest_name(imprint["hash_algorithm"]) or str(imprint["hash_algorithm"]["algorithm"].native)
    refused = algorithm_refusal(Use.DIGEST, hash_name, today())
    if refused is not None or hash_name not in DIGESTS:
        return result(Reason.ALGORITHM_NOT_ALLOWED, f"message imprint: {refused or hash_name + ' is not supported'}")
    if not hmac.compare_digest(imprint["hashed_message"].native, digest(hash_name, imprint_data)):
        return result(Reason.TIMESTAMP_IMPRINT_MISMATCH, f"the {hash_name} message imprint does not match")
    if tsa.extended_key_usage_value is None or tsa.extended_key_usage_value.native != ["time_stamping"]:
        return result(Reason.KEY_PURPOSE, "RFC 3161 2.3: the TSA certificate's extendedKeyUsage is timeStamping only")
    if "extended_key_usage" not in tsa.critical_extensions:
        return result(Reason.KEY_PURPOSE, "RFC 3161 2.3: the TSA certificate's extendedKeyUsage must be critical")
    return result(None)


def _certificate_binding(signer_info: cms.SignerInfo, tsa: x509.Certificate) -> tuple[Reason, str] | None:
    """RFC 3161 2.4.1 / RFC 5816: the first ESSCertID(v2) must be the signing certificate's."""
    found = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"] if len(a["values"]) == 1}
    if "signing_certificate_v2" in found:
        first = found["signing_certificate_v2"]["certs"][0]
        hash_name = digest_name(first["hash_algorithm"]) or str(first["hash_algorithm"]["algorithm"].native)
    elif "signing_certificate" in found:
        first, hash_name = found["signing_certificate"]["certs"][0], "sha1"
    else:
        return Reason.TIMESTAMP_INVALID, "no ESS signing-certificate(-v2) attribute names the TSA certificate"
    refused = algorithm_refusal(Use.DIGEST, hash_name, today())
    if refused is not None:
        return Reason.ALGORITHM_NOT_ALLOWED, f"ESS certificate identifier: {refused}"
    if hash_name not in DIGESTS:
        return Reason.ALGORITHM_NOT_ALLOWED, f"ESS certificate identifier: {hash_name} is not supported"
    if not hmac.compare_digest(first["cert_hash"].native, digest(hash_name, tsa.dump())):
        return Reason.TIMESTAMP_INVALID, "the ESS certificate identifier names another certificate than the signer's"
    issuer_serial = first["issuer_serial"]
    if issuer_serial.native is not None:
        names = [n.chosen for n in issuer_serial["issuer"] if n.name == "directory_name"]
        if issuer_serial["serial_number"].native != tsa.serial_number or tsa.issuer not in names:
            return Reason.TIMESTAMP_INVALID, "the ESS issuer and serial name another certificate than the signer's"
    return None
