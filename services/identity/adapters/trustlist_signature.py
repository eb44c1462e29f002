"""Sign and verify trust-list documents (the crypto half of `domain.trustlist_codec`)."""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509

from services.identity.adapters import der, signatures
from services.identity.adapters.algorithm_policy import refusal
from services.identity.adapters.keys import Scheme, SigningKey, algorithm_identifier
from services.identity.domain.errors import InvalidInput
from services.identity.domain.trustlist import TrustList
from services.identity.domain.trustlist_codec import SignedTrustList, encode_document, signing_input


def sign_trust_list(trust_list: TrustList, key: SigningKey, signer_certificate_der: bytes) -> bytes:
    scheme = key.default_scheme()
    signature = key.sign(signing_input(trust_list, scheme.value, signer_certificate_der), scheme)
    return encode_document(trust_list, scheme.value, signer_certificate_der, signature)


class ListSignatureVerifier:
    """Checks the detached signature of a decoded document with its signer certificate's key."""

    def signature_valid(self, signed: SignedTrustList) -> bool:
        try:
            scheme = Scheme(signed.algorithm)
            certificate = x509.Certificate.load(signed.signer_certificate_der)
            public_key = certificate.public_key
        except (ValueError, TypeError, KeyError):
            return False
        return signatures.verify(signed.signature, signed.signing_input, public_key, algorithm_identifier(scheme))

    def algorithm_refusal(self, signed: SignedTrustList) -> str | None:
        """Why the list's signature algorithm or its signer's key is refused by the catalogue."""
        try:
            scheme = Scheme(signed.algorithm)
            public_key = x509.Certificate.load(signed.signer_certificate_der).public_key
        except (ValueError, TypeError, KeyError):
            return f"signature scheme {signed.algorithm!r} or signer key cannot be identified"
        return refusal(public_key, algorithm_identifier(scheme))

    def signer_valid_at(self, signed: SignedTrustList, moment: datetime) -> bool:
        try:
            validity = x509.Certificate.load(signed.signer_certificate_der)["tbs_certificate"]["validity"]
            return bool(validity["not_before"].native <= moment <= validity["not_after"].native)
        except (ValueError, TypeError, KeyError):
            return False

    def unreadable_certificates(self, trust_list: TrustList) -> list[int]:
        unreadable = []
        for index, service in enumerate(trust_list.services):
            try:
                der.load_certificate(service.certificate_der, f"services[{index}].certificate")
            except InvalidInput:
                unreadable.append(index)
        return unreadable
