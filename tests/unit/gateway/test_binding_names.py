"""Names: the declared name must be the one in the certificate's common name."""

from __future__ import annotations

import pytest

from baylink import errors
from services.gateway.binding.domain.names import check_names, english_names_match, latin_words, variant_pairs
from tests.unit.gateway.test_binding_kit import declared


def mismatch(common_name: str, **person: object) -> errors.InvalidInput:
    with pytest.raises(errors.InvalidInput) as caught:
        check_names(declared(**person), common_name)
    return caught.value


@pytest.mark.parametrize(
    "common_name",
    [
        "陳大文 CHAN Tai Man",
        "CHAN Tai Man 陳大文",
        "陈大文 CHAN TAI MAN",  # simplified on the certificate
        "CHAN, Tai-man 陳大文",
        "ＣＨＡＮ Ｔａｉ Ｍａｎ 陳大文",  # full-width
        "Tai Man CHAN 陳 大 文",
        "CHAN Taiman 陳大文",
    ],
)
def test_the_same_name_in_other_spellings_matches(common_name: str) -> None:
    check_names(declared(), common_name)


def test_a_certificate_with_only_the_english_name_matches_a_person_declaring_both() -> None:
    check_names(declared(), "CHAN Tai Man")


def test_a_certificate_with_only_the_chinese_name_matches_a_person_declaring_both() -> None:
    check_names(declared(), "陳大文")


def test_a_traditional_declared_name_matches_a_simplified_certificate_character_by_character() -> None:
    check_names(declared(name_zh="黃麗華", name_en=None), "黄丽华")


def test_another_chinese_name_is_refused_naming_the_chinese_field() -> None:
    error = mismatch("陳小文 CHAN Tai Man")

    assert error.reason == "NAME_MISMATCH"
    assert error.metadata["refusal"] == "name_mismatch"
    assert [v.field for v in error.violations] == ["declared.name_zh"]


def test_another_english_name_is_refused_naming_the_english_field() -> None:
    error = mismatch("陳大文 CHAN Siu Man")

    assert [v.field for v in error.violations] == ["declared.name_en"]


def test_a_name_with_one_character_more_is_refused() -> None:
    assert mismatch("陳大文文").violations[0].field == "declared.name_zh"


def test_a_certificate_naming_the_holder_only_in_an_undeclared_script_is_refused() -> None:
    error = mismatch("陳大文", name_zh=None)

    assert error.reason == "NAME_MISMATCH"
    assert error.violations[0].field == "declared.name_zh"


def test_a_person_declaring_no_name_is_refused() -> None:
    error = mismatch("陳大文", name_zh=None, name_en="  ")

    assert error.reason == "NAME_MISSING"


def test_a_chinese_name_in_latin_letters_is_refused() -> None:
    assert mismatch("陳大文", name_zh="Chan").reason == "NAME_MISSING"


def test_refusals_do_not_quote_either_name() -> None:
    error = mismatch("陳小文 CHAN Siu Man")

    text = str(error) + error.violations[0].description
    assert "陳" not in text and "CHAN" not in text.upper()


def test_english_words_are_compared_without_case_accents_or_punctuation() -> None:
    assert latin_words("O'Brien-Chan, José") == ["o", "brien", "chan", "jose"]
    assert english_names_match(["obrien"], ["o", "brien"])
    assert not english_names_match(["chan", "tai"], ["chan", "tai", "man"])


def test_the_variant_table_folds_each_traditional_character_to_one_simplified_one() -> None:
    pairs = variant_pairs()

    assert pairs["陳"] == "陈" and pairs["發"] == "发"
    assert not set(pairs) & set(pairs.values())
    assert "髮" not in pairs  # 发 stands for 發 and 髮: only the form common in names folds
