"""Manifests generated from deploy/kafka/topics.toml: a KafkaTopic per topic, a KafkaUser with the
declared ACLs per [[principal]], each valid against the vendored Strimzi schemas; bad principals are
refused with the entry named; and once principals are declared, deploy-check asks for the pending
Secrets to be dropped from deploy/k8s/supplied.yaml."""

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
internal_prefix = ""
"""

FLOWS = """
[[principal]]
name = "gateway-flows"
produce = ["baylink.dlq.v1"]
consume = ["baylink.registry.v1", "baylink.payments.v1"]
groups = ["baylink-gateway-flows"]
internal_prefix = "baylink-gateway-flows"
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
    assert acls == [
        ("topic", "baylink.payments.v1", "literal", ["Write", "Describe"]),
        ("topic", "baylink.dlq.v1", "literal", ["Write", "Describe"]),
        ("topic", "baylink.registry.v1", "literal", ["Read", "Describe"]),
        ("group", "baylink-payments", "prefix", ["Read"]),
    ]
    flows_acls = users["baylink-gateway-flows"]["spec"]["authorization"]["acls"]
    assert flows_acls[-1]["resource"] == {"type": "topic", "name": "baylink-gateway-flows", "patternType": "prefix"}
    assert flows_acls[-1]["operations"] == ["All"]
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
        ('name = "payments"\nconsume = ["baylink.identity.v1"]', "consume names topics topics.toml does not declare"),
        ('name = "payments"\ngroups = "baylink-payments"', "groups must be a list of non-empty strings"),
        ('produce = ["baylink.dlq.v1"]', "name must be a non-empty string"),
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


def test_declared_principals_replace_the_pending_secrets(tree: Path, kustomize: str) -> None:
    """What merging the ACL declarations does: render adds the users; deploy-check then asks for the
    pending Secrets to go, and passes once they are gone."""
    principals = "".join(
        f'\n[[principal]]\nname = "{p}"\nproduce = ["baylink.dlq.v1"]\ngroups = ["baylink-{p}"]\n'
        for p in ("identity", "registry", "payments", "gateway", "flows")
    )
    topics_file = tree / "deploy/kafka/topics.toml"
    topics_file.write_text(topics_file.read_text() + principals)
    assert Path("deploy/k8s/base/kafka/users.yaml") in render.render(tree)
    base = [tree / "deploy/k8s/base"]
    found = check.run(tree, kustomize, only=base).problems
    assert len(found) == 5, found
    assert all("is now made from the manifests: delete it from 'pending'" in p for p in found)
    supplied = tree / "deploy/k8s/supplied.yaml"
    text = supplied.read_text()
    start, end = text.index("  secrets:\n    # KafkaUser"), text.index("  settings:\n")
    supplied.write_text(text[:start] + text[end:])
    assert check.run(tree, kustomize, only=base).problems == []


def test_render_is_idempotent_on_the_committed_tree(tree: Path) -> None:
    assert render.render(tree) == []
    edit(tree / "services/registry/data/names.toml", "", "# a comment\n")
    assert render.render(tree) == [Path("deploy/k8s/base/config/registry-data.yaml")]
