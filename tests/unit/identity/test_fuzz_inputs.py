"""Mutated certificates and signatures: the engine answers with a report or InvalidInput, always."""

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.testpki.cms_sign import sign_detached
from services.identity.adapters.crypto import CmsSignatureChecks, X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import ValidationPolicy
from services.identity.domain.report import SignatureReport, ValidationReport
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature

LEAVES = ["hk-personal", "mo-personal", "gd-personal"]
DOCUMENT = b"fuzzed document"
POLICY = ValidationPolicy(deadline_seconds=5)


@pytest.fixture(scope="module")
def services(pki, seeded_cache):
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        store.load(pki.trust_list_document(jurisdiction))
    engine = PkixEngine(
        cache=seeded_cache, fetch=FetchSettings(timeout_seconds=0.2, allowed_hosts=frozenset({"127.0.0.1"}))
    )
    validator = CertificateValidator(store, engine, reader=X509Reader())
    signed_at = datetime(2026, 2, 1, tzinfo=UTC)
    signatures = {n: sign_detached(DOCUMENT, pki.key(n), pki.certificate(n), signed_at) for n in LEAVES}
    return validator, SignatureVerifier(validator, CmsSignatureChecks()), signatures


@st.composite
def mutated(draw, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        operation = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "length"]))
        if operation == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "truncate":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:  # make a length octet lie, the classic DER parser trap
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF]))
    return bytes(data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_certificates_give_a_report_or_invalid_input(services, pki, data) -> None:
    validator, _, _ = services
    leaf = data.draw(st.sampled_from(LEAVES))
    target = data.draw(st.sampled_from(["leaf", "intermediate"]))
    certificate, intermediates = pki.cert(leaf), pki.intermediates(leaf)
    if target == "leaf":
        certificate = data.draw(mutated(certificate))
    else:
        intermediates = [data.draw(mutated(intermediates[0]))]
    command = ValidateCertificate(certificate, tuple(intermediates), policy=POLICY)
    try:
        report = asyncio.run(validator.handle(command))
    except InvalidInput as err:
        assert err.field in ("certificate", "intermediates[0]")
        return
    assert isinstance(report, ValidationReport)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_cms_signatures_give_a_report_or_invalid_input(services, pki, data) -> None:
    _, verifier, signatures = services
    signer = data.draw(st.sampled_from(LEAVES))
    signature = data.draw(mutated(signatures[signer]))
    command = VerifyCmsSignature(
        signature, document=DOCUMENT, intermediates=tuple(pki.intermediates(signer)), policy=POLICY
    )
    try:
        report = asyncio.run(verifier.verify_cms(command))
    except InvalidInput as err:
        assert err.field.startswith(("signature", "document_digest"))
        return
    assert isinstance(report, SignatureReport)
