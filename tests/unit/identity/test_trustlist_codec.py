import json
from datetime import UTC, datetime

import pytest

from devtools.testpki.loader import TestPKI
from services.identity.domain import canonical_json
from services.identity.domain.errors import InvalidInput
from services.identity.domain.trustlist import Jurisdiction
from services.identity.domain.trustlist_codec import (
    decode_document,
    list_from_dict,
    list_to_dict,
    signing_input,
)


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_cjk_literal() -> None:
    assert canonical_json.dumps({"b": 1, "a": ["香港", True, None]}) == '{"a":["香港",true,null],"b":1}'.encode()


def test_canonical_json_refuses_floats_both_ways() -> None:
    with pytest.raises(InvalidInput):
        canonical_json.dumps({"x": 1.5})
    with pytest.raises(InvalidInput):
        canonical_json.loads(b'{"x": 1.5}')
    with pytest.raises(InvalidInput):
        canonical_json.loads(b'{"x": NaN}')


def test_duplicate_keys_are_refused_because_parsers_disagree_on_them() -> None:
    with pytest.raises(InvalidInput) as err:
        canonical_json.loads(b'{"sequence_number": 1, "sequence_number": 9}')
    assert err.value.reason == "duplicate_key"


def test_malformed_and_oversized_documents_are_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        canonical_json.loads(b"\xff\xfe{")
    assert err.value.reason == "malformed"
    with pytest.raises(InvalidInput) as err:
        canonical_json.loads(b" " * (canonical_json.MAX_DOCUMENT_BYTES + 1))
    assert err.value.reason == "too_large"


def test_list_survives_a_round_trip(pki: TestPKI) -> None:
    signed = decode_document(pki.trust_list_document(Jurisdiction.HK))
    again = list_from_dict(json.loads(json.dumps(list_to_dict(signed.trust_list))))
    assert again == signed.trust_list
    assert again.services[1].status_at(datetime(2026, 6, 1, tzinfo=UTC)).value == "withdrawn"


def test_signing_input_ignores_layout_of_the_file(pki: TestPKI) -> None:
    document = pki.trust_list_document(Jurisdiction.MO)
    compact = json.dumps(json.loads(document), separators=(",", ":")).encode()
    assert decode_document(compact).signing_input == decode_document(document).signing_input


def test_signing_input_protects_algorithm_and_signer(pki: TestPKI) -> None:
    signed = decode_document(pki.trust_list_document(Jurisdiction.GD))
    base = signing_input(signed.trust_list, signed.algorithm, signed.signer_certificate_der)
    assert base == signed.signing_input
    assert signing_input(signed.trust_list, "ES256", signed.signer_certificate_der) != base
    assert signing_input(signed.trust_list, signed.algorithm, b"other") != base


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("signature"), "signature"),
        (lambda d: d.__setitem__("format", "v0"), "format"),
        (lambda d: d["trust_list"].__setitem__("jurisdiction", "TW"), "trust_list.jurisdiction"),
        (lambda d: d["trust_list"].__setitem__("sequence_number", "7"), "trust_list.sequence_number"),
        (lambda d: d["trust_list"].__setitem__("issue_date", "2026-01-01"), "trust_list.issue_date"),
        (
            lambda d: d["trust_list"]["services"][0].__setitem__("certificate", "@@"),
            "trust_list.services[0].certificate",
        ),
        (
            lambda d: d["trust_list"]["services"][0].__setitem__("recognised_policies", ["not-an-oid"]),
            "trust_list.services[0].recognised_policies",
        ),
        (
            lambda d: d["trust_list"]["services"][0]["status_history"][0].__setitem__("status", "suspended"),
            "trust_list.services[0].status_history[0].status",
        ),
    ],
)
def test_malformed_documents_name_the_offending_field(pki: TestPKI, mutate, field: str) -> None:
    document = json.loads(pki.trust_list_document(Jurisdiction.HK))
    mutate(document)
    with pytest.raises(InvalidInput) as err:
        decode_document(json.dumps(document).encode())
    assert err.value.field == field
