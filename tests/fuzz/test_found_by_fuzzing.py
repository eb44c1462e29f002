"""What the fuzzers found, kept as plain tests: each request once made a server answer INTERNAL
(an unhandled ValueError); each must now be refused as INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.common.v1.common_pb2 import Money
from baylink.gateway.v1 import partner_city_service_pb2 as partner
from baylink.gateway.v1 import partner_city_service_pb2_grpc as partner_grpc
from baylink.identity.v1 import identity_service_pb2 as identity
from baylink.identity.v1 import identity_service_pb2_grpc as identity_grpc
from baylink.identity.v1 import validation_pb2
from baylink.payments.v1 import payments_service_pb2 as payments
from baylink.payments.v1 import payments_service_pb2_grpc as payments_grpc
from baylink.registry.v1 import registry_service_pb2 as registry
from baylink.registry.v1 import registry_service_pb2_grpc as registry_grpc
from tests.fuzz.conftest import Channels

pytestmark = [pytest.mark.kafka, pytest.mark.xdist_group("fuzz")]

FAR_FUTURE = Timestamp(seconds=4398046511103)  # year 141338: past what a datetime holds
BAD_NANOS = Timestamp(nanos=2147483647)


def _refused(call: grpc.UnaryUnaryMultiCallable, request: Message, field: str) -> None:
    """INVALID_ARGUMENT with a BadRequest detail naming ``field``."""
    with pytest.raises(grpc.RpcError) as refused:
        call(request, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
    assert status is not None, refused.value.details()
    named = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            named += [v.field for v in bad.field_violations]
    assert field in named, (named, refused.value.details())


@pytest.mark.parametrize("moment", [FAR_FUTURE, BAD_NANOS], ids=["seconds", "nanos"])
def test_identity_refuses_a_validation_time_no_calendar_holds(grpc_channel: Channels, moment: Timestamp) -> None:
    stub = identity_grpc.IdentityServiceStub(grpc_channel("identity"))
    request = identity.ValidateCertificateRequest(certificate_der=b"\x8b\x11", validation_time=moment)
    _refused(stub.ValidateCertificate, request, "validation_time")


@pytest.mark.parametrize("seconds", [2**62, -1], ids=["huge", "negative"])
def test_identity_refuses_a_max_revocation_age_no_duration_holds(grpc_channel: Channels, seconds: int) -> None:
    stub = identity_grpc.IdentityServiceStub(grpc_channel("identity"))
    policy = validation_pb2.ValidationPolicy(max_revocation_age=Duration(seconds=seconds))
    request = identity.ValidateCertificateRequest(certificate_der=b"\x8b\x11", policy=policy)
    _refused(stub.ValidateCertificate, request, "policy.max_revocation_age")


def test_payments_refuses_a_transfer_expiry_no_calendar_holds(grpc_channel: Channels) -> None:
    stub = payments_grpc.PaymentsServiceStub(grpc_channel("payments"))
    request = payments.PrepareTransferRequest(
        transfer_id="t-fuzz-1",
        send_amount=Money(currency="HKD", minor_units=10_000),
        receive_amount=Money(currency="CNY", minor_units=9_200),
        expires_at=FAR_FUTURE,
    )
    _refused(stub.PrepareTransfer, request, "expires_at")


def test_registry_refuses_an_application_state_it_does_not_know(grpc_channel: Channels) -> None:
    stub = registry_grpc.RegistryServiceStub(grpc_channel("registry"))
    _refused(stub.ListApplications, registry.ListApplicationsRequest(states=[221]), "states")


def test_payments_refuses_a_transfer_state_it_does_not_know(grpc_channel: Channels) -> None:
    stub = payments_grpc.PaymentsServiceStub(grpc_channel("payments"))
    _refused(stub.ListTransfers, payments.ListTransfersRequest(states=[582]), "states")


def test_payments_refuses_a_settlement_window_state_it_does_not_know(grpc_channel: Channels) -> None:
    stub = payments_grpc.PaymentsServiceStub(grpc_channel("payments"))
    _refused(stub.ListSettlementWindows, payments.ListSettlementWindowsRequest(states=[-751474465]), "states")


def test_a_partner_city_is_refused_a_decision_the_contract_does_not_name(grpc_channel: Channels) -> None:
    stub = partner_grpc.PartnerCityServiceStub(grpc_channel("gateway"))
    request = partner.DecideApplicationRequest(request_id="C", application_id="else", decision=192)
    _refused(stub.DecideApplication, request, "decision")
