"""The parsing and signature adapters as the use cases' ports (`CertificateReader`, `SignatureChecks`).

The members are the module functions themselves (static), so a call through the port costs
nothing beyond the attribute lookup: these sit on the verification hot path.
"""

from __future__ import annotations

from services.identity.adapters import certinfo, cms_verify, der, raw_signatures, timestamp_tokens


class X509Reader:
    """`ports.CertificateReader`: strict DER/PEM parsing (`der`) and cached facts (`certinfo`)."""

    load_certificate = staticmethod(der.load_certificate)
    load_certificates = staticmethod(der.load_certificates)
    fingerprint = staticmethod(certinfo.fingerprint)
    validity = staticmethod(certinfo.validity)


class CmsSignatureChecks:
    """`ports.SignatureChecks`: detached CMS (`cms_verify`), raw signatures (`raw_signatures`) and
    RFC 3161 time-stamp tokens (`timestamp_tokens`)."""

    read_detached_cms = staticmethod(cms_verify.read_detached_cms)
    check_cms = staticmethod(cms_verify.check_cms)
    check_raw = staticmethod(raw_signatures.check_raw)
    check_token = staticmethod(timestamp_tokens.check_token)
