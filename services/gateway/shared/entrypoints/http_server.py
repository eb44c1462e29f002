"""The gateway's HTTP listeners (kiosk, console): uvicorn inside the gateway's own event loop."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import uvicorn


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the host owns SIGTERM and SIGINT, so uvicorn must not take them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A bound, listening, non-blocking TCP socket, made before serving so a taken port fails the start.

    IPPROTO_TCP is named explicitly: asyncio sets TCP_NODELAY on accepted connections only for sockets
    whose protocol says TCP, and without it small responses wait ~40 ms on delayed ACKs.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock
