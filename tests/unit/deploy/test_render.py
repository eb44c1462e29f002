"""Manifests generated from deploy/kafka/topics.toml: a KafkaTopic per topic, a KafkaUser with the
declared ACLs per [[principal]], each valid against the vendored Strimzi schemas; bad principals are
refused with the entry named; deploy-check's pending list cannot go stale."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from baylink.runtime.topics import load_declaration
from devtools.deploycheck import check, render
from devtools.deploycheck.schemas import Validator
from tests.unit.deploy.conftest import REPO, edit

TOPICS = """
[[topic]]
name = "baylink.registry.v1"
partitions = 6
retention_ms = 2_592_000_000
cleanup_policy = "delete"

[[topic]]
name = "baylink.payments.v1"
partitions = 6
retention_ms = 2_592_000_000

[[topic]]
name = "baylink.dlq.v1"
partitions = 3
retention_ms = 7_776_000_000
"""

PAYMENTS = """
[[principal]]
name = "payments"
produce = ["baylink.payments.v1", "baylink.dlq.v1"]
consume = ["baylink.registry.v1"]
groups = ["baylink-payments"]
describe_groups = ["registry.", "baylink-gateway-flows"]
internal_prefix = ""
"""

FLOWS = """
[[principal]]
name = "gateway-flows"
produce = ["baylink.dlq.v1"]
consume = ["baylink.registry.v1", "baylink.payments.v1"]
groups = ["baylink-gateway-flows"]
internal_prefix = "baylink-gateway-flows-"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(text)
    return path


def documents(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_each_principal_becomes_a_scram_user_with_exactly_its_acls(tmp_path: Path) -> None:
    topics_file = write(tmp_path, TOPICS + PAYMENTS + FLOWS)
    files = render.rendered(REPO, topics_file)
    users = {u["metadata"]["name"]: u for u in documents(files[Path("deploy/k8s/base/kafka/users.yaml")])}
    assert sorted(users) == ["baylink-gateway-flows", "baylink-payments"]
    payments = users["baylink-payments"]
    assert payments["metadata"]["labels"]["strimzi.io/cluster"] == "baylink-kafka"
    assert payments["spec"]["authentication"] == {"type": "scram-sha-512"}
    acls = [
        (a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"], a["operations"])
        for a in payments["spec"]["authorization"]["acls"]
    ]
    assert sorted(acls) == [
        ("group", "baylink-gateway-flows", "prefix", ["Describe"]),  # describe_groups: no Read
        ("group", "baylink-payments", "prefix", ["Read"]),
        ("group", "registry.", "prefix", ["Describe"]),
        ("topic", "baylink.dlq.v1", "literal", ["Describe", "Write"]),
        ("topic", "baylink.payments.v1", "literal", ["Describe", "Write"]),
        ("topic", "baylink.registry.v1", "literal", ["Describe", "Read"]),
    ]
    flows_acls = users["baylink-gateway-flows"]["spec"]["authorization"]["acls"]
    internal = {"resource": {"type": "topic", "name": "baylink-gateway-flows-", "patternType": "prefix"},
                "operations": ["All"], "host": "*"}  # fmt: skip
    assert internal in flows_acls
    validator = Validator(REPO / "deploy/k8s/crd-schemas")
    for user in users.values():
        assert validator.errors(user) == []


def test_each_topic_becomes_a_kafka_topic_on_three_replicas(tmp_path: Path) -> None:
    topics_file = write(tmp_path, TOPICS)
    topics = documents(render.rendered(REPO, topics_file)[Path("deploy/k8s/base/kafka/topics.yaml")])
    assert [t["spec"]["topicName"] for t in topics] == [t.name for t in load_declaration(topics_file)]
    dlq = topics[-1]["spec"]
    assert dlq["partitions"] == 3 and dlq["replicas"] == 3
    assert dlq["config"] == {"retention.ms": "7776000000", "cleanup.policy": "delete", "min.insync.replicas": "2"}
    validator = Validator(REPO / "deploy/k8s/crd-schemas")
    assert all(validator.errors(t) == [] for t in topics)


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ('name = "payments"\nproduce = ["baylink.payments.v1"]\nread = ["x"]', "unknown keys ['read']"),
        ('name = "payments"\nconsume = ["baylink.identity.v1"]', "consume names topics that are not declared"),
        ('name = "payments"\ngroups = "baylink-payments"', "groups must be a list of non-empty strings"),
        ('name = "gateway"\ndescribe_groups = [""]', "describe_groups must be a list of non-empty strings"),
        ('produce = ["baylink.dlq.v1"]', "name must be lower-case letters"),
    ],
)
def test_a_bad_principal_is_refused_naming_it(tmp_path: Path, principal: str, message: str) -> None:
    topics_file = write(tmp_path, TOPICS + "\n[[principal]]\n" + principal + "\n")
    with pytest.raises(ValueError, match="principal #1") as caught:
        render.rendered(REPO, topics_file)
    assert message in str(caught.value)


