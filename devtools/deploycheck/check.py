"""``make deploy-check``: render the Kubernetes manifests and check every object, offline.

1. The generated manifests match their sources (``render.py``).
2. ``kustomize build`` of the base and of every overlay succeeds.
3. Every object validates: built-in kinds against Kubernetes' schemas, custom resources against
   the vendored CRD schemas (``schemas.py``); unknown fields fail.
4. References hold: every Secret and ConfigMap a pod or a custom resource names (and the key it
   names) is in the manifests, is made by an operator from an object in them (CNPG, Strimzi), or
   is listed in ``deploy/k8s/supplied.yaml``; Services, PodDisruptionBudgets and NetworkPolicies
   select pods that exist; the ``BAYLINK_*`` variables a container sets are settings its process
   reads; probes name the container's own port and identity; targets name existing Services.
5. The NetworkPolicies allow exactly the calls of the architecture (``netpol.py``): the services'
   calls come from their settings (a ``*_target`` field is a call), each service reaches its own
   database only, every process reaches Kafka and DNS, only identity reaches the internet (OCSP,
   CRLs), and from outside only the gateway's kiosk and partner doors (and, from the operators'
   namespace, its console) are open.

Each problem is printed on a line of its own, naming the overlay and the object; exit status 1.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

from baylink.runtime.settings import InternalTransportSettings, KafkaSettings
from devtools.deploycheck import netpol, render, schemas
from services.gateway.config import GatewaySettings
from services.gateway.flows.config import FlowSettings
from services.identity.config import IdentitySettings
from services.payments.config import PaymentsSettings
from services.registry.config import RegistrySettings

# Each process the manifests run, and the settings it reads (its env prefix, its calls).
PROCESSES: dict[str, type[BaseSettings]] = {
    "identity": IdentitySettings,
    "registry": RegistrySettings,
    "payments": PaymentsSettings,
    "gateway": GatewaySettings,
    "gateway-flows": FlowSettings,
}
SHARED_SETTINGS: dict[str, type[BaseSettings]] = {
    "BAYLINK_KAFKA_": KafkaSettings,
    "BAYLINK_INTERNAL_": InternalTransportSettings,
}
PROBE_MODULE = "baylink.runtime.grpc.probe"
K8S = Path("deploy/k8s")
SUPPLIED = K8S / "supplied.yaml"

# Secrets operators make from the objects in the manifests, and the keys they hold.
CNPG_APP_KEYS = {"username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass"}
STRIMZI_CA_KEYS = {"ca.crt", "ca.p12", "ca.password"}
STRIMZI_SCRAM_KEYS = {"password", "sasl.jaas.config"}


def architecture_calls() -> set[tuple[str, str]]:
    """(caller, callee) for every ``<callee>_target`` setting of a process."""
    return {
        (process, name.removesuffix("_target").replace("_", "-"))
        for process, settings in PROCESSES.items()
        for name in settings.model_fields
        if name.endswith("_target")
    }


@dataclass
class Supplied:
    """``deploy/k8s/supplied.yaml``: what the manifests use but do not make."""

    secrets: dict[str, set[str]] = field(default_factory=dict)
    config_maps: dict[str, set[str]] = field(default_factory=dict)
    pending_secrets: dict[str, set[str]] = field(default_factory=dict)
    pending_settings: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> Supplied:
        data = yaml.safe_load(path.read_text()) or {}
        pending = data.get("pending") or {}

        def keys(section: dict[str, Any] | None) -> dict[str, set[str]]:
            return {name: set(entry["keys"]) for name, entry in (section or {}).items()}

        return cls(
            keys(data.get("secrets")),
            keys(data.get("configMaps")),
            keys(pending.get("secrets")),
            set((pending.get("settings") or {}).keys()),
        )


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def ident(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


def kustomize_build(kustomize: str, directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run([kustomize, "build", str(directory)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"kustomize build {directory} failed:\n{result.stderr.strip()}")
    return [doc for doc in yaml.load_all(result.stdout, Loader=yaml.CSafeLoader) if doc]


# -- pods and the parties outside ----------------------------------------------------------------

IN_NAMESPACE = {"kubernetes.io/metadata.name": netpol.NAMESPACE}


def pods(objects: list[dict[str, Any]]) -> list[netpol.Endpoint]:
    """The pods the manifests make, as endpoints."""
    found = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "Deployment":
            template = obj["spec"]["template"]
            ports = {
                p["name"]: p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
                if "name" in p
            }
            labels = template["metadata"].get("labels", {})
            found.append(netpol.Endpoint(name, "app", netpol.NAMESPACE, labels, IN_NAMESPACE, ports))
        elif kind == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            labels = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}
            ports = {"postgresql": 5432, "status": 8000, "metrics": 9187}
            found.append(netpol.Endpoint(name, "db", netpol.NAMESPACE, labels, IN_NAMESPACE, ports))
        elif kind == "Kafka":
            labels = {
                "strimzi.io/cluster": name,
                "strimzi.io/kind": "Kafka",
                "strimzi.io/name": f"{name}-kafka",
                "strimzi.io/broker-role": "true",
            }
            ports = {f"listener-{li['name']}": li["port"] for li in obj["spec"]["kafka"]["listeners"]}
            found.append(netpol.Endpoint(f"{name}-broker", "kafka", netpol.NAMESPACE, labels, IN_NAMESPACE, ports))
    return found


INTERNET = netpol.Endpoint("the internet", "the internet", "", ip="203.0.113.10", pod=False)
OUTSIDE = [
    INTERNET,
    netpol.Endpoint(
        "monitoring", "monitoring", "monitoring", {}, {"kubernetes.io/metadata.name": "monitoring"}, ip="10.244.9.1"
    ),
    netpol.Endpoint(
        "operators",
        "operators",
        "ops",
        {},
        {"kubernetes.io/metadata.name": "ops", "baylink.io/operator-access": "true"},
        ip="10.244.9.2",
    ),
    netpol.Endpoint(
        "cnpg-operator",
        "cnpg-operator",
        "cnpg-system",
        {},
        {"kubernetes.io/metadata.name": "cnpg-system"},
        ip="10.244.9.3",
    ),
    netpol.Endpoint(
        "kube-dns",
        "kube-dns",
        "kube-system",
        {"k8s-app": "kube-dns"},
        {"kubernetes.io/metadata.name": "kube-system"},
        {"dns": 53},
        ip="10.244.9.4",
    ),
    netpol.Endpoint(
        "another namespace",
        "another namespace",
        "elsewhere",
        {},
        {"kubernetes.io/metadata.name": "elsewhere"},
        ip="10.244.9.5",
    ),
]
INTERNET_PORTS = (22, 80, 443, 5432, 9093)


# -- 3. schemas ----------------------------------------------------------------------------------


def check_schemas(objects: list[dict[str, Any]], validator: schemas.Validator, report: Report, where: str) -> None:
    for obj in objects:
        for error in validator.errors(obj):
            report.problem(f"{where} {ident(obj)}", error)


# -- 4. references -------------------------------------------------------------------------------


def made_by_operators(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    secrets: dict[str, set[str]] = {}
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            secrets[f"{name}-app"] = CNPG_APP_KEYS
        elif kind == "Kafka":
            secrets[f"{name}-cluster-ca-cert"] = STRIMZI_CA_KEYS
        elif kind == "KafkaUser":
            secrets[name] = STRIMZI_SCRAM_KEYS
    return secrets


def pod_references(spec: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(Secret|ConfigMap, name, key or None) for every reference of a pod spec."""
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            source = volume["secret"]
            for item in source.get("items") or [None]:
                yield "Secret", source["secretName"], item and item["key"]
        if "configMap" in volume:
            source = volume["configMap"]
            for item in source.get("items") or [None]:
                yield "ConfigMap", source["name"], item and item["key"]
    for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {})
            if "secretKeyRef" in ref:
                yield "Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
            if "configMapKeyRef" in ref:
                yield "ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                yield "Secret", source["secretRef"]["name"], None
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"]["name"], None


