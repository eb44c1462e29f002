"""Unsigned attributes read straight from their bytes (`unsigned_attributes.unsigned_element`):
the one-time-stamp shape read in one pass answers as the general reading and as asn1crypto does."""

import pytest
from asn1crypto import cms

from services.identity.adapters import unsigned_attributes
from services.identity.adapters.unsigned_attributes import unsigned_element
from services.identity.domain.errors import InvalidInput

TIME_STAMP = bytes.fromhex("060b2a864886f70d010910020e")  # id-aa-signatureTimeStampToken
CERT_VALUES = bytes.fromhex("060b2a864886f70d0109100217")  # id-aa-ets-certValues
CONTENT_HINTS = bytes.fromhex("060b2a864886f70d0109100204")  # id-aa-contentHint, neither of the above


def tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def attribute(oid: bytes, *values: bytes) -> bytes:
    return tlv(0x30, oid + tlv(0x31, b"".join(values)))


def unsigned(*attributes: bytes) -> bytes:
    return tlv(0xA1, b"".join(attributes))


TOKEN_1 = tlv(0x30, tlv(0x06, bytes.fromhex("2a864886f70d010702")) + tlv(0x04, b"first token" * 20))
TOKEN_2 = tlv(0x30, tlv(0x04, b"second"))


def asn1crypto_reading(element: bytes) -> tuple[tuple[bytes, ...], bool]:
    """The same facts read by asn1crypto: the time-stamp values, and whether validation data is there."""
    attributes = cms.CMSAttributes.load(b"\x31" + element[1:], strict=True)
    tokens = tuple(
        value.dump() for a in attributes if a["type"].dotted == "1.2.840.113549.1.9.16.2.14" for value in a["values"]
    )
    return tokens, any(a["type"].dotted == "1.2.840.113549.1.9.16.2.23" for a in attributes)


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        (unsigned(attribute(TIME_STAMP, TOKEN_1)), ((TOKEN_1,), False)),  # the usual shape: one pass
        (unsigned(attribute(TIME_STAMP, TOKEN_1, TOKEN_2)), ((TOKEN_1, TOKEN_2), False)),
        (unsigned(attribute(CONTENT_HINTS, TOKEN_2), attribute(TIME_STAMP, TOKEN_1)), ((TOKEN_1,), False)),
        (unsigned(attribute(TIME_STAMP, TOKEN_1), attribute(CERT_VALUES, TOKEN_2)), ((TOKEN_1,), True)),
        (unsigned(attribute(CERT_VALUES, TOKEN_2)), ((), True)),
        (unsigned(attribute(TIME_STAMP)), ((), False)),
    ],
)
def test_unsigned_attributes_are_read_as_asn1crypto_reads_them(element: bytes, expected: tuple) -> None:
    assert unsigned_element(element) == expected
    assert asn1crypto_reading(element) == expected


def test_the_one_pass_reading_serves_exactly_one_time_stamp_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[tuple[bytes, ...] | None] = []
    one_pass = unsigned_attributes._only_timestamps

    def spy(element: bytes, start: int, end: int) -> tuple[bytes, ...] | None:
        passes.append(one_pass(element, start, end))
        return passes[-1]

    monkeypatch.setattr(unsigned_attributes, "_only_timestamps", spy)
    unsigned_element(unsigned(attribute(TIME_STAMP, TOKEN_1)))
    unsigned_element(unsigned(attribute(TIME_STAMP, TOKEN_1), attribute(CERT_VALUES, TOKEN_2)))
    unsigned_element(unsigned(attribute(CONTENT_HINTS, TOKEN_1)))
    assert passes == [(TOKEN_1,), None, None]


@pytest.mark.parametrize(
    "element",
    [
        unsigned(attribute(TIME_STAMP, TOKEN_1) + b"\x05"),  # a stray byte after the attribute
        unsigned(tlv(0x30, TIME_STAMP + tlv(0x31, TOKEN_1) + b"\x05\x00")),  # a third element in it
        unsigned(tlv(0x30, TIME_STAMP + tlv(0x31, TOKEN_1 + b"\x30"))),  # a truncated second value
        unsigned(tlv(0x30, TIME_STAMP + tlv(0x31, TOKEN_1[:-1]))),  # the one value truncated
        unsigned(tlv(0x30, TIME_STAMP + tlv(0x30, TOKEN_1))),  # values not in a SET
        unsigned(tlv(0x30, TIME_STAMP + b"\x31\x80" + TOKEN_1 + b"\x00\x00")),  # indefinite length
    ],
)
def test_malformed_unsigned_attributes_are_invalid_input(element: bytes) -> None:
    with pytest.raises(InvalidInput) as error:
        unsigned_element(element)
    assert error.value.field == "signature" and error.value.reason == "malformed"
