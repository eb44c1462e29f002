"""Hong Kong Identity Card: shape, normalisation and the mod-11 check."""

from __future__ import annotations

import pytest

from baylink.ids import Kind, Reason, check, check_hkid, hkid_check_char


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("A123456(3)", "A123456(3)"),  # the design's reference vector
        ("G123456(A)", "G123456(A)"),  # the design's reference vector, check 10 → A
        ("AB987654(3)", "AB987654(3)"),  # two-letter prefix, worked by hand
        ("XA000000(8)", "XA000000(8)"),
        ("F100000(0)", "F100000(0)"),  # check 11 → 0
        ("Z000001(A)", "Z000001(A)"),
    ],
)
def test_hkid_known_vectors_are_valid_and_normalised(value: str, normalised: str) -> None:
    result = check_hkid(value)
    assert result.valid, result.message
    assert result.kind is Kind.HKID
    assert result.normalised == normalised
    assert result.reason is None
    assert result.check_verified


@pytest.mark.parametrize("value", ["A123456(3)", "a1234563", "A 123456 (3)", "a123456(3)", "Ａ１２３４５６（３）"])
def test_hkid_accepts_common_spellings_and_normalises_to_bracketed_form(value: str) -> None:
    result = check_hkid(value)
    assert result.valid
    assert result.normalised == "A123456(3)"


def test_hkid_with_wrong_check_digit_reports_expected_character() -> None:
    result = check_hkid("A123456(4)")
    assert not result.valid
    assert result.reason is Reason.CHECK_DIGIT_MISMATCH
    assert result.message == "check character is 4, expected 3"
    assert result.normalised == "A123456(4)"


def test_hkid_with_digit_where_a_is_expected_reports_a() -> None:
    result = check_hkid("G123456(0)")
    assert result.reason is Reason.CHECK_DIGIT_MISMATCH
    assert result.message == "check character is 0, expected A"


def test_hkid_check_char_pads_single_letter_prefix_with_space_worth_36() -> None:
    # 36*9 + 10*8 + (1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2) = 481; 481 mod 11 = 8; 11 - 8 = 3
    assert hkid_check_char("A", "123456") == "3"
    # same digits, G = 16: 324 + 128 + 77 = 529; 529 mod 11 = 1; 11 - 1 = 10 → A
    assert hkid_check_char("G", "123456") == "A"


def test_hkid_check_char_rejects_malformed_parts() -> None:
    with pytest.raises(ValueError):
        hkid_check_char("ABC", "123456")
    with pytest.raises(ValueError):
        hkid_check_char("A", "12345")
    with pytest.raises(ValueError):
        hkid_check_char("a", "123456")


def test_hkid_letters_eleven_apart_share_a_check_character() -> None:
    # A known limitation of mod 11 over letter values 10-35: A (10) and L (21) differ by 11,
    # so swapping them is not detected. Documented here so nobody relies on it.
    assert check_hkid("L123456(3)").valid


def test_hkid_with_three_letter_prefix_is_invalid_format() -> None:
    result = check_hkid("ABC123456(7)")
    assert result.reason is Reason.INVALID_FORMAT
    assert result.normalised is None


def test_hkid_with_unbalanced_bracket_is_invalid_format() -> None:
    assert check_hkid("A123456(3").reason is Reason.INVALID_FORMAT


def test_hkid_with_check_character_b_is_invalid_format() -> None:
    assert check_hkid("A123456(B)").reason is Reason.INVALID_FORMAT


def test_hkid_with_punctuation_reports_character_and_position() -> None:
    result = check_hkid("A123-456(3)")
    assert result.reason is Reason.INVALID_CHARACTER
    assert "'-'" in result.message
    assert "position 5" in result.message


def test_hkid_explicit_kind_through_generic_check() -> None:
    assert check("A123456(3)", Kind.HKID).valid
    assert check("A123456(3)", "hkid").valid
