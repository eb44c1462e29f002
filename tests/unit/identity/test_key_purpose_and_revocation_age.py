"""The contract's `key_purpose` (with extended key usage) and `max_revocation_age` are honoured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration

from baylink.identity.v1 import validation_pb2 as pb
from devtools.testpki.loader import TestPKI
from devtools.testpki.weak import hk_signer
from services.identity.adapters import proto_mapping
from services.identity.adapters.crypto import X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import KeyPurpose, ValidationPolicy
from services.identity.domain.report import Indication, Reason, SubIndication, ValidationReport
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate

CLIENT_AUTH = ValidationPolicy(key_purpose=KeyPurpose.CLIENT_AUTH)


async def _validate(
    validator: CertificateValidator, pki: TestPKI, certificate: bytes, policy: ValidationPolicy
) -> ValidationReport:
    intermediates = tuple(pki.intermediates("hk-personal"))
    return await validator.handle(ValidateCertificate(certificate, intermediates, policy=policy))


def _constrained(report: ValidationReport, reason: Reason) -> None:
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    ), report
    assert report.reason is reason


async def test_client_auth_purpose_needs_the_client_auth_extended_key_usage(
    validator: CertificateValidator, pki: TestPKI
) -> None:
    _, with_eku = hk_signer(pki, 0xE4_0001, extended_key_usage=("client_auth",))
    assert (await _validate(validator, pki, with_eku.dump(), CLIENT_AUTH)).passed
    _, without_eku = hk_signer(pki, 0xE4_0002)
    _constrained(await _validate(validator, pki, without_eku.dump(), CLIENT_AUTH), Reason.KEY_PURPOSE)


async def test_a_tls_only_certificate_may_not_sign_documents(validator: CertificateValidator, pki: TestPKI) -> None:
    _, tls_only = hk_signer(pki, 0xE4_0003, extended_key_usage=("client_auth", "server_auth"))
    _constrained(await _validate(validator, pki, tls_only.dump(), ValidationPolicy()), Reason.KEY_USAGE)
    _, signing = hk_signer(pki, 0xE4_0004, extended_key_usage=("email_protection",))
    assert (await _validate(validator, pki, signing.dump(), ValidationPolicy())).passed


async def test_revocation_information_older_than_max_revocation_age_does_not_count(
    store: TrustListStore, seeded_cache: RevocationCache, pki: TestPKI
) -> None:
    # The seeded CRLs and OCSP answers were issued five minutes ago; nothing may be fetched.
    engine = PkixEngine(cache=seeded_cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset()))
    validator = CertificateValidator(store, engine, reader=X509Reader())
    strict = ValidationPolicy(max_revocation_age=timedelta(minutes=1))
    report = await _validate(validator, pki, pki.cert("hk-personal"), strict)
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.TRY_LATER), report
    assert report.reason is Reason.REVOCATION_UNAVAILABLE
    relaxed = ValidationPolicy(max_revocation_age=timedelta(hours=1))
    assert (await _validate(validator, pki, pki.cert("hk-personal"), relaxed)).passed


def test_the_contract_policy_carries_key_purpose_and_max_revocation_age() -> None:
    message = pb.ValidationPolicy(key_purpose=pb.KEY_PURPOSE_CLIENT_AUTH, max_revocation_age=Duration(seconds=600))
    policy = proto_mapping.policy(message, 10.0)
    assert policy.key_purpose is KeyPurpose.CLIENT_AUTH and policy.max_revocation_age == timedelta(minutes=10)
    default = proto_mapping.policy(pb.ValidationPolicy(), 10.0)
    assert default.key_purpose is KeyPurpose.DOCUMENT_SIGNING and default.max_revocation_age is None
    assert policy.cache_key() != default.cache_key()


@pytest.mark.parametrize(
    "message",
    [
        pb.ValidationPolicy(max_revocation_age=Duration(seconds=-1)),
        pb.ValidationPolicy(max_revocation_age=Duration(seconds=0)),
        pb.ValidationPolicy(max_revocation_age=Duration(seconds=10**9)),
        pb.ValidationPolicy(key_purpose=99),  # type: ignore[arg-type]
    ],
)
def test_an_unusable_key_purpose_or_revocation_age_is_invalid_input(message: pb.ValidationPolicy) -> None:
    with pytest.raises(InvalidInput):
        proto_mapping.policy(message, 10.0)
