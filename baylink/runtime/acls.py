"""Kafka ACLs of Baylink's service principals, declared beside the topics (deploy/kafka/topics.toml).

Each ``[[principal]]`` is one SCRAM user, ``baylink-<name>``::

    produce = [...]        WRITE + DESCRIBE on these topics (literal names, all declared)
    consume = [...]        READ + DESCRIBE on these topics (literal names, all declared)
    groups = [...]         READ on consumer groups whose id starts with each entry
    describe_groups = [...]  DESCRIBE only on consumer groups whose id starts with each entry: the group's
                           state, members and committed offsets, but no joining or committing (that is READ)
    internal_prefix = ""   ALL on topics with this prefix (Faust's changelogs); "" = none

``apply_acls`` makes the cluster hold exactly these ACLs for the declared principals (what is
missing is created, what is no longer declared is deleted); other principals' ACLs are left alone.
aiokafka 0.14 has no ACL admin API (aio-libs/aiokafka#955), so the CreateAcls, DescribeAcls and
DeleteAcls requests go out through its admin client's request path with aiokafka's own protocol
classes (version 1 of each, the oldest Kafka 4 still serves).
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, declared

USER_PREFIX = "baylink-"
PRINCIPAL_KEYS = {"name", "produce", "consume", "groups", "describe_groups", "internal_prefix"}
NAME = re.compile(r"^[a-z][a-z0-9-]*$")

# Kafka's wire codes (org.apache.kafka.common.resource / acl).
RESOURCE_TYPES = {"topic": 2, "group": 3}
PATTERN_TYPES = {"literal": 3, "prefixed": 4}
OPERATIONS = {"ALL": 2, "READ": 3, "WRITE": 4, "CREATE": 5, "DELETE": 6, "ALTER": 7, "DESCRIBE": 8}
ANY, ALLOW = 1, 3
SECURITY_DISABLED = 54  # the broker has no authorizer


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule for any host."""

    principal: str  # "User:baylink-payments"
    resource_type: str  # topic | group
    resource: str
    pattern: str  # literal | prefixed
    operation: str  # READ, WRITE, DESCRIBE, ALL, ...

    def __str__(self) -> str:
        star = "*" if self.pattern == "prefixed" else ""
        return f"{self.principal} {self.operation} {self.resource_type} {self.resource}{star}"


@dataclass(frozen=True)
class PrincipalSpec:
    name: str
    produce: tuple[str, ...] = ()
    consume: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    internal_prefix: str = ""
    describe_groups: tuple[str, ...] = ()

    @property
    def user(self) -> str:
        return USER_PREFIX + self.name

    @property
    def principal(self) -> str:
        return f"User:{self.user}"

    @property
    def acls(self) -> frozenset[Acl]:
        p = self.principal
        rules = {Acl(p, "topic", t, "literal", op) for t in self.produce for op in ("WRITE", "DESCRIBE")}
        rules |= {Acl(p, "topic", t, "literal", op) for t in self.consume for op in ("READ", "DESCRIBE")}
        rules |= {Acl(p, "group", g, "prefixed", "READ") for g in self.groups}
        rules |= {Acl(p, "group", g, "prefixed", "DESCRIBE") for g in self.describe_groups}
        if self.internal_prefix:
            rules.add(Acl(p, "topic", self.internal_prefix, "prefixed", "ALL"))
        return frozenset(rules)


def declared_principals(settings: KafkaSettings) -> list[PrincipalSpec]:
    return load_principals(settings.topics_file, declared(settings))


