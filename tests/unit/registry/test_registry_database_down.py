"""The registry with its PostgreSQL out of reach: commands and reads are UNAVAILABLE (retry), not INTERNAL."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import grpc
import pytest

from baylink import errors
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.db import Database
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.grpc.errors import from_rpc_error
from baylink.runtime.grpc.server import start_grpc_server
from services.registry.bootstrap import bootstrap
from services.registry.config import RegistrySettings
from services.registry.entrypoints.grpc_api import SERVICE_NAME, RegistryServicer
from tests.unit.registry.fakes import FakeIdentity, FakeTimeStamper
from tests.unit.registry.test_registry_grpc_api import enterprise


@pytest.fixture
async def stub_without_database() -> AsyncIterator[rs_grpc.RegistryServiceStub]:
    with socket.socket() as probe:  # a loopback port where nothing listens: every connect is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+asyncpg://nobody:none@127.0.0.1:{port}/registry"
    settings = RegistrySettings(grpc_port=0, metrics_port=0, database_url=url)
    db = Database(url)
    service = bootstrap(settings, identity=FakeIdentity(), db=db, timestamps=FakeTimeStamper())
    server = await start_grpc_server(RegistryServicer(service.registry).register, [SERVICE_NAME])
    channel = insecure_channel(f"127.0.0.1:{server.port}")
    yield rs_grpc.RegistryServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await db.dispose()


async def test_a_command_and_a_read_with_the_database_out_of_reach_are_unavailable(
    stub_without_database: rs_grpc.RegistryServiceStub,
) -> None:
    draft = rs.DraftApplicationRequest(
        request_id="r1", catalogue_item_id="440605-HKMO-CO-EST", applicant_ref="pseud-alice", enterprise=enterprise()
    )
    calls = [
        stub_without_database.DraftApplication(draft),  # a command: a direct transaction
        stub_without_database.GetApplication(rs.GetApplicationRequest(application_id="a-1")),  # a direct read
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        back = from_rpc_error(raised.value)
        assert isinstance(back, errors.Unavailable) and back.reason == "DATABASE_UNAVAILABLE"
