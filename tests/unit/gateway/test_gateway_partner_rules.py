"""Which authorities a partner city acts for, and which scopes it holds."""

from __future__ import annotations

import pytest

from baylink import errors
from services.gateway.partner.domain.cities import PARTNER_CITIES, CityGrants, Scope


@pytest.mark.parametrize("city", sorted(PARTNER_CITIES))
def test_every_partner_city_acts_for_its_own_authority(city: str) -> None:
    CityGrants().check_authority(city, city)


def test_foshan_acts_for_its_district_nanhai_but_nanhai_not_for_foshan() -> None:
    grants = CityGrants()
    assert grants.authorities_of("440600") == {"440600", "440605"}
    assert grants.authorities_of("440605") == {"440605"}
    with pytest.raises(errors.PermissionDenied):
        grants.check_authority("440605", "440600")


def test_shenzhen_may_not_act_on_a_nanhai_application() -> None:
    with pytest.raises(errors.PermissionDenied) as denied:
        CityGrants().check_authority("440300", "440605")
    assert denied.value.reason == "AUTHORITY_NOT_SERVED"
    assert denied.value.metadata == {"city": "440300", "authority_code": "440605"}


def test_a_code_outside_the_partner_table_gets_no_authority_and_no_scope() -> None:
    grants = CityGrants()
    assert grants.authorities_of("110000") == frozenset()
    assert grants.scopes_of("110000") == frozenset()


def test_scopes_come_from_config_per_city_with_a_default() -> None:
    grants = CityGrants.from_config({"440300": ["applications:read"]})
    grants.check_scope("440300", Scope.READ_APPLICATIONS)
    with pytest.raises(errors.PermissionDenied) as denied:
        grants.check_scope("440300", Scope.DECIDE_APPLICATIONS)
    assert denied.value.reason == "SCOPE_NOT_GRANTED"
    grants.check_scope("440605", Scope.DECIDE_APPLICATIONS)  # not listed: the default, every scope


def test_config_naming_an_unknown_city_or_scope_is_refused() -> None:
    with pytest.raises(errors.InvalidInput):
        CityGrants.from_config({"999999": ["applications:read"]})
    with pytest.raises(ValueError):
        CityGrants.from_config({"440300": ["applications:everything"]})