def load_principals(path: Path, topics: list[TopicSpec]) -> list[PrincipalSpec]:
    """The ``[[principal]]`` entries of the declaration, checked against its topics; a bad entry fails here."""
    data = tomllib.loads(path.read_text())
    declared = {t.name for t in topics}
    specs: list[PrincipalSpec] = []
    for i, entry in enumerate(data.get("principal", [])):
        name = entry.get("name")
        where = f"{path}: principal #{i + 1}" + (f" ({name!r})" if isinstance(name, str) else "")
        unknown = set(entry) - PRINCIPAL_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(PRINCIPAL_KEYS)})")
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"{where}: name must be lower-case letters, digits and '-', got {name!r}")
        keys = ("produce", "consume", "groups", "describe_groups")
        lists = {key: _names(entry.get(key, []), f"{where}: {key}") for key in keys}
        for key in ("produce", "consume"):
            missing = [t for t in lists[key] if t not in declared]
            if missing:
                raise ValueError(
                    f"{where}: {key} names topics that are not declared: {missing} (declared: {sorted(declared)})"
                )
        # READ on a group implies DESCRIBE: a describe-only prefix inside a READ prefix grants nothing more.
        redundant = sorted(d for d in lists["describe_groups"] if any(d.startswith(g) for g in lists["groups"]))
        if redundant:
            raise ValueError(
                f"{where}: describe_groups {redundant} are already covered by groups (READ includes DESCRIBE)"
            )
        prefix = entry.get("internal_prefix", "")
        if not isinstance(prefix, str):
            raise ValueError(f"{where}: internal_prefix must be a string")
        covered = sorted(t for t in declared if prefix and t.startswith(prefix))
        if covered:
            raise ValueError(f"{where}: internal_prefix {prefix!r} would grant ALL on declared topics {covered}")
        specs.append(
            PrincipalSpec(name, lists["produce"], lists["consume"], lists["groups"], prefix, lists["describe_groups"])
        )
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a principal is declared twice")
    return specs


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where} must be a list of non-empty strings")
    if len(set(value)) != len(value):
        raise ValueError(f"{where} names one entry twice")
    return tuple(value)


async def describe_acls(admin: AIOKafkaAdminClient, node_id: int | None = None) -> list[Acl] | None:
    """Every ALLOW ACL on topics and groups as one broker (``node_id``, else any) knows them; None when
    the broker has no authorizer (a dev broker)."""
    request = DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY)  # None: any name, principal, host
    response = (await admin._send_request(request, node_id)).to_object()  # private: no public ACL API (see above)
    if response["error_code"] == SECURITY_DISABLED:
        return None
    if response["error_code"]:
        raise for_code(response["error_code"])(f"describe ACLs: {response['error_message']}")
    types = {v: k for k, v in RESOURCE_TYPES.items()}
    patterns = {v: k for k, v in PATTERN_TYPES.items()}
    operations = {v: k for k, v in OPERATIONS.items()}
    found = []
    for resource in response["resources"]:
        kind, pattern = types.get(resource["resource_type"]), patterns.get(resource["resource_pattern_type"])
        for acl in resource["acls"]:
            operation = operations.get(acl["operation"], str(acl["operation"]))
            if kind and pattern and acl["permission_type"] == ALLOW and acl["host"] == "*":
                found.append(Acl(acl["principal"], kind, resource["resource_name"], pattern, operation))
    return sorted(found)


async def apply_acls(admin: AIOKafkaAdminClient, principals: list[PrincipalSpec]) -> list[str] | None:
    """Create the declared principals' missing ACLs and delete their undeclared ones. Returns what changed,
    or None when the broker has no authorizer (nothing to apply)."""
    current = await describe_acls(admin)
    if current is None:
        return None
    managed = {p.principal for p in principals}
    wanted = {acl for p in principals for acl in p.acls}
    have = {a for a in current if a.principal in managed}
    changes = []
    for acl in sorted(wanted - have):
        await _send_checked(admin, CreateAclsRequest(*_wire(acl)), "creation_responses", f"create ACL {acl}")
        changes.append(f"allowed {acl}")
    for acl in sorted(have - wanted):
        await _send_checked(admin, DeleteAclsRequest(*_wire(acl)), "filter_responses", f"delete ACL {acl}")
        changes.append(f"revoked {acl}")
    if changes:
        await _settled(admin, managed, wanted)
    return changes


async def _settled(admin: AIOKafkaAdminClient, managed: set[str], wanted: set[Acl], seconds: float = 15.0) -> None:
    """Until every broker describes the managed principals' ACLs as applied: the controller commits them and
    each broker's authorizer loads them a moment later (a describe or apply right after could see the old set)."""
    async with asyncio.timeout(seconds):
        for node in sorted(b.nodeId for b in admin._client.cluster.brokers()):
            while {a for a in await describe_acls(admin, node) or [] if a.principal in managed} != wanted:
                await asyncio.sleep(0.1)


def _wire(acl: Acl) -> tuple[int, str, int, str, str, int, int]:
    return (
        RESOURCE_TYPES[acl.resource_type],
        acl.resource,
        PATTERN_TYPES[acl.pattern],
        acl.principal,
        "*",
        OPERATIONS[acl.operation],
        ALLOW,
    )


async def _send_checked(admin: AIOKafkaAdminClient, request: Any, results: str, what: str) -> None:
    response = (await admin._send_request(request)).to_object()  # private: no public ACL API (see above)
    for result in response[results]:
        if result["error_code"]:
            raise for_code(result["error_code"])(f"{what}: {result['error_message']}")
