"""USCC issue: authority 9, category 1 or 2, the division, a GB 11714 body with its check, mod-31 check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baylink.ids import Reason, check_uscc, gb11714_check_char, uscc_check_char
from services.registry.adapters.catalogue_file import load_catalogue
from services.registry.domain.catalogue import SubjectCategory
from services.registry.domain.uscc import MAX_SEQUENCE, issue_uscc, organisation_body

NANHAI = load_catalogue().authority("440605")
assert NANHAI is not None


@given(st.integers(min_value=1, max_value=MAX_SEQUENCE), st.sampled_from(list(SubjectCategory)))
def test_every_issued_code_is_valid_and_carries_its_parts(sequence: int, category: SubjectCategory) -> None:
    code = issue_uscc(NANHAI, category, sequence)
    assert check_uscc(code).valid
    assert code[0] == "9" and code[1] == category.value and code[2:8] == "440605"
    assert code[16] == gb11714_check_char(code[8:16]) and code[17] == uscc_check_char(code[:17])


def test_distinct_sequence_numbers_give_distinct_bodies() -> None:
    bodies = {organisation_body("MA4", n) for n in range(1, 5000)}
    assert len(bodies) == 4999


def test_an_exhausted_block_is_refused_rather_than_wrapped() -> None:
    with pytest.raises(ValueError, match="exhausted"):
        organisation_body("MA4", MAX_SEQUENCE + 1)


def test_ids_check_reports_which_check_failed_on_an_issued_code() -> None:
    code = issue_uscc(NANHAI, SubjectCategory.ENTERPRISE, 1)
    inner_broken = code[:16] + ("0" if code[16] != "0" else "1") + code[17]
    assert check_uscc(inner_broken).reason is Reason.ORGANISATION_CODE_CHECK_MISMATCH
    outer_broken = code[:17] + ("0" if code[17] != "0" else "1")
    assert check_uscc(outer_broken).reason is Reason.USCC_CHECK_MISMATCH
