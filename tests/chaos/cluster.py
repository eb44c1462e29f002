"""The chaos suite's handle on ``deploy/cluster.sh``: bring it up (unless it runs), kill and start
processes, stop and start its PostgreSQL, and on the three-node Kafka cluster name and kill brokers.

Everything goes through the scripts an operator would use; nothing here starts a service itself.
The environment a replica starts with (``CHAOS_ENV``) opens the limits a steady load meets at once
(per-person payment corridors, per-kiosk request rates); it is passed on every ``up`` and ``start``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import InternalTransportSettings, KafkaSettings

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "cluster.sh"
KAFKA_CLUSTER = ROOT / "deploy" / "kafka" / "cluster.sh"
PG = ROOT / "deploy" / "postgres" / "pg.sh"
LOCAL = ROOT / ".local"
BAYLINK = ROOT / ".venv" / "bin" / "baylink"

SERVICES = ("identity", "registry", "payments", "gateway")
KIOSK_BASE, PARTNER_BASE = 18440, 20440
GRPC_BASE = {"identity": 21100, "registry": 21200, "payments": 21300, "gateway": 21400}
OPEN_CORRIDOR = {"daily": "100000000", "yearly": "1000000000", "max_per_day": 100000, "max_per_bucket": 100000}
CHAOS_ENV = {
    "BAYLINK_PAYMENTS_CORRIDOR_LIMITS": json.dumps(
        {pair: OPEN_CORRIDOR for pair in ("HKD>CNY", "MOP>CNY", "CNY>HKD", "CNY>MOP")}
    ),
    "BAYLINK_GATEWAY_KIOSK_GUARD": json.dumps({"rate_per_second": 1000, "burst": 100000, "distinct_subjects": 100000}),
    "BAYLINK_GATEWAY_PARTNER_GUARD": json.dumps(
        {"rate_per_second": 1000, "burst": 100000, "distinct_subjects": 100000}
    ),
}


@dataclass
class Cluster:
    kafka_mode: str = field(default_factory=lambda: kafka_mode())
    replicas: int = 2
    # As deploy/cluster.sh reads them: a second cluster beside a running one has another state
    # directory and every service port shifted.
    home: Path = field(default_factory=lambda: ROOT / os.environ.get("BAYLINK_CLUSTER_HOME", ".local/cluster"))
    offset: int = field(default_factory=lambda: int(os.environ.get("BAYLINK_CLUSTER_PORT_OFFSET", "0")))

    # -- the script

    def env(self) -> dict[str, str]:
        # The cluster's internal gRPC is mutual TLS: the test suite's plaintext switch stays out of it.
        inherited = {k: v for k, v in os.environ.items() if k != "BAYLINK_INSECURE_INTERNAL"}
        # This checkout's code, for the services and the `baylink` CLI alike (the CLI's entry script
        # would import whichever checkout the virtualenv was installed from).
        return {**inherited, **CHAOS_ENV, "BAYLINK_CLUSTER_KAFKA": self.kafka_mode, "PYTHONPATH": str(ROOT)}

    def run(self, *args: str, timeout: float = 240, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", str(CLUSTER), *args], cwd=ROOT, env=self.env(), capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(
                f"deploy/cluster.sh {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
            )
        return done

    def status(self) -> dict[str, bool]:
        lines = self.run("status", check=False).stdout.splitlines()
        return {n: s.strip().startswith("up") for n, _, s in (line.partition(":") for line in lines) if "-" in n}

    def all_up(self) -> bool:
        status = self.status()
        return all(status.get(name) for name in self.processes())

    def up(self) -> None:
        self.run("up", timeout=600)

    def processes(self) -> list[str]:
        return [f"{s}-{n}" for s in (*SERVICES, "gateway-flows") for n in range(1, self.replicas + 1)]

    def heal(self) -> None:
        """Bring back whatever is down (a replica, PostgreSQL, the test PKI's responder) with
        ``deploy/cluster.sh up``, which starts only what is not running; then restart replicas that
        run without the chaos environment (a cluster brought up by hand meets the payment limits)."""
        lines = self.run("status", check=False).stdout.splitlines()
        if any(": down" in line or line.startswith("postgres down") for line in lines):
            self.up()
        status = self.status()
        for name in self.processes():
            if status.get(name) and not self._has_chaos_env(name):
                self.stop(name)
                self.start(name)

    def _has_chaos_env(self, name: str) -> bool:
        wanted = [k for k in CHAOS_ENV if k.split("_")[1].lower() == name.rsplit("-", 1)[0]]
        if not wanted:
            return True
        try:
            environ = Path(f"/proc/{self.pid(name)}/environ").read_bytes().split(b"\0")
        except OSError:
            return False
        present = {entry.split(b"=", 1)[0].decode() for entry in environ if b"=" in entry}
        return all(k in present for k in wanted)

    def down(self) -> None:
        self.run("down", timeout=300, check=False)

    def kill(self, name: str) -> float:
        """kill -9 one process; the moment it died."""
        self.run("kill", name)
        return time.monotonic()

    def start(self, name: str) -> None:
        self.run("start", name, timeout=180)

    def stop(self, name: str) -> None:
        self.run("stop", name, timeout=120)

    def pid(self, name: str) -> int:
        return int((self.home / "run" / f"{name}.pid").read_text())

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    # -- PostgreSQL (the cluster's own, durable)

    def pg_env(self) -> dict[str, str]:
        port = os.environ.get("BAYLINK_CLUSTER_PG_PORT", "25433")
        return {**self.env(), "BAYLINK_PG_HOME": str(self.home / "pg"), "BAYLINK_PG_PORT": port,
                "BAYLINK_PG_DURABLE": "1"}  # fmt: skip

    def pg(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", str(PG), *args], cwd=ROOT, env=self.pg_env(), capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg.sh {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}")
        return done.stdout.strip()

    def database_url(self, name: str) -> str:
        return self.pg("url", name)

    # -- addresses and credentials

    def kiosk_urls(self) -> list[str]:
        return [f"https://127.0.0.1:{KIOSK_BASE + self.offset + n}" for n in range(1, self.replicas + 1)]

    def partner_targets(self) -> list[str]:
        return [f"127.0.0.1:{PARTNER_BASE + self.offset + n}" for n in range(1, self.replicas + 1)]

    def target(self, service: str) -> str:
        base = GRPC_BASE[service] + self.offset
        return "ipv4:" + ",".join(f"127.0.0.1:{base + n}" for n in range(1, self.replicas + 1))

    @property
    def pki_dir(self) -> Path:
        return LOCAL / "pki"

    def internal(self) -> InternalTransportSettings:
        # By alias: the field is read from BAYLINK_INSECURE_INTERNAL, which the test suite sets to 1.
        return InternalTransportSettings(BAYLINK_INSECURE_INTERNAL=False, pki_dir=LOCAL / "pki" / "internal")

    # -- Kafka

    def kafka_env(self, principal: str = "admin") -> dict[str, str]:
        if self.kafka_mode == "dev":
            return {"BAYLINK_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "BAYLINK_KAFKA_REPLICATION_FACTOR": "1"}
        out = subprocess.run(
            ["bash", str(KAFKA_CLUSTER), "client-env", principal], cwd=ROOT, capture_output=True, text=True,
            timeout=60, check=True,
        ).stdout  # fmt: skip
        return dict(word.split("=", 1) for word in out.split() if "=" in word)

    def kafka_settings(self, principal: str = "admin") -> KafkaSettings:
        with patched_env(self.kafka_env(principal)):
            return KafkaSettings()

    async def leaders(self) -> list[tuple[str, int, int, str]]:
        """(topic, partition, leader node id, ISR) per partition of every topic, from the cluster's
        metadata (what ``deploy/kafka/cluster.sh leaders`` prints, without starting a JVM under load)."""
        admin = new_admin(self.kafka_settings())
        await admin.start()
        try:
            names = sorted(n for n in await admin.list_topics() if not n.startswith("__"))
            described = await admin.describe_topics(names)
        finally:
            await close_quietly(admin)
        return [
            (t["topic"], p["partition"], p["leader"], ",".join(str(n) for n in p["isr"]))
            for t in described
            for p in t["partitions"]
        ]

    def kafka_node(self, action: str, node: int) -> None:
        subprocess.run(["bash", str(KAFKA_CLUSTER), action, str(node)], cwd=ROOT, capture_output=True, text=True,
                       timeout=180, check=True)  # fmt: skip


@contextmanager
def patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def kafka_mode() -> str:
    """BAYLINK_CLUSTER_KAFKA if set; else the three-node cluster where this checkout has it, else the dev broker."""
    return os.environ.get("BAYLINK_CLUSTER_KAFKA") or ("cluster" if KAFKA_CLUSTER.exists() else "dev")


def kafka_cluster_available() -> str:
    """Why the broker-kill scenario cannot run here, or "" when it can."""
    if not KAFKA_CLUSTER.exists():
        return "deploy/kafka/cluster.sh is absent: the three-node Kafka cluster is not part of this checkout"
    if kafka_mode() != "cluster":
        return "BAYLINK_CLUSTER_KAFKA=dev: the cluster runs on the single dev broker, no leader to take over"
    return ""
