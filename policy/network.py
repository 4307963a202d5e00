"""Network rules: security groups open to the world, the isolated subnets, the VPC's default group and flow
logs, and the load balancer's edge (TLS, header hygiene)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy.core import (
    EKS_ADDON,
    Graph,
    PolicyResource,
    PolicyRule,
    Violation,
    as_int,
    effective_tags,
    is_prod,
    items_of,
    json_object,
)

WORLD_CIDRS: frozenset[str] = frozenset({"0.0.0.0/0", "::/0"})
PUBLIC_WEB_PORTS: frozenset[int] = frozenset({80, 443})
LOAD_BALANCER_TYPES: frozenset[str] = frozenset(
    {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
)


LB_LISTENER_TYPES: frozenset[str] = frozenset({"aws:lb/listener:Listener", "aws:alb/listener:Listener"})

# ALB policies that refuse TLS 1.0 and 1.1.
MODERN_TLS_POLICY_PREFIXES: tuple[str, ...] = ("ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-TLS-1-2-")


VPC_TYPE = "aws:ec2/vpc:Vpc"
SUBNET_TYPE = "aws:ec2/subnet:Subnet"
ROUTE_TYPE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION_TYPE = "aws:ec2/routeTableAssociation:RouteTableAssociation"
DEFAULT_SECURITY_GROUP_TYPE = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG_TYPE = "aws:ec2/flowLog:FlowLog"
TIER_TAG = "nexus:tier"
_INTERNET_TARGETS = ("gatewayId", "natGatewayId", "egressOnlyGatewayId", "transitGatewayId")


@dataclass(frozen=True, slots=True)
class Ingress:
    source: PolicyResource
    group_urns: tuple[str, ...]
    cidrs: tuple[str, ...]
    from_port: int
    to_port: int
    protocol: str


def ingress_rules(graph: Graph) -> Iterator[Ingress]:
    for group in graph.by_type("aws:ec2/securityGroup:SecurityGroup", DEFAULT_SECURITY_GROUP_TYPE):
        for rule in group.inputs.get("ingress") or []:
            cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
            yield Ingress(
                group,
                (group.urn,),
                tuple(cidrs),
                as_int(rule.get("fromPort")),
                as_int(rule.get("toPort")),
                str(rule.get("protocol", "")),
            )
    for rule in graph.by_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
        if rule.inputs.get("type") != "ingress":
            continue
        groups = tuple(group.urn for group in graph.referenced(rule, "securityGroupId"))
        cidrs = [*(rule.inputs.get("cidrBlocks") or []), *(rule.inputs.get("ipv6CidrBlocks") or [])]
        yield Ingress(
            rule,
            groups,
            tuple(cidrs),
            as_int(rule.inputs.get("fromPort")),
            as_int(rule.inputs.get("toPort")),
            str(rule.inputs.get("protocol", "")),
        )
    for rule in graph.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        groups = tuple(group.urn for group in graph.referenced(rule, "securityGroupId"))
        cidrs = [cidr for cidr in (rule.inputs.get("cidrIpv4"), rule.inputs.get("cidrIpv6")) if cidr]
        yield Ingress(
            rule,
            groups,
            tuple(cidrs),
            as_int(rule.inputs.get("fromPort")),
            as_int(rule.inputs.get("toPort")),
            str(rule.inputs.get("ipProtocol", "")),
        )


def load_balancer_groups(graph: Graph) -> set[str]:
    """URNs of the security groups attached to a load balancer (its ``securityGroups`` input)."""
    return {
        group.urn
        for balancer in graph.by_type(*LOAD_BALANCER_TYPES)
        for group in graph.referenced(balancer, "securityGroups", balancer.inputs.get("securityGroups") or [])
    }


def _no_world_ingress(graph: Graph) -> Iterator[Violation]:
    balancer_groups = load_balancer_groups(graph)
    for ingress in ingress_rules(graph):
        world = sorted(set(ingress.cidrs) & WORLD_CIDRS)
        if not world:
            continue
        single_web_port = ingress.from_port == ingress.to_port and ingress.from_port in PUBLIC_WEB_PORTS
        tcp = ingress.protocol.lower() in ("tcp", "6")
        if single_web_port and tcp and ingress.group_urns and set(ingress.group_urns) <= balancer_groups:
            continue
        where = (
            "a load balancer's group"
            if set(ingress.group_urns) & balancer_groups
            else "a non-load-balancer group"
        )
        yield Violation(
            "no-world-ingress",
            ingress.source.urn,
            f"admits {', '.join(world)} on {ingress.protocol} {ingress.from_port}-{ingress.to_port} "
            f"in {where}; only a load balancer's security group may be open to the world, and only on "
            "tcp 80 or 443 (admit a security group instead)",
        )


def _network_items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _internet_route(route: Mapping[str, Any]) -> bool:
    """A route to the world, or through an internet, NAT, egress-only or transit gateway."""
    destinations = {route.get("destinationCidrBlock"), route.get("cidrBlock"), route.get("ipv6CidrBlock")}
    destinations.add(route.get("destinationIpv6CidrBlock"))
    return bool(destinations & WORLD_CIDRS) or any(route.get(target) for target in _INTERNET_TARGETS)


def _isolated_tables(graph: Graph) -> dict[str, list[PolicyResource]]:
    """Route table URN -> the isolated (database) subnets associated with it."""
    isolated = {
        subnet.urn
        for subnet in graph.by_type(SUBNET_TYPE)
        if json_object(subnet.inputs.get("tags")).get(TIER_TAG) == "isolated"
    }
    tables: dict[str, list[PolicyResource]] = {}
    for association in graph.by_type(ROUTE_TABLE_ASSOCIATION_TYPE):
        subnets = [s for s in graph.referenced(association, "subnetId") if s.urn in isolated]
        for table in graph.referenced(association, "routeTableId") if subnets else ():
            tables.setdefault(table.urn, []).extend(subnets)
    return tables


def _isolated_subnets_offline(graph: Graph) -> Iterator[Violation]:
    routes = graph.by_type(ROUTE_TYPE)
    for table_urn, subnets in sorted(_isolated_tables(graph).items()):
        table = graph.get(table_urn)
        assert table is not None
        inline = [route for route in _network_items(table.inputs.get("routes")) if _internet_route(route)]
        separate = [
            route.name
            for route in routes
            if _internet_route(route.inputs)
            and table_urn in {found.urn for found in graph.referenced(route, "routeTableId")}
        ]
        if inline or separate:
            names = ", ".join(sorted(subnet.name for subnet in subnets))
            yield Violation(
                "isolated-subnets-offline",
                table.urn,
                f"routes to the internet ({', '.join(separate) or 'inline routes'}) from the isolated "
                f"subnets {names}; the database tier keeps only the VPC's local route (and the S3 endpoint)",
            )


def _public_ip_on_launch(graph: Graph) -> Iterator[Violation]:
    for subnet in graph.by_type(SUBNET_TYPE):
        if subnet.inputs.get("mapPublicIpOnLaunch") is True:
            yield Violation(
                "no-public-ip-on-launch",
                subnet.urn,
                "mapPublicIpOnLaunch is true: anything launched here becomes reachable from the internet; "
                "NAT gateways use Elastic IPs and load balancers get their own addresses",
            )


def _default_security_group_closed(graph: Graph) -> Iterator[Violation]:
    adopted: set[str] = set()
    for group in graph.by_type(DEFAULT_SECURITY_GROUP_TYPE):
        adopted.update(vpc.urn for vpc in graph.referenced(group, "vpcId"))
        rules = [kind for kind in ("ingress", "egress") if _network_items(group.inputs.get(kind))]
        if rules:
            yield Violation(
                "default-security-group-closed",
                group.urn,
                f"the VPC's default security group has {' and '.join(rules)} rules; it must have none, so "
                "that nothing launched without its own group can talk or be reached",
            )
    for vpc in graph.by_type(VPC_TYPE):
        if vpc.urn not in adopted:
            yield Violation(
                "default-security-group-closed",
                vpc.urn,
                "the VPC's default security group is not managed (aws.ec2.DefaultSecurityGroup with no "
                "rules), so it keeps AWS's allow-all-within-the-group rules",
            )


def _flow_logs_in_prod(graph: Graph) -> Iterator[Violation]:
    logged = {
        vpc.urn
        for flow_log in graph.by_type(FLOW_LOG_TYPE)
        if flow_log.inputs.get("trafficType") == "ALL"
        for vpc in graph.referenced(flow_log, "vpcId")
    }
    for vpc in graph.by_type(VPC_TYPE):
        if effective_tags(graph, vpc).get("Environment") == "prod" and vpc.urn not in logged:
            yield Violation(
                "vpc-flow-logs-in-prod",
                vpc.urn,
                "a prod VPC needs a flow log of ALL traffic (nexus:network.flowLogs: true)",
            )


def _alb_tls_in_prod(graph: Graph) -> Iterator[Violation]:
    listeners: dict[str, list[PolicyResource]] = {}
    for listener in graph.by_type(*LB_LISTENER_TYPES):
        for balancer in graph.referenced(listener, "loadBalancerArn"):
            listeners.setdefault(balancer.urn, []).append(listener)
    for balancer in graph.by_type(*LOAD_BALANCER_TYPES):
        if balancer.inputs.get("loadBalancerType", "application") != "application":
            continue
        if not is_prod(graph, balancer):
            continue
        own = listeners.get(balancer.urn, [])
        https = [item for item in own if item.inputs.get("protocol") == "HTTPS"]
        if not https:
            yield Violation("alb-tls-in-prod", balancer.urn, "a prod ALB has no HTTPS listener")
        for listener in https:
            policy = str(listener.inputs.get("sslPolicy") or "")
            if not policy.startswith(MODERN_TLS_POLICY_PREFIXES):
                yield Violation(
                    "alb-tls-in-prod",
                    listener.urn,
                    f"TLS policy {policy or '(the default)'} allows TLS below 1.2; use an "
                    "ELBSecurityPolicy-TLS13-* policy",
                )
        for listener in own:
            if listener.inputs.get("protocol") != "HTTP":
                continue
            actions = items_of(listener.inputs.get("defaultActions"))
            redirects = all(
                isinstance(a, Mapping)
                and a.get("type") == "redirect"
                and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                for a in actions
            )
            if not actions or not redirects:
                yield Violation(
                    "alb-tls-in-prod",
                    listener.urn,
                    "a prod HTTP listener serves traffic instead of redirecting it to HTTPS",
                )


def _alb_drops_invalid_headers_in_prod(graph: Graph) -> Iterator[Violation]:
    for balancer in graph.by_type(*LOAD_BALANCER_TYPES):
        if balancer.inputs.get("loadBalancerType", "application") != "application":
            continue
        if is_prod(graph, balancer) and balancer.inputs.get("dropInvalidHeaderFields") is not True:
            yield Violation(
                "alb-drops-invalid-headers-in-prod",
                balancer.urn,
                "a prod ALB drops requests with invalid header fields (drop_invalid_header_fields=True)",
            )


NETWORK_RULES: list[PolicyRule] = [
    PolicyRule(
        "no-world-ingress",
        "No security group admits 0.0.0.0/0 or ::/0, except a load balancer's group on tcp 80/443.",
        _no_world_ingress,
    ),
    PolicyRule(
        "isolated-subnets-offline",
        "The isolated (database) subnets have no route to the internet: no 0.0.0.0/0 or ::/0 route and no "
        "route through an internet, NAT, egress-only or transit gateway.",
        _isolated_subnets_offline,
    ),
    PolicyRule(
        "no-public-ip-on-launch",
        "No subnet gives instances a public IP address on launch.",
        _public_ip_on_launch,
    ),
    PolicyRule(
        "default-security-group-closed",
        "Every VPC's default security group is managed and has no rules.",
        _default_security_group_closed,
    ),
    PolicyRule(
        "vpc-flow-logs-in-prod",
        "Every prod VPC sends a flow log of all traffic.",
        _flow_logs_in_prod,
    ),
    PolicyRule(
        "alb-tls-in-prod",
        "Every prod ALB serves HTTPS with a TLS 1.2+ policy, and its HTTP listeners only redirect to HTTPS.",
        _alb_tls_in_prod,
    ),
    PolicyRule(
        "alb-drops-invalid-headers-in-prod",
        "Prod application load balancers drop invalid header fields.",
        _alb_drops_invalid_headers_in_prod,
    ),
]


# --- Kubernetes NetworkPolicies need an enforcing CNI (cluster branch, issue 14) --------------------------

K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _addon_configuration(addon: PolicyResource) -> dict[str, Any]:
    raw = addon.inputs.get("configurationValues")
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def _network_policies_enforced(graph: Graph) -> Iterator[Violation]:
    # NetworkPolicy objects are enforced only by a network plugin that implements them; on EKS that is the VPC
    # CNI's network policy agent, off unless the add-on's configuration says {"enableNetworkPolicy": "true"}
    # (EKS user guide, cni-network-policy-configure.html). Without it the policies are accepted and inert.
    policies = graph.by_type(K8S_NETWORK_POLICY)
    if not policies:
        return
    enabled = any(
        addon.inputs.get("addonName") == "vpc-cni"
        and _addon_configuration(addon).get("enableNetworkPolicy") == "true"
        for addon in graph.by_type(EKS_ADDON)
    )
    if not enabled:
        for policy in policies:
            yield Violation(
                "network-policies-enforced",
                policy.urn,
                'no vpc-cni add-on with configurationValues enableNetworkPolicy "true": this NetworkPolicy '
                "would be accepted and never enforced",
            )


NETWORK_RULES += [
    PolicyRule(
        "network-policies-enforced",
        "NetworkPolicies exist only where the vpc-cni add-on runs its network policy agent "
        '(enableNetworkPolicy "true"); otherwise they are inert.',
        _network_policies_enforced,
    ),
]
