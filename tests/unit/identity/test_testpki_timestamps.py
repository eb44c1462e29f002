"""The test PKI's RFC 3161 tokens: well formed, signed by the named TSA, over the imprint asked for."""

from datetime import UTC, datetime

import pytest
from asn1crypto import cms, tsp

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from devtools.testpki.timestamps import (
    TSA_POLICY,
    signature_imprint,
    timestamp_response,
    timestamp_signature,
    timestamp_token,
)
from services.identity.adapters.cms_signer import digest, digest_name

AT = datetime(2026, 2, 14, 9, 30, tzinfo=UTC)


def _tst_info(token: bytes) -> tsp.TSTInfo:
    content = cms.ContentInfo.load(token)["content"]
    assert content["encap_content_info"]["content_type"].native == "tst_info"
    return content["encap_content_info"]["content"].parsed


@pytest.mark.parametrize(("tsa", "hash_name"), [("hk-tsa", "sha256"), ("mo-tsa", "sha256"), ("gd-tsa", "sm3")])
def test_token_states_the_imprint_time_and_tsa_certificate(pki: TestPKI, tsa: str, hash_name: str) -> None:
    token = timestamp_token(b"the document", tsa, AT, nonce=42)
    info = _tst_info(token).native
    assert info["gen_time"] == AT and info["nonce"] == 42 and info["policy"] == TSA_POLICY
    assert info["message_imprint"]["hashed_message"] == digest(hash_name, b"the document")
    signed = cms.ContentInfo.load(token)["content"]
    assert signed["certificates"][0].chosen.dump() == pki.cert(tsa)
    attributes = {a["type"].native: a["values"][0] for a in signed["signer_infos"][0]["signed_attrs"]}
    ess = attributes["signing_certificate_v2"]["certs"][0]
    ess_hash = digest_name(ess["hash_algorithm"])
    assert ess_hash == {"hk-tsa": "sha256", "mo-tsa": "sha384", "gd-tsa": "sm3"}[tsa]
    assert ess["cert_hash"].native == digest(ess_hash, pki.cert(tsa))


def test_prehashed_imprint_and_no_certificate() -> None:
    token = timestamp_token(b"\x01" * 48, "hk-tsa", AT, prehashed=True, hash_name="sha384", include_certificate=False)
    assert _tst_info(token).native["message_imprint"]["hashed_message"] == b"\x01" * 48
    assert not cms.ContentInfo.load(token)["content"]["certificates"]
    with pytest.raises(ValueError, match="48 bytes"):
        timestamp_token(b"short", "hk-tsa", prehashed=True, hash_name="sha384")
    with pytest.raises(ValueError, match="not a time-stamping authority"):
        timestamp_token(b"x", "hk-ca")


def test_signature_timestamp_covers_the_signature_value(pki: TestPKI) -> None:
    signed = sign_detached(b"doc", pki.key("hk-personal"), pki.certificate("hk-personal"), AT)
    stamped = timestamp_signature(signed, "hk-tsa", AT)
    info = cms.ContentInfo.load(stamped)["content"]["signer_infos"][0]
    [attribute] = info["unsigned_attrs"]
    assert attribute["type"].native == "signature_time_stamp_token"
    token = attribute["values"][0].dump()
    assert _tst_info(token).native["message_imprint"]["hashed_message"] == signature_imprint(signed)


def test_response_to_a_request_and_rejection_of_a_bad_one() -> None:
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"\x07" * 32},
            "nonce": 99,
            "cert_req": True,
        }
    )
    response = tsp.TimeStampResp.load(timestamp_response(request.dump(), "mo-tsa", AT))
    assert response["status"]["status"].native == "granted"
    assert _tst_info(response["time_stamp_token"].dump()).native["nonce"] == 99
    rejected = timestamp_response(b"\x30\x03\x02\x01\x01", "mo-tsa", AT)
    assert rejected[:2] == b"\x30" + bytes([len(rejected) - 2]) and b"\x02\x01\x02" in rejected  # status 2: rejection
