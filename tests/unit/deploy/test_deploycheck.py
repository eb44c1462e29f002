"""`make deploy-check` passes on the committed manifests and fails, naming the object, on each kind
of breakage: a wrong field type, an unknown field (built-in kind and custom resource), a missing
Secret or ConfigMap key, a NetworkPolicy that allows a call the architecture does not have or blocks
one it needs, a selector that selects nothing, a setting no process reads, a stale generated file.
Each breakage is made in a copy of the tree under tmp_path and checked with the real kustomize.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.deploycheck import check
from tests.unit.deploy.conftest import REPO, edit

BASE = Path("deploy/k8s/base")


def problems(tree: Path, kustomize: str, overlay: Path = BASE) -> list[str]:
    return check.run(tree, kustomize, only=[tree / overlay]).problems


def only(found: list[str], *fragments: str) -> str:
    """The one problem containing every fragment (and there is no other problem)."""
    assert len(found) == 1, found
    assert all(f in found[0] for f in fragments), found[0]
    return found[0]


def test_the_committed_manifests_pass(kustomize: str) -> None:
    report = check.run(REPO, kustomize)
    assert report.problems == []
    counts = [n for n in report.notes if " objects (" in n]
    assert [c.split(":")[0] for c in counts] == ["deploy/k8s/base", "deploy/k8s/overlays/production"]
    for note in counts:
        assert "5 Deployment" in note and "4 Cluster" in note and "5 KafkaTopic" in note


def test_the_command_exits_non_zero_and_says_why(tree: Path, kustomize: str) -> None:
    edit(
        tree / BASE / "services/payments.yaml",
        "terminationGracePeriodSeconds: 30",
        "terminationGracePeriodSeconds: soon",
    )
    result = subprocess.run(
        [sys.executable, "-m", "devtools.deploycheck", "check", "--repo", str(tree), "--kustomize", kustomize],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "FAIL deploy/k8s/base Deployment/payments: spec/template/spec/terminationGracePeriodSeconds" in result.stderr
    assert "FAIL deploy/k8s/overlays/production Deployment/payments" in result.stderr


def test_a_wrong_field_type_in_a_builtin_kind_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/identity.yaml", "maxUnavailable: 1", "maxUnavailable: [1]")
    only(problems(tree, kustomize), "PodDisruptionBudget/identity", "maxUnavailable")


def test_an_unknown_field_in_a_builtin_kind_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/registry.yaml", "revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  replica: 4")
    only(problems(tree, kustomize), "Deployment/registry", "replica")


def test_a_wrong_field_type_in_a_custom_resource_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "kafka/cluster.yaml", "replicas: 3", "replicas: three")
    only(problems(tree, kustomize), "KafkaNodePool/dual-role", "spec/replicas", "'three' is not of type 'integer'")


def test_an_unknown_field_in_a_custom_resource_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "postgres/databases.yaml", "  instances: 1", "  instances: 1\n  replicas: 3")
    only(problems(tree, kustomize), "Cluster/identity-db", "'replicas' was unexpected")


def test_a_missing_secret_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/gateway.yaml", "secretName: baylink-gateway-audit-key", "secretName: audit-key")
    only(problems(tree, kustomize), "Deployment/gateway", "Secret audit-key is neither in the manifests")


def test_a_missing_key_of_a_generated_config_map_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/identity.yaml", "key: signers.json", "key: signers.yaml")
    only(problems(tree, kustomize), "Deployment/identity", "ConfigMap identity-trust-lists has no key 'signers.yaml'")


def test_a_backup_of_a_cluster_that_is_not_there_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "postgres/databases.yaml", "cluster:\n    name: payments-db", "cluster:\n    name: payment-db")
    only(problems(tree, kustomize), "ScheduledBackup/payments-db-nightly", "Cluster payment-db, which is not there")


def test_a_network_policy_allowing_a_call_the_architecture_does_not_have_fails(tree: Path, kustomize: str) -> None:
    # registry may call identity; nothing in the architecture lets registry call payments
    policies = tree / BASE / "network-policies.yaml"
    edit(
        policies,
        "          app.kubernetes.io/name: gateway-flows\n    ports:\n    - protocol: TCP\n      port: grpc",
        "          app.kubernetes.io/name: gateway-flows\n    - podSelector:\n        matchLabels:\n"
        "          app.kubernetes.io/name: registry\n    ports:\n    - protocol: TCP\n      port: grpc",
    )
    edit(policies, "      port: 50051\n", "      port: 50051\n  - to:\n    - podSelector: {}\n")
    found = problems(tree, kustomize)
    assert (
        "deploy/k8s/base: NetworkPolicies allow registry -> payments:50053/TCP, a call the architecture does not have"
        in found
    )
    assert all("does not have" in p for p in found), found


def test_a_network_policy_blocking_a_call_the_architecture_needs_fails(tree: Path, kustomize: str) -> None:
    policies = tree / BASE / "network-policies.yaml"
    text = policies.read_text()
    start = text.index("  name: gateway-flows\n")
    policies.write_text(text[:start] + text[start:].replace("      port: 50053", "      port: 50054", 1))
    only(problems(tree, kustomize), "block gateway-flows -> payments:50053/TCP, a call the architecture needs")


def test_identity_reaching_the_internet_on_any_port_fails(tree: Path, kustomize: str) -> None:
    policies = tree / BASE / "network-policies.yaml"
    edit(policies, "    ports:\n    - protocol: TCP\n      port: 80\n    - protocol: TCP\n      port: 443\n", "")
    found = problems(tree, kustomize)
    assert (
        "deploy/k8s/base: NetworkPolicies allow identity -> the internet:22/TCP, a call the architecture does not have"
        in found
    )


def test_a_database_open_to_another_service_fails(tree: Path, kustomize: str) -> None:
    """Both sides opened: payments' database takes any Baylink pod, the gateway may reach any database."""
    policies = tree / BASE / "network-policies.yaml"
    edit(
        policies,
        "          app.kubernetes.io/name: payments\n    ports:\n    - protocol: TCP\n      port: 5432",
        "          app.kubernetes.io/part-of: baylink\n    ports:\n    - protocol: TCP\n      port: 5432",
    )
    edit(policies, "          cnpg.io/cluster: gateway-db\n", "          cnpg.io/podRole: instance\n")
    found = problems(tree, kustomize)
    assert found == [
        "deploy/k8s/base: NetworkPolicies allow gateway -> payments-db:5432/TCP, a call the architecture does not have"
    ]


