"""Signature time-stamps (RFC 3161) as proofs of existence: EN 319 102-1 past signature validation."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms
from asn1crypto.core import GeneralizedTime

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from devtools.testpki.revocation import RevocationAuthority
from devtools.testpki.timestamps import (
    add_signature_timestamp,
    signature_imprint,
    timestamp_signature,
    timestamp_token,
)
from services.identity.adapters import timestamp_tokens, token_templates, tst_info
from services.identity.adapters.proto_mapping import signature_response
from services.identity.adapters.trustlist_signature import sign_trust_list
from services.identity.domain.errors import InvalidInput
from services.identity.domain.report import Indication, Reason, SignatureLevel, SubIndication
from services.identity.domain.trustlist import Jurisdiction, ServiceStatus, ServiceType, StatusChange
from services.identity.domain.trustlist_codec import decode_document
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature

DOCUMENT = "股東決議 Shareholders' resolution — Qianhai\n".encode() * 40
BEFORE_REVOCATION = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)  # the test PKI revokes on 2026-03-01
AFTER_REVOCATION = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def signed(pki: TestPKI, signer: str, when: datetime, tsa: str | None = None, hash_name: str = "sha256") -> bytes:
    signature = sign_detached(DOCUMENT, pki.key(signer), pki.certificate(signer), when)
    return timestamp_signature(signature, tsa, when, hash_name) if tsa else signature


async def verify(verifier: SignatureVerifier, pki: TestPKI, signer: str, signature: bytes):
    command = VerifyCmsSignature(signature, document=DOCUMENT, intermediates=tuple(pki.intermediates(signer)))
    return await verifier.verify_cms(command)


async def test_without_a_timestamp_the_level_is_b_b_and_nothing_is_proven(verifier, pki) -> None:
    report = await verify(verifier, pki, "hk-personal", signed(pki, "hk-personal", BEFORE_REVOCATION))
    assert report.passed and report.reason is Reason.OK
    assert (report.level, report.proven_signing_time, report.timestamps) == (SignatureLevel.B_B, None, ())


@pytest.mark.parametrize(("signer", "tsa"), [("hk-personal", "hk-tsa"), ("hk-personal-ec", "mo-tsa")])
async def test_a_listed_tsa_proves_the_signing_time(verifier, pki, signer, tsa) -> None:
    report = await verify(verifier, pki, signer, signed(pki, signer, BEFORE_REVOCATION, tsa))
    assert report.passed and report.reason is Reason.OK
    assert report.level is SignatureLevel.B_T
    assert report.proven_signing_time == BEFORE_REVOCATION
    assert report.at_signing_time is not None and report.at_signing_time.validation_time == BEFORE_REVOCATION
    [stamp] = report.timestamps
    assert stamp.trusted and stamp.reason is Reason.TIMESTAMP_TRUSTED and stamp.gen_time == BEFORE_REVOCATION
    assert stamp.tsa_fingerprint_sha256 == pki.entity(tsa)["sha256"]
    assert stamp.jurisdiction is Jurisdiction(tsa[:2].upper()) and stamp.tsa_name is not None
    assert "TSA" in stamp.tsa_name.en


async def test_signer_revoked_after_a_timestamped_signature_passes_at_the_proven_time(verifier, pki) -> None:
    report = await verify(verifier, pki, "hk-revoked", signed(pki, "hk-revoked", BEFORE_REVOCATION, "hk-tsa"))
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert report.reason is Reason.REVOKED_AFTER_POE
    assert report.at_verification_time is not None
    assert report.at_verification_time.sub_indication is SubIndication.REVOKED
    assert report.at_signing_time is not None and report.at_signing_time.passed
    assert report.message.en.startswith("The certificate was revoked after signing")


async def test_a_timestamp_after_the_revocation_proves_nothing_good(verifier, pki) -> None:
    report = await verify(verifier, pki, "hk-revoked", signed(pki, "hk-revoked", AFTER_REVOCATION, "hk-tsa"))
    assert report.timestamps[0].trusted and report.proven_signing_time == AFTER_REVOCATION
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED)


async def test_signer_expired_after_a_timestamped_signature_passes(verifier, pki) -> None:
    inside = datetime(2025, 6, 15, tzinfo=UTC)  # hk-expired is valid 2025-02-01 .. 2025-07-01
    report = await verify(verifier, pki, "hk-expired", signed(pki, "hk-expired", inside, "hk-tsa"))
    assert report.indication is Indication.TOTAL_PASSED and report.reason is Reason.EXPIRED_AFTER_POE
    without = await verify(verifier, pki, "hk-expired", signed(pki, "hk-expired", inside))
    assert without.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE


async def test_untrusted_tsa_is_refused_as_proof(verifier, pki) -> None:
    report = await verify(
        verifier, pki, "hk-personal", signed(pki, "hk-personal", BEFORE_REVOCATION, "hk-tsa-unlisted")
    )
    assert report.passed and report.level is SignatureLevel.B_B and report.proven_signing_time is None
    [stamp] = report.timestamps
    assert not stamp.trusted and stamp.reason is Reason.TSA_NOT_TRUSTED
    # hk-tsa-unlisted chains to hk-root, a CA service: that does not make it a trusted TSA.
    assert "no granted TSA service" in stamp.detail
    assert stamp.tsa_fingerprint_sha256 == pki.entity("hk-tsa-unlisted")["sha256"] and stamp.tsa_name is None


async def test_untrusted_tsa_leaves_a_revoked_signer_indeterminate(verifier, pki) -> None:
    report = await verify(verifier, pki, "hk-revoked", signed(pki, "hk-revoked", BEFORE_REVOCATION, "hk-tsa-unlisted"))
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.REVOKED_NO_POE)
    assert report.reason is Reason.REVOKED_AFTER_SIGNING and not report.timestamps[0].trusted


async def test_timestamp_over_other_data_is_refused(verifier, pki) -> None:
    signature = signed(pki, "hk-revoked", BEFORE_REVOCATION)
    token = timestamp_token(b"some other signature value", "hk-tsa", BEFORE_REVOCATION)
    report = await verify(verifier, pki, "hk-revoked", add_signature_timestamp(signature, token))
    [stamp] = report.timestamps
    assert not stamp.trusted and stamp.reason is Reason.TIMESTAMP_IMPRINT_MISMATCH
    assert report.sub_indication is SubIndication.REVOKED_NO_POE and report.proven_signing_time is None


async def test_timestamp_with_an_altered_signature_is_invalid(verifier, pki) -> None:
    signature = signed(pki, "hk-personal", BEFORE_REVOCATION)
    token = bytearray(timestamp_token(signature_imprint(signature), "hk-tsa", BEFORE_REVOCATION, prehashed=True))
    content = cms.ContentInfo.load(bytes(token))
    value = content["content"]["signer_infos"][0]["signature"].native
    at = bytes(token).rindex(value)
    token[at + 8] ^= 0x01  # inside the ECDSA r or s
    report = await verify(verifier, pki, "hk-personal", add_signature_timestamp(signature, bytes(token)))
    [stamp] = report.timestamps
    assert not stamp.trusted and stamp.reason is Reason.TIMESTAMP_INVALID
    assert report.passed and report.level is SignatureLevel.B_B


async def test_timestamp_dated_in_the_future_is_invalid(verifier, pki) -> None:
    later = datetime.now(UTC) + timedelta(days=2)
    report = await verify(verifier, pki, "hk-personal", signed(pki, "hk-personal", later, "hk-tsa"))
    assert report.timestamps[0].reason is Reason.TIMESTAMP_INVALID and report.proven_signing_time is None


async def test_sm2_signature_with_an_sm2_timestamp(verifier, pki) -> None:
    report = await verify(verifier, pki, "gd-personal", signed(pki, "gd-personal", BEFORE_REVOCATION, "gd-tsa", "sm3"))
    assert report.passed and report.level is SignatureLevel.B_T
    assert report.timestamps[0].jurisdiction is Jurisdiction.GD
    revoked = await verify(verifier, pki, "gd-revoked", signed(pki, "gd-revoked", BEFORE_REVOCATION, "gd-tsa", "sm3"))
    assert revoked.indication is Indication.TOTAL_PASSED and revoked.reason is Reason.REVOKED_AFTER_POE


async def test_the_tsa_service_must_be_granted_at_the_tokens_time(verifier, store: TrustListStore, pki) -> None:
    hk = decode_document(pki.trust_list_document(Jurisdiction.HK)).trust_list
    withdrawn = datetime(2026, 3, 1, tzinfo=UTC)
    services = tuple(
        replace(s, status_history=(*s.status_history, StatusChange(ServiceStatus.WITHDRAWN, withdrawn)))
        if s.service_type is ServiceType.TSA
        else s
        for s in hk.services
    )
    later = replace(hk, sequence_number=hk.sequence_number + 1, services=services)
    assert store.load(sign_trust_list(later, pki.key("tl-signer-hk"), pki.cert("tl-signer-hk"))).accepted
    before = await verify(verifier, pki, "hk-revoked", signed(pki, "hk-revoked", BEFORE_REVOCATION, "hk-tsa"))
    assert before.timestamps[0].trusted and before.reason is Reason.REVOKED_AFTER_POE
    after = await verify(verifier, pki, "hk-personal", signed(pki, "hk-personal", AFTER_REVOCATION, "hk-tsa"))
    assert not after.timestamps[0].trusted and after.timestamps[0].reason is Reason.TSA_NOT_TRUSTED
    assert "withdrawn" in after.timestamps[0].detail


async def test_a_tsa_certificate_anchors_no_signer(verifier, pki) -> None:
    # The TSA's own key signing a document: its certificate is listed, but as a TSA service, which
    # anchors nothing but TSAs; its chain goes on to the CA root and fails there for its key purpose.
    signature = sign_detached(DOCUMENT, pki.key("hk-tsa"), pki.certificate("hk-tsa"), BEFORE_REVOCATION)
    report = await verify(verifier, pki, "hk-tsa", signature)
    assert report.indication is Indication.INDETERMINATE and report.reason is Reason.KEY_USAGE
    assert report.at_verification_time is not None
    assert report.at_verification_time.chain[-1].fingerprint_sha256 == pki.entity("hk-root")["sha256"]


async def test_check_timestamp_on_its_own(verifier, pki) -> None:
    token = timestamp_token(b"signature value", "mo-tsa", BEFORE_REVOCATION)
    stamp = await verifier.timestamps.check_timestamp(token, b"signature value")
    assert stamp.trusted and stamp.gen_time == BEFORE_REVOCATION and stamp.jurisdiction is Jurisdiction.MO
    wrong = await verifier.timestamps.check_timestamp(token, b"another value")
    assert wrong.reason is Reason.TIMESTAMP_IMPRINT_MISMATCH
    junk = await verifier.timestamps.check_timestamp(b"\x30\x03\x02\x01\x01", b"x")
    assert junk.reason is Reason.TIMESTAMP_INVALID and not junk.trusted


def with_crl(signature: bytes, crl_der: bytes) -> bytes:
    """`signature` with a CRL in its SignedData's crls: validation data carried along (B-LT)."""
    signed_data = cms.ContentInfo.load(signature)["content"]
    rebuilt = cms.SignedData(
        {
            "version": signed_data["version"],
            "digest_algorithms": signed_data["digest_algorithms"],
            "encap_content_info": signed_data["encap_content_info"],
            "certificates": signed_data["certificates"],
            "crls": [cms.RevocationInfoChoice.load(crl_der)],
            "signer_infos": signed_data["signer_infos"],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": rebuilt}).dump())


async def test_long_term_levels_count_on_top_of_a_trusted_timestamp(verifier, pki) -> None:
    crl = RevocationAuthority(pki, "hk-ca").crl_der()
    stamped = with_crl(signed(pki, "hk-personal", BEFORE_REVOCATION, "hk-tsa"), crl)
    report = await verify(verifier, pki, "hk-personal", stamped)
    assert report.passed and report.level is SignatureLevel.B_LT
    untrusted = with_crl(signed(pki, "hk-personal", BEFORE_REVOCATION, "hk-tsa-unlisted"), crl)
    report = await verify(verifier, pki, "hk-personal", untrusted)
    assert report.level is SignatureLevel.B_B  # validation data without a proven time is still B-B


async def test_the_contract_carries_proven_time_timestamps_and_level(verifier, pki) -> None:
    report = await verify(verifier, pki, "hk-revoked", signed(pki, "hk-revoked", BEFORE_REVOCATION, "hk-tsa"))
    response = signature_response(report)
    assert response.proven_signing_time.ToDatetime(tzinfo=UTC) == BEFORE_REVOCATION
    assert response.level == 2  # SIGNATURE_LEVEL_B_T
    [stamp] = response.timestamps
    assert stamp.trusted and stamp.reason == "timestamp_trusted" and stamp.jurisdiction == 1  # HK
    assert stamp.tsa_certificate_fingerprint == pki.entity("hk-tsa")["sha256"]
    assert stamp.gen_time.ToDatetime(tzinfo=UTC) == BEFORE_REVOCATION
    assert {m.en for m in stamp.messages} and stamp.tsa_name.zh_hant
    assert response.report.reason == "revoked_after_poe"


@pytest.mark.parametrize(
    ("tsa", "options"), [("hk-tsa", {}), ("mo-tsa", {"nonce": 7}), ("gd-tsa", {"hash_name": "sm3"})]
)
def test_the_short_way_through_a_token_answers_as_the_full_decode(tsa: str, options: dict) -> None:
    token = timestamp_token(b"value", tsa, BEFORE_REVOCATION, **options)
    mutations = [token] + [token[:i] + bytes([token[i] ^ 0x01]) + token[i + 1 :] for i in range(0, len(token), 7)]
    for mutated in mutations:
        timestamp_tokens._PROFILES.clear()
        token_templates._TEMPLATES.clear()
        tst_info._DECODED.clear()
        full = timestamp_tokens.check_token(mutated, b"value", [])
        short = timestamp_tokens.check_token(mutated, b"value", [])  # the TSA's profile is known now
        assert (short.failure, short.gen_time, short.tsa) == (full.failure, full.gen_time, full.tsa), mutated.hex()
        timestamp_tokens.check_token(token, b"value", [])  # a good token of the TSA: its template
        by_template = timestamp_tokens.check_token(mutated, b"value", [])
        answer = (by_template.failure, by_template.detail, by_template.gen_time, by_template.tsa)
        assert answer == (full.failure, full.detail, full.gen_time, full.tsa), mutated.hex()
    timestamp_tokens._PROFILES.clear()
    token_templates._TEMPLATES.clear()
    assert timestamp_tokens.check_token(token, b"value", []).failure is None
    assert timestamp_tokens._PROFILES and not token_templates._TEMPLATES  # the first token: read in full
    assert timestamp_tokens.check_token(token, b"value", []).failure is None
    assert token_templates._TEMPLATES  # the second: the short way, and its template learnt


@pytest.mark.parametrize(("tsa", "options"), [("hk-tsa", {}), ("mo-tsa", {"nonce": 7}), ("gd-tsa", {})])
def test_a_tsas_token_template_serves_its_next_tokens_and_refuses_altered_ones(
    pki: TestPKI, tsa: str, options: dict
) -> None:
    token_templates._TEMPLATES.clear()
    first = timestamp_token(b"value", tsa, BEFORE_REVOCATION, **options)
    for _ in range(2):  # the TSA's profile learnt, then the template
        assert timestamp_tokens.check_token(first, b"value", []).failure is None
    learnt = sum(len(kept) for kept in token_templates._TEMPLATES.values())
    assert learnt == 1
    # The same TSA's next tokens: other data, time, serial (and nonce); some of the same length.
    # A signature's DER length varies (an SM2 or ECDSA r or s may need a leading zero byte): stamp on,
    # within a bound, until one token has the first one's length.
    later: list[bytes] = []
    while len(later) < 12 or (all(len(t) != len(first) for t in later) and len(later) < 200):
        i = len(later)
        later.append(timestamp_token(b"value %d" % i, tsa, BEFORE_REVOCATION + timedelta(seconds=i), **options))
    by_template = [t for t in later if len(t) == len(first)]
    assert by_template, "no later token of the first one's length"
    for i, token in enumerate(later):
        check = timestamp_tokens.check_token(token, b"value %d" % i, [])
        assert check.failure is None and check.gen_time == BEFORE_REVOCATION + timedelta(seconds=i)
        assert check.tsa is not None and check.tsa.sha256.hex() == pki.entity(tsa)["sha256"]
        assert timestamp_tokens.check_token(token, b"other", []).failure is Reason.TIMESTAMP_IMPRINT_MISMATCH
    token = by_template[0]
    data = b"value %d" % later.index(token)
    signature_at = len(token) - len(cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].native)
    for at, what in ((signature_at + 10, Reason.TIMESTAMP_INVALID), (len(token) - 3, Reason.TIMESTAMP_INVALID)):
        altered = token[:at] + bytes([token[at] ^ 0x01]) + token[at + 1 :]
        assert token_templates.check(altered, data) is not None  # the template's way, not the long one
        assert timestamp_tokens.check_token(altered, data, []).failure is what
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].contents
    imprint_at = token.index(info) + info.index(digest_of(tsa, data))
    altered = token[:imprint_at] + bytes([token[imprint_at] ^ 0x01]) + token[imprint_at + 1 :]
    # Another imprint under the same signature: the message-digest of the TSTInfo no longer matches.
    assert timestamp_tokens.check_token(altered, data, []).failure is Reason.TIMESTAMP_INVALID
    assert timestamp_tokens.check_token(token, data, []).failure is None  # the good one still passes


