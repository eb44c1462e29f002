"""GB 11643 numbers: the Mainland Resident Identity Card and the HK/Macau residence permit."""

from __future__ import annotations

from datetime import date

import pytest

from baylink.ids import Kind, Reason, check_mainland_id, check_residence_permit, gb11643_check_char

TODAY = date(2025, 6, 1)


def test_mainland_id_standard_example_with_x_check_is_valid() -> None:
    # 11010519491231002X is the worked example printed in GB 11643-1999.
    result = check_mainland_id("11010519491231002x", today=TODAY)
    assert result.valid, result.message
    assert result.normalised == "11010519491231002X"
    assert result.details["birth_date"] == "1949-12-31"
    assert result.details["sex"] == "female"
    assert result.details["province"] == "Beijing"


def test_mainland_id_constructed_vector_is_valid() -> None:
    # Nanhai, Foshan (440605); check worked out independently of this package.
    assert check_mainland_id("440605198507041235", today=TODAY).valid


def test_gb11643_check_char_weights_are_powers_of_two_mod_11() -> None:
    assert gb11643_check_char("11010519491231002") == "X"
    assert gb11643_check_char("44060519850704123") == "5"
    with pytest.raises(ValueError):
        gb11643_check_char("1101051949123100")


def test_mainland_id_with_wrong_check_reports_expected_character() -> None:
    result = check_mainland_id("110105194912310021", today=TODAY)
    assert result.reason is Reason.CHECK_DIGIT_MISMATCH
    assert result.message == "check character is 1, expected X"


def test_mainland_id_with_unknown_province_reports_area_code() -> None:
    result = check_mainland_id("990105194912310021", today=TODAY)
    assert result.reason is Reason.INVALID_AREA_CODE


def test_mainland_id_with_february_30_reports_invalid_birth_date() -> None:
    result = check_mainland_id("110105199002300011", today=TODAY)
    assert result.reason is Reason.INVALID_BIRTH_DATE
    assert "19900230" in result.message


def test_mainland_id_born_before_1900_reports_invalid_birth_date() -> None:
    assert check_mainland_id("110105189912310011", today=TODAY).reason is Reason.INVALID_BIRTH_DATE


def test_mainland_id_born_tomorrow_reports_future_birth_date() -> None:
    body = "110105" + "20250602" + "001"
    result = check_mainland_id(body + gb11643_check_char(body), today=TODAY)
    assert result.reason is Reason.BIRTH_DATE_IN_FUTURE


def test_mainland_id_born_today_is_valid() -> None:
    body = "110105" + "20250601" + "001"
    assert check_mainland_id(body + gb11643_check_char(body), today=TODAY).valid


def test_mainland_id_with_x_in_the_middle_reports_character() -> None:
    result = check_mainland_id("1101051949X231002X", today=TODAY)
    assert result.reason is Reason.INVALID_CHARACTER
    assert "position 11" in result.message


def test_mainland_id_with_17_characters_reports_length() -> None:
    assert check_mainland_id("11010519491231002", today=TODAY).reason is Reason.INVALID_LENGTH


@pytest.mark.parametrize(("value", "jurisdiction"), [("810000199408230021", "HK"), ("820000200001010016", "MO")])
def test_residence_permit_hk_and_macau_vectors_are_valid(value: str, jurisdiction: str) -> None:
    result = check_residence_permit(value, today=TODAY)
    assert result.valid, result.message
    assert result.kind is Kind.RESIDENCE_PERMIT
    assert result.details["jurisdiction"] == jurisdiction


def test_residence_permit_with_mainland_area_code_is_refused() -> None:
    result = check_residence_permit("11010519491231002X", today=TODAY)
    assert result.reason is Reason.NOT_HK_MACAU_AREA_CODE
    assert result.message == "area code is 110105, expected 810000 (Hong Kong) or 820000 (Macau)"


def test_residence_permit_with_wrong_check_reports_expected_character() -> None:
    result = check_residence_permit("810000199408230022", today=TODAY)
    assert result.reason is Reason.CHECK_DIGIT_MISMATCH
    assert result.message == "check character is 2, expected 1"


def test_residence_permit_with_future_birth_date_is_refused() -> None:
    body = "810000" + "20300101" + "002"
    result = check_residence_permit(body + gb11643_check_char(body), today=TODAY)
    assert result.reason is Reason.BIRTH_DATE_IN_FUTURE


def test_default_today_is_used_when_none_given() -> None:
    assert check_residence_permit("810000199408230021").valid
