"""Unified Social Credit Code (GB 32100-2015) with its inner GB 11714 organisation code."""

from __future__ import annotations

import pytest

from baylink.ids import (
    USCC_CHARSET,
    Kind,
    Reason,
    build_uscc,
    check,
    check_uscc,
    gb11714_check_char,
    uscc_check_char,
)

# A real, published code: Huawei Technologies Co., Ltd. (华为技术有限公司), Shenzhen, shown as
# 機構代碼 914403001922038216 in the infobox of the Chinese Wikipedia article 華為
# (https://zh.wikipedia.org/zh-hk/華爲) and printed on the company's business licence.
HUAWEI = "914403001922038216"

# Constructed vectors; the check characters were worked out with an independent script.
CONSTRUCTED = [
    "51440605MA5ABCDE5R",  # civil affairs / social organisation, Nanhai
    "12100000400000261H",  # institutional staffing / public institution, central level
    "Y14403001234567880",  # authority Y, outer check 31 → 0
    "92440400L9X8Y7W60E",  # individual business, Zhuhai, letters in the body, inner check 0
    "934419000000000A24",  # farmers' cooperative, Dongguan
    "9144060510000018X9",  # inner GB 11714 check 10 → X
    "914406051000000240",  # outer check 0
]


def test_uscc_published_huawei_code_is_valid() -> None:
    result = check_uscc(HUAWEI)
    assert result.valid, result.message
    assert result.kind is Kind.USCC
    assert result.check_verified
    assert dict(result.details) == {
        "authority": "9",
        "category": "1",
        "division": "440300",
        "organisation_code": "19220382-1",
    }


@pytest.mark.parametrize("code", CONSTRUCTED)
def test_uscc_constructed_vectors_are_valid(code: str) -> None:
    assert check_uscc(code).valid, check_uscc(code).message


def test_uscc_lower_case_and_spaces_normalise() -> None:
    result = check_uscc(" 51440605ma5abcde5r ")
    assert result.valid
    assert result.normalised == "51440605MA5ABCDE5R"


def test_uscc_with_wrong_final_character_reports_outer_mod31_check() -> None:
    result = check_uscc("914403001922038217")
    assert result.reason is Reason.USCC_CHECK_MISMATCH
    assert result.message == "check character at position 18 is 7, expected 6"
    assert result.normalised == "914403001922038217"


def test_uscc_with_wrong_organisation_code_check_reports_inner_gb11714_check() -> None:
    result = check_uscc("9144030019220382X6")
    assert result.reason is Reason.ORGANISATION_CODE_CHECK_MISMATCH
    assert "position 17 is X, expected 1" in result.message


def test_uscc_inner_and_outer_failures_have_distinct_stable_reason_strings() -> None:
    assert Reason.ORGANISATION_CODE_CHECK_MISMATCH.value == "organisation_code_check_mismatch"
    assert Reason.USCC_CHECK_MISMATCH.value == "uscc_check_mismatch"


def test_uscc_body_change_that_keeps_inner_check_fails_only_outer_check() -> None:
    # 1 → C adds 11 * weight to the GB 11714 sum, invisible mod 11; the mod-31 check catches it.
    mutated = "91440300C922038216"
    assert gb11714_check_char("C9220382") == "1"
    assert check_uscc(mutated).reason is Reason.USCC_CHECK_MISMATCH


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_uscc_with_excluded_letter_reports_invalid_character(letter: str) -> None:
    result = check_uscc("9144030019220382" + letter + "6")
    assert result.reason is Reason.INVALID_CHARACTER
    assert "position 17" in result.message


def test_uscc_with_17_characters_reports_length() -> None:
    assert check_uscc(HUAWEI[:17]).reason is Reason.INVALID_LENGTH


def test_uscc_with_unknown_authority_is_refused() -> None:
    result = check_uscc("B14403001922038216")
    assert result.reason is Reason.UNKNOWN_REGISTRATION_AUTHORITY


@pytest.mark.parametrize("prefix", ["14", "54", "94", "99", "Y2"])
def test_uscc_with_category_not_in_authority_table_is_refused(prefix: str) -> None:
    result = check_uscc(prefix + HUAWEI[2:])
    assert result.reason is Reason.INVALID_CATEGORY_FOR_AUTHORITY


@pytest.mark.parametrize("prefix", ["11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93", "Y1"])
def test_uscc_authority_category_table_for_1_5_9_y(prefix: str) -> None:
    first17 = prefix + HUAWEI[2:17]
    assert check_uscc(first17 + uscc_check_char(first17)).valid


def test_uscc_with_letter_in_division_code_is_refused() -> None:
    first17 = "9144A300" + HUAWEI[8:17]
    result = check_uscc(first17 + uscc_check_char(first17))
    assert result.reason is Reason.INVALID_DIVISION_CODE


def test_gb11714_check_char_values_and_special_cases() -> None:
    assert gb11714_check_char("19220382") == "1"
    assert gb11714_check_char("10000018") == "X"  # 11 - r == 10
    assert gb11714_check_char("00000000") == "0"  # 11 - 0 == 11
    assert gb11714_check_char("0000000A") == "2"  # A = 10 at weight 2: 20 mod 11 = 9
    with pytest.raises(ValueError):
        gb11714_check_char("1922038")


def test_uscc_check_char_maps_through_charset() -> None:
    assert uscc_check_char(HUAWEI[:17]) == "6"
    assert uscc_check_char("Y1440300123456788") == "0"
    with pytest.raises(ValueError):
        uscc_check_char("I" * 17)
    assert len(USCC_CHARSET) == 31


def test_build_uscc_reproduces_the_published_code() -> None:
    assert build_uscc("9", "1", "440300", "19220382") == HUAWEI


def test_build_uscc_issues_codes_for_nanhai() -> None:
    code = build_uscc("9", "1", "440605", "MA5ABCDE")
    assert code == "91440605MA5ABCDE" + gb11714_check_char("MA5ABCDE") + code[17]
    assert check(code, Kind.USCC).valid


@pytest.mark.parametrize(
    ("authority", "category", "division", "body8"),
    [
        ("B", "1", "440300", "19220382"),  # unknown authority
        ("9", "9", "440300", "19220382"),  # category 9 is not defined for authority 9
        ("9", "1", "44030", "19220382"),  # short division
        ("9", "1", "4403AB", "19220382"),  # letters in division
        ("9", "1", "440300", "1922038"),  # short body
        ("9", "1", "440300", "1922038I"),  # I is not in the charset
    ],
)
def test_build_uscc_refuses_invalid_parts(authority: str, category: str, division: str, body8: str) -> None:
    with pytest.raises(ValueError):
        build_uscc(authority, category, division, body8)
