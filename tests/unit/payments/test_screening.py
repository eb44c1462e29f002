"""Sanctions screening: the UN consolidated list format, fuzzy matching, the threshold."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from services.payments.adapters.sanctions_xml import SanctionsListError, load_sanctions_list, parse_sanctions_list
from services.payments.config import PaymentsSettings
from services.payments.domain.screening import Screener, normalise

LIST = PaymentsSettings().sanctions_list


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener(load_sanctions_list(LIST), threshold=88)


def test_the_shipped_synthetic_list_loads_individuals_entities_and_aliases() -> None:
    sanctions = load_sanctions_list(LIST)
    refs = {p.reference for p in sanctions.parties}
    assert refs == {"QDi.901", "QDi.902", "QDi.903", "QDe.901"}
    boris = next(p for p in sanctions.parties if p.reference == "QDi.901")
    assert "BORIS TESTAROV FICTIVICH" in boris.names
    assert "Borys Testarow" in boris.names
    assert "Bob" not in boris.names  # a low-quality alias is not screened on


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("Boris Testarov Fictivich", "QDi.901"),
        ("TESTAROV, Boris Fictivich", "QDi.901"),  # order and punctuation
        ("Boris Testarov Fictivitch", "QDi.901"),  # a spelling slip
        ("Borys Testarow", "QDi.901"),  # an alias
        ("Wong Ka Fictus", "QDi.902"),
        ("黃假名測試", "QDi.902"),  # original script
        ("María Exemplo Inventada", "QDi.903"),  # accents do not hide a name
        ("Greater Shell Trading Co.", "QDe.901"),
        ("大殼貿易有限公司", "QDe.901"),
    ],
)
def test_listed_names_are_hits(screener: Screener, name: str, reference: str) -> None:
    found = screener.match(name)
    assert found is not None and found[0] == reference


@pytest.mark.parametrize("name", ["Chan Tai Man", "Bob", "Boris Johnson", "Greater Bay Trading Company", "黃大仙"])
def test_names_not_on_the_list_are_not_hits(screener: Screener, name: str) -> None:
    assert screener.match(name) is None


def test_the_threshold_decides_how_close_is_a_hit() -> None:
    sanctions = load_sanctions_list(LIST)
    assert Screener(sanctions, threshold=70).match("Boris Testarovsky") is not None
    assert Screener(sanctions, threshold=98).match("Boris Testarov Fictivitch") is None


def test_screen_names_the_party_role_of_the_hit(screener: Screener) -> None:
    hit = screener.screen({"payer": "Chan Tai Man", "payee": "Greater Shell Trading Company Limited"})
    assert hit is not None and hit.party_role == "payee" and hit.reference == "QDe.901"


def test_normalise_folds_case_width_accents_and_spaces() -> None:
    assert normalise("  ＢＯＲＩＳ   Tést-arov ") == "boris test arov"


def test_a_file_that_is_not_a_consolidated_list_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "list.xml"
    bad.write_text("<SOMETHING_ELSE/>")
    with pytest.raises(SanctionsListError):
        load_sanctions_list(bad)
    bad.write_text("<CONSOLIDATED_LIST><INDIVIDUALS>")
    with pytest.raises(SanctionsListError):
        load_sanctions_list(bad)


def test_an_empty_list_or_an_entry_without_reference_is_refused() -> None:
    with pytest.raises(SanctionsListError):
        parse_sanctions_list(ET.fromstring("<CONSOLIDATED_LIST/>"), "empty")
    entry = (
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>X</FIRST_NAME>"
        "</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(SanctionsListError):
        parse_sanctions_list(ET.fromstring(entry), "no reference")


def test_a_remembered_answer_is_the_searched_one_and_the_memory_stays_bounded() -> None:
    sanctions = load_sanctions_list(LIST)
    fresh, reused = Screener(sanctions, threshold=88), Screener(sanctions, threshold=88, memo_size=3)
    names = ["Boris Testarov Fictivich", "Chan Tai Man", "黃假名測試", "Chan Tai Man", "Borys Testarow", "", "Bob"] * 3
    for name in names:
        assert reused.match(name) == fresh._search(name)  # the same answer, first time or remembered
    assert len(reused._memo) <= 3
    # Each screener remembers its own answers: another threshold (or list) is never answered from them.
    assert Screener(sanctions, threshold=70).match("Boris Testarov Fictivitch") is not None
    assert Screener(sanctions, threshold=98).match("Boris Testarov Fictivitch") is None
