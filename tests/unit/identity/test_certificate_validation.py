"""ValidateCertificate against the committed test PKI; revocation comes from the seeded cache."""

from datetime import UTC, datetime

import pytest
from asn1crypto import x509

from devtools.testpki import plan
from devtools.testpki.loader import TestPKI
from devtools.testpki.x509build import CertificateProfile, issue, issuer_for, name
from services.identity.adapters.keys import KeyKind, SigningKey
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import ValidationPolicy
from services.identity.domain.report import Indication, Reason, SubIndication
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate


async def validate(validator: CertificateValidator, pki: TestPKI, leaf: str, **kwargs):
    command = ValidateCertificate(pki.cert(leaf), tuple(pki.intermediates(leaf)), **kwargs)
    return await validator.handle(command)


@pytest.mark.parametrize(
    ("leaf", "jurisdiction", "policy"),
    [
        ("hk-personal", Jurisdiction.HK, plan.POLICY_HK_PERSONAL),  # RSA leaf, RSA-PSS chain
        ("hk-personal-ec", Jurisdiction.HK, plan.POLICY_HK_PERSONAL),  # P-256 leaf, delegated OCSP
        ("hk-organisation", Jurisdiction.HK, plan.POLICY_HK_ORGANISATION),
        ("mo-personal", Jurisdiction.MO, plan.POLICY_MO_PERSONAL),  # Ed25519 leaf, P-384 chain
        ("gd-personal", Jurisdiction.GD, plan.POLICY_GD_PERSONAL),  # SM2 all the way
    ],
)
async def test_good_signing_certificates_pass_with_their_chain_and_policy(
    validator, pki, leaf, jurisdiction, policy
) -> None:
    report = await validate(validator, pki, leaf)
    assert report.indication is Indication.TOTAL_PASSED, report.detail
    assert report.jurisdiction is jurisdiction and report.policies == {policy}
    assert report.chain[0].fingerprint_sha256 == pki.entity(leaf)["sha256"]
    assert report.chain[-1].subject == pki.certificate(f"{jurisdiction.value.lower()}-root").subject.human_friendly
    assert len(report.chain) == 3 and report.warnings == ()


@pytest.mark.parametrize(
    ("leaf", "indication", "sub", "reason"),
    [
        ("hk-revoked", Indication.TOTAL_FAILED, SubIndication.REVOKED, Reason.REVOKED),
        ("gd-revoked", Indication.TOTAL_FAILED, SubIndication.REVOKED, Reason.REVOKED),
        ("hk-expired", Indication.TOTAL_FAILED, SubIndication.EXPIRED, Reason.EXPIRED),
        ("hk-not-yet-valid", Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID, Reason.NOT_YET_VALID),
        (
            "hk-wrong-key-usage",
            Indication.INDETERMINATE,
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            Reason.KEY_USAGE,
        ),
        (
            "hk-critical-extension",
            Indication.INDETERMINATE,
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            Reason.CRITICAL_EXTENSION,
        ),
        (
            "hk-no-policy",
            Indication.INDETERMINATE,
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            Reason.POLICY_NOT_RECOGNISED,
        ),
        (
            "hk-old-personal",
            Indication.TOTAL_FAILED,
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            Reason.SERVICE_WITHDRAWN,
        ),
    ],
)
async def test_edge_cases_of_the_test_pki_get_their_specific_indication(
    validator, pki, leaf, indication, sub, reason
) -> None:
    report = await validate(validator, pki, leaf)
    assert (report.indication, report.sub_indication, report.reason) == (indication, sub, reason), report.detail
    assert report.jurisdiction is Jurisdiction.HK or leaf.startswith("gd")
    assert report.message.en and report.message.zh_hant and report.message.zh_hans


async def test_withdrawn_service_still_anchors_validations_before_its_withdrawal(validator, pki) -> None:
    report = await validate(validator, pki, "hk-old-personal", validation_time=datetime(2026, 1, 15, tzinfo=UTC))
    assert report.passed, report.detail


async def test_certificate_revoked_later_was_good_at_an_earlier_time(validator, pki) -> None:
    before = datetime(2026, 2, 1, tzinfo=UTC)
    assert (await validate(validator, pki, "hk-revoked", validation_time=before)).passed
    after = datetime(2026, 3, 2, tzinfo=UTC)
    assert (await validate(validator, pki, "hk-revoked", validation_time=after)).sub_indication is SubIndication.REVOKED


async def test_missing_intermediate_finds_no_chain(validator, pki) -> None:
    report = await validator.handle(ValidateCertificate(pki.cert("hk-personal")))
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )


async def test_jurisdiction_filter_keeps_other_anchors_out(validator, pki) -> None:
    only_mo = ValidationPolicy(jurisdictions=frozenset({Jurisdiction.MO}))
    report = await validate(validator, pki, "gd-personal", policy=only_mo)
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


