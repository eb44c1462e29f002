"""Kind detection, the generic ``check``/``normalise``/``is_valid`` and the result shape."""

from __future__ import annotations

from datetime import date

import pytest

from baylink.ids import IdResult, Kind, Reason, build_uscc, check, detect, is_valid, normalise


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("A123456(3)", Kind.HKID),
        ("a1234563", Kind.HKID),
        ("AB987654(3)", Kind.HKID),
        ("HA123456(7)", Kind.HKID),  # bracketed → HKID
        ("HA1234567", Kind.TRAVEL_PERMIT),  # unbracketed HA/MA + 7 digits → travel permit
        ("H12345678", Kind.TRAVEL_PERMIT),
        ("H1234567801", Kind.TRAVEL_PERMIT),
        ("1234567(8)", Kind.MACAU_ID),
        ("12345678", Kind.HK_BR),  # unbracketed 8 digits → BR number
        ("810000199408230021", Kind.RESIDENCE_PERMIT),
        ("820000200001010016", Kind.RESIDENCE_PERMIT),
        ("11010519491231002X", Kind.MAINLAND_ID),
        ("110105194912310021", Kind.MAINLAND_ID),  # plausible but wrong check → still mainland
        ("914403001922038216", Kind.USCC),
        ("12100000400000261H", Kind.USCC),
        ("12100000400000261J", Kind.USCC),  # invalid, but not GB 11643-shaped
        ("91440300192203821", None),
        ("hello", None),
        ("", None),
    ],
)
def test_detect_resolves_shapes_in_documented_order(value: str, kind: Kind | None) -> None:
    assert detect(value) is kind


def test_detect_all_digit_uscc_starting_with_a_province_code_is_uscc() -> None:
    # 12 is also Tianjin's province code, but positions 7-14 (00400000) are no birth date.
    code = build_uscc("1", "2", "100000", "40000004")
    assert code == "121000004000000427"
    assert detect(code) is Kind.USCC
    assert check(code).valid


def test_detect_prefers_mainland_id_when_a_value_is_both_a_valid_id_and_a_valid_uscc() -> None:
    # A genuine ambiguity: this is a valid USCC (authority 1, category 2, division 110119) and
    # also a valid GB 11643 number (area 121101, born 1949-12-31). Rule 2b picks the identity
    # card; callers that know they hold a USCC pass the kind.
    both = build_uscc("1", "2", "110119", "49123104")
    assert both == "121101194912310481"
    assert detect(both) is Kind.MAINLAND_ID
    assert check(both).valid
    assert check(both, Kind.USCC).valid


def test_detect_all_digit_uscc_with_date_like_middle_but_failing_gb11643_check_is_uscc() -> None:
    code = build_uscc("1", "1", "110119", "49123104")
    assert code == "111101194912310484"
    assert not check(code, Kind.MAINLAND_ID).valid
    assert detect(code) is Kind.USCC


def test_check_without_kind_uses_detection() -> None:
    result = check("G123456(A)")
    assert result.kind is Kind.HKID
    assert result.valid


def test_check_unrecognised_value_has_no_kind() -> None:
    result = check("not an id")
    assert result.kind is None
    assert result.reason is Reason.UNRECOGNISED_FORMAT
    assert result.normalised is None


def test_check_with_unknown_kind_string_reports_unknown_kind() -> None:
    result = check("A123456(3)", "passport")
    assert result.reason is Reason.UNKNOWN_KIND
    assert "passport" in result.message


def test_check_kind_string_is_case_insensitive() -> None:
    assert check("A123456(3)", "HKID").valid


def test_check_empty_and_blank_values_report_empty() -> None:
    assert check("").reason is Reason.EMPTY
    assert check(" \t\u3000").reason is Reason.EMPTY
    assert check("", Kind.USCC).kind is Kind.USCC


def test_check_non_string_reports_not_a_string() -> None:
    result = check(12345678)  # type: ignore[arg-type]
    assert result.reason is Reason.NOT_A_STRING
    assert detect(None) is None  # type: ignore[arg-type]
    assert normalise(None) == ""  # type: ignore[arg-type]


def test_check_very_long_value_reports_too_long() -> None:
    assert check("A" * 1000).reason is Reason.TOO_LONG


def test_check_passes_today_to_birth_date_rules() -> None:
    assert check("810000199408230021", today=date(1994, 8, 22)).reason is Reason.BIRTH_DATE_IN_FUTURE
    assert check("810000199408230021", today=date(1994, 8, 23)).valid


def test_macau_kind_overrides_br_detection() -> None:
    assert normalise("12345678") == "12345678"
    assert normalise("12345678", Kind.MACAU_ID) == "1234567(8)"


def test_normalise_keeps_canonical_form_even_when_check_fails() -> None:
    assert normalise("a 123456 4") == "A123456(4)"


def test_normalise_of_unparseable_text_is_cleaned_text() -> None:
    assert normalise(" ab-c ") == "AB-C"


def test_is_valid_accepts_a_right_check_digit_and_refuses_a_wrong_one() -> None:
    assert is_valid("A123456(3)")
    assert not is_valid("A123456(4)")
    assert is_valid("914403001922038216", Kind.USCC)


def test_result_is_immutable_and_serialises_to_json_ready_dict() -> None:
    result = check("H1234567802")
    assert isinstance(result, IdResult)
    with pytest.raises(AttributeError):
        result.valid = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.details["issue_count"] = "9"  # type: ignore[index]
    assert result.to_dict() == {
        "kind": "travel_permit",
        "normalised": "H12345678",
        "valid": True,
        "reason": None,
        "message": result.message,
        "check_verified": False,
        "details": {"jurisdiction": "HK", "holder": "chinese_citizen", "issue_count": "2"},
    }
