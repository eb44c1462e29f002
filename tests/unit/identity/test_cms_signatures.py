"""VerifySignature: detached CMS and raw signatures for every algorithm of the scheme."""

import hashlib
from datetime import UTC, datetime

import pytest
from asn1crypto import cms

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from services.identity.adapters import sm2
from services.identity.adapters.keys import Scheme
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import Indication, Reason, SubIndication
from services.identity.service_layer.verify_signature import (
    SignatureVerifier,
    VerifyCmsSignature,
    VerifyRawSignature,
)

DOCUMENT = "公司章程 Articles of Association — Nanhai 440605\n".encode() * 50
SIGNED_AT = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def cms_of(pki: TestPKI, signer: str, scheme: Scheme | None = None, when: datetime | None = SIGNED_AT) -> bytes:
    return sign_detached(DOCUMENT, pki.key(signer), pki.certificate(signer), when, scheme=scheme)


def command(pki: TestPKI, signer: str, signature: bytes, **kwargs) -> VerifyCmsSignature:
    return VerifyCmsSignature(signature, intermediates=tuple(pki.intermediates(signer)), **kwargs)


@pytest.mark.parametrize(
    ("signer", "scheme", "digest"),
    [
        ("hk-personal", Scheme.RS256, "sha256"),
        ("hk-personal", Scheme.PS256, "sha256"),
        ("hk-personal-ec", None, "sha256"),
        ("mo-personal", None, "sha512"),  # Ed25519 (RFC 8419)
        ("gd-personal", None, "sm3"),  # SM2 with SM3 (GM/T 0010)
    ],
)
async def test_detached_cms_of_every_algorithm_verifies(
    verifier: SignatureVerifier, pki, signer, scheme, digest
) -> None:
    report = await verifier.verify_cms(command(pki, signer, cms_of(pki, signer, scheme), document=DOCUMENT))
    assert report.indication is Indication.TOTAL_PASSED, (report.reason, report.at_verification_time)
    assert report.signature_valid and report.digest_algorithm == digest
    assert report.signing_time == SIGNED_AT
    assert report.at_signing_time.validation_time == SIGNED_AT and report.at_signing_time.passed
    assert report.at_verification_time.validation_time > SIGNED_AT and report.at_verification_time.passed
    assert report.signer_fingerprint_sha256 == pki.entity(signer)["sha256"]


async def test_digest_instead_of_document_gives_the_same_answer(verifier, pki) -> None:
    signature = cms_of(pki, "gd-personal")
    report = await verifier.verify_cms(command(pki, "gd-personal", signature, document_digest=sm2.sm3(DOCUMENT)))
    assert report.passed


async def test_changed_document_is_a_hash_failure(verifier, pki) -> None:
    report = await verifier.verify_cms(
        command(pki, "hk-personal-ec", cms_of(pki, "hk-personal-ec"), document=DOCUMENT + b".")
    )
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    assert not report.signature_valid and report.at_verification_time is None


@pytest.mark.parametrize("signer", ["hk-personal", "mo-personal", "gd-personal"])
async def test_altered_signature_value_is_a_crypto_failure(verifier, pki, signer) -> None:
    info = cms.ContentInfo.load(cms_of(pki, signer))
    signer_info = info["content"]["signer_infos"][0]
    value = bytearray(signer_info["signature"].native)
    value[len(value) // 2] ^= 0x40
    signer_info["signature"] = bytes(value)
    report = await verifier.verify_cms(command(pki, signer, info.dump(force=True), document=DOCUMENT))
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CRYPTO_FAILURE,
    )


async def test_signer_missing_from_the_cms_and_the_request_is_reported(verifier, pki) -> None:
    info = cms.ContentInfo.load(cms_of(pki, "hk-personal-ec"))
    info["content"]["certificates"] = [cms.CertificateChoices(name="certificate", value=pki.certificate("hk-ca"))]
    report = await verifier.verify_cms(command(pki, "hk-personal-ec", info.dump(force=True), document=DOCUMENT))
    assert report.sub_indication is SubIndication.NO_SIGNING_CERTIFICATE_FOUND


async def test_signature_without_signed_attributes_is_a_format_failure(verifier, pki) -> None:
    info = cms.ContentInfo.load(cms_of(pki, "hk-personal-ec"))
    attrs = info["content"]["signer_infos"][0]["signed_attrs"]
    info["content"]["signer_infos"][0]["signed_attrs"] = cms.CMSAttributes([attrs[1]])  # message-digest only
    report = await verifier.verify_cms(command(pki, "hk-personal-ec", info.dump(force=True), document=DOCUMENT))
    assert (report.sub_indication, report.reason) == (SubIndication.FORMAT_FAILURE, Reason.SIGNED_ATTRIBUTES)


async def test_signer_revoked_after_the_claimed_signing_time_is_indeterminate(verifier, pki) -> None:
    report = await verifier.verify_cms(command(pki, "hk-revoked", cms_of(pki, "hk-revoked"), document=DOCUMENT))
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.REVOKED_NO_POE,
    )
    assert report.at_signing_time.passed and report.at_verification_time.sub_indication is SubIndication.REVOKED


