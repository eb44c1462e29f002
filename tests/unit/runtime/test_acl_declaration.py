from __future__ import annotations

from pathlib import Path

import pytest

from baylink.runtime.acls import Acl, declared_principals, load_principals
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec
from services.gateway.flows.config import FlowSettings
from services.registry.config import RegistrySettings

TOPICS = [TopicSpec("baylink.payments.v1", 6, 1000), TopicSpec("baylink.dlq.v1", 3, 1000)]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(body)
    return path


def test_a_principal_becomes_its_user_and_one_acl_per_operation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[principal]]\nname = "payments"\nproduce = ["baylink.payments.v1"]\nconsume = ["baylink.dlq.v1"]\n'
        'groups = ["baylink-payments"]\ninternal_prefix = "payments-app-"\ndescribe_groups = ["registry."]\n',
    )
    [spec] = load_principals(path, TOPICS)
    assert spec.user == "baylink-payments"
    p = "User:baylink-payments"
    assert spec.acls == {
        Acl(p, "topic", "baylink.payments.v1", "literal", "WRITE"),
        Acl(p, "topic", "baylink.payments.v1", "literal", "DESCRIBE"),
        Acl(p, "topic", "baylink.dlq.v1", "literal", "READ"),
        Acl(p, "topic", "baylink.dlq.v1", "literal", "DESCRIBE"),
        Acl(p, "group", "baylink-payments", "prefixed", "READ"),
        Acl(p, "topic", "payments-app-", "prefixed", "ALL"),
        Acl(p, "group", "registry.", "prefixed", "DESCRIBE"),
    }


def test_optional_keys_default_to_nothing(tmp_path: Path) -> None:
    [spec] = load_principals(write(tmp_path, '[[principal]]\nname = "identity"\n'), TOPICS)
    assert spec.acls == frozenset()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('[[principal]]\nname = "payments"\nproduce = ["baylink.paymnets.v1"]\n',
         r"principal #1 \('payments'\): produce names topics that are not declared: \['baylink.paymnets.v1'\]"),
        ('[[principal]]\nname = "gateway"\nconsume = ["baylink.audit.v1"]\n', "consume names topics that are not"),
        ('[[principal]]\nname = "payments"\nwrite = ["baylink.payments.v1"]\n', r"unknown keys \['write'\]"),
        ('[[principal]]\nname = "Payments"\n', "name must be lower-case"),
        ("[[principal]]\nproduce = []\n", "name must be lower-case"),
        ('[[principal]]\nname = "a"\ngroups = "a-"\n', "groups must be a list of non-empty strings"),
        ('[[principal]]\nname = "a"\ngroups = ["x", "x"]\n', "names one entry twice"),
        ('[[principal]]\nname = "a"\ndescribe_groups = ["registry.", ""]\n',
         "describe_groups must be a list of non-empty strings"),
        ('[[principal]]\nname = "a"\ndescribe_groups = "registry."\n', "describe_groups must be a list"),
        ('[[principal]]\nname = "a"\ngroups = ["a-"]\ndescribe_groups = ["a-fees", "b-"]\n',
         r"describe_groups \['a-fees'\] are already covered by groups"),
        ('[[principal]]\nname = "a"\ninternal_prefix = "baylink."\n', "would grant ALL on declared topics"),
        ('[[principal]]\nname = "a"\n[[principal]]\nname = "a"\n', "declared twice"),
    ],
)  # fmt: skip
def test_a_bad_principal_is_refused_naming_the_entry_and_the_problem(tmp_path: Path, body: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        load_principals(write(tmp_path, body), TOPICS)


def test_the_repository_declares_one_principal_per_service_within_its_topics() -> None:
    specs = {s.name: s for s in declared_principals(KafkaSettings())}
    assert set(specs) == {"identity", "registry", "payments", "gateway", "flows"}
    assert specs["payments"].produce == ("baylink.payments.v1",)
    assert specs["registry"].groups == ("registry.",)  # its fee consumer's group is registry.fees
    # Only the gateway's DLQ replay writes another service's topic.
    for name, spec in specs.items():
        foreign = {t for t in spec.produce if t not in {"baylink.dlq.v1", "baylink.gateway.v1"}} - {
            f"baylink.{name}.v1"
        }
        assert foreign == (set() if name != "gateway" else {"baylink.payments.v1"}), name


def test_the_gateway_may_describe_every_consumer_group_in_the_system_but_join_none() -> None:
    """The console's lag view runs as the gateway: DESCRIBE on each group a service consumes in
    (services/registry/config.py fees_group_id, the flow worker's app id), and READ on no group."""
    specs = {s.name: s for s in declared_principals(KafkaSettings())}
    gateway = specs["gateway"]
    assert gateway.groups == ()
    assert not [a for a in gateway.acls if a.resource_type == "group" and a.operation != "DESCRIBE"]
    consumer_groups = [
        RegistrySettings.model_fields["fees_group_id"].default,
        FlowSettings.model_fields["app_id"].default,
    ]
    for group in consumer_groups:
        assert any(group.startswith(prefix) for prefix in gateway.describe_groups), group
    # Each described group belongs to a principal that reads in it.
    for prefix in gateway.describe_groups:
        assert any(prefix.startswith(g) or g.startswith(prefix) for s in specs.values() for g in s.groups), prefix
