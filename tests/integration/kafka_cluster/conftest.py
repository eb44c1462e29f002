"""The three-node cluster of deploy/kafka/cluster.sh, as a running thing the tests use.

`BAYLINK_TEST_KAFKA_CLUSTER=1 bash scripts/test.sh` (or selecting the marker,
`bash scripts/test.sh -m kafka_cluster`) starts it and stops it afterwards; the tests never
start it themselves, except a node they killed. Every test module here marks itself
``kafka_cluster``; scripts/test.sh runs them in one process (-n 0) after the rest: a test that
kills a node must not pull it away under another.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from baylink.runtime.acls import apply_acls, declared_principals
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from baylink.runtime.topics import apply_topics, declared

CLUSTER_SH = REPO_ROOT / "deploy" / "kafka" / "cluster.sh"


def cluster_sh(*args: str, timeout: float = 180) -> str:
    done = subprocess.run(["bash", str(CLUSTER_SH), *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"cluster.sh {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


@dataclass(frozen=True)
class Cluster:
    def settings(self, principal: str, **overrides: object) -> KafkaSettings:
        """The client settings `cluster.sh client-env PRINCIPAL` gives a process."""
        fields: dict[str, object] = {}
        for line in cluster_sh("client-env", principal).splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            fields[name.removeprefix("BAYLINK_KAFKA_").lower()] = value
        return KafkaSettings(**{**fields, **overrides})  # type: ignore[arg-type]

    def kill(self, node: int) -> None:
        cluster_sh("kill", str(node))

    def start_node(self, node: int) -> None:
        cluster_sh("start-node", str(node))

    def partitions(self, topic: str) -> dict[int, tuple[int, list[int]]]:
        """Partition -> (leader node id, ISR node ids) of ``topic``, from `cluster.sh leaders`."""
        found = {}
        for line in cluster_sh("leaders", "--topic", topic).splitlines():
            name, partition, leader, isr = line.split(" ")
            if name == topic:
                found[int(partition)] = (int(leader), [int(n) for n in isr.split(",") if n.isdigit()])
        return found


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        ops = cluster.settings("ops", replication_factor=3)
    except RuntimeError as exc:
        pytest.fail(f"no Kafka cluster ({exc}); run `BAYLINK_TEST_KAFKA_CLUSTER=1 bash scripts/test.sh`")

    async def prepare() -> None:
        admin = new_admin(ops)
        try:
            await asyncio.wait_for(admin.start(), 30)
            await apply_topics(admin, declared(ops), 3)
            await apply_acls(admin, declared_principals(ops))
        finally:
            await close_quietly(admin)

    try:
        asyncio.run(prepare())
    except Exception as exc:  # noqa: BLE001 - any connection failure becomes one clear message
        pytest.fail(f"Kafka cluster at {ops.bootstrap_servers} not usable ({exc!r}); deploy/kafka/cluster.sh start")
    yield cluster
