"""The standard service catalogue (事项清单): what each authority offers and what it requires."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from baylink import errors
from services.registry.domain.text import LocalText


class Signatory(StrEnum):
    """Who must sign a material."""

    INVESTORS = "investors"  # every investor, each with their own certificate
    LEGAL_REPRESENTATIVE = "legal_representative"  # for an individual business: the operator


class ItemKind(StrEnum):
    ESTABLISHMENT = "establishment"
    CHANGE = "change"
    DEREGISTRATION = "deregistration"


class SubjectCategory(StrEnum):
    """GB 32100 category code under authority 9 (market regulation)."""

    ENTERPRISE = "1"
    INDIVIDUAL_BUSINESS = "2"


@dataclass(frozen=True)
class Authority:
    division_code: str  # six digits, GB/T 2260
    name: LocalText
    city_code: str  # the prefecture-level city: where trade names must be unique
    name_divisions: tuple[str, ...]  # division words a declared name may begin with
    uscc_block: str  # the organisation-code block assigned to this authority (3 characters)


@dataclass(frozen=True)
class MaterialRequirement:
    material_type: str
    title: LocalText
    mandatory: bool
    signatories: tuple[Signatory, ...]

    @property
    def signature_required(self) -> bool:
        return bool(self.signatories)


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    title: LocalText
    authority: Authority
    kind: ItemKind
    category: SubjectCategory
    legal_basis: tuple[LocalText, ...]
    procedure: tuple[LocalText, ...]
    materials: tuple[MaterialRequirement, ...]
    time_limit_working_days: int
    fee_cny: Decimal
    name_check_required: bool
    organisational_forms: tuple[str, ...]

    @property
    def fee_minor_units(self) -> int:
        return int(self.fee_cny * 100)

    @property
    def issues_licence(self) -> bool:
        """Approval creates a market entity: a USCC and a business licence."""
        return self.kind is ItemKind.ESTABLISHMENT

    def requirement(self, material_type: str) -> MaterialRequirement | None:
        return next((m for m in self.materials if m.material_type == material_type), None)


class Catalogue:
    def __init__(self, items: Iterable[CatalogueItem]):
        self._items = {item.code: item for item in items}
        self._authorities = {item.authority.division_code: item.authority for item in self._items.values()}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, code: str) -> CatalogueItem:
        try:
            return self._items[code]
        except KeyError:
            raise errors.NotFound("catalogue item", code) from None

    def find(self, code: str) -> CatalogueItem | None:
        return self._items.get(code)

    def items(self, authority_code: str = "") -> list[CatalogueItem]:
        return sorted(
            (i for i in self._items.values() if not authority_code or i.authority.division_code == authority_code),
            key=lambda i: i.code,
        )

    def authorities(self) -> list[Authority]:
        return sorted(self._authorities.values(), key=lambda a: a.division_code)

    def authority(self, division_code: str) -> Authority | None:
        return self._authorities.get(division_code)
