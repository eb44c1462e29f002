"""Is an application complete enough to hand in? Missing materials, signatures or name."""

from __future__ import annotations

from collections.abc import Mapping

from services.registry.domain.catalogue import CatalogueItem
from services.registry.domain.enterprise import EnterpriseDetails
from services.registry.domain.materials import Material
from services.registry.domain.messages import Problem
from services.registry.domain.names import NameDeclaration
from services.registry.domain.text import current_language


def material_problems(
    item: CatalogueItem, details: EnterpriseDetails, materials: Mapping[str, Material]
) -> list[Problem]:
    """Required materials that are missing, and signatures still missing on attached ones."""
    language = current_language()
    problems: list[Problem] = []
    for requirement in item.materials:
        title = requirement.title.in_(language)
        path = f"materials[{requirement.material_type}]"
        material = materials.get(requirement.material_type)
        if material is None:
            if requirement.mandatory:
                problems.append(Problem(path, "material_missing", {"title": title}))
            continue
        for signer in material.missing_signers(requirement, details):
            problems.append(Problem(f"{path}.signatures", "material_unsigned", {"title": title, "signer": signer.name}))
    return problems


def materials_verified(item: CatalogueItem, details: EnterpriseDetails, materials: Mapping[str, Material]) -> bool:
    return not material_problems(item, details, materials)


def name_problems(item: CatalogueItem, name: NameDeclaration | None, approved: bool) -> list[Problem]:
    if item.name_check_required and (name is None or not approved):
        return [Problem("name", "name_required")]
    return []
