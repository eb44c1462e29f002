"""Load the catalogue, the name rules and their schema from the data files in the repository.

The files are TOML; their schema is the pydantic model below (``schema.json`` is its JSON Schema,
kept beside the data for editors and reviewers). A file that does not validate stops the load
with every error listed: a half-loaded catalogue would silently drop services.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.registry.domain import catalogue as c
from services.registry.domain.names import NameRules
from services.registry.domain.text import LocalText

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CATALOGUE_DIR = DATA_DIR / "catalogue"
NAME_RULES_FILE = DATA_DIR / "names.toml"
TEMPLATES_FILE = "templates.toml"
USCC_BLOCK_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

NonEmpty = Annotated[str, Field(min_length=1)]


class CatalogueError(ValueError):
    """The catalogue data does not validate."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    zh_hans: NonEmpty
    zh_hant: NonEmpty
    en: NonEmpty

    def domain(self) -> LocalText:
        return LocalText(zh_hant=self.zh_hant, zh_hans=self.zh_hans, en=self.en)


class Material(_Model):
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")]
    title: Text
    mandatory: bool
    signatories: list[Literal["investors", "legal_representative"]]


class Template(_Model):
    kind: Literal["establishment", "change", "deregistration"]
    category: Literal["enterprise", "individual_business"]
    name_check_required: bool
    organisational_forms: Annotated[list[NonEmpty], Field(min_length=1)]
    title: Text
    legal_basis: Annotated[list[Text], Field(min_length=1)]
    procedure: Annotated[list[Text], Field(min_length=1)]
    material: Annotated[list[Material], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_material_types(self) -> Template:
        types = [m.type for m in self.material]
        if len(types) != len(set(types)):
            raise ValueError(f"material types repeat: {types}")
        return self


class TemplatesFile(_Model):
    template: dict[str, Template]


class AuthorityEntry(_Model):
    division_code: Annotated[str, Field(pattern=r"^[1-8]\d{5}$")]
    city_code: Annotated[str, Field(pattern=r"^[1-8]\d{3}00$")]
    name: Text
    name_divisions: Annotated[list[NonEmpty], Field(min_length=1)]
    uscc_block: Annotated[str, Field(pattern=f"^[{USCC_BLOCK_CHARS}]{{3}}$")]


class ItemEntry(_Model):
    code: Annotated[str, Field(pattern=r"^\d{6}-[A-Z0-9-]{3,40}$")]
    template: NonEmpty
    time_limit_working_days: Annotated[int, Field(ge=1, le=60)]
    fee_cny: Annotated[Decimal, Field(ge=0, max_digits=9, decimal_places=2)]


class AuthorityFile(_Model):
    authority: AuthorityEntry
    item: Annotated[list[ItemEntry], Field(min_length=1)]

    @model_validator(mode="after")
    def _codes_of_this_authority(self) -> AuthorityFile:
        for item in self.item:
            if not item.code.startswith(self.authority.division_code + "-"):
                raise ValueError(f"item {item.code} does not start with {self.authority.division_code}-")
        return self


def json_schema() -> dict[str, object]:
    """The JSON Schema of both file kinds (``schema.json``)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Baylink registry catalogue files",
        "oneOf": [
            {"$ref": "#/$defs/TemplatesFile"},
            {"$ref": "#/$defs/AuthorityFile"},
        ],
        "$defs": {
            "TemplatesFile": TemplatesFile.model_json_schema(ref_template="#/$defs/{model}"),
            "AuthorityFile": AuthorityFile.model_json_schema(ref_template="#/$defs/{model}"),
        },
    }


def write_json_schema(path: Path = CATALOGUE_DIR / "schema.json") -> None:
    path.write_text(json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path.name}: {exc}") from exc


def _validated(model: type[_Model], path: Path) -> _Model:
    try:
        return model.model_validate(_read(path))
    except ValidationError as exc:
        raise CatalogueError(f"{path.name} does not match the catalogue schema:\n{exc}") from exc


def load_catalogue(directory: Path = CATALOGUE_DIR) -> c.Catalogue:
    """Every authority file of ``directory``, with the templates it offers. Raises ``CatalogueError``."""
    templates = _validated(TemplatesFile, directory / TEMPLATES_FILE)
    assert isinstance(templates, TemplatesFile)
    items: list[c.CatalogueItem] = []
    blocks: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == TEMPLATES_FILE:
            continue
        entry = _validated(AuthorityFile, path)
        assert isinstance(entry, AuthorityFile)
        authority = entry.authority
        if path.stem != authority.division_code:
            raise CatalogueError(f"{path.name} describes authority {authority.division_code}")
        if authority.uscc_block in blocks:
            raise CatalogueError(f"USCC block {authority.uscc_block} given to {blocks[authority.uscc_block]} too")
        blocks[authority.uscc_block] = authority.division_code
        items += [_item(item, authority, templates, path) for item in entry.item]
    codes = [i.code for i in items]
    if len(codes) != len(set(codes)):
        raise CatalogueError("item codes repeat across authorities")
    if not items:
        raise CatalogueError(f"no authority files in {directory}")
    return c.Catalogue(items)


def _item(item: ItemEntry, entry: AuthorityEntry, templates: TemplatesFile, path: Path) -> c.CatalogueItem:
    template = templates.template.get(item.template)
    if template is None:
        raise CatalogueError(f"{path.name}: item {item.code} names unknown template {item.template!r}")
    authority = c.Authority(
        entry.division_code, entry.name.domain(), entry.city_code, tuple(entry.name_divisions), entry.uscc_block
    )
    category = (
        c.SubjectCategory.ENTERPRISE if template.category == "enterprise" else c.SubjectCategory.INDIVIDUAL_BUSINESS
    )
    return c.CatalogueItem(
        code=item.code,
        title=template.title.domain(),
        authority=authority,
        kind=c.ItemKind(template.kind),
        category=category,
        legal_basis=tuple(t.domain() for t in template.legal_basis),
        procedure=tuple(t.domain() for t in template.procedure),
        materials=tuple(
            c.MaterialRequirement(m.type, m.title.domain(), m.mandatory, tuple(c.Signatory(s) for s in m.signatories))
            for m in template.material
        ),
        time_limit_working_days=item.time_limit_working_days,
        fee_cny=item.fee_cny,
        name_check_required=template.name_check_required,
        organisational_forms=tuple(template.organisational_forms),
    )


class NameRulesFile(_Model):
    max_trade_name_chars: Annotated[int, Field(ge=2, le=50)]
    forbidden_words: list[NonEmpty]
    industries: Annotated[list[NonEmpty], Field(min_length=1)]


def load_name_rules(path: Path = NAME_RULES_FILE) -> NameRules:
    rules = _validated(NameRulesFile, path)
    assert isinstance(rules, NameRulesFile)
    return NameRules(tuple(rules.forbidden_words), tuple(rules.industries), rules.max_trade_name_chars)