def resource_references(obj: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """Secrets a custom resource names (``{name, key}`` pairs anywhere in its spec)."""

    def walk(node: Any) -> Iterator[tuple[str, str, str | None]]:
        if isinstance(node, dict):
            if set(node) == {"name", "key"} and all(isinstance(v, str) for v in node.values()):
                yield "Secret", node["name"], node["key"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    if "." in obj.get("apiVersion", "").split("/")[0]:
        yield from walk(obj.get("spec", {}))


def check_references(objects: list[dict[str, Any]], supplied: Supplied, report: Report, where: str) -> None:
    config_maps = {o["metadata"]["name"]: set(o.get("data", {})) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {
        o["metadata"]["name"]: set(o.get("data", {})) | set(o.get("stringData", {}))
        for o in objects
        if o["kind"] == "Secret"
    }
    operator_secrets = made_by_operators(objects)
    known = {
        "ConfigMap": [config_maps, supplied.config_maps],
        "Secret": [secrets, operator_secrets, supplied.secrets, supplied.pending_secrets],
    }
    for name in supplied.pending_secrets:
        if name in operator_secrets or name in secrets:
            report.problem(
                f"{where} {SUPPLIED}", f"pending Secret {name} is now made from the manifests: delete it from 'pending'"
            )
    waiting = sorted(set(supplied.pending_secrets) - set(operator_secrets) - set(secrets))
    if waiting:
        report.notes.append(f"{where}: Secrets not made yet, pending in {SUPPLIED}: {', '.join(waiting)}")
    for obj in objects:
        refs: list[tuple[str, str, str | None]] = []
        if obj["kind"] == "Deployment":
            refs = list(pod_references(obj["spec"]["template"]["spec"]))
        refs += list(resource_references(obj))
        for kind, name, key in refs:
            tables = [t for t in known[kind] if name in t]
            if not tables:
                report.problem(
                    f"{where} {ident(obj)}",
                    f"{kind} {name} is neither in the manifests, nor made by an operator from them, nor in {SUPPLIED}",
                )
            elif key is not None and key not in tables[0][name]:
                report.problem(
                    f"{where} {ident(obj)}", f"{kind} {name} has no key {key!r} (it has {sorted(tables[0][name])})"
                )
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "ScheduledBackup" and ("Cluster", spec["cluster"]["name"]) not in names:
            report.problem(f"{where} {ident(obj)}", f"backs up Cluster {spec['cluster']['name']}, which is not there")
        if obj["kind"] == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            for plugin in spec.get("plugins", []):
                store = plugin.get("parameters", {}).get("barmanObjectName")
                if store and ("ObjectStore", store) not in names:
                    report.problem(f"{where} {ident(obj)}", f"archives to ObjectStore {store}, which is not there")
        cluster = obj["metadata"].get("labels", {}).get("strimzi.io/cluster")
        if obj["kind"].startswith("Kafka") and obj["kind"] != "Kafka" and ("Kafka", cluster) not in names:
            report.problem(f"{where} {ident(obj)}", f"belongs to Kafka {cluster!r}, which is not there")


def check_selectors(
    objects: list[dict[str, Any]], endpoints: list[netpol.Endpoint], report: Report, where: str
) -> None:
    ours = [e for e in endpoints if e.namespace == netpol.NAMESPACE]

    def selects_some(
        selector: dict[str, Any] | None, candidates: list[netpol.Endpoint], labels: str = "labels"
    ) -> bool:
        return any(netpol.selector_matches(selector, getattr(c, labels)) for c in candidates)

    for obj in objects:
        kind, spec = obj["kind"], obj.get("spec", {})
        if kind == "Service" and spec.get("selector"):
            matching = [e for e in ours if netpol.selector_matches({"matchLabels": spec["selector"]}, e.labels)]
            if not matching:
                report.problem(f"{where} {ident(obj)}", f"selects no pod ({spec['selector']})")
            for port in spec.get("ports", []):
                target = port.get("targetPort")
                if isinstance(target, str) and not all(target in e.ports for e in matching):
                    report.problem(f"{where} {ident(obj)}", f"targetPort {target!r} is not a named port of its pods")
        if kind == "PodDisruptionBudget" and not selects_some(spec.get("selector"), ours):
            report.problem(f"{where} {ident(obj)}", "selects no pod")
        if kind == "NetworkPolicy":
            if spec.get("podSelector") and not selects_some(spec["podSelector"], ours):
                report.problem(f"{where} {ident(obj)}", f"podSelector selects no pod ({spec['podSelector']})")
            for rule in [*spec.get("ingress", []), *spec.get("egress", [])]:
                for peer in rule.get("from", []) + rule.get("to", []):
                    if "ipBlock" in peer:
                        continue
                    candidates = ours if "namespaceSelector" not in peer else [e for e in endpoints if e.pod]
                    if not any(netpol._peer_matches(peer, c, netpol.NAMESPACE) for c in candidates):
                        report.problem(f"{where} {ident(obj)}", f"peer {peer} matches no pod")


# -- settings, probes, targets -------------------------------------------------------------------


def _prefix(settings: type[BaseSettings]) -> str:
    return str(settings.model_config.get("env_prefix", ""))


def setting_known(process: str, variable: str) -> bool:
    if variable == "BAYLINK_INSECURE_INTERNAL":
        return True
    tables = {**SHARED_SETTINGS, _prefix(PROCESSES[process]): PROCESSES[process]}
    for prefix, settings in tables.items():
        if variable.startswith(prefix):
            name = variable.removeprefix(prefix).lower().split("__")[0]
            return name in settings.model_fields
    return False


def check_containers(objects: list[dict[str, Any]], supplied: Supplied, report: Report, where: str) -> None:
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    pending: set[str] = set()
    now_read: set[str] = set()
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        process = obj["metadata"]["name"]
        at = f"{where} {ident(obj)}"
        if process not in PROCESSES:
            report.problem(at, f"runs no known process (one of {sorted(PROCESSES)})")
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            if container.get("args", [None])[:1] != [process]:
                report.problem(at, f"container {container['name']} does not run {process}: {container.get('args')}")
            defined: set[str] = set()
            for env in container.get("env", []):
                name = env["name"]
                for used in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", env.get("value", "")):
                    if used not in defined:
                        report.problem(at, f"{name} uses $({used}), which no variable before it defines")
                defined.add(name)
                if not name.startswith("BAYLINK_"):
                    continue
                if setting_known(process, name):
                    if name in supplied.pending_settings:
                        now_read.add(name)
                elif name in supplied.pending_settings:
                    pending.add(name)
                else:
                    report.problem(at, f"{name} is not a setting {process} reads")
                if name.endswith("_TARGET"):
                    check_target(at, env.get("value", ""), services, report)
            check_kafka_user(at, container.get("env", []), report)
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                command = container.get(kind, {}).get("exec", {}).get("command", [])
                if PROBE_MODULE not in command:
                    continue
                args = dict(zip(command[3::2], command[4::2], strict=False))
                if args.get("--identity") != process:
                    report.problem(at, f"{kind} probes as {args.get('--identity')!r}, not as {process!r}")
                if str(ports.get("grpc")) != args.get("--port"):
                    report.problem(at, f"{kind} probes port {args.get('--port')}, the grpc port is {ports.get('grpc')}")
    for name in sorted(now_read):
        report.problem(f"{where} {SUPPLIED}", f"pending setting {name} is now read: delete it from 'pending'")
    if pending:
        report.notes.append(f"{where}: settings not read yet, pending in {SUPPLIED}: {', '.join(sorted(pending))}")


def check_kafka_user(at: str, env: list[dict[str, Any]], report: Report) -> None:
    """The SCRAM user a container names is the one whose Secret holds the password it reads."""
    by_name = {e["name"]: e for e in env}
    user = by_name.get("BAYLINK_KAFKA_SASL_USERNAME", {}).get("value")
    password = by_name.get("BAYLINK_KAFKA_SASL_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
    if (user or password) and user != password.get("name"):
        report.problem(at, f"Kafka user {user!r} reads its password from Secret {password.get('name')!r}")


def check_target(at: str, value: str, services: dict[str, dict[str, Any]], report: Report) -> None:
    match = re.fullmatch(r"dns:///([a-z0-9-]+):(\d+)", value)
    if not match:
        report.problem(at, f"target {value!r} is not dns:///<service>:<port>")
        return
    service = services.get(match[1])
    if service is None:
        report.problem(at, f"target {value!r} names no Service")
    elif int(match[2]) not in {p["port"] for p in service["spec"].get("ports", [])}:
        report.problem(at, f"target {value!r}: Service {match[1]} has no port {match[2]}")
    elif service["spec"].get("clusterIP") != "None":
        report.problem(at, f"target {value!r}: Service {match[1]} is not headless (round_robin needs every pod)")


# -- 5. network ----------------------------------------------------------------------------------


def expected(src: netpol.Endpoint, dst: netpol.Endpoint, port: int, proto: str, owners: dict[str, str]) -> bool | None:
    """Whether the architecture has this connection; None: not the policies' business."""
    calls = architecture_calls()
    source, target = src.role, dst.role
    if target == "app":
        if source == "app":
            return (src.name, dst.name) in calls and port == dst.ports.get("grpc")
        if source == "the internet":
            return dst.name == "gateway" and port in (dst.ports.get("kiosk"), dst.ports.get("partner"))
        if source == "operators":
            return dst.name == "gateway" and port == dst.ports.get("console")
        if source == "monitoring":
            return port == dst.ports.get("metrics")
        return False
    if target == "db":
        if source == "app":
            return owners.get(dst.name) == src.name and port == 5432
        if source == "db":
            return src.name == dst.name and port in (5432, 8000)
        if source == "cnpg-operator":
            return port in (5432, 8000)
        if source == "monitoring":
            return port == 9187
        return False
    if target == "kafka":
        return source == "app" and port == 9093
    if source != "app":
        return None  # egress of pods the policies leave open (operators', databases', brokers')
    if target == "kube-dns":
        return port == 53
    if target == "the internet":
        return src.name == "identity" and port in (80, 443)
    return False


def check_network(objects: list[dict[str, Any]], endpoints: list[netpol.Endpoint], report: Report, where: str) -> None:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"] + list(netpol.strimzi_policies(objects))
    owners = {
        o["metadata"]["name"]: o["spec"].get("bootstrap", {}).get("initdb", {}).get("owner", "")
        for o in objects
        if o["kind"] == "Cluster"
    }
    everyone = endpoints + OUTSIDE
    processes = {e.name for e in endpoints if e.role == "app"}
    for caller, callee in sorted(architecture_calls()):
        if caller in processes and callee not in processes:
            report.problem(where, f"{caller} calls {callee} (its settings' {callee}_target), which no Deployment runs")
    for src in everyone:
        for dst in everyone:
            if not dst.pod and dst is not INTERNET:
                continue
            targets = [(p, "TCP") for p in (dst.ports.values() if dst.pod else INTERNET_PORTS)]
            if dst.name == "kube-dns":
                targets += [(53, "UDP")]
            for port, proto in targets:
                want = expected(src, dst, port, proto, owners)
                if want is None:
                    continue
                got = netpol.allowed(policies, src, dst, port, proto)
                call = f"{src.name} -> {dst.name}:{port}/{proto}"
                if got and not want:
                    report.problem(where, f"NetworkPolicies allow {call}, a call the architecture does not have")
                elif want and not got:
                    report.problem(where, f"NetworkPolicies block {call}, a call the architecture needs")


# -- the whole check -----------------------------------------------------------------------------


def overlays(repo: Path) -> list[Path]:
    return [repo / K8S / "base", *sorted(p for p in (repo / K8S / "overlays").iterdir() if p.is_dir())]


def run(repo: Path, kustomize: str, only: list[Path] | None = None) -> Report:
    """Check the tree at ``repo``: every overlay, or those in ``only``."""
    report = Report()
    for path in render.stale(repo):
        report.problem(str(path), "differs from its sources; run `python -m devtools.deploycheck render` and commit")
    supplied = Supplied.load(repo / SUPPLIED)
    validator = schemas.Validator(repo / K8S / "crd-schemas")
    for directory in only or overlays(repo):
        where = str(directory.relative_to(repo))
        try:
            objects = kustomize_build(kustomize, directory)
        except RuntimeError as exc:
            report.problem(where, str(exc))
            continue
        endpoints = pods(objects)
        check_schemas(objects, validator, report, where)
        check_references(objects, supplied, report, where)
        check_selectors(objects, endpoints + OUTSIDE, report, where)
        check_containers(objects, supplied, report, where)
        check_network(objects, endpoints, report, where)
        kinds: dict[str, int] = {}
        for obj in objects:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        report.notes.append(f"{where}: {len(objects)} objects ({summary})")
    return report
