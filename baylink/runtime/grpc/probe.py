"""``python -m baylink.runtime.grpc.probe``: the orchestrator's health probe of a Baylink service.

Kubernetes' built-in gRPC probe speaks plaintext, and a Baylink server accepts only mutual TLS with a
certificate from the internal CA (``tls.py``). So the pod runs this as an exec probe: it calls
``grpc.health.v1.Health/Check`` on the server in its own pod with the pod's own internal certificate
(``BAYLINK_INTERNAL_*``, as the service itself reads them) and checks the server's certificate for
the service's name. Health is open to any caller that completed the handshake (``authz.py``).

    python -m baylink.runtime.grpc.probe --identity payments --port 50053          # readiness
    python -m baylink.runtime.grpc.probe --identity payments --port 50053 --live   # liveness

Readiness passes only on SERVING. Liveness passes on any health answer: a server draining for a
shutdown says NOT_SERVING and must not be killed for it. Exit codes: 0 passed, 1 failed (printed
why), 2 the probe itself is misconfigured (its credentials cannot be read).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from baylink import errors
from baylink.runtime.grpc.client import blocking_internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.settings import InternalTransportSettings

PASSED, FAILED, MISCONFIGURED = 0, 1, 2


@dataclass(frozen=True)
class ProbeResult:
    passed: bool
    detail: str


def check(
    port: int,
    transport: InternalTransport,
    server: str,
    *,
    host: str = "127.0.0.1",
    service: str = "",
    timeout: float = 2.0,
    live: bool = False,
) -> ProbeResult:
    """One health check of ``server`` (its identity, e.g. ``payments``) at ``host:port``.

    ``service`` "" is the whole server. ``live``: any answer passes, else only SERVING."""
    channel = blocking_internal_channel(f"{host}:{port}", transport, server)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.RpcError as exc:
        code = exc.code()
        return ProbeResult(False, f"{host}:{port}: {code.name if code else 'UNKNOWN'}: {exc.details()}")
    finally:
        channel.close()
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    passed = live or answer.status == health_pb2.HealthCheckResponse.SERVING
    return ProbeResult(passed, f"{host}:{port}: {status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baylink.runtime.grpc.probe", description=__doc__.split("\n")[0])
    parser.add_argument("--identity", required=True, help="the service's identity: its certificate and server name")
    parser.add_argument("--port", type=int, required=True, help="the service's gRPC port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--service", default="", help="a gRPC service name; empty: the whole server")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds for the call")
    parser.add_argument("--live", action="store_true", help="liveness: any health answer passes")
    args = parser.parse_args(argv)
    try:
        transport = InternalTransport.from_settings(InternalTransportSettings(), args.identity)
    except errors.FailedPrecondition as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return MISCONFIGURED
    result = check(
        args.port, transport, args.identity, host=args.host, service=args.service, timeout=args.timeout, live=args.live
    )
    print(
        f"probe {'passed' if result.passed else 'failed'}: {result.detail}",
        file=sys.stdout if result.passed else sys.stderr,
    )
    return PASSED if result.passed else FAILED


if __name__ == "__main__":
    sys.exit(main())
