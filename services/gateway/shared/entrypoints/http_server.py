"""The gateway's HTTP listeners (kiosk, console): uvicorn inside the gateway's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol


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


PEER_CERTIFICATE = "tls_peer_certificate"  # scope["state"] key: the client certificate's DER, verified by the handshake


class PeerCertificateProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, with the client certificate the TLS handshake verified in each request's
    ``scope["state"][PEER_CERTIFICATE]``. uvicorn copies ``app_state`` into every request's state, so the
    certificate is set per connection, by the server, and no request can put one there."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.app_state = {**self.app_state, PEER_CERTIFICATE: der}
