"""Every gRPC method of the four services, fuzzed with random requests built from its descriptor and
sent over real channels to the real servers (the gateway's over the partner port's mutual TLS).

Oracle: no call ends UNKNOWN, INTERNAL or DATA_LOSS; every unary call answers within its deadline
(DEADLINE_EXCEEDED is a failure); each server still reports SERVING afterwards. Server streams
(partner ``StreamEvents``) never end by design, so for them only the status matters.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given

from baylink.gateway.v1 import partner_city_service_pb2
from baylink.identity.v1 import identity_service_pb2
from baylink.payments.v1 import payments_service_pb2
from baylink.registry.v1 import registry_service_pb2
from tests.fuzz.budget import TALLY, fuzz_settings, fuzz_timeout_seconds
from tests.fuzz.conftest import Channels
from tests.fuzz.protobuf_strategies import messages
from tests.fuzz.stack_thread import StackThread

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.xdist_group("fuzz"),
    pytest.mark.timeout(fuzz_timeout_seconds()),
    # The stack's own thread (Kafka clients' jittered back-off) moves the global random state while
    # hypothesis draws; that is not the strategy using `random`.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SERVICES: dict[str, ServiceDescriptor] = {
    "identity": identity_service_pb2.DESCRIPTOR.services_by_name["IdentityService"],
    "registry": registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"],
    "payments": payments_service_pb2.DESCRIPTOR.services_by_name["PaymentsService"],
    "gateway": partner_city_service_pb2.DESCRIPTOR.services_by_name["PartnerCityService"],
}
UNARY_DEADLINE_SECONDS = 30.0
STREAM_DEADLINE_SECONDS = 0.5  # a stream stays open; the fuzzer looks at how it starts, then lets go
STREAM_MESSAGES = 3
FAILURES = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}


@dataclass(frozen=True)
class Door:
    name: str
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    def __str__(self) -> str:
        return f"{self.name}.{self.method.name}"


DOORS = [Door(name, method) for name, service in SERVICES.items() for method in service.methods]


def _call(channel: grpc.Channel, door: Door, request: Message) -> grpc.StatusCode:
    """Send one request; the status it ends with (OK for an answered unary call or a stream still open)."""
    serialize = GetMessageClass(door.method.input_type).SerializeToString
    try:
        if door.method.server_streaming:
            stream = channel.unary_stream(door.path, request_serializer=serialize)(
                request, timeout=STREAM_DEADLINE_SECONDS
            )
            for count, _ in enumerate(stream, 1):
                if count >= STREAM_MESSAGES:
                    stream.cancel()
                    break
            return grpc.StatusCode.OK
        channel.unary_unary(door.path, request_serializer=serialize)(request, timeout=UNARY_DEADLINE_SECONDS)
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        code = error.code()
        if door.method.server_streaming and code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
            return grpc.StatusCode.OK
        return code  # type: ignore[no-any-return]


def _serving(channel: grpc.Channel) -> bool:
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.mark.parametrize("door", DOORS, ids=str)
def test_no_random_request_makes_the_method_fail_internally(
    door: Door, fuzz_stack: StackThread, grpc_channel: Channels
) -> None:
    channel = grpc_channel(door.name)
    findings: list[tuple[grpc.StatusCode, Message]] = []

    @fuzz_settings(len(SERVICES[door.name].methods))
    @given(request=messages(door.method.input_type))
    def send(request: Message) -> None:
        code = _call(channel, door, request)
        TALLY.example(f"{door.name} (gRPC)")
        if code in FAILURES or (code == grpc.StatusCode.DEADLINE_EXCEEDED and not door.method.server_streaming):
            TALLY.failure(f"{door.name} (gRPC)")
            findings.append((code, request))

    send()
    assert fuzz_stack.alive() and _serving(channel), f"{door.name} stopped serving while {door} was fuzzed"
    assert not findings, "\n".join(f"{code.name}: {str(request)[:800]}" for code, request in findings[:5])
