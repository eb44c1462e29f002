"""Load a sanctions list in the UN Security Council consolidated list XML format.

The layout is ``CONSOLIDATED_LIST`` (attribute ``dateGenerated``) with
``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``; each has a
``REFERENCE_NUMBER``, name parts ``FIRST_NAME``, ``SECOND_NAME``, ``THIRD_NAME``,
``FOURTH_NAME``, an optional ``NAME_ORIGINAL_SCRIPT`` and aliases
(``INDIVIDUAL_ALIAS`` / ``ENTITY_ALIAS`` with ``QUALITY`` and ``ALIAS_NAME``).
Aliases of quality "Low" are left out, as screening practice advises (they are
too weak to act on alone). A list that does not parse, or holds no party, is
refused as a whole: screening against half a list would pass people it should stop.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from services.payments.domain.screening import ListedParty, SanctionsList

NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


class SanctionsListError(ValueError):
    """The file is not a usable consolidated list."""


def load_sanctions_list(path: Path) -> SanctionsList:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SanctionsListError(f"cannot read sanctions list {path}: {exc}") from exc
    return parse_sanctions_list(root, str(path))


def parse_sanctions_list(root: ET.Element, source: str) -> SanctionsList:
    if _local(root.tag) != "CONSOLIDATED_LIST":
        raise SanctionsListError(f"{source}: root element is {root.tag}, not CONSOLIDATED_LIST")
    parties: list[ListedParty] = []
    for group, item, alias_tag in (
        ("INDIVIDUALS", "INDIVIDUAL", "INDIVIDUAL_ALIAS"),
        ("ENTITIES", "ENTITY", "ENTITY_ALIAS"),
    ):
        for container in _children(root, group):
            for element in _children(container, item):
                parties.append(_party(element, alias_tag, source))
    if not parties:
        raise SanctionsListError(f"{source}: no individuals or entities")
    return SanctionsList(source=source, generated=root.get("dateGenerated", ""), parties=tuple(parties))


def _party(element: ET.Element, alias_tag: str, source: str) -> ListedParty:
    reference = _text(element, "REFERENCE_NUMBER")
    if not reference:
        raise SanctionsListError(f"{source}: a listed party has no REFERENCE_NUMBER")
    names: list[str] = []
    primary = " ".join(part for part in (_text(element, p) for p in NAME_PARTS) if part)
    if primary:
        names.append(primary)
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original:
        names.append(original)
    for alias in _children(element, alias_tag):
        if _text(alias, "QUALITY").casefold() == "low":
            continue
        name = _text(alias, "ALIAS_NAME")
        if name:
            names.append(name)
    if not names:
        raise SanctionsListError(f"{source}: {reference} has no name")
    return ListedParty(reference=reference, names=tuple(dict.fromkeys(names)))


def _children(element: ET.Element, tag: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == tag]


def _text(element: ET.Element, tag: str) -> str:
    for child in element:
        if _local(child.tag) == tag:
            return " ".join((child.text or "").split())
    return ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
