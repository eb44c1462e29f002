"""Format-only kinds: Macau identity card, Mainland Travel Permit, Hong Kong BR number."""

from __future__ import annotations

import pytest

from baylink.ids import Kind, Reason, check, check_hk_br, check_macau_id, check_travel_permit


def test_macau_id_valid_format_says_check_digit_not_verified() -> None:
    result = check_macau_id("1234567(8)")
    assert result.valid
    assert result.kind is Kind.MACAU_ID
    assert result.normalised == "1234567(8)"
    assert not result.check_verified
    assert "not published" in result.message


@pytest.mark.parametrize("value", ["12345678", "1 234567 (8)", "1234567（8）", " 1234567(8) "])
def test_macau_id_spellings_normalise_to_bracketed_check(value: str) -> None:
    assert check_macau_id(value).normalised == "1234567(8)"


@pytest.mark.parametrize("first", ["1", "5", "7"])
def test_macau_id_accepts_first_digits_1_5_7(first: str) -> None:
    assert check_macau_id(f"{first}000000(0)").valid


def test_macau_id_with_first_digit_3_reports_invalid_prefix() -> None:
    result = check_macau_id("3234567(8)")
    assert result.reason is Reason.INVALID_PREFIX
    assert result.message == "first digit is 3, expected 1, 5 or 7"


def test_macau_id_with_letter_check_is_invalid_character() -> None:
    assert check_macau_id("1234567(A)").reason is Reason.INVALID_CHARACTER


def test_macau_id_too_short_is_invalid_format() -> None:
    assert check_macau_id("123456(7)").reason is Reason.INVALID_FORMAT


def test_travel_permit_current_number_is_valid_format_only() -> None:
    result = check_travel_permit("H12345678")
    assert result.valid
    assert result.normalised == "H12345678"
    assert not result.check_verified
    assert result.details["jurisdiction"] == "HK"
    assert "issue_count" not in result.details


def test_travel_permit_old_number_normalises_to_base_and_reports_issue_count() -> None:
    result = check_travel_permit("m1234567803")
    assert result.valid
    assert result.normalised == "M12345678"
    assert result.details["issue_count"] == "3"
    assert result.details["jurisdiction"] == "MO"


def test_travel_permit_renewal_keeps_the_same_base_number() -> None:
    first = check_travel_permit("H1234567800")
    renewed = check_travel_permit("H1234567801")
    assert first.normalised == renewed.normalised == "H12345678"
    assert first.details["issue_count"] != renewed.details["issue_count"]


@pytest.mark.parametrize("value", ["HA1234567", "MA7654321"])
def test_travel_permit_for_non_chinese_permanent_residents(value: str) -> None:
    result = check_travel_permit(value)
    assert result.valid
    assert result.details["holder"] == "non_chinese_permanent_resident"


def test_travel_permit_with_other_letter_reports_invalid_prefix() -> None:
    result = check_travel_permit("K12345678")
    assert result.reason is Reason.INVALID_PREFIX
    assert "expected H (Hong Kong) or M (Macau)" in result.message


@pytest.mark.parametrize("value", ["H1234567", "H123456789", "HA12345678", "H12345678012"])
def test_travel_permit_with_wrong_digit_count_is_invalid_format(value: str) -> None:
    assert check_travel_permit(value).reason is Reason.INVALID_FORMAT


def test_hk_br_eight_digits_is_valid_format_only() -> None:
    result = check_hk_br("12345678")
    assert result.valid
    assert result.kind is Kind.HK_BR
    assert not result.check_verified


def test_hk_br_with_seven_digits_reports_length() -> None:
    result = check_hk_br("1234567")
    assert result.reason is Reason.INVALID_LENGTH
    assert result.message == "expected 8 digits, got 7"


def test_hk_br_with_letter_reports_invalid_character() -> None:
    assert check_hk_br("1234567X").reason is Reason.INVALID_CHARACTER


def test_hk_br_explicit_kind_through_generic_check() -> None:
    assert check("12345678", Kind.HK_BR).valid
