"""What the verification path remembers between calls, and what it must never remember.

A returning signer's SignedData is only partly decoded again (`cms_verify.read_detached_cms`), keys
are loaded once, name comparisons and chain results are reused. None of this may change an
answer: every signature, digest and signed attribute is still checked, and trust and revocation
are still decided by the chain validation each time.
"""

from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from services.identity.adapters import cms_verify, der, signatures, sm2
from services.identity.adapters.crypto import CmsSignatureChecks, X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.keys import Scheme, algorithm_identifier
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.trustlist_signature import sign_trust_list
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import ValidationPolicy
from services.identity.domain.report import Indication, Reason, SubIndication
from services.identity.domain.trustlist import Jurisdiction
from services.identity.domain.trustlist_codec import decode_document
from services.identity.service_layer.chain_cache import ChainResultCache
from services.identity.service_layer.validate_certificate import CertificateValidator
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature

SIGNERS = ["hk-personal-ec", "gd-personal", "hk-personal", "mo-personal"]


@pytest.fixture(autouse=True)
def no_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no signer known, whatever ran before it."""
    monkeypatch.setattr(cms_verify, "_PROFILES", OrderedDict())
    monkeypatch.setattr(cms_verify, "_TEMPLATES", OrderedDict())


def document(n: int) -> bytes:
    return f"document {n}: 合同 contract\n".encode() * 20


def signed(pki: TestPKI, signer: str, n: int, when: datetime | None = None) -> bytes:
    when = when or datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=n)
    return sign_detached(document(n), pki.key(signer), pki.certificate(signer), when)


def full_path(signature: bytes, document: bytes, extra: list) -> cms_verify.SignatureCheck:
    signed_data, carried = der.load_signed_data(signature, "signature")
    return cms_verify.check_detached_cms(signed_data, carried, None, document, extra)


def shortcut(signature: bytes, document: bytes, extra: list) -> cms_verify.SignatureCheck:
    parsed = cms_verify.read_detached_cms(signature, "signature")
    assert parsed.profile is not None, "expected the returning-signer path"
    return cms_verify.check_cms(parsed, None, document, extra)


@pytest.mark.parametrize("signer", SIGNERS)
def test_a_returning_signer_is_read_partly_and_answered_like_the_full_path(pki, signer) -> None:
    extra = der.load_certificates(pki.intermediates(signer), "intermediates")
    first = cms_verify.read_detached_cms(signed(pki, signer, 0), "signature")
    assert first.profile is None  # unknown signer: decoded in full
    assert cms_verify.check_cms(first, None, document(0), extra).failure is None
    for n in range(1, 4):
        signature = signed(pki, signer, n)
        assert shortcut(signature, document(n), extra) == full_path(signature, document(n), extra)


def test_the_shortcut_still_checks_digest_signature_and_signing_time(pki) -> None:
    extra = der.load_certificates(pki.intermediates("hk-personal-ec"), "intermediates")
    cms_verify.check_cms(
        cms_verify.read_detached_cms(signed(pki, "hk-personal-ec", 0), "signature"), None, document(0), extra
    )

    signature = signed(pki, "hk-personal-ec", 1, when=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    assert shortcut(signature, document(1), extra).signing_time == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert shortcut(signature, document(2), extra).failure is Reason.DIGEST_MISMATCH
    value = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["signature"].native
    tampered = signature.replace(value, value[:-1] + bytes([value[-1] ^ 1]))
    assert shortcut(tampered, document(1), extra).failure is Reason.SIGNATURE_INVALID
    with pytest.raises(InvalidInput) as err:
        cms_verify.check_cms(cms_verify.read_detached_cms(signature, "signature"), b"short", None, extra)
    assert err.value.field == "document_digest"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"260201", b"2602x1"),  # the signing time is no time: caught decoding the signed attributes
        # the message digest is a UTF8String, not an OCTET STRING
        (bytes.fromhex("06092a864886f70d01090431220420"), bytes.fromhex("06092a864886f70d0109043122" + "0c20")),
    ],
)
def test_malformed_signed_attributes_are_refused_on_the_shortcut_as_on_the_full_path(pki, old, new) -> None:
    extra = der.load_certificates(pki.intermediates("gd-personal"), "intermediates")
    cms_verify.check_cms(
        cms_verify.read_detached_cms(signed(pki, "gd-personal", 0), "signature"), None, document(0), extra
    )
    signature = signed(pki, "gd-personal", 1)
    assert signature.count(old) == 1
    broken = signature.replace(old, new)
    with pytest.raises(InvalidInput) as full:
        der.load_signed_data(broken, "signature")
    with pytest.raises(InvalidInput) as short:
        cms_verify.read_detached_cms(broken, "signature")
    assert (short.value.field, short.value.reason, short.value.message) == (
        full.value.field,
        full.value.reason,
        full.value.message,
    )


def test_a_signer_identifier_that_differs_is_not_taken_for_a_known_signer(pki) -> None:
    extra = der.load_certificates(pki.intermediates("hk-personal-ec"), "intermediates")
    signature = signed(pki, "hk-personal-ec", 0)
    assert cms_verify.check_cms(cms_verify.read_detached_cms(signature, "signature"), None, document(0), extra).signer
    # Same issuer, another serial number: the names still match (remembered), the serial does not.
    info = cms.ContentInfo.load(signature)
    sid = info["content"]["signer_infos"][0]["sid"]
    sid.chosen["serial_number"] = sid.chosen["serial_number"].native + 1
    other = info.dump(force=True)
    parsed = cms_verify.read_detached_cms(other, "signature")
    assert parsed.profile is None
    check = cms_verify.check_cms(parsed, None, document(0), extra)
    assert (check.signer, check.failure) == (None, Reason.SIGNER_NOT_FOUND)


async def test_a_known_signer_is_judged_against_the_trust_list_in_force(verifier, store, pki) -> None:
    def verify(n: int) -> VerifyCmsSignature:
        signature = signed(pki, "mo-personal", n)
        return VerifyCmsSignature(
            signature, document=document(n), intermediates=tuple(pki.intermediates("mo-personal"))
        )

    assert (await verifier.verify_cms(verify(0))).passed
    assert (await verifier.verify_cms(verify(1))).passed
    mo = decode_document(pki.trust_list_document(Jurisdiction.MO)).trust_list
    emptied = replace(mo, sequence_number=3, services=())
    assert store.load(sign_trust_list(emptied, pki.key("tl-signer-mo"), pki.cert("tl-signer-mo"))).accepted
    report = await verifier.verify_cms(verify(2))
    assert report.signature_valid and report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


async def test_a_known_signer_still_needs_revocation_data_when_no_chain_result_is_cached(store, pki) -> None:
    # Nothing cached and nowhere to fetch from: hard-fail must say "try later", every time.
    engine = PkixEngine(RevocationCache(), FetchSettings(timeout_seconds=0.2, allowed_hosts=frozenset({"127.0.0.2"})))
    verifier = SignatureVerifier(
        CertificateValidator(store, engine, ChainResultCache(max_entries=0), reader=X509Reader()), CmsSignatureChecks()
    )
    for n in range(3):
        signature = signed(pki, "gd-personal", n)
        command = VerifyCmsSignature(
            signature, document=document(n), intermediates=tuple(pki.intermediates("gd-personal"))
        )
        report = await verifier.verify_cms(command)
        assert report.signature_valid
        assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert cms_verify._PROFILES  # the later signatures did take the returning-signer path


@pytest.mark.parametrize(("signer", "scheme"), [("hk-personal-ec", Scheme.ES256), ("hk-personal", Scheme.PS256)])
def test_loaded_keys_are_reused_but_outcomes_are_not(pki, signer, scheme) -> None:
    key, public = pki.key(signer), pki.certificate(signer).public_key
    good = key.sign(b"message", scheme)
    for _ in range(2):  # the second time from the key cache
        assert signatures.verify(good, b"message", public, algorithm_identifier(scheme))
        assert not signatures.verify(good, b"another message", public, algorithm_identifier(scheme))
    wrong_key = pki.certificate("mo-personal").public_key  # Ed25519 key, ECDSA/RSA algorithm
    assert not signatures.verify(good, b"message", wrong_key, algorithm_identifier(scheme))


def test_sm2_points_are_loaded_once_and_bad_points_are_never_kept(pki) -> None:
    key = pki.key("gd-personal").private
    point = sm2.public_point(key)
    good = sm2.sign(key, b"message")
    for _ in range(2):
        assert sm2.verify(point, b"message", good)
        assert not sm2.verify(point, b"other", good)
    bad_point = point[:-1] + bytes([point[-1] ^ 1])  # not on the curve
    assert not sm2.verify(bad_point, b"message", good)
    assert not sm2.verify(bad_point, b"message", good)


def test_a_cached_chain_result_is_handed_out_for_the_moment_asked(pki) -> None:
    from services.identity.domain.report import ValidationReport

    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    cache = ChainResultCache(clock=lambda: now)
    report = ValidationReport(Indication.TOTAL_PASSED, None, Reason.OK, now, warnings=("w",))
    key = cache.key("ab" * 32, now, "policy", 1)
    cache.put(key, report)
    later = now + timedelta(seconds=30)
    cached = cache.get(cache.key("ab" * 32, later, "policy", 1), later)
    assert cached == replace(report, validation_time=later)
    assert report.validation_time == now  # the stored report is not changed


def test_report_messages_reuse_a_chain_results_template_but_never_its_time_or_outcome() -> None:
    from services.identity.adapters import proto_mapping as m
    from services.identity.domain.report import ChainElement, SignatureReport, ValidationReport
    from services.identity.service_layer.chain_cache import at_moment

    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    leaf = ChainElement("aa" * 32, "CN=Chan Tai Man", "CN=HK Issuing CA", "0a1b", now + timedelta(days=300))
    root = ChainElement("bb" * 32, "CN=HK Root", "CN=HK Root", "01", now + timedelta(days=3000))
    passed = ValidationReport(
        Indication.TOTAL_PASSED, None, Reason.OK, now, (leaf, root), Jurisdiction.HK, None, frozenset({"2.16.344.8.2"})
    )
    later = at_moment(passed, now + timedelta(seconds=90))  # shares the chain tuple, as the cache hands out
    first, second = m.report(passed), m.report(later)
    assert first.validation_time.seconds + 90 == second.validation_time.seconds
    second.validation_time.CopyFrom(first.validation_time)
    assert first == second  # all else the same
    # The same chain tuple with another outcome (as a revocation found later would give) is not
    # answered from the passed report's template.
    revoked = replace(
        passed, indication=Indication.TOTAL_FAILED, sub_indication=SubIndication.REVOKED, reason=Reason.REVOKED
    )
    assert revoked.chain is passed.chain
    message = m.report(revoked)
    assert (message.indication, message.reason) == (m.indication(Indication.TOTAL_FAILED), "revoked")
    assert m.report(passed).indication == m.indication(Indication.TOTAL_PASSED)

    def signature(valid: bool, at: datetime) -> SignatureReport:
        reason = Reason.OK if valid else Reason.DIGEST_MISMATCH
        return SignatureReport(
            Indication.TOTAL_PASSED if valid else Indication.TOTAL_FAILED,
            None if valid else SubIndication.HASH_FAILURE,
            reason,
            valid,
            at,
            at_moment(passed, at),
            at_moment(passed, at + timedelta(seconds=5)),
            "aa" * 32,
            "sha256",
            "sha256_ecdsa",
        )

    good, bad = m.signature_response(signature(True, now)), m.signature_response(signature(False, now))
    assert good.report.reason == "ok" and bad.report.reason == "digest_mismatch"
    assert good.signature_valid and not bad.signature_valid
    assert [c.sha256_fingerprint for c in bad.report.chain] == ["aa" * 32, "bb" * 32]
    moved = m.signature_response(signature(True, now + timedelta(hours=1)))
    assert moved.report.validation_time.seconds == good.report.validation_time.seconds + 3600
    assert moved.claimed_signing_time.seconds == good.claimed_signing_time.seconds + 3600
    assert moved.at_signing_time.validation_time.seconds == good.at_signing_time.validation_time.seconds + 3600


class CountingEngine(PkixEngine):
    """The real engine, counting the chains it is asked to validate."""

    calls = 0

    async def validate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return await super().validate(*args, **kwargs)


async def test_concurrent_validations_of_one_uncached_chain_share_one_and_each_gets_its_moment(
    store, seeded_cache, pki
) -> None:
    import asyncio

    engine = CountingEngine(seeded_cache, FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset({"127.0.0.1"})))
    validator = CertificateValidator(store, engine, ChainResultCache(), reader=X509Reader())
    leaf = der.load_certificate(pki.cert("hk-personal-ec"), "certificate")
    intermediates = der.load_certificates(pki.intermediates("hk-personal-ec"), "intermediates")
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    moments = [start + timedelta(seconds=n) for n in range(10)]  # one cache bucket
    policy = ValidationPolicy()
    reports = await asyncio.gather(*(validator.validate_parsed(leaf, intermediates, m, policy) for m in moments))
    assert engine.calls == 1
    assert [r.validation_time for r in reports] == moments
    assert all(r.indication is Indication.TOTAL_PASSED for r in reports), reports[0]
    again = await validator.validate_parsed(leaf, intermediates, start + timedelta(seconds=20), policy)
    assert engine.calls == 1 and again.validation_time == start + timedelta(seconds=20)


def known_signer_template(pki, signer: str) -> tuple[list, bytes, int]:  # type: ignore[no-untyped-def]
    """Teach the template path a signer (full path, then the profile path), and return a fresh
    signature of the same length, which then takes the template path, and its document number."""
    extra = der.load_certificates(pki.intermediates(signer), "intermediates")
    # ECDSA signature values vary in length, and a template serves signatures of its own length: take
    # three of the commonest length among twelve (RSA and SM2 as well, whose lengths do not vary).
    by_length: dict[int, list[tuple[int, bytes]]] = {}
    for n in range(12):
        signature = signed(pki, signer, n)
        by_length.setdefault(len(signature), []).append((n, signature))
    (first, second, (n, signature), *_) = max(by_length.values(), key=len)
    for taught, sample in (first, second):
        cms_verify.check_cms(cms_verify.read_detached_cms(sample, "signature"), None, document(taught), extra)
    return extra, signature, n


@pytest.mark.parametrize("signer", SIGNERS)
def test_a_signature_like_a_known_one_but_for_its_values_is_answered_like_the_full_path(pki, signer) -> None:
    extra, signature, n = known_signer_template(pki, signer)
    assert cms_verify._from_template(signature) is not None
    assert shortcut(signature, document(n), extra) == full_path(signature, document(n), extra)
    assert shortcut(signature, document(n + 1), extra).failure is Reason.DIGEST_MISMATCH
    value = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["signature"].native
    tampered = signature.replace(value, value[:-1] + bytes([value[-1] ^ 1]))
    assert cms_verify._from_template(tampered) is not None
    assert shortcut(tampered, document(n), extra).failure is Reason.SIGNATURE_INVALID


def test_a_signature_that_differs_outside_its_values_or_has_no_time_does_not_take_the_template(pki) -> None:
    extra, signature, n = known_signer_template(pki, "gd-personal")
    subject = pki.certificate("gd-personal").subject.dump()
    at = signature.index(subject) + len(subject) - 1
    other_certificate = signature[:at] + bytes([signature[at] ^ 1]) + signature[at + 1 :]
    assert cms_verify._from_template(other_certificate) is None
    check = cms_verify.check_cms(cms_verify.read_detached_cms(other_certificate, "signature"), None, document(n), extra)
    assert check.signer is not None and check.signer.sha256 != pki.certificate("gd-personal").sha256
    stamp = signature.index(b"\x17\x0d", signature.index(bytes.fromhex("06092a864886f70d010905"))) + 2
    no_time = signature[:stamp] + b"2613" + signature[stamp + 4 :]  # month 13
    assert cms_verify._from_template(no_time) is None
    with pytest.raises(InvalidInput) as full:
        der.load_signed_data(no_time, "signature")
    with pytest.raises(InvalidInput) as short:
        cms_verify.read_detached_cms(no_time, "signature")
    assert short.value.message == full.value.message


def test_an_empty_request_policy_is_made_once_and_a_given_one_every_time() -> None:
    from baylink.identity.v1 import validation_pb2 as pb
    from services.identity.adapters import proto_mapping as m

    empty = m.policy(pb.ValidationPolicy(), 10.0)
    assert m.policy(pb.ValidationPolicy(), 10.0) is empty
    assert empty == ValidationPolicy(deadline_seconds=10.0)
    assert m.policy(pb.ValidationPolicy(), 5.0).deadline_seconds == 5.0
    assert m.policy(pb.ValidationPolicy(), 10.0, hard_fail=False) != empty
    given = pb.ValidationPolicy(acceptable_policy_oids=["1.2.3"])
    assert m.policy(given, 10.0) is not m.policy(given, 10.0)
    assert m.policy(given, 10.0).requested_policies == frozenset({"1.2.3"})
    with pytest.raises(InvalidInput):
        m.policy(pb.ValidationPolicy(acceptable_policy_oids=["not-an-oid"]), 10.0)
