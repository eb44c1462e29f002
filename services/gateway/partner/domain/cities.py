"""Partner cities, what each may do (scopes), and which authorities' applications it acts on.

A partner city is named by a 6-digit administrative division code (GB/T 2260): the nine
Greater Bay Area cities of Guangdong, plus the district of Nanhai (440605), which has a
review system of its own.

Authorities: a city acts on applications of its own division code, and of the districts it
is explicitly the parent of. Foshan (440600) therefore covers Nanhai (440605), as the
registry's catalogue says (Nanhai's ``city_code`` is 440600); Nanhai covers only itself.
Parenthood is an explicit table, never inferred from code prefixes, so adding a district
cannot silently widen a city's reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from baylink import errors

PARTNER_CITIES: Mapping[str, str] = {
    "440100": "Guangzhou",
    "440300": "Shenzhen",
    "440400": "Zhuhai",
    "440600": "Foshan",
    "440605": "Nanhai",
    "440700": "Jiangmen",
    "441200": "Zhaoqing",
    "441300": "Huizhou",
    "441900": "Dongguan",
    "442000": "Zhongshan",
}

# Parent city → the districts whose applications it also acts on.
DISTRICTS: Mapping[str, frozenset[str]] = {"440600": frozenset({"440605"})}


class Scope(StrEnum):
    """What a city may do; each RPC requires exactly one (and reading material content one more)."""

    READ_APPLICATIONS = "applications:read"
    DECIDE_APPLICATIONS = "applications:decide"
    READ_SUBJECTS = "subjects:read"
    READ_EVENTS = "events:read"
    READ_MATERIALS = "materials:read"  # GetApplication with include_material_content


ALL_SCOPES = frozenset(Scope)


def is_partner_city(code: str) -> bool:
    return code in PARTNER_CITIES


def check_partner_city(code: str) -> str:
    """The code itself, or InvalidInput naming the known ones."""
    if not is_partner_city(code):
        known = ", ".join(f"{c} {n}" for c, n in sorted(PARTNER_CITIES.items()))
        raise errors.InvalidInput.field("city", f"{code!r} is not a partner city; one of: {known}")
    return code


def actor_of(city: str) -> str:
    """How a city appears as an actor in the audit log."""
    return f"city:{city}"


@dataclass(frozen=True)
class CityGrants:
    """Scopes per city; a city not listed gets ``default``. Cities outside the partner table get nothing."""

    default: frozenset[Scope] = ALL_SCOPES
    per_city: Mapping[str, frozenset[Scope]] = field(default_factory=dict)
    districts: Mapping[str, frozenset[str]] = field(default_factory=lambda: DISTRICTS)

    @classmethod
    def from_config(cls, per_city: Mapping[str, Iterable[str]], default: Iterable[str] | None = None) -> CityGrants:
        """From plain strings (config): ``{"440300": ["applications:read"]}``; unknown scopes or cities fail."""
        for city in per_city:
            check_partner_city(city)
        return cls(
            default=ALL_SCOPES if default is None else frozenset(Scope(s) for s in default),
            per_city={city: frozenset(Scope(s) for s in scopes) for city, scopes in per_city.items()},
        )

    def scopes_of(self, city: str) -> frozenset[Scope]:
        if not is_partner_city(city):
            return frozenset()
        return self.per_city.get(city, self.default)

    def authorities_of(self, city: str) -> frozenset[str]:
        """Division codes whose applications ``city`` acts on: its own and its districts'."""
        if not is_partner_city(city):
            return frozenset()
        return frozenset({city}) | self.districts.get(city, frozenset())

    def check_scope(self, city: str, scope: Scope) -> None:
        if scope not in self.scopes_of(city):
            raise errors.PermissionDenied(
                f"city {city} lacks the scope {scope.value}",
                reason="SCOPE_NOT_GRANTED",
                metadata={"city": city, "scope": scope.value},
            )

    def check_authority(self, city: str, authority_code: str) -> None:
        """PermissionDenied unless ``city`` acts for ``authority_code``."""
        if authority_code not in self.authorities_of(city):
            raise errors.PermissionDenied(
                f"city {city} does not act for authority {authority_code}",
                reason="AUTHORITY_NOT_SERVED",
                metadata={"city": city, "authority_code": authority_code},
            )
