"""A ``grpc.aio`` server with health, reflection and the service interceptor.

Bind to port 0 and read ``GrpcServer.port`` to run many servers side by side in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from baylink.runtime.grpc.authz import CallerPolicy
from baylink.runtime.grpc.interceptors import ServiceInterceptor, WrappedHandlers
from baylink.runtime.metrics import ServiceMetrics

Register = Callable[[aio.Server], None]
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # documents and certificate chains, with room; larger is refused


class InterceptingServer(aio.Server):  # type: ignore[misc]  # grpc ships no types
    """A ``grpc.aio`` server whose every handler, registered through it, is wrapped by the service
    interceptor at registration (see ServiceInterceptor); everything else is the server's own."""

    def __init__(self, server: aio.Server, interceptor: ServiceInterceptor):
        self._server = server
        self._interceptor = interceptor

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers([WrappedHandlers(h, self._interceptor) for h in generic_rpc_handlers])

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        wrap = self._interceptor.wrap
        self._server.add_registered_method_handlers(
            service_name, {name: wrap(handler, f"/{service_name}/{name}") for name, handler in method_handlers.items()}
        )

    def add_insecure_port(self, address: str) -> int:
        return int(self._server.add_insecure_port(address))

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return int(self._server.add_secure_port(address, server_credentials))

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float | None) -> None:
        await self._server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        return bool(await self._server.wait_for_termination(timeout))


@dataclass
class GrpcServer:
    server: aio.Server
    port: int
    health: health_aio.HealthServicer
    service_names: list[str]

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self.service_names]:  # "" is the whole server
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        """Refuse new calls; give in-flight calls ``grace`` seconds to finish."""
        await self.set_serving(False)
        await self.server.stop(grace)


async def start_grpc_server(
    register: Register,
    service_names: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    metrics: ServiceMetrics | None = None,
    credentials: grpc.ServerCredentials | None = None,
    reuse_port: bool = False,
    callers: CallerPolicy | None = None,
) -> GrpcServer:
    """Start a server with the given servicers registered; health says SERVING once it listens.

    ``reuse_port`` lets the worker processes of one service listen on the same port. ``callers``
    is the allow-list every call is checked against (internal mutual TLS, given by ``ServiceHost``,
    which refuses plaintext unless it was asked for); the partner port checks cities its own way."""
    plain = aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 1 if reuse_port else 0),  # else port 0 must mean a port of our own
        ],
    )
    server = InterceptingServer(plain, ServiceInterceptor(metrics or ServiceMetrics(), callers))
    register(server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = list(service_names)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
    )
    address = f"{host}:{port}"
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    grpc_server = GrpcServer(server, bound, health, names)
    await grpc_server.set_serving(True)
    return grpc_server
