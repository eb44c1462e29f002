import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from devtools.testpki.loader import TestPKI
from services.identity.adapters.trustlist_signature import ListSignatureVerifier, sign_trust_list
from services.identity.domain.trustlist import Jurisdiction, TrustList
from services.identity.domain.trustlist_codec import decode_document
from services.identity.service_layer.trust_store import LoadOutcome, Refusal, TrustListStore


def hk_list(pki: TestPKI) -> TrustList:
    return decode_document(pki.trust_list_document(Jurisdiction.HK)).trust_list


def signed_by(pki: TestPKI, trust_list: TrustList, signer: str = "tl-signer-hk") -> bytes:
    return sign_trust_list(trust_list, pki.key(signer), pki.cert(signer))


@pytest.fixture
def empty_store(pki: TestPKI) -> TrustListStore:
    return TrustListStore(pki.list_signers(), ListSignatureVerifier())


def test_lists_signed_with_ecdsa_ed25519_and_sm2_all_load(empty_store: TrustListStore, pki: TestPKI) -> None:
    results = [empty_store.load(pki.trust_list_document(j)) for j in Jurisdiction]
    assert [r.outcome for r in results] == [LoadOutcome.LOADED] * 3
    assert {tl.jurisdiction for tl in empty_store.lists()} == set(Jurisdiction)
    assert len(empty_store.anchored_services()) == 4


def test_loading_the_same_list_again_changes_nothing(store: TrustListStore, pki: TestPKI) -> None:
    generation = store.generation
    result = store.load(pki.trust_list_document(Jurisdiction.HK))
    assert result.outcome is LoadOutcome.UNCHANGED and store.generation == generation


def test_tampered_list_is_refused_and_the_last_good_list_stays(store: TrustListStore, pki: TestPKI) -> None:
    document = json.loads(pki.trust_list_document(Jurisdiction.HK))
    document["trust_list"]["services"][1]["status_history"].pop()  # quietly "un-withdraw" the old root
    result = store.load(json.dumps(document).encode())
    assert result.outcome is LoadOutcome.REFUSED and result.refusal is Refusal.SIGNATURE_INVALID
    assert store.current(Jurisdiction.HK) == hk_list(pki)


def test_list_signed_by_an_unconfigured_key_is_refused(store: TrustListStore, pki: TestPKI) -> None:
    current = hk_list(pki).sequence_number
    forged = signed_by(pki, replace(hk_list(pki), sequence_number=current + 1), signer="tl-signer-mo")
    result = store.load(forged)
    assert result.refusal is Refusal.SIGNER_NOT_TRUSTED
    assert store.current(Jurisdiction.HK).sequence_number == current


def test_signer_trusted_for_one_jurisdiction_cannot_sign_another(pki: TestPKI) -> None:
    store = TrustListStore({Jurisdiction.MO: [pki.cert("tl-signer-hk")]}, ListSignatureVerifier())
    assert store.load(pki.trust_list_document(Jurisdiction.HK)).refusal is Refusal.SIGNER_NOT_TRUSTED


def test_newer_list_replaces_the_current_one(store: TrustListStore, pki: TestPKI) -> None:
    number = hk_list(pki).sequence_number + 1
    newer = replace(hk_list(pki), sequence_number=number, issue_date=datetime(2026, 6, 1, tzinfo=UTC))
    generation = store.generation
    result = store.load(signed_by(pki, newer))
    assert result.outcome is LoadOutcome.LOADED and result.sequence_number == number
    assert store.current(Jurisdiction.HK).sequence_number == number and store.generation == generation + 1


def test_sequence_number_going_backwards_is_refused(store: TrustListStore, pki: TestPKI) -> None:
    current = hk_list(pki).sequence_number
    store.load(signed_by(pki, replace(hk_list(pki), sequence_number=current + 3)))
    result = store.load(signed_by(pki, replace(hk_list(pki), sequence_number=current + 2)))
    assert result.refusal is Refusal.SEQUENCE_BACKWARDS
    assert store.current(Jurisdiction.HK).sequence_number == current + 3


def test_issue_date_going_backwards_is_refused(store: TrustListStore, pki: TestPKI) -> None:
    number = hk_list(pki).sequence_number + 1
    earlier = replace(hk_list(pki), sequence_number=number, issue_date=datetime(2025, 12, 1, tzinfo=UTC))
    assert store.load(signed_by(pki, earlier)).refusal is Refusal.ISSUE_DATE_BACKWARDS


def test_same_sequence_number_with_other_content_is_refused(store: TrustListStore, pki: TestPKI) -> None:
    other = replace(hk_list(pki), services=hk_list(pki).services[:1])
    assert store.load(signed_by(pki, other)).refusal is Refusal.SEQUENCE_REUSED


def test_list_dated_in_the_future_is_refused(pki: TestPKI) -> None:
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier(), clock=lambda: datetime(2025, 6, 1, tzinfo=UTC))
    assert store.load(pki.trust_list_document(Jurisdiction.HK)).refusal is Refusal.NOT_YET_ISSUED


def test_list_signed_by_an_expired_signer_certificate_is_refused(pki: TestPKI) -> None:
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier(), clock=lambda: datetime(2046, 1, 1, tzinfo=UTC))
    assert store.load(pki.trust_list_document(Jurisdiction.GD)).refusal is Refusal.SIGNER_NOT_VALID


def test_service_without_a_readable_certificate_is_refused(store: TrustListStore, pki: TestPKI) -> None:
    broken = replace(hk_list(pki).services[0], certificate_der=b"\x30\x03\x02\x01\x01")
    bad = replace(hk_list(pki), sequence_number=hk_list(pki).sequence_number + 1, services=(broken,))
    assert store.load(signed_by(pki, bad)).refusal is Refusal.BAD_SERVICE_CERTIFICATE


@pytest.mark.parametrize("document", [b"", b"not json", b"[]", b'{"format": "baylink.trustlist.v1"}'])
def test_garbage_documents_are_refused_as_malformed(store: TrustListStore, document: bytes) -> None:
    result = store.load(document)
    assert result.refusal is Refusal.MALFORMED and result.detail


def test_stale_list_still_loads_but_reports_itself_stale(pki: TestPKI) -> None:
    later = datetime(2036, 2, 1, tzinfo=UTC)
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier(), clock=lambda: later)
    assert store.load(pki.trust_list_document(Jurisdiction.MO)).accepted
    assert store.current(Jurisdiction.MO).is_stale(later)
