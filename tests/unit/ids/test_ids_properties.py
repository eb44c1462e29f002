"""Property tests: built codes validate, single substitutions are caught, normalise is idempotent,
and nothing raises on arbitrary input."""

from __future__ import annotations

import string
from datetime import date

from hypothesis import assume, given
from hypothesis import strategies as st

from baylink.ids import (
    USCC_CHARSET,
    Kind,
    Reason,
    build_uscc,
    check,
    check_hkid,
    check_uscc,
    detect,
    gb11643_check_char,
    hkid_check_char,
    is_valid,
    normalise,
)
from baylink.ids.uscc import AUTHORITIES

LETTERS = string.ascii_uppercase
ALNUM = string.digits + LETTERS
TODAY = date(2025, 6, 1)

authority_category = st.sampled_from(
    [(authority, category) for authority, (_, table) in AUTHORITIES.items() for category in table]
)
divisions = st.text(string.digits, min_size=6, max_size=6)
bodies = st.text(USCC_CHARSET, min_size=8, max_size=8)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    authority, category = draw(authority_category)
    return build_uscc(authority, category, draw(divisions), draw(bodies))


@st.composite
def hkids(draw: st.DrawFn) -> str:
    """Compact valid HKIDs: prefix + 6 digits + check, no brackets."""
    prefix = draw(st.text(LETTERS, min_size=1, max_size=2))
    digits = draw(st.text(string.digits, min_size=6, max_size=6))
    return prefix + digits + hkid_check_char(prefix, digits)


@st.composite
def residence_permits(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["810000", "820000"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.text(string.digits, min_size=3, max_size=3))
    body = area + born.strftime("%Y%m%d") + sequence
    return body + gb11643_check_char(body)


@st.composite
def travel_permits(draw: st.DrawFn) -> str:
    letter = draw(st.sampled_from("HM"))
    if draw(st.booleans()):
        return letter + "A" + draw(st.text(string.digits, min_size=7, max_size=7))
    count = draw(st.sampled_from(["", *(f"{n:02d}" for n in range(100))]))
    return letter + draw(st.text(string.digits, min_size=8, max_size=8)) + count


valid_values = st.one_of(
    usccs(),
    hkids(),
    residence_permits(),
    travel_permits(),
    st.text(string.digits, min_size=8, max_size=8),
    st.builds(lambda d, c: f"{d}{c}", st.sampled_from("157"), st.text(string.digits, min_size=7, max_size=7)),
)


@st.composite
def noisy(draw: st.DrawFn, values: st.SearchStrategy[str]) -> str:
    """A value spelled carelessly: random case, spaces, full-width characters."""
    out = []
    for ch in draw(values):
        if draw(st.booleans()):
            ch = ch.lower()
        if draw(st.integers(0, 4)) == 0:
            ch = chr(ord(ch) + 0xFEE0)  # full-width form of an ASCII character
        if draw(st.integers(0, 4)) == 0:
            ch = " " + ch
        out.append(ch)
    return "".join(out)


kinds = st.sampled_from([None, *Kind])


@given(usccs())
def test_every_built_uscc_validates(code: str) -> None:
    assert check_uscc(code).valid
    assert check(code).valid  # whatever the detected kind, an all-round valid code stays valid


@given(usccs(), st.integers(0, 17), st.sampled_from(ALNUM))
def test_any_single_substitution_in_a_uscc_is_detected(code: str, position: int, replacement: str) -> None:
    assume(code[position] != replacement)
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not check(mutated, Kind.USCC).valid


def _letter_value(ch: str) -> int:
    return LETTERS.index(ch) + 10


@given(hkids(), st.data())
def test_single_substitution_in_an_hkid_is_detected_except_letters_eleven_apart(
    compact: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(compact) - 1))
    replacement = data.draw(st.sampled_from(ALNUM))
    original = compact[position]
    assume(original != replacement)
    mutated = compact[:position] + replacement + compact[position + 1 :]
    prefix_length = len(compact) - 7
    # Mod 11 cannot see a prefix letter replaced by one whose value differs by 11 or 22
    # (e.g. A/L/W): the only single substitutions that slip through.
    invisible = (
        position < prefix_length
        and replacement in LETTERS
        and (_letter_value(replacement) - _letter_value(original)) % 11 == 0
    )
    assert check_hkid(mutated).valid is invisible


@given(hkids(), st.integers(0, 8), st.sampled_from(string.digits))
def test_any_single_digit_substitution_in_an_hkid_is_detected(compact: str, offset: int, digit: str) -> None:
    position = len(compact) - 7 + offset % 7  # one of the 6 digits or the check character
    assume(compact[position] != digit)
    mutated = compact[:position] + digit + compact[position + 1 :]
    result = check(mutated, Kind.HKID)
    assert not result.valid
    assert result.reason is Reason.CHECK_DIGIT_MISMATCH


@given(residence_permits(), st.integers(0, 17), st.sampled_from(string.digits + "X"))
def test_any_single_substitution_in_a_residence_permit_is_detected(
    number: str, position: int, replacement: str
) -> None:
    assume(number[position] != replacement)
    mutated = number[:position] + replacement + number[position + 1 :]
    assert not check(mutated, Kind.RESIDENCE_PERMIT, today=TODAY).valid


@given(st.text(), kinds)
def test_normalise_is_idempotent_on_arbitrary_text(value: str, kind: Kind | None) -> None:
    once = normalise(value, kind)
    assert normalise(once, kind) == once


@given(noisy(valid_values), kinds)
def test_normalise_is_idempotent_on_carelessly_spelled_identifiers(value: str, kind: Kind | None) -> None:
    once = normalise(value, kind)
    assert normalise(once, kind) == once


@given(noisy(valid_values))
def test_carelessly_spelled_identifiers_validate_and_normalise_to_a_stable_form(value: str) -> None:
    result = check(value, today=TODAY)
    assert result.valid, (value, result)
    assert result.normalised is not None
    again = check(result.normalised, result.kind, today=TODAY)
    assert again.valid
    assert again.normalised == result.normalised
    assert detect(result.normalised) is result.kind


@given(st.text(), kinds)
def test_nothing_raises_on_arbitrary_text(value: str, kind: Kind | None) -> None:
    result = check(value, kind, today=TODAY)
    assert result.valid is (result.reason is None)
    assert isinstance(result.message, str)
    assert result.message
    detect(value)
    is_valid(value, kind)
    result.to_dict()


@given(st.text(alphabet=ALNUM + "()Xx （）", max_size=20), kinds)
def test_nothing_raises_on_near_miss_identifiers(value: str, kind: Kind | None) -> None:
    result = check(value, kind, today=TODAY)
    assert result.valid is (result.reason is None)


@given(st.one_of(st.none(), st.integers(), st.binary(), st.floats(), st.lists(st.integers())), kinds)
def test_nothing_raises_on_non_text(value: object, kind: Kind | None) -> None:
    result = check(value, kind)  # type: ignore[arg-type]
    assert result.reason is Reason.NOT_A_STRING
    assert detect(value) is None  # type: ignore[arg-type]
    assert normalise(value) == ""  # type: ignore[arg-type]


@given(st.text(), st.text(max_size=12))
def test_unknown_kind_strings_never_raise(value: str, kind: str) -> None:
    assume(kind.strip().lower() not in {k.value for k in Kind})
    assert check(value, kind).reason is Reason.UNKNOWN_KIND