def digest_of(tsa: str, data: bytes) -> bytes:
    from services.identity.adapters.cms_signer import digest

    return digest("sm3" if tsa == "gd-tsa" else "sha256", data)


@pytest.mark.parametrize(
    "text",
    [
        b"20260201093000Z",
        b"20260201093000.5Z",
        b"20260201093000.123456Z",
        b"20261301093000Z",
        b"2026020109300Z",
        b"20260230093000Z",  # no 30 February
        b"20260201240000Z",
        b"20260201093060Z",
        b"2026020109300AZ",
        b"202602010930001",  # no Z
        b"20260201093000z",
        b"+0260201093000Z",
        b"20240229093000Z",  # a leap day
        b"20230229093000Z",  # not one
        b"99991231235959Z",
        b"2026020109300\xb2Z",  # not an ASCII digit
    ],
)
def test_generalized_times_are_read_as_asn1crypto_reads_them(text: bytes) -> None:
    ours = tst_info._generalized_time(text)
    try:
        theirs = GeneralizedTime.load(bytes([0x18, len(text)]) + text).native
    except ValueError:
        theirs = None
    assert ours == theirs


async def test_tokens_of_baylinks_own_tsa_are_proofs_of_existence(verifier, pki) -> None:
    from itertools import count

    from asn1crypto import tsp

    from services.identity.tsa.authority import TimeStampAuthority

    serials = count(1)
    at = datetime(2026, 2, 1, 9, 30, 15, 250_000, tzinfo=UTC)  # genTime to the millisecond
    authority = TimeStampAuthority(
        pki.key("hk-tsa"),
        pki.certificate("hk-tsa"),
        [pki.certificate("hk-ca")],
        lambda: next(serials),
        clock=lambda: at,
    )
    signature = signed(pki, "hk-revoked", BEFORE_REVOCATION)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": signature_imprint(signature),
            },
            "nonce": 12345,
            "cert_req": True,
        }
    )
    response = tsp.TimeStampResp.load(authority.respond(request.dump()))
    stamped = add_signature_timestamp(signature, response["time_stamp_token"].dump())
    for _ in range(2):  # the TSA's first token, then one read the short way
        report = await verify(verifier, pki, "hk-revoked", stamped)
        assert report.timestamps[0].trusted, report.timestamps[0]
        assert report.proven_signing_time == at and report.reason is Reason.REVOKED_AFTER_POE


async def test_mutated_time_stamped_signatures_get_a_report_or_invalid_input(verifier, pki) -> None:
    stamped = signed(pki, "hk-personal", BEFORE_REVOCATION, "hk-tsa")
    start = len(stamped) - len(cms.ContentInfo.load(stamped)["content"]["signer_infos"][0]["unsigned_attrs"].dump())
    outcomes: set[str] = set()
    for i in range(start - 80, len(stamped), 5):  # the signature value and every byte of the time-stamp
        for flip in (0x01, 0x80):
            mutated = stamped[:i] + bytes([stamped[i] ^ flip]) + stamped[i + 1 :]
            try:
                report = await verify(verifier, pki, "hk-personal", mutated)
            except InvalidInput:
                outcomes.add("invalid_input")
                continue
            outcomes.add(report.timestamps[0].reason.value if report.timestamps else report.reason.value)
            assert report.proven_signing_time is None or report.timestamps[0].trusted
    assert {"invalid_input", "timestamp_invalid"} <= outcomes
