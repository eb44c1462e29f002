from datetime import UTC, datetime, timedelta

import pytest

from baylink.i18n import LocalText
from services.identity.domain.errors import InvalidInput
from services.identity.domain.trustlist import (
    Jurisdiction,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    anchors,
    every_language,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NAME = LocalText(zh_hant="測試", zh_hans="测试", en="Test")


def service(*history: tuple[ServiceStatus, datetime], cert: bytes = b"cert") -> TrustService:
    changes = tuple(StatusChange(status, since) for status, since in history)
    return TrustService(NAME, ServiceType.CA_QC, cert, changes, frozenset({"2.16.344.8.2.2008.810.2.1"}))


def test_status_at_a_time_is_the_history_entry_in_force_then() -> None:
    withdrawn_at = T0 + timedelta(days=30)
    s = service((ServiceStatus.GRANTED, T0), (ServiceStatus.WITHDRAWN, withdrawn_at))
    assert s.status_at(T0 - timedelta(seconds=1)) is None
    assert s.status_at(T0) is ServiceStatus.GRANTED
    assert s.status_at(withdrawn_at - timedelta(seconds=1)) is ServiceStatus.GRANTED
    assert s.status_at(withdrawn_at) is ServiceStatus.WITHDRAWN
    assert s.status_at(withdrawn_at + timedelta(days=900)) is ServiceStatus.WITHDRAWN


def test_a_service_can_be_granted_again_after_withdrawal() -> None:
    s = service(
        (ServiceStatus.GRANTED, T0),
        (ServiceStatus.WITHDRAWN, T0 + timedelta(days=1)),
        (ServiceStatus.GRANTED, T0 + timedelta(days=2)),
    )
    assert s.status_at(T0 + timedelta(days=3)) is ServiceStatus.GRANTED


def test_status_history_out_of_order_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        service((ServiceStatus.WITHDRAWN, T0 + timedelta(days=1)), (ServiceStatus.GRANTED, T0))
    assert err.value.field == "status_history"


def test_empty_status_history_is_refused() -> None:
    with pytest.raises(InvalidInput):
        TrustService(NAME, ServiceType.CA_QC, b"c", (), frozenset())


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        StatusChange(ServiceStatus.GRANTED, datetime(2025, 1, 1))
    assert err.value.reason == "naive_datetime"
    with pytest.raises(InvalidInput):
        service((ServiceStatus.GRANTED, T0)).status_at(datetime(2025, 1, 1))


def test_names_need_all_three_languages() -> None:
    with pytest.raises(InvalidInput):
        every_language(LocalText(zh_hant="測試", zh_hans="", en="Test"))


def test_list_with_next_update_before_issue_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        TrustList(Jurisdiction.HK, 1, T0, T0, NAME, ())
    assert err.value.field == "next_update"


def test_list_listing_one_certificate_twice_is_refused() -> None:
    twice = (service((ServiceStatus.GRANTED, T0)), service((ServiceStatus.GRANTED, T0)))
    with pytest.raises(InvalidInput):
        TrustList(Jurisdiction.HK, 1, T0, T0 + timedelta(days=1), NAME, twice)


def test_list_is_stale_from_its_next_update() -> None:
    trust_list = TrustList(Jurisdiction.MO, 1, T0, T0 + timedelta(days=180), NAME, ())
    assert not trust_list.is_stale(T0 + timedelta(days=179))
    assert trust_list.is_stale(T0 + timedelta(days=180))


def test_anchors_include_withdrawn_services_with_their_jurisdiction() -> None:
    withdrawn = service((ServiceStatus.GRANTED, T0), (ServiceStatus.WITHDRAWN, T0 + timedelta(1)), cert=b"old")
    hk = TrustList(
        Jurisdiction.HK,
        3,
        T0,
        T0 + timedelta(days=1),
        NAME,
        (service((ServiceStatus.GRANTED, T0)), withdrawn),
    )
    result = anchors([hk])
    assert [a.jurisdiction for a in result] == [Jurisdiction.HK, Jurisdiction.HK]
    assert result[1].service is withdrawn and result[1].list_sequence_number == 3


def test_service_lookup_is_by_certificate_fingerprint() -> None:
    s = service((ServiceStatus.GRANTED, T0), cert=b"the-der")
    trust_list = TrustList(Jurisdiction.GD, 1, T0, T0 + timedelta(days=1), NAME, (s,))
    assert trust_list.service_for(b"the-der") is s
    assert trust_list.service_for(b"other") is None
