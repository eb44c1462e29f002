"""What the benchmarks read about processes on this machine: CPU seconds of a process tree, the load.

Every benchmark shares the 2 cores with its own client, the broker and whatever else runs, so each
reports the CPU its parts used and the load average around its run.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from baylink.runtime.settings import REPO_ROOT


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a process and its live children (the workers
    of a multi-process server); 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        own += sum(cpu_seconds(int(child)) for child in children)
    return own


def broker_pid() -> int | None:
    """The local Kafka broker's pid (deploy/kafka/kafka.sh's pid file), if it runs here."""
    home = Path(os.environ.get("BAYLINK_KAFKA_HOME", REPO_ROOT / ".local" / "kafka"))
    with contextlib.suppress(OSError, ValueError):
        pid = int((home / "kafka.pid").read_text())
        if Path(f"/proc/{pid}").exists():
            return pid
    return None


def postgres_pid() -> int | None:
    """The local PostgreSQL cluster's postmaster pid (deploy/postgres/pg.sh's data directory), if
    it runs here; its live children are the backends serving the benchmark's connections."""
    home = Path(os.environ.get("BAYLINK_PG_HOME", REPO_ROOT / ".local" / "pg"))
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((home / "data" / "postmaster.pid").read_text().split()[0])
        if Path(f"/proc/{pid}").exists():
            return pid
    return None


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"
