"""Kafka topics from one declaration (deploy/kafka/topics.toml), applied by our tooling."""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from baylink.runtime.settings import KafkaSettings

CLEANUP_POLICIES = {"delete", "compact", "compact,delete"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    cleanup_policy: str = "delete"

    def configs(self, replication_factor: int) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            "min.insync.replicas": str(max(1, replication_factor - 1)),
        }


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


def load_declaration(path: Path) -> list[TopicSpec]:
    """Read and check the declaration; a bad file fails here, naming the entry."""
    data = tomllib.loads(path.read_text())
    specs: list[TopicSpec] = []
    for i, entry in enumerate(data.get("topic", [])):
        where = f"{path}: topic #{i + 1}"
        unknown = set(entry) - {"name", "partitions", "retention_ms", "cleanup_policy"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        spec = TopicSpec(
            entry["name"],
            int(entry["partitions"]),
            int(entry["retention_ms"]),
            entry.get("cleanup_policy", "delete"),
        )
        if spec.partitions < 1 or spec.retention_ms < -1 or spec.cleanup_policy not in CLEANUP_POLICIES:
            raise ValueError(f"{where}: invalid values in {spec}")
        specs.append(spec)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a topic is declared twice")
    return specs


async def apply_topics(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication_factor: int) -> list[str]:
    """Create missing topics, raise partition counts, set configs. Returns what changed."""
    changes: list[str] = []
    existing = {t.name: t for t in await describe_topics(admin, [s.name for s in specs], missing_ok=True)}
    for spec in specs:
        state = existing.get(spec.name)
        wanted = spec.configs(replication_factor)
        if state is None:
            response = await admin.create_topics(
                [NewTopic(spec.name, spec.partitions, replication_factor, topic_configs=wanted)]
            )
            raced = [e for e in response.topic_errors if e[1] == TopicAlreadyExistsError.errno]
            _raise_errors([e for e in response.topic_errors if e not in raced], f"create {spec.name}")
            if not raced:
                changes.append(f"created {spec.name} ({spec.partitions} partitions, replication {replication_factor})")
                continue
            # It exists after all: made by someone else meanwhile, or just made and not yet in the
            # broker's metadata when described. Compare with what it is, like any existing topic.
            state = await _visible(admin, spec.name)
        if spec.partitions > state.partitions:
            response = await admin.create_partitions({spec.name: NewPartitions(spec.partitions)})
            _raise_errors(response.topic_errors, f"partitions of {spec.name}")
            changes.append(f"{spec.name}: partitions {state.partitions} -> {spec.partitions}")
        elif spec.partitions < state.partitions:
            changes.append(
                f"{spec.name}: has {state.partitions} partitions, declared {spec.partitions} "
                "(Kafka cannot lower it; left as is)"
            )
        drift = {k: v for k, v in wanted.items() if state.configs.get(k) != v}
        if drift:
            for response in await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=wanted)]
            ):
                _raise_errors([(r[3], r[0], r[1]) for r in response.resources], f"configs of {spec.name}")
            changes.append(f"{spec.name}: set {drift}")
    return changes


async def _visible(admin: AIOKafkaAdminClient, name: str, seconds: float = 10.0) -> TopicState:
    """A topic the broker says exists, once its metadata shows it (KRaft propagates asynchronously)."""
    async with asyncio.timeout(seconds):
        while not (found := await describe_topics(admin, [name], missing_ok=True)):
            await asyncio.sleep(0.1)
    return found[0]


def _raise_errors(errors: list[tuple[object, ...]], what: str) -> None:
    """The admin client returns per-resource (name, code, message) errors instead of raising them."""
    for entry in errors:
        code = int(entry[1])  # type: ignore[call-overload]
        if code:
            message = entry[2] if len(entry) > 2 else ""
            raise for_code(code)(f"{what}: {message}")


async def describe_topics(
    admin: AIOKafkaAdminClient, names: list[str] | None = None, *, missing_ok: bool = False
) -> list[TopicState]:
    """Partitions, replication and the configs we manage, as the broker reports them."""
    if names is None:
        names = sorted(n for n in await admin.list_topics() if not n.startswith("__"))
    if not names:
        return []
    states = []
    described = await admin.describe_topics(names)
    present = []
    for topic in described:
        error = for_code(topic["error_code"]) if topic["error_code"] else None
        if error is not None:
            if missing_ok and topic["error_code"] == 3:  # UNKNOWN_TOPIC_OR_PARTITION
                continue
            raise error(f"describe {topic['topic']}")
        present.append(topic)
    if not present:
        return []
    configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t["topic"]) for t in present])
    values: dict[str, dict[str, str]] = {}
    for response in configs:
        for resource in response.resources:
            _err, _msg, _type, name, entries = resource[:5]
            values[name] = {e[0]: e[1] for e in entries}
    for topic in present:
        partitions = topic["partitions"]
        replication = len(partitions[0]["replicas"]) if partitions else 0
        managed = {
            k: values.get(topic["topic"], {}).get(k, "")
            for k in ("retention.ms", "cleanup.policy", "min.insync.replicas")
        }
        states.append(TopicState(topic["topic"], len(partitions), replication, managed))
    return sorted(states, key=lambda s: s.name)


def declared(settings: KafkaSettings) -> list[TopicSpec]:
    return load_declaration(settings.topics_file)
