"""Wires the operator console into the gateway: its own listener, the shared tail, DLQ actions.

``attach_console`` is called by ``bootstrap``: the console's socket is bound in the host's
``on_start`` (a taken port fails the start), and the tail and the HTTP server run as host
background loops, ended by the host's shutdown.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from baylink.ops.dlq import DeadLetterIndex
from baylink.ops.reader import TopicReader
from baylink.runtime.db import Database
from baylink.runtime.topics import declared
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.config import GatewaySettings
from services.gateway.console.adapters.dlq import ReplayProducer, SqlDlqResolutions
from services.gateway.console.adapters.users import load_users
from services.gateway.console.entrypoints.api import ConsoleDeps, create_console_app
from services.gateway.console.service_layer.alerts import AlertBook
from services.gateway.console.service_layer.auth import ConsoleAuth
from services.gateway.console.service_layer.dlq import ConsoleDlq
from services.gateway.console.service_layer.hub import ConsoleHub
from services.gateway.shared.entrypoints.http_server import EmbeddedServer, listening_socket

if TYPE_CHECKING:
    from services.gateway.bootstrap import Gateway


def console_topics(settings: GatewaySettings) -> list[str]:
    """The topics the console shows: configured, else the declared ones plus the DLQ topic."""
    if settings.console_topics:
        return list(dict.fromkeys(settings.console_topics))
    names = [spec.name for spec in declared(settings.kafka)]
    return list(dict.fromkeys([*names, settings.kafka.dlq_topic]))


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


def build_console(settings: GatewaySettings, audit: AuditLog, db: Database) -> Console:
    """Every part of the console, from settings; the users file is read (and checked) here."""
    users = load_users(settings.console_users_file) if settings.console_users_file else {}
    topics = console_topics(settings)
    reader = TopicReader(settings.kafka, topics, client_id="gateway-console")
    alerts = AlertBook(settings.kafka.dlq_topic, threshold=settings.console_dlq_growth_alert,
                       window_seconds=settings.console_dlq_growth_window_seconds)  # fmt: skip
    hub = ConsoleHub(reader, alerts, buffer=settings.console_stream_buffer)
    replayer = ReplayProducer(settings.kafka)
    dlq = ConsoleDlq(DeadLetterIndex(settings.kafka, settings.kafka.dlq_topic), SqlDlqResolutions(db), replayer, audit)
    deps = ConsoleDeps(
        auth=ConsoleAuth(users, settings.console_session_ttl_seconds),
        hub=hub,
        reader=reader,
        dlq=dlq,
        alerts=alerts,
        kafka=settings.kafka,
        topics=topics,
        cookie_secure=settings.console_cookie_secure,
        heartbeat_seconds=settings.console_heartbeat_seconds,
        flow_lookback=timedelta(hours=settings.console_flow_lookback_hours),
    )
    return Console(settings, create_console_app(deps), hub, replayer)


def attach_console(gateway: Gateway) -> Console:
    """Build the console and hook it into the gateway's host (bind on start, serve and tail as background)."""
    console = build_console(gateway.settings, gateway.parts.audit, gateway.host.db)
    host = gateway.host
    previous = host.on_start

    async def on_start() -> None:
        if previous is not None:
            await previous()
        console.bind()

    host.on_start = on_start
    host.background += [console.tail, console.serve]
    return console