def test_a_network_policy_selecting_no_pod_fails(tree: Path, kustomize: str) -> None:
    edit(
        tree / BASE / "network-policies.yaml",
        "cnpg.io/cluster: registry-db\n  policyTypes",
        "cnpg.io/cluster: registry\n  policyTypes",
    )
    found = problems(tree, kustomize)
    assert any("NetworkPolicy/registry-db: podSelector selects no pod" in p for p in found), found


def test_a_service_selecting_no_pod_fails(tree: Path, kustomize: str) -> None:
    edit(
        tree / BASE / "services/payments.yaml",
        "  selector:\n    app.kubernetes.io/name: payments",
        "  selector:\n    app.kubernetes.io/name: payment",
    )
    only(problems(tree, kustomize), "Service/payments: selects no pod")


def test_a_variable_no_process_reads_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/payments.yaml", "name: BAYLINK_PAYMENTS_ANNOUNCE", "name: BAYLINK_PAYMENTS_ANOUNCE")
    only(problems(tree, kustomize), "Deployment/payments", "BAYLINK_PAYMENTS_ANOUNCE is not a setting payments reads")


def test_a_target_naming_no_service_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/registry.yaml", "value: dns:///identity:50051", "value: dns:///identities:50051")
    only(problems(tree, kustomize), "Deployment/registry", "names no Service")


def test_a_probe_of_another_port_fails(tree: Path, kustomize: str) -> None:
    edit(
        tree / BASE / "services/identity.yaml",
        "- --port\n            - '50051'\n            - --live",
        "- --port\n            - '50052'\n            - --live",
    )
    only(problems(tree, kustomize), "Deployment/identity", "livenessProbe probes port 50052")


def test_generated_manifests_that_differ_from_topics_toml_fail(tree: Path, kustomize: str) -> None:
    edit(tree / "deploy/kafka/topics.toml", "partitions = 3", "partitions = 4")
    assert [p.split(":")[0] for p in problems(tree, kustomize)] == [
        "deploy/k8s/base/kafka/topics.yaml",
        "deploy/k8s/base/config/kafka-topics.yaml",
    ]


def test_the_production_overlay_is_checked_too(tree: Path, kustomize: str) -> None:
    overlay = tree / "deploy/k8s/overlays/production/kustomization.yaml"
    edit(overlay, "value: 3\n", "value: many\n")
    found = problems(tree, kustomize, Path("deploy/k8s/overlays/production"))
    assert len(found) == 4, found  # one per database
    assert all("Cluster/" in p and "spec/instances: 'many' is not of type 'integer'" in p for p in found)


@pytest.mark.parametrize("broken", ["resources:\n  - ../../base\n", "resources:\n  - ../../base\n  - missing.yaml\n"])
def test_an_overlay_kustomize_cannot_build_fails(tree: Path, kustomize: str, broken: str) -> None:
    overlay = tree / "deploy/k8s/overlays/production/kustomization.yaml"
    edit(
        overlay,
        "resources:\n  - ../../base\n",
        broken.replace("../../base", "../../bass") if "missing" not in broken else broken,
    )
    found = problems(tree, kustomize, Path("deploy/k8s/overlays/production"))
    assert len(found) == 1 and "kustomize build" in found[0], found


def test_the_calls_come_from_the_services_settings() -> None:
    assert check.architecture_calls() == {
        ("registry", "identity"),
        ("gateway", "identity"),
        ("gateway", "registry"),
        ("gateway", "payments"),
        ("gateway-flows", "payments"),
    }


def test_a_deployment_running_another_process_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/registry.yaml", "args:\n        - registry", "args:\n        - identity")
    only(problems(tree, kustomize), "Deployment/registry", "does not run registry")


def test_the_image_entrypoint_runs_every_process_the_manifests_run() -> None:
    script = REPO / "deploy/container/entrypoint.sh"
    syntax = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert syntax.returncode == 0, syntax.stderr
    cases = script.read_text().split("case $process in", 1)[1]
    assert all(process in cases for process in check.PROCESSES)
    unknown = subprocess.run(["sh", str(script), "payment"], capture_output=True, text=True, timeout=30, check=False)
    assert unknown.returncode == 2
    assert "usage: baylink-entrypoint" in unknown.stderr


def test_a_kafka_user_reading_another_users_password_fails(tree: Path, kustomize: str) -> None:
    edit(tree / BASE / "services/payments.yaml", "value: baylink-payments", "value: baylink-registry")
    only(
        problems(tree, kustomize),
        "Deployment/payments",
        "Kafka user 'baylink-registry' reads its password from Secret 'baylink-payments'",
    )