async def test_requested_policy_narrows_the_recognised_ones(validator, pki) -> None:
    wants_org = ValidationPolicy(requested_policies=frozenset({plan.POLICY_HK_ORGANISATION}))
    assert (await validate(validator, pki, "hk-organisation", policy=wants_org)).passed
    report = await validate(validator, pki, "hk-personal-ec", policy=wants_org)
    assert report.reason is Reason.POLICY_NOT_RECOGNISED


async def test_repeated_validation_is_served_from_the_chain_cache(validator, pki) -> None:
    first = await validate(validator, pki, "gd-personal")
    hits = validator.cache.hits
    second = await validate(validator, pki, "gd-personal")
    assert validator.cache.hits == hits + 1 and second.chain == first.chain


async def test_trust_list_update_invalidates_the_chain_cache(validator, store, pki) -> None:
    from dataclasses import replace

    from services.identity.adapters.trustlist_signature import sign_trust_list
    from services.identity.domain.trustlist_codec import decode_document

    assert (await validate(validator, pki, "mo-personal")).passed
    mo = decode_document(pki.trust_list_document(Jurisdiction.MO)).trust_list
    emptied = replace(mo, sequence_number=3, services=())
    assert store.load(sign_trust_list(emptied, pki.key("tl-signer-mo"), pki.cert("tl-signer-mo"))).accepted
    report = await validate(validator, pki, "mo-personal")
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


async def test_intermediate_with_a_broken_signature_fails_the_chain(validator, pki) -> None:
    ca = bytearray(pki.cert("hk-ca"))
    ca[-5] ^= 0x01  # inside the root's RSA signature over the CA certificate
    report = await validator.handle(ValidateCertificate(pki.cert("hk-personal-ec"), (bytes(ca),)))
    assert report.indication is Indication.INDETERMINATE
    assert (report.sub_indication, report.reason) == (
        SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        Reason.CHAIN_SIGNATURE_INVALID,
    )


async def test_forged_sm2_leaf_with_the_right_names_fails(validator, pki) -> None:
    impostor_key = SigningKey.generate(KeyKind.SM2, b"impostor")
    real = pki.certificate("gd-personal")
    profile = CertificateProfile(
        serial=real.serial_number,
        subject=real.subject,
        not_before=plan.LEAF_VALIDITY[0],
        not_after=plan.LEAF_VALIDITY[1],
        policies=(plan.POLICY_GD_PERSONAL,),
    )
    fake_issuer = issuer_for(pki.certificate("gd-ca"), impostor_key)
    forged = issue(profile, impostor_key.public_key_info(), fake_issuer)
    report = await validator.handle(ValidateCertificate(forged.dump(), tuple(pki.intermediates("gd-personal"))))
    assert report.reason in (Reason.CHAIN_SIGNATURE_INVALID, Reason.NO_CHAIN)
    assert not report.passed


async def test_chain_with_a_loop_ends_without_a_chain_and_without_hanging(validator) -> None:
    key_x, key_y, key_leaf = (SigningKey.generate(KeyKind.EC_P256, s) for s in (b"x", b"y", b"l"))
    name_x, name_y = name("Loop X", "Loop", "HK"), name("Loop Y", "Loop", "HK")
    ca = dict(
        is_ca=True,
        key_usage=frozenset({"key_cert_sign"}),
        not_before=plan.CA_VALIDITY[0],
        not_after=plan.CA_VALIDITY[1],
    )
    self_x = issue(CertificateProfile(serial=1, subject=name_x, **ca), key_x.public_key_info(), None, key_x)
    self_y = issue(CertificateProfile(serial=2, subject=name_y, **ca), key_y.public_key_info(), None, key_y)
    x_by_y = issue(
        CertificateProfile(serial=3, subject=name_x, **ca), key_x.public_key_info(), issuer_for(self_y, key_y)
    )
    y_by_x = issue(
        CertificateProfile(serial=4, subject=name_y, **ca), key_y.public_key_info(), issuer_for(self_x, key_x)
    )
    leaf = issue(
        CertificateProfile(
            serial=5,
            subject=name("Leaf", "Loop", "HK"),
            not_before=plan.LEAF_VALIDITY[0],
            not_after=plan.LEAF_VALIDITY[1],
        ),
        key_leaf.public_key_info(),
        issuer_for(self_x, key_x),
    )
    command = ValidateCertificate(
        leaf.dump(), (x_by_y.dump(), y_by_x.dump()), policy=ValidationPolicy(deadline_seconds=5)
    )
    report = await validator.handle(command)
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


async def test_naive_validation_time_is_invalid_input(validator, pki) -> None:
    with pytest.raises(InvalidInput) as err:
        await validate(validator, pki, "hk-personal", validation_time=datetime(2026, 1, 1))
    assert err.value.field == "validation_time"


async def test_validating_a_ca_certificate_as_a_signer_fails_on_key_usage(validator, pki) -> None:
    report = await validator.handle(ValidateCertificate(pki.cert("hk-ca")))
    assert report.reason is Reason.KEY_USAGE


def test_test_pki_subjects_keep_their_chinese_names(pki: TestPKI) -> None:
    subject: x509.Name = pki.certificate("gd-personal").subject
    assert "王广东" in subject.native["common_name"] and subject.native["country_name"] == "CN"
