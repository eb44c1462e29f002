"""Mutual TLS between Baylink services, made from ``InternalTransportSettings``.

A server asks every caller for a client certificate chaining to the internal CA; a client checks
the server's certificate against the same CA and the server's name (the service it means to call,
e.g. ``payments``; the address is a loopback or cluster address and says nothing about who answers).
Plaintext only when ``BAYLINK_INSECURE_INTERNAL=1`` is set, with a warning at start; without it and
without certificates the process refuses to start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import grpc

from baylink import errors
from baylink.runtime.settings import InternalTransportSettings

log = logging.getLogger("baylink.grpc.tls")
OPERATOR = "operator"


@dataclass(frozen=True)
class InternalTransport:
    """This process's identity and credentials; ``ca`` None means plaintext (explicitly asked for)."""

    identity: str
    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None

    @property
    def secure(self) -> bool:
        return self.ca is not None

    @classmethod
    def from_settings(cls, settings: InternalTransportSettings, identity: str) -> InternalTransport:
        if settings.insecure:
            log.warning("BAYLINK_INSECURE_INTERNAL=1: internal gRPC of %s is plaintext and unauthenticated", identity)
            return cls(identity)
        ca = settings.ca_file or settings.pki_dir / "ca.crt"
        cert = settings.cert_file or settings.pki_dir / f"{identity}.crt"
        key = settings.key_file or settings.pki_dir / f"{identity}.key"
        return cls(identity, _read(ca), _read(cert), _read(key))

    def server_credentials(self) -> grpc.ServerCredentials | None:
        if self.ca is None or self.cert is None or self.key is None:
            return None
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials | None:
        if self.ca is None:
            return None
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )


def operator_transport() -> InternalTransport:
    """The operators' CLIs: the ``operator`` certificate (the only one payments' admin RPCs accept)."""
    return InternalTransport.from_settings(InternalTransportSettings(), OPERATOR)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise errors.FailedPrecondition(
            f"internal TLS credential {path} cannot be read ({exc.strerror}); run `baylink pki init`, "
            "or set BAYLINK_INSECURE_INTERNAL=1 for plaintext on a trusted host",
            reason="INTERNAL_CREDENTIALS_MISSING",
        ) from exc