async def test_signer_revoked_before_the_claimed_signing_time_is_revoked(verifier, pki) -> None:
    late = datetime(2026, 4, 1, tzinfo=UTC)
    report = await verifier.verify_cms(
        command(pki, "gd-revoked", cms_of(pki, "gd-revoked", when=late), document=DOCUMENT)
    )
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED)


async def test_expired_signer_with_a_claimed_time_inside_its_validity_is_out_of_bounds(verifier, pki) -> None:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    report = await verifier.verify_cms(
        command(pki, "hk-expired", cms_of(pki, "hk-expired", when=when), document=DOCUMENT)
    )
    assert report.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE


async def test_claimed_signing_time_before_the_certificate_existed_fails(verifier, pki) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    report = await verifier.verify_cms(
        command(pki, "hk-personal-ec", cms_of(pki, "hk-personal-ec", when=when), document=DOCUMENT)
    )
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.NOT_YET_VALID,
    )


async def test_without_signing_time_only_the_verification_time_is_checked(verifier, pki) -> None:
    report = await verifier.verify_cms(
        command(pki, "mo-personal", cms_of(pki, "mo-personal", when=None), document=DOCUMENT)
    )
    assert report.passed and report.signing_time is None and report.at_signing_time is None


async def test_cms_needs_exactly_one_of_document_and_digest(verifier, pki) -> None:
    with pytest.raises(InvalidInput) as err:
        await verifier.verify_cms(command(pki, "mo-personal", cms_of(pki, "mo-personal")))
    assert err.value.field == "document"


async def test_digest_of_the_wrong_length_is_invalid_input(verifier, pki) -> None:
    with pytest.raises(InvalidInput) as err:
        await verifier.verify_cms(command(pki, "gd-personal", cms_of(pki, "gd-personal"), document_digest=b"\x00" * 20))
    assert err.value.field == "document_digest"


async def test_repeated_verifications_by_one_signer_reuse_the_chain_result(verifier, validator, pki) -> None:
    signature = cms_of(pki, "hk-personal-ec")
    await verifier.verify_cms(command(pki, "hk-personal-ec", signature, document=DOCUMENT))
    hits = validator.cache.hits
    for _ in range(3):
        assert (await verifier.verify_cms(command(pki, "hk-personal-ec", signature, document=DOCUMENT))).passed
    assert validator.cache.hits == hits + 6  # two validation times per verification, all cached


def raw(pki: TestPKI, signer: str, algorithm: str, digest_name: str) -> VerifyRawSignature:
    key = pki.key(signer)
    digest = sm2.sm3(DOCUMENT) if digest_name == "sm3" else hashlib.new(digest_name, DOCUMENT).digest()
    if algorithm in ("ed25519", "sm2"):
        signature = key.sign(digest)  # these algorithms sign the digest value as their message
    else:
        signature = key.sign(DOCUMENT, Scheme.PS256 if algorithm == "rsa-pss" else None)
    return VerifyRawSignature(
        signature,
        digest,
        digest_name,
        algorithm,
        pki.cert(signer),
        tuple(pki.intermediates(signer)),
        claimed_signing_time=SIGNED_AT,
    )


@pytest.mark.parametrize(
    ("signer", "algorithm", "digest"),
    [
        ("hk-personal", "rsa-pkcs1v15", "sha256"),
        ("hk-personal", "rsa-pss", "sha256"),
        ("hk-personal-ec", "ecdsa", "sha256"),
        ("mo-personal", "ed25519", "sha512"),
        ("gd-personal", "sm2", "sm3"),
    ],
)
async def test_raw_signatures_over_a_digest_verify(verifier, pki, signer, algorithm, digest) -> None:
    report = await verifier.verify_raw(raw(pki, signer, algorithm, digest))
    assert report.passed and report.at_signing_time.passed


async def test_raw_signature_over_another_digest_is_a_crypto_failure(verifier, pki) -> None:
    good = raw(pki, "gd-personal", "sm2", "sm3")
    from dataclasses import replace

    report = await verifier.verify_raw(replace(good, document_digest=sm2.sm3(b"other")))
    assert report.sub_indication is SubIndication.SIG_CRYPTO_FAILURE


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"digest_algorithm": "md5"}, "digest_algorithm"),
        ({"signature_algorithm": "dsa"}, "signature_algorithm"),
        ({"document_digest": b"short"}, "document_digest"),
        ({"certificate": b"junk"}, "certificate"),
    ],
)
async def test_raw_requests_with_unusable_fields_are_invalid_input(verifier, pki, change, field) -> None:
    from dataclasses import replace

    with pytest.raises(InvalidInput) as err:
        await verifier.verify_raw(replace(raw(pki, "hk-personal-ec", "ecdsa", "sha256"), **change))
    assert err.value.field == field
