"""The operator console's own listener: bound at the gateway's start, served and tailed as host background loops.

``bootstrap`` builds it and hooks it into the host: the socket is bound in the host's ``on_start`` (a
taken port fails the start), and the tail and the HTTP server run until the host's shutdown.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from services.gateway.config import GatewaySettings
from services.gateway.console.adapters.dlq import ReplayProducer
from services.gateway.console.service_layer.hub import ConsoleHub
from services.gateway.shared.entrypoints.http_server import EmbeddedServer, listening_socket


@dataclass
class Console:
    settings: GatewaySettings
    app: FastAPI
    hub: ConsoleHub
    replayer: ReplayProducer
    _socket: socket.socket | None = None
    _server: EmbeddedServer | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        assert self._socket is not None, "bind() first"
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """Where the console's frontend is served."""
        return f"http://{self.settings.console_host}:{self.port}/console/"

    def bind(self) -> None:
        """Bind the listener now, so a taken port fails the gateway's start."""
        s = self.settings
        self._socket = listening_socket(s.console_host, s.console_port, 256)

    async def serve(self) -> None:
        """Serve until cancelled; event streams never end by themselves, so shutdown waits 1 s at most."""
        assert self._socket is not None, "bind() first"
        config = uvicorn.Config(self.app, lifespan="off", log_config=None, access_log=False,
                                timeout_graceful_shutdown=1)  # fmt: skip
        self._server = EmbeddedServer(config)
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            await self.replayer.close()

    async def tail(self) -> None:
        """The one shared tail of the console's topics."""
        await self.hub.run()
