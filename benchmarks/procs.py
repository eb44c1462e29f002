"""What the benchmarks read about processes on this machine: CPU seconds of a process tree, the load,
the machine's speed.

Every benchmark shares the 2 cores with its own client, the broker and whatever else runs, so each
reports the CPU its parts used and the load average around its run. The load does not tell
everything: the same pure-Python loop has taken from 260 to 495 ms of CPU on the reference machine
within one afternoon with nothing else running, and every figure moved with it, so the goal
benchmarks print that loop's time before and after their runs (``reference_loop_ms``).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Iterator
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


REFERENCE_LOOP = 3_000_000  # multiply-adds, as the loop of docs/performance.md ("The afternoon")


def reference_loop_ms(iterations: int = REFERENCE_LOOP, runs: int = 3) -> float:
    """CPU milliseconds of ``s += i * i`` for ``iterations`` values of ``i`` in pure Python, the
    median of ``runs``: how fast this machine is right now, beside a benchmark's figures. Here the
    loop's names are a function's locals; the same loop at a module's top level (where the earlier
    figures of docs/performance.md ran it) takes about twice as long."""
    times = []
    for _ in range(runs):
        started, total = time.process_time(), 0
        for i in range(iterations):
            total += i * i
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def machine_speed() -> Iterator[None]:
    """Around a benchmark's runs: print the reference loop's time before and after them."""
    before = reference_loop_ms()
    yield
    print(
        f"machine speed: the reference loop ({REFERENCE_LOOP:,} multiply-adds in Python) took {before:.0f} ms "
        f"of CPU before the runs, {reference_loop_ms():.0f} ms after"
    )
