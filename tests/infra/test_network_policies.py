"""The namespace's NetworkPolicies, as rendered for dev and prod, evaluated the way Kubernetes evaluates them.

Kubernetes NetworkPolicy semantics (kubernetes.io, "Network Policies"): a pod selected by no policy of a
direction is open in that direction; once selected, a connection is allowed only if some rule of some
selecting policy matches it (peers: ipBlock CIDRs, or pods by podSelector within the policy's namespace or in
the namespaces a namespaceSelector picks; an absent ``ports`` matches every port). The VPC CNI's network
policy agent enforces these semantics.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from stacks.config.loader import load_stack_file
from tests.support.harness import PROJECT_DIR
from tests.support.workloads import manifests_of, run_workloads

pytestmark = pytest.mark.infra

NAMESPACE = "nexus"
API = {"app.kubernetes.io/name": "nexus-api", "app.kubernetes.io/component": "api"}
WORKER = {"app.kubernetes.io/name": "nexus-api", "app.kubernetes.io/component": "worker"}
MIGRATE = {"app.kubernetes.io/name": "nexus-api", "app.kubernetes.io/component": "migrate"}
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}


@dataclass(frozen=True)
class Peer:
    """The other end of a connection."""

    ip: str
    port: int
    protocol: str = "TCP"
    pod_labels: dict[str, str] | None = None
    namespace_labels: dict[str, str] = field(default_factory=dict)


def _selects(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    if selector is None:
        return True
    assert set(selector) <= {"matchLabels"}, f"the evaluator handles matchLabels only: {selector}"
    if labels is None:
        return False
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def _peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        address = ipaddress.ip_address(peer.ip)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if peer.pod_labels is None:
        return False
    if "namespaceSelector" in rule_peer:
        namespace_ok = _selects(rule_peer["namespaceSelector"], peer.namespace_labels)
    else:
        namespace_ok = peer.namespace_labels.get("kubernetes.io/metadata.name") == NAMESPACE
    return namespace_ok and _selects(rule_peer.get("podSelector"), peer.pod_labels)


def _port_matches(ports: list[dict[str, Any]] | None, peer: Peer) -> bool:
    if not ports:
        return True
    return any(p["port"] == peer.port and p.get("protocol", "TCP") == peer.protocol for p in ports)


def allowed(policies: list[dict[str, Any]], direction: str, pod: dict[str, str], peer: Peer) -> bool:
    """Whether Kubernetes lets ``pod`` (in the namespace) talk to / hear from ``peer``."""
    key = "egress" if direction == "Egress" else "ingress"
    peers_key = "to" if direction == "Egress" else "from"
    selecting = [
        p
        for p in policies
        if direction in p["spec"].get("policyTypes", ["Ingress"]) and _selects(p["spec"]["podSelector"], pod)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key) or []
            if (not peers or any(_peer_matches(p, peer) for p in peers)) and _port_matches(
                rule.get("ports"), peer
            ):
                return True
    return False


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def policies(stack: str) -> list[dict[str, Any]]:
    return [m for m in manifests_of(run_workloads(stack)) if m["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def vpc_host(stack: str) -> str:
    """An address inside the stack's VPC (its CIDR read from the stack file)."""
    network = ipaddress.ip_network(load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml").network.cidr)
    return str(network.network_address + 200)


def coredns(vpc_host: str, protocol: str) -> Peer:
    return Peer(vpc_host, 53, protocol, pod_labels={"k8s-app": "kube-dns"}, namespace_labels=KUBE_SYSTEM)


@pytest.mark.parametrize("pod", [API, WORKER, MIGRATE])
def test_pods_reach_what_they_need(
    policies: list[dict[str, Any]], vpc_host: str, pod: dict[str, str]
) -> None:
    needed = {
        "DNS over UDP to coredns": coredns(vpc_host, "UDP"),
        "DNS over TCP to coredns": coredns(vpc_host, "TCP"),
        "Postgres (RDS Proxy, replicas) in the VPC": Peer(vpc_host, 5432),
        "Redis in the VPC": Peer(vpc_host, 6379),
        "S3 and AWS APIs over HTTPS": Peer("52.216.8.11", 443),
        "Pod Identity credentials from the node's agent": Peer("169.254.170.23", 80),
    }
    refused = [name for name, peer in needed.items() if not allowed(policies, "Egress", pod, peer)]
    assert refused == []


@pytest.mark.parametrize("pod", [API, WORKER, MIGRATE])
def test_everything_else_is_denied(
    policies: list[dict[str, Any]], vpc_host: str, pod: dict[str, str]
) -> None:
    forbidden = {
        "Postgres outside the VPC": Peer("198.51.100.7", 5432),
        "Redis outside the VPC": Peer("198.51.100.7", 6379),
        "plain HTTP to the internet": Peer("52.216.8.11", 80),
        "DNS to a public resolver": Peer("8.8.8.8", 53, "UDP"),
        "SSH inside the VPC": Peer(vpc_host, 22),
        "the node's instance metadata (IMDS)": Peer("169.254.169.254", 80),
        "the Kubernetes API inside the VPC": Peer(vpc_host, 6443),
    }
    let_through = [name for name, peer in forbidden.items() if allowed(policies, "Egress", pod, peer)]
    assert let_through == []


def test_without_the_allow_policy_egress_is_closed(policies: list[dict[str, Any]], vpc_host: str) -> None:
    deny_only = [p for p in policies if p["metadata"]["name"] != "allow-egress"]
    assert len(deny_only) == len(policies) - 1
    assert not allowed(deny_only, "Egress", API, Peer(vpc_host, 5432))
    assert not allowed(deny_only, "Egress", API, coredns(vpc_host, "UDP"))


def test_only_the_api_port_is_open_and_only_on_api_pods(policies: list[dict[str, Any]], stack: str) -> None:
    port = load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml").alb.target_port
    alb = "10.0.0.10"  # any source: the ALB's addresses are its subnets'
    assert allowed(policies, "Ingress", API, Peer(alb, port))
    assert not allowed(policies, "Ingress", API, Peer(alb, 22))
    assert not allowed(policies, "Ingress", WORKER, Peer(alb, port))
