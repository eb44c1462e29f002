"""Baylink's TSA: tokens that pyHanko validates, unique persisted serials, rejections with failInfo."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import algos, core, tsp
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from baylink.tsp import TimeStampResponse
from devtools.testpki.loader import COMMITTED, TestPKI
from services.identity.tsa.authority import BAYLINK_TSA_POLICY, TimeStampAuthority, check_certificate
from services.identity.tsa.serials import SerialFileInUse, SerialStore
from tests.support.tsa import make_authority, tsa_credentials

PKI = TestPKI(COMMITTED)


def _request(message: bytes, hash_name: str = "sha256", nonce: int | None = 12345, **extra: object) -> bytes:
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_name},
            "hashed_message": hashlib.new(hash_name, message).digest(),
        },
        "cert_req": True,
        **extra,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return bytes(tsp.TimeStampReq(fields).dump())


@pytest.fixture
def authority(tmp_path: Path) -> TimeStampAuthority:
    tsa, serials = make_authority(PKI, tmp_path)
    yield tsa  # type: ignore[misc]
    serials.close()


def _fail_info(answer: bytes) -> tuple[str, set[str]]:
    status = TimeStampResponse.load(answer)["status"]
    return status["status"].native, set(status["fail_info"].native or ())


async def test_a_token_validates_with_pyhanko_against_the_test_pki_and_echoes_the_nonce(
    authority: TimeStampAuthority,
) -> None:
    response = tsp.TimeStampResp.load(authority.respond(_request(b"signature value", nonce=987654321)))
    assert response["status"]["status"].native == "granted"
    token = response["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 987654321
    assert info["policy"].dotted == BAYLINK_TSA_POLICY
    context = ValidationContext(
        trust_roots=[PKI.certificate("hk-root")], allow_fetching=False, revocation_mode="soft-fail"
    )
    status = await validate_tst_signed_data(
        token["content"], context, lambda name: hashlib.new(name, b"signature value").digest()
    )
    assert status["intact"] and status["valid"]
    assert status["trust_problem_indic"] is None, status["trust_problem_indic"]
    assert status["timestamp"] == info["gen_time"].native


def test_serials_are_unique_and_survive_a_restart(tmp_path: Path) -> None:
    store = SerialStore(tmp_path / "serial", block=3)
    first = [store.next() for _ in range(5)]
    with pytest.raises(SerialFileInUse):
        SerialStore(tmp_path / "serial")
    store.close()
    again = SerialStore(tmp_path / "serial", block=3)
    second = [again.next() for _ in range(5)]
    again.close()
    assert len(set(first + second)) == 10
    assert min(second) > max(first)  # the unfinished block of the first life is skipped, never reused


def test_tokens_carry_consecutive_serials_from_the_store(authority: TimeStampAuthority) -> None:
    serials = []
    for n in range(3):
        token = tsp.TimeStampResp.load(authority.respond(_request(bytes([n]))))["time_stamp_token"]
        serials.append(token["content"]["encap_content_info"]["content"].parsed["serial_number"].native)
    assert serials == [serials[0], serials[0] + 1, serials[0] + 2]


@pytest.mark.parametrize(
    ("body", "fail_info"),
    [
        (b"", "bad_data_format"),
        (b"\x30\x03\x02\x01", "bad_data_format"),
        (b"not DER at all", "bad_data_format"),
        (_request(b"x", "sha1"), "bad_alg"),
        (_request(b"x", "md5"), "bad_alg"),
        (_request(b"x", version="v2"), "bad_request"),
        (_request(b"x", req_policy="1.2.3.4"), "unaccepted_policy"),
    ],
    ids=["empty", "truncated", "garbage", "sha1", "md5", "version-2", "foreign-policy"],
)
def test_bad_requests_get_a_rejection_with_a_fail_info(
    authority: TimeStampAuthority, body: bytes, fail_info: str
) -> None:
    assert _fail_info(authority.respond(body)) == ("rejection", {fail_info})


def test_an_imprint_of_the_wrong_length_is_bad_data_format(authority: TimeStampAuthority) -> None:
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": b"x" * 20,
            },
        }
    )
    assert _fail_info(authority.respond(request.dump())) == ("rejection", {"bad_data_format"})


def test_a_request_extension_is_refused(authority: TimeStampAuthority) -> None:
    extension = {"extn_id": "1.2.3.4", "critical": False, "extn_value": core.OctetString(b"\x05\x00")}
    request = _request(b"x", extensions=[extension])
    assert _fail_info(authority.respond(request)) == ("rejection", {"unaccepted_extensions"})


def test_without_cert_req_the_token_carries_no_certificates(authority: TimeStampAuthority) -> None:
    token = tsp.TimeStampResp.load(authority.respond(_request(b"x", cert_req=False)))["time_stamp_token"]
    assert token["content"]["certificates"].native is None


def test_a_certificate_without_the_critical_time_stamping_usage_is_refused() -> None:
    key, _certificate, _chain = tsa_credentials(PKI)
    with pytest.raises(ValueError, match="key does not belong"):
        check_certificate(PKI.certificate("hk-personal"), key)
    with pytest.raises(ValueError, match="timeStamping"):
        check_certificate(PKI.certificate("hk-organisation"), PKI.key("hk-organisation"))


def test_an_unsigned_attribute_is_added_and_every_other_byte_kept() -> None:
    from datetime import UTC, datetime

    from asn1crypto import cms

    from baylink.cms import tlv, with_unsigned_attribute
    from devtools.testpki.cms_sign import sign_detached

    signature = sign_detached(b"doc", PKI.key("hk-personal"), PKI.certificate("hk-personal"), datetime.now(UTC))
    first = tlv(0x30, core.ObjectIdentifier("1.2.3.4").dump() + tlv(0x31, core.Integer(1).dump()))
    second = tlv(0x30, core.ObjectIdentifier("1.2.3.5").dump() + tlv(0x31, core.Integer(2).dump()))
    twice = with_unsigned_attribute(with_unsigned_attribute(signature, first), second)
    before = cms.ContentInfo.load(signature)["content"]
    after = cms.ContentInfo.load(twice)["content"]
    assert [a.dump() for a in after["signer_infos"][0]["unsigned_attrs"]] == [first, second]
    for name in ("digest_algorithms", "encap_content_info", "certificates"):
        assert after[name].dump() == before[name].dump()
    for name in ("sid", "signed_attrs", "signature_algorithm", "signature"):
        assert after["signer_infos"][0][name].dump() == before["signer_infos"][0][name].dump()
