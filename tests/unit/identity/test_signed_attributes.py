"""Reading signed attributes without decoding all of them gives asn1crypto's answer, always."""

from datetime import UTC, datetime

import pytest
from asn1crypto import cms, core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.identity.adapters import der
from services.identity.adapters.signed_attributes import attributes_of, read_signed_attributes
from services.identity.domain.errors import InvalidInput

SIGNED_AT = datetime(2026, 2, 1, 9, 30, 15, tzinfo=UTC)


def _parts(set_of: bytes) -> der.SignedDataParts:
    # Stored as [0] IMPLICIT in a SignerInfo; read back as the SET OF the signature covers.
    return der.SignedDataParts((), b"\xa0" + set_of[1:], b"")


def _as_asn1crypto_reads_them(set_of: bytes) -> object:
    try:
        return attributes_of(der.load_signed_attributes(_parts(set_of), "signature"))
    except InvalidInput as exc:
        return ("refused", exc.field)


def _as_read(set_of: bytes) -> object:
    try:
        return read_signed_attributes(_parts(set_of), "signature")
    except InvalidInput as exc:
        return ("refused", exc.field)


def _attributes(*extra: dict[str, object], digest: bytes = b"\x11" * 32) -> bytes:
    attributes = [
        {"type": "content_type", "values": ["data"]},
        {"type": "message_digest", "values": [digest]},
        {"type": "signing_time", "values": [cms.Time({"utc_time": SIGNED_AT})]},
        *extra,
    ]
    return bytes(cms.CMSAttributes(attributes).dump())


def test_the_usual_attributes_are_read_as_asn1crypto_reads_them() -> None:
    attrs = _as_read(_attributes())
    assert attrs == _as_asn1crypto_reads_them(_attributes())
    assert attrs == {"content_type": "data", "message_digest": b"\x11" * 32, "signing_time": SIGNED_AT}


@pytest.mark.parametrize(
    "signing_time",
    [
        cms.Time({"utc_time": "260201093015+0800"}),  # an offset: asn1crypto's reading
        cms.Time({"generalized_time": datetime(2026, 2, 1, 9, 30, 15, 250000, tzinfo=UTC)}),
        cms.Time({"utc_time": "4912312359Z"}),  # no seconds
        cms.Time({"utc_time": "491231235959Z"}),  # 2049, the last UTCTime year
        cms.Time({"utc_time": "500101000000Z"}),  # 1950
    ],
)
def test_unusual_signing_times_read_as_asn1crypto_reads_them(signing_time: cms.Time) -> None:
    set_of = bytes(
        cms.CMSAttributes(
            [
                {"type": "message_digest", "values": [b"\x22" * 48]},
                {"type": "signing_time", "values": [signing_time]},
            ]
        ).dump()
    )
    assert _as_read(set_of) == _as_asn1crypto_reads_them(set_of)
    assert isinstance(_as_read(set_of), dict)


def test_an_impossible_signing_time_is_refused_as_before() -> None:
    set_of = bytes(cms.CMSAttributes([{"type": "signing_time", "values": [cms.Time({"utc_time": SIGNED_AT})]}]).dump())
    broken = set_of.replace(b"260201", b"261301")  # month 13
    assert _as_read(broken) == _as_asn1crypto_reads_them(broken) == ("refused", "signature")


def test_attributes_with_several_values_are_ignored_as_before() -> None:
    set_of = bytes(
        cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["data"]},
                {"type": "message_digest", "values": [b"\x01" * 32, b"\x02" * 32]},
            ]
        ).dump()
    )
    assert _as_read(set_of) == _as_asn1crypto_reads_them(set_of) == {"content_type": "data"}


def test_a_long_digest_in_long_form_lengths_is_read_as_before() -> None:
    set_of = _attributes(digest=b"\x33" * 200)  # lengths above 127 bytes take the long form
    assert _as_read(set_of) == _as_asn1crypto_reads_them(set_of)
    assert _as_read(set_of)["message_digest"] == b"\x33" * 200  # type: ignore[index]


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        operation = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "length"]))
        if operation == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "truncate":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[at] = draw(st.sampled_from([0x00, 0x02, 0x7F, 0x80, 0x81, 0x82, 0xFF]))
    return bytes(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_attributes_get_asn1crypto_answer_or_its_refusal(data: st.DataObject) -> None:
    original = _attributes(
        {
            "type": "cms_algorithm_protection",
            "values": [
                {"digest_algorithm": {"algorithm": "sha256"}, "signature_algorithm": {"algorithm": "sha256_ecdsa"}}
            ],
        },
        {"type": "1.3.6.1.4.1.99999.1", "values": [core.UTF8String("unregistered")]},
    )
    set_of = data.draw(mutated(original))
    if not set_of or set_of[0] != 0x31:
        set_of = b"\x31" + set_of[1:]  # the [0] tag is replaced by SET OF anyway; keep the rest
    assert _as_read(set_of) == _as_asn1crypto_reads_them(set_of)
