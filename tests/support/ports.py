"""Free loopback ports for tests and benchmarks, never one that a local deployment binds.

A port is picked before the process that will listen on it starts, seconds later. A port from the
kernel's ephemeral range can be taken in between by any outgoing connection (a Kafka client's, a
database pool's), and the server then fails to bind. So ports come from below that range, where
the kernel never picks a connection's local port, at random, each claimed for a while by a file
in a directory shared by every process of the user (test workers, benchmark children) so that two
of them never get the same port in the same window. Where the range leaves no room below it, the
kernel's pick is taken as before.
"""

from __future__ import annotations

import os
import random
import socket
import tempfile
import time
from pathlib import Path

# Ports a local deployment binds (deploy/services.sh, deploy/cluster.sh, the dev broker, PostgreSQL):
# a test holding one would stop `make up`.
FIXED_PORTS = ((8398, 8399), (9092, 9092), (18090, 18099), (18440, 18449), (19391, 19593), (20440, 20449),
               (21100, 21499), (25433, 25433), (55432, 55432))  # fmt: skip
LOWEST = 10_000  # below: well-known and registered ports of other software
CLAIM_SECONDS = 600.0  # a claim outlives any start-up; an older claim's port is free again if it binds
_CLAIMS = Path(tempfile.gettempdir()) / f"baylink-test-ports-{os.getuid()}"


def free_port() -> int:
    """A free loopback port, none of ``FIXED_PORTS`` and none another process was just given."""
    below = _below_ephemeral()
    if below is None:
        return _kernel_pick()
    for _ in range(200):
        port = random.randrange(*below)
        if not _fixed(port) and _claim(port) and _binds(port):
            return port
    raise RuntimeError(f"no free loopback port in {below[0]}..{below[1] - 1} in 200 tries")


def _below_ephemeral() -> tuple[int, int] | None:
    """[LOWEST, the ephemeral range's first port), if that leaves at least 4,096 ports."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (LOWEST, low) if low - LOWEST >= 4096 else None


def _fixed(port: int) -> bool:
    return any(low <= port <= high for low, high in FIXED_PORTS)


def _claim(port: int) -> bool:
    """Mark `port` as given out; False if another process did so less than CLAIM_SECONDS ago."""
    _CLAIMS.mkdir(mode=0o700, exist_ok=True)
    path = _CLAIMS / str(port)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        try:
            if time.time() - path.stat().st_mtime < CLAIM_SECONDS:
                return False
            os.utime(path)  # an old claim: taken over (two takers at once would both bind-check)
            return True
        except FileNotFoundError:
            return False


def _binds(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_pick() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not _fixed(port):
            return port
    raise RuntimeError("no free loopback port outside the fixed ones in 50 tries")