def test_a_principal_declared_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="declared twice"):
        render.rendered(REPO, write(tmp_path, TOPICS + PAYMENTS + PAYMENTS))


def test_principals_become_users_that_deploy_check_counts(tree: Path, kustomize: str) -> None:
    """What merging ACL declarations does: render adds a KafkaUser per principal, and its Secret
    then counts as made by Strimzi."""
    topics_file = tree / "deploy/kafka/topics.toml"
    text = topics_file.read_text()
    topics_file.write_text(text[: text.find("[[principal]]")] if "[[principal]]" in text else text)
    render.render(tree)
    topics_file.write_text(
        topics_file.read_text() + '\n[[principal]]\nname = "auditor"\nconsume = ["baylink.dlq.v1"]\n'
    )
    assert Path("deploy/k8s/base/kafka/users.yaml") in render.render(tree)
    objects = check.kustomize_build(kustomize, tree / "deploy/k8s/base")
    assert "baylink-auditor" in check.made_by_operators(objects)


def test_a_pending_entry_that_is_provided_fails_until_it_is_deleted(tree: Path, kustomize: str) -> None:
    """supplied.yaml's pending list cannot go stale: a Secret an operator now makes from the
    manifests, or a setting a process now reads, fails the check."""
    supplied_file = tree / "deploy/k8s/supplied.yaml"
    supplied = yaml.safe_load(supplied_file.read_text())
    pending = supplied.setdefault("pending", {}) or {}
    supplied["pending"] = pending
    pending.setdefault("secrets", {})["baylink-kafka-cluster-ca-cert"] = {"keys": ["ca.crt"]}
    pending.setdefault("settings", {})["BAYLINK_PAYMENTS_ANNOUNCE"] = "read since the start"
    supplied_file.write_text(yaml.safe_dump(supplied))
    base = [tree / "deploy/k8s/base"]
    found = check.run(tree, kustomize, only=base).problems
    assert (
        "deploy/k8s/base deploy/k8s/supplied.yaml: pending Secret baylink-kafka-cluster-ca-cert is now made from the "
        "manifests: delete it from 'pending'"
    ) in found
    assert (
        "deploy/k8s/base deploy/k8s/supplied.yaml: pending setting BAYLINK_PAYMENTS_ANNOUNCE is now read: delete it "
        "from 'pending'"
    ) in found
    del pending["secrets"]["baylink-kafka-cluster-ca-cert"], pending["settings"]["BAYLINK_PAYMENTS_ANNOUNCE"]
    supplied_file.write_text(yaml.safe_dump(supplied))
    found = check.run(tree, kustomize, only=base).problems
    assert not any("cluster-ca-cert" in p or "BAYLINK_PAYMENTS_ANNOUNCE" in p for p in found), found


def test_render_is_idempotent_on_the_committed_tree(tree: Path) -> None:
    assert render.render(tree) == []
    edit(tree / "services/registry/data/names.toml", "", "# a comment\n")
    assert render.render(tree) == [Path("deploy/k8s/base/config/registry-data.yaml")]
