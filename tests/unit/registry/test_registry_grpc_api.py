"""The gRPC edge: status codes, google.rpc details in the caller's language, protobuf mapping."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.common.v1 import common_pb2
from baylink.registry.v1 import application_pb2 as app_pb
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from tests.unit.registry.fakes import ALICE_CERT


def enterprise(capital_minor_units: int = 100_000_00) -> app_pb.EnterpriseDetails:
    capital = common_pb2.Money(currency="CNY", minor_units=capital_minor_units)
    return app_pb.EnterpriseDetails(
        registered_capital=capital,
        address="佛山市南海区桂城街道",
        investors=[
            app_pb.Investor(
                kind=app_pb.INVESTOR_KIND_NATURAL_PERSON,
                name="陳大文",
                jurisdiction=common_pb2.JURISDICTION_HK,
                reference="pseud-alice",
                subscribed_capital=capital,
                certificate_sha256=ALICE_CERT,
            )
        ],
        legal_representative_name="陳大文",
        legal_representative_ref="pseud-alice",
        legal_representative_certificate_sha256=ALICE_CERT,
    )


def details_of(error: grpc.aio.AioRpcError) -> error_details_pb2.BadRequest:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return bad
    raise AssertionError("no BadRequest detail")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-HK", "必須是正數金額"), ("zh-Hans", "必须是正数金额"), ("en-GB", "must be a positive amount")],
)
async def test_a_bad_capital_is_invalid_argument_with_a_field_violation_in_the_callers_language(
    stub: rs_grpc.RegistryServiceStub, language: str, expected: str
) -> None:
    request = rs.DraftApplicationRequest(
        request_id="r1", catalogue_item_id="440605-HKMO-CO-EST", applicant_ref="pseud-alice", enterprise=enterprise(0)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DraftApplication(request, metadata=(("accept-language", language),))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = details_of(raised.value).field_violations
    assert [(v.field, v.description) for v in violations] == [
        ("enterprise.registered_capital.minor_units", expected),
        ("enterprise.investors[0].subscribed_capital.minor_units", expected),
    ]


async def test_an_unknown_catalogue_item_is_invalid_argument(stub: rs_grpc.RegistryServiceStub) -> None:
    request = rs.DraftApplicationRequest(
        request_id="r1", catalogue_item_id="999999-X", applicant_ref="pseud-alice", enterprise=enterprise()
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DraftApplication(request)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(raised.value).field_violations[0].field == "catalogue_item_id"


async def test_a_draft_comes_back_as_protobuf_and_an_early_review_is_failed_precondition(
    stub: rs_grpc.RegistryServiceStub,
) -> None:
    request = rs.DraftApplicationRequest(
        request_id="r2", catalogue_item_id="440605-HKMO-CO-EST", applicant_ref="pseud-alice", enterprise=enterprise()
    )
    app = (await stub.DraftApplication(request)).application
    assert app.state == app_pb.APPLICATION_STATE_DRAFT and app.version == 1
    assert app.fee.amount.minor_units == 300_00 and app.enterprise.investors[0].certificate_sha256 == ALICE_CERT

    named = await stub.DeclareName(
        rs.DeclareNameRequest(
            application_id=app.application_id,
            name=app_pb.NameDeclaration(trade_name="湾联", industry="贸易", organisational_form="有限公司"),
        )
    )
    assert named.check.outcome == app_pb.NAME_CHECK_OUTCOME_APPROVED
    assert named.application.name.full_name == "佛山市南海区湾联贸易有限公司"

    review = rs.StartReviewRequest(application_id=app.application_id, reviewer_id="o", authority_code="440605")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.StartReview(review, metadata=(("accept-language", "zh-Hant"),))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "DRAFT" in (raised.value.details() or "") and "開始審查" in (raised.value.details() or "")

    other = rs.StartReviewRequest(application_id=app.application_id, reviewer_id="o", authority_code="440300")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.StartReview(other)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_catalogue_pages_through_each_item_once_and_an_unknown_item_is_not_found(
    stub: rs_grpc.RegistryServiceStub,
) -> None:
    first = await stub.ListCatalogueItems(rs.ListCatalogueItemsRequest(page_size=5))
    second = await stub.ListCatalogueItems(rs.ListCatalogueItemsRequest(page_size=5, page_token=first.next_page_token))
    third = await stub.ListCatalogueItems(rs.ListCatalogueItemsRequest(page_size=5, page_token=second.next_page_token))
    codes = [i.item_id for page in (first, second, third) for i in page.items]
    assert len(codes) == len(set(codes)) == 12 and third.next_page_token == ""
    item = (await stub.GetCatalogueItem(rs.GetCatalogueItemRequest(item_id="440605-HKMO-CO-EST"))).item
    assert item.legal_basis and item.procedure_steps and item.time_limit_working_days == 3
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetCatalogueItem(rs.GetCatalogueItemRequest(item_id="nope"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_listing_by_authority_pages_through_every_application(stub: rs_grpc.RegistryServiceStub) -> None:
    for n in range(7):
        await stub.DraftApplication(
            rs.DraftApplicationRequest(
                request_id=f"p{n}", catalogue_item_id="440605-HKMO-CO-EST", applicant_ref="a", enterprise=enterprise()
            )
        )
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListApplications(
            rs.ListApplicationsRequest(
                authority_code="440605", states=[app_pb.APPLICATION_STATE_DRAFT], page_size=3, page_token=token
            )
        )
        seen += [a.application_id for a in page.applications]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7
    none = await stub.ListApplications(rs.ListApplicationsRequest(authority_code="440300"))
    assert list(none.applications) == []
