"""Free loopback ports for tests and benchmarks, never one that a local deployment binds."""

from __future__ import annotations

import socket

# Ports a local deployment binds (deploy/services.sh, deploy/cluster.sh, the dev broker, PostgreSQL):
# the kernel's ephemeral range may hand them out, and a test holding one would stop `make up`.
FIXED_PORTS = ((8398, 8399), (9092, 9092), (18090, 18099), (18440, 18449), (19391, 19593), (20440, 20449),
               (21100, 21499), (25433, 25433), (55432, 55432))  # fmt: skip


def free_port() -> int:
    """A free loopback port, none of ``FIXED_PORTS`` (at most 50 tries)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not any(low <= port <= high for low, high in FIXED_PORTS):
            return port
    raise RuntimeError("no free loopback port outside the fixed ones in 50 tries")
