"""The catalogue is data in the repository, validated against its schema on load; `baylink catalog`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.registry.adapters.catalogue_file import CATALOGUE_DIR, CatalogueError, json_schema, load_catalogue
from services.registry.domain.catalogue import ItemKind, Signatory, SubjectCategory
from services.registry.entrypoints.cli import app as catalog_cli


def test_the_catalogue_covers_the_four_services_in_nanhai_and_two_more_gba_cities() -> None:
    catalogue = load_catalogue()
    authorities = [a.division_code for a in catalogue.authorities()]
    assert "440605" in authorities and len(authorities) >= 3
    for authority in authorities:
        items = catalogue.items(authority)
        kinds = {(i.kind, i.category) for i in items}
        assert kinds == {
            (ItemKind.ESTABLISHMENT, SubjectCategory.ENTERPRISE),
            (ItemKind.CHANGE, SubjectCategory.ENTERPRISE),
            (ItemKind.DEREGISTRATION, SubjectCategory.ENTERPRISE),
            (ItemKind.ESTABLISHMENT, SubjectCategory.INDIVIDUAL_BUSINESS),
        }
        for item in items:
            assert item.title.zh_hans and item.title.zh_hant and item.title.en
            assert item.legal_basis and item.procedure and item.time_limit_working_days >= 1
            assert item.fee_cny >= 0


def test_the_establishment_item_says_who_signs_what() -> None:
    item = load_catalogue().get("440605-HKMO-CO-EST")
    signers = {m.material_type: m.signatories for m in item.materials}
    assert signers["articles_of_association"] == (Signatory.INVESTORS,)
    assert signers["application_form"] == (Signatory.LEGAL_REPRESENTATIVE,)
    assert signers["premises_proof"] == ()


def test_the_committed_json_schema_is_the_loaders_schema() -> None:
    committed = json.loads((CATALOGUE_DIR / "schema.json").read_text("utf-8"))
    assert committed == json.loads(json.dumps(json_schema())), "run write_json_schema() and commit schema.json"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, target)
    return target


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        (
            'time_limit_working_days = 3\nfee_cny = "300.00"',
            'time_limit_working_days = 0\nfee_cny = "300.00"',
            "time_limit",
        ),
        ('fee_cny = "300.00"', 'fee_cny = "-1"', "fee_cny"),
        ('division_code = "440605"', 'division_code = "44060"', "division_code"),
        ('template = "hkmo-company-establishment"', 'template = "no-such-template"', "unknown template"),
        ('uscc_block = "MA4"', 'uscc_block = "MA5"', "USCC block"),
        ('code = "440605-HKMO-CO-EST"', 'code = "440300-HKMO-CO-EST"', "does not start with"),
        ("[authority]", "surprise = 1\n[authority]", "surprise"),
    ],
)
def test_an_invalid_catalogue_is_refused_whole(copy: Path, old: str, new: str, complaint: str) -> None:
    path = copy / "440605.toml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(CatalogueError, match=complaint):
        load_catalogue(copy)


def test_a_material_without_a_trilingual_title_is_refused(copy: Path) -> None:
    path = copy / "templates.toml"
    path.write_text(path.read_text("utf-8").replace('en = "Articles of association"', 'en = ""'), "utf-8")
    with pytest.raises(CatalogueError, match="en"):
        load_catalogue(copy)


def test_catalog_list_and_show_from_the_command_line() -> None:
    runner = CliRunner()
    listed = runner.invoke(catalog_cli, ["list", "--authority", "440605", "--json"])
    assert listed.exit_code == 0
    assert [i["code"] for i in json.loads(listed.output)] == [
        "440605-HKMO-CO-CHG",
        "440605-HKMO-CO-DRG",
        "440605-HKMO-CO-EST",
        "440605-HKMO-IND-REG",
    ]
    shown = runner.invoke(catalog_cli, ["show", "440605-HKMO-CO-EST", "--lang", "zh-Hant"])
    assert shown.exit_code == 0 and "港澳投資有限公司設立登記" in shown.output and "公司章程" in shown.output
    missing = runner.invoke(catalog_cli, ["show", "NOPE"])
    assert missing.exit_code == 1
