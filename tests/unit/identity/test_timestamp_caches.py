"""What the timestamp path keeps between tokens (the TSA's token template, its chain result, the TSA
services by fingerprint) never answers for what changed: the trust lists, the TSA certificate's
revocation, another TSA, another token."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

from asn1crypto import cms, crl, ocsp

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import Revocation, TestPKI
from devtools.testpki.revocation import OcspBehaviour, RevocationAuthority, seed_cache
from devtools.testpki.timestamps import add_signature_timestamp, signature_imprint, timestamp_token
from services.identity.adapters import token_templates
from services.identity.adapters.crypto import CmsSignatureChecks, X509Reader
from services.identity.adapters.fetchers import FetchSettings, build_ocsp_request
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache, ocsp_key
from services.identity.adapters.trustlist_signature import sign_trust_list
from services.identity.domain.report import Reason, SignatureLevel
from services.identity.domain.trustlist import Jurisdiction, ServiceType
from services.identity.domain.trustlist_codec import decode_document
from services.identity.service_layer.chain_cache import ChainResultCache
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature

DOCUMENT = b"Board minutes, Macau branch\n" * 30
SIGNED_AT = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def stamped(pki: TestPKI, tsa: str, at: datetime = SIGNED_AT, signer: str = "hk-personal") -> bytes:
    signature = sign_detached(DOCUMENT, pki.key(signer), pki.certificate(signer), at)
    token = timestamp_token(signature_imprint(signature), tsa, at, prehashed=True)
    return add_signature_timestamp(signature, token)


async def verify(verifier: SignatureVerifier, pki: TestPKI, signature: bytes, signer: str = "hk-personal"):
    command = VerifyCmsSignature(signature, document=DOCUMENT, intermediates=tuple(pki.intermediates(signer)))
    return await verifier.verify_cms(command)


def token_of(signature: bytes) -> bytes:
    info = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    return bytes(info["unsigned_attrs"][0]["values"][0].dump())


async def test_a_cached_tsa_is_judged_again_after_a_trust_list_update(verifier, store: TrustListStore, pki) -> None:
    signature = stamped(pki, "hk-tsa")
    for _ in range(3):  # the TSA's chain validated, then answered from the cache; the token by template
        report = await verify(verifier, pki, signature)
        assert report.timestamps[0].trusted and report.level is SignatureLevel.B_T
    assert verifier.timestamps._validator.cache.hits > 0
    assert token_templates.check(token_of(signature), signature_imprint(signature, "sha256")) is not None
    # The HK list's next issue no longer names the TSA: the same token is no proof any more.
    hk = decode_document(pki.trust_list_document(Jurisdiction.HK)).trust_list
    services = tuple(s for s in hk.services if s.service_type is not ServiceType.TSA)
    later = replace(hk, sequence_number=hk.sequence_number + 1, services=services)
    assert store.load(sign_trust_list(later, pki.key("tl-signer-hk"), pki.cert("tl-signer-hk"))).accepted
    report = await verify(verifier, pki, signature)
    [stamp] = report.timestamps
    assert not stamp.trusted and stamp.reason is Reason.TSA_NOT_TRUSTED
    assert report.proven_signing_time is None and report.level is SignatureLevel.B_B


def revoking(pki: TestPKI, cache: RevocationCache, authority_name: str, victim: str, at: datetime) -> None:
    """Put into `cache` the CRL and OCSP answers of `authority_name` as if it had revoked `victim` at `at`."""
    authority = RevocationAuthority(pki, authority_name)
    certificate = pki.certificate(victim)
    serial = certificate.serial_number
    authority.revoked[serial] = Revocation(serial, at, "key_compromise")
    cache.put_crl(f"{pki.base_url}/crl/{authority_name}.crl", crl.CertificateList.load(authority.crl_der()))
    request = build_ocsp_request(certificate, pki.certificate(authority_name).public_key.sha1).dump()
    answer = ocsp.OCSPResponse.load(authority.ocsp_der(request, OcspBehaviour.NORMAL))
    cache.put_ocsp(ocsp_key(certificate), answer)


async def test_a_revoked_tsa_certificate_is_refused_once_its_cached_chain_result_expires(
    store: TrustListStore, pki
) -> None:
    # A TSA certificate that is itself the listed service identity is a trust anchor, whose status
    # the list gives (the test above); here the HK list names the CA that issues the TSA's
    # certificates as the TSA service, so the TSA certificate is a leaf below it and its
    # revocation counts. As for a signer, a chain result answers for `max_age` at most.
    hk = decode_document(pki.trust_list_document(Jurisdiction.HK)).trust_list
    ca_der = pki.cert("hk-ca")
    tsa_der = pki.cert("hk-tsa")
    services = tuple(replace(s, certificate_der=ca_der) if s.certificate_der == tsa_der else s for s in hk.services)
    later = replace(hk, sequence_number=hk.sequence_number + 1, services=services)
    assert store.load(sign_trust_list(later, pki.key("tl-signer-hk"), pki.cert("tl-signer-hk"))).accepted
    revocations = RevocationCache()
    seed_cache(pki, revocations)
    moments = [datetime.now(UTC)]
    chains = ChainResultCache(max_age=timedelta(minutes=5), clock=lambda: moments[-1])
    engine = PkixEngine(cache=revocations, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset()))
    verifier = SignatureVerifier(CertificateValidator(store, engine, chains, reader=X509Reader()), CmsSignatureChecks())
    signature = stamped(pki, "hk-tsa")
    for _ in range(2):
        assert (await verify(verifier, pki, signature)).timestamps[0].trusted
    revoking(pki, revocations, "hk-ca", "hk-tsa", datetime.now(UTC) - timedelta(hours=1))
    assert (await verify(verifier, pki, signature)).timestamps[0].trusted  # the cached result, still young
    moments.append(moments[0] + timedelta(minutes=6))
    report = await verify(verifier, pki, signature)
    [stamp] = report.timestamps
    assert not stamp.trusted and stamp.reason is Reason.REVOKED, stamp
    assert report.proven_signing_time is None
    # A token never seen before from the revoked TSA: refused as well.
    other = stamped(pki, "hk-tsa", SIGNED_AT + timedelta(minutes=1))
    assert (await verify(verifier, pki, other)).timestamps[0].reason is Reason.REVOKED


async def test_tokens_of_two_tsas_share_no_cache_entry(verifier, pki) -> None:
    # hk-tsa-unlisted: the same CA, key type and token layout as hk-tsa, on no trust list.
    token_templates._TEMPLATES.clear()
    listed, unlisted = stamped(pki, "hk-tsa"), stamped(pki, "hk-tsa-unlisted")
    assert len(token_of(listed)) - len(token_of(unlisted)) in (-2, -1, 0, 1, 2)
    for _ in range(3):
        for signature, trusted in ((listed, True), (unlisted, False)):
            [stamp] = (await verify(verifier, pki, signature)).timestamps
            assert stamp.trusted is trusted, stamp
            if not trusted:
                assert stamp.reason is Reason.TSA_NOT_TRUSTED
                assert stamp.tsa_fingerprint_sha256 == pki.entity("hk-tsa-unlisted")["sha256"]
    templates = [t for kept in token_templates._TEMPLATES.values() for t in kept]
    assert sorted(t.tsa.sha256.hex() for t in templates) == sorted(
        pki.entity(name)["sha256"] for name in ("hk-tsa", "hk-tsa-unlisted")
    )


async def test_a_tampered_token_is_refused_after_a_good_one_of_its_tsa(verifier, pki) -> None:
    good = stamped(pki, "hk-tsa")
    for _ in range(2):
        assert (await verify(verifier, pki, good)).timestamps[0].trusted
    token = token_of(good)
    imprint = signature_imprint(good, "sha256")
    signature_value = cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].native
    signature_at = token.rindex(signature_value)
    gen_time_at = token.index(b"20260201093000Z")
    tampered = [
        token[: signature_at + 9] + bytes([token[signature_at + 9] ^ 0x04]) + token[signature_at + 10 :],
        token[:gen_time_at] + b"20250201093000Z" + token[gen_time_at + 15 :],  # a year earlier
    ]
    for bad in tampered:
        assert token_templates.check(bad, imprint) is not None  # judged by the TSA's template
        report = await verify(verifier, pki, good.replace(token, bad))
        [stamp] = report.timestamps
        assert not stamp.trusted and stamp.reason is Reason.TIMESTAMP_INVALID, stamp
        assert report.proven_signing_time is None
    assert (await verify(verifier, pki, good)).timestamps[0].trusted


async def test_a_token_template_serves_on_the_utc_day_it_was_learnt_only(verifier, pki, monkeypatch) -> None:
    token_templates._TEMPLATES.clear()
    signature = stamped(pki, "hk-tsa")
    for _ in range(2):  # the first token read in full, the second the short way: its template learnt
        assert (await verify(verifier, pki, signature)).timestamps[0].trusted
    token, imprint = token_of(signature), signature_imprint(signature, "sha256")
    [template] = token_templates._TEMPLATES[len(token)]
    learnt_on = datetime.now(UTC).date()
    assert datetime.fromtimestamp(template.until, UTC) == datetime.combine(learnt_on, time(), UTC) + timedelta(days=1)
    assert token_templates.check(token, imprint) is not None
    # At midnight UTC the catalogue's verdicts may have changed: the token takes the ordinary way.
    monkeypatch.setattr(token_templates, "time", SimpleNamespace(time=lambda: template.until))
    assert token_templates.check(token, imprint) is None
    assert (await verify(verifier, pki, signature)).timestamps[0].trusted


async def test_a_tsa_certificate_s_facts_are_its_own_once_another_tsa_was_seen(verifier, pki) -> None:
    # What a report says of a TSA certificate (fingerprint, subject, notBefore) is read once per
    # certificate: a second TSA gets its own, and a token dated before hk-tsa's notBefore is still
    # refused after hk-tsa's facts were kept.
    listed = stamped(pki, "hk-tsa")
    for _ in range(2):
        assert (await verify(verifier, pki, listed)).timestamps[0].trusted
    [other] = (await verify(verifier, pki, stamped(pki, "hk-tsa-unlisted"))).timestamps
    unlisted = pki.certificate("hk-tsa-unlisted")
    assert other.tsa_fingerprint_sha256 == pki.entity("hk-tsa-unlisted")["sha256"]
    assert other.tsa_subject == unlisted.subject.human_friendly != pki.certificate("hk-tsa").subject.human_friendly
    not_before = pki.certificate("hk-tsa")["tbs_certificate"]["validity"]["not_before"].native
    early = stamped(pki, "hk-tsa", not_before - timedelta(days=1))
    [stamp] = (await verify(verifier, pki, early)).timestamps
    assert not stamp.trusted and stamp.reason is Reason.TIMESTAMP_INVALID
    assert "before its TSA certificate was valid" in stamp.detail
