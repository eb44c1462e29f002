"""What the rendered NetworkPolicies let through, worked out as Kubernetes would.

Endpoints are the pods the manifests make (Deployments' templates, CloudNativePG instances, Strimzi
brokers) plus a few outside parties: a client on the internet, the monitoring namespace, the CNPG
operator and the cluster DNS. ``allowed`` applies the policies' semantics: a pod selected by a
policy of a type is isolated for that direction, and then only a rule of a selecting policy lets
traffic through; policies add up. Strimzi makes the Kafka listeners' own policies from their
``networkPolicyPeers``; they are synthesised here from the ``Kafka`` resource.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "baylink"


@dataclass(frozen=True)
class Endpoint:
    """A pod (``labels``, ``namespace``, named ``ports``) or an outside address (``pod`` False);
    ``role`` is what it is to the architecture: app, db, kafka, or the outside party's name."""

    name: str
    role: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    namespace_labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    ports: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    ip: str = "10.244.0.10"
    pod: bool = True


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector; None or {} matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], other: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if not other.pod:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), other.labels)


def _port_matches(ports: list[dict[str, Any]] | None, target: Endpoint, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if target.ports.get(wanted) == port:
                return True
        elif wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def _types(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _selects(policy: dict[str, Any], pod: Endpoint) -> bool:
    namespace = policy["metadata"].get("namespace", NAMESPACE)
    return pod.pod and pod.namespace == namespace and selector_matches(policy["spec"].get("podSelector"), pod.labels)


def _direction_allows(
    policies: list[dict[str, Any]], kind: str, own: Endpoint, other: Endpoint, target: Endpoint, port: int, proto: str
) -> bool:
    section, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    selecting = [p for p in policies if kind in _types(p) and _selects(p, own)]
    if not selecting:
        return True
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", NAMESPACE)
        for rule in policy["spec"].get(section) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(peer, other, namespace) for peer in peers):
                continue
            if _port_matches(rule.get("ports"), target, port, proto):
                return True
    return False


def allowed(policies: list[dict[str, Any]], src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> bool:
    """Whether ``src`` may open a connection to ``dst`` on ``port``."""
    egress = (
        not src.pod or src.namespace != NAMESPACE or _direction_allows(policies, "Egress", src, dst, dst, port, proto)
    )
    ingress = (
        not dst.pod or dst.namespace != NAMESPACE or _direction_allows(policies, "Ingress", dst, src, dst, port, proto)
    )
    return egress and ingress


def strimzi_policies(objects: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The ingress policies Strimzi makes for each Kafka listener with ``networkPolicyPeers``."""
    for obj in objects:
        if obj.get("kind") != "Kafka":
            continue
        name = obj["metadata"]["name"]
        rules = []
        for listener in obj["spec"]["kafka"]["listeners"]:
            rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": listener["port"]}]}
            if listener.get("networkPolicyPeers"):
                rule["from"] = listener["networkPolicyPeers"]
            rules.append(rule)
        yield {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{name}-network-policy-kafka (made by Strimzi)", "namespace": NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"strimzi.io/cluster": name, "strimzi.io/kind": "Kafka"}},
                "policyTypes": ["Ingress"],
                "ingress": rules,
            },
        }
