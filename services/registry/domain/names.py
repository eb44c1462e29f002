"""Enterprise name self-declaration (名称自主申报): the statutory parts of a name and their rules.

A name is administrative division + trade name + industry + organisational form, e.g.
佛山市 + 湾联 + 贸易 + 有限公司. The trade name has at least two Chinese characters; forbidden
words may appear in neither the trade name nor the industry; within one city the same trade name
may not be used twice in the same industry (``NameKey``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.registry.domain.catalogue import CatalogueItem
from services.registry.domain.messages import Problem


@dataclass(frozen=True)
class NameDeclaration:
    full_name: str
    trade_name: str
    industry: str
    organisational_form: str
    english_name: str = ""


@dataclass(frozen=True)
class NameRules:
    forbidden_words: tuple[str, ...]
    industries: tuple[str, ...]
    max_trade_name_chars: int = 10


@dataclass(frozen=True)
class NameKey:
    """What must be unique: one trade name per industry per city."""

    city_code: str
    industry: str
    trade_name: str


def is_chinese(text: str) -> bool:
    """Only CJK unified ideographs (basic block and extension A)."""
    return bool(text) and all("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def check_name(declaration: NameDeclaration, item: CatalogueItem, rules: NameRules) -> list[Problem]:
    problems: list[Problem] = []
    trade, industry, form = (
        declaration.trade_name.strip(),
        declaration.industry.strip(),
        declaration.organisational_form,
    )
    if not trade:
        problems.append(Problem("name.trade_name", "required"))
    elif not is_chinese(trade):
        problems.append(Problem("name.trade_name", "chinese_only"))
    elif len(trade) < 2:
        problems.append(Problem("name.trade_name", "trade_name_short"))
    elif len(trade) > rules.max_trade_name_chars:
        problems.append(Problem("name.trade_name", "trade_name_long", {"max": rules.max_trade_name_chars}))
    if not industry:
        problems.append(Problem("name.industry", "required"))
    elif industry not in rules.industries:
        problems.append(Problem("name.industry", "industry_unknown", {"industry": industry}))
    if form not in item.organisational_forms:
        allowed = "、".join(item.organisational_forms)
        problems.append(Problem("name.organisational_form", "form_not_allowed", {"allowed": allowed}))
    for path, text in (("name.trade_name", trade), ("name.industry", industry)):
        word = next((w for w in rules.forbidden_words if w in text), None)
        if word is not None:
            problems.append(Problem(path, "forbidden_word", {"word": word}))
    if declaration.full_name and not problems:
        problems += _check_full_name(declaration, item)
    return problems


def _check_full_name(declaration: NameDeclaration, item: CatalogueItem) -> list[Problem]:
    divisions = item.authority.name_divisions
    division = next((d for d in sorted(divisions, key=len, reverse=True) if declaration.full_name.startswith(d)), None)
    if division is None:
        return [Problem("name.full_name", "division_missing", {"allowed": "、".join(divisions)})]
    expected = division + declaration.trade_name + declaration.industry + declaration.organisational_form
    return [] if declaration.full_name == expected else [Problem("name.full_name", "full_name_mismatch")]


def complete(declaration: NameDeclaration, item: CatalogueItem) -> NameDeclaration:
    """The declaration with its full name, composed with the authority's first division when absent."""
    if declaration.full_name:
        return declaration
    full = (
        item.authority.name_divisions[0]
        + declaration.trade_name
        + declaration.industry
        + declaration.organisational_form
    )
    return replace(declaration, full_name=full)


def key_of(declaration: NameDeclaration, item: CatalogueItem) -> NameKey:
    return NameKey(item.authority.city_code, declaration.industry, declaration.trade_name)
