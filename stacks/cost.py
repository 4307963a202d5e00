"""Monthly cost estimate of a stack's offline plan, per resource kind and per shard (docs/cost.md).

    python -m stacks.cost --stack prod
    python -m stacks.cost --stack dev --config-file path/to/Pulumi.dev.yaml
    python -m stacks.cost --stack dev --config-file EDITED.yaml --against Pulumi.dev.yaml   # the change

Prices come from the dated table in stacks/prices.py (on-demand, 730 hours a month). What the estimate
leaves out (usage-based charges, data transfer) is listed with every estimate; a type or region missing
from the table is listed as unpriced and never counted as zero.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from infra.catalog import RDS_INSTANCE_CLASSES
from offline import RecordedResource, StackRun
from stacks.prices import HOURS_PER_MONTH, PRICE_DATE, PRICES, RegionPrices

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PROXY = "aws:rds/proxy:Proxy"
RDS_PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
CACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 (a type token, not a password)
SHARD_COMPONENT = "nexus:database:TenantShard"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"

LEFT_OUT: Mapping[str, str] = {
    "aws:cloudwatch/logGroup:LogGroup": "CloudWatch Logs: per GB ingested and stored (usage)",
    "aws:ec2/flowLog:FlowLog": "VPC flow logs: per GB delivered to CloudWatch Logs (usage)",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "CloudWatch alarms: cents per alarm-month, not in the table",
    "aws:s3/bucket:Bucket": "S3: per GB stored and per request (usage)",
    "aws:ecr/repository:Repository": "ECR: per GB of images stored (usage)",
    "aws:sns/topic:Topic": "SNS: per million publishes and notifications beyond the free tier (usage)",
}
"""Kinds the plan creates whose charges depend on usage (or are negligible), by type token."""

ASSUMPTIONS = (
    f"on-demand list prices, {HOURS_PER_MONTH} hours a month, every resource running all month",
    "RDS storage: allocatedStorage from the config; a read replica has its source's storage",
    "RDS Multi-AZ (one standby): instance and storage billed twice",
    "RDS Proxy: vCPUs of the instance it targets, at least the table's minimum",
    "EKS nodes: each node group's desiredSize (its size at creation), the dearest of its instanceTypes; "
    "SPOT groups priced at the on-demand rate (an upper bound), plus the launch template's gp3 root volume",
    "NAT gateways: hourly charge and their Elastic IPs (public IPv4); data processing left out",
    "ALB: hourly charge only; LCUs (traffic) left out",
    "VPC endpoints: interface endpoints per AZ-hour (gateway endpoints are free); GB processed left out",
    "WAF: web ACL and rules per month; requests inspected left out",
    "data transfer, backups beyond the free retention and snapshots left out",
)


@dataclass(frozen=True, slots=True)
class Line:
    """One priced resource."""

    kind: str
    urn: str
    name: str
    monthly: float
    basis: str
    shard: str | None = None
    role: str = ""
    """Within a shard: primary, replicas, proxy or secrets."""


@dataclass(frozen=True, slots=True)
class Unpriced:
    """A resource the table has no price for: listed, never counted as zero."""

    urn: str
    reason: str


@dataclass(frozen=True, slots=True)
class Estimate:
    """The monthly estimate of one stack run."""

    region: str
    lines: tuple[Line, ...]
    unpriced: tuple[Unpriced, ...]
    left_out: Mapping[str, int] = field(default_factory=dict)
    """Type token -> how many of it the plan creates, for the kinds in LEFT_OUT."""

    @property
    def total(self) -> float:
        """The sum of every priced line."""
        return sum(line.monthly for line in self.lines)

    def by_kind(self) -> dict[str, float]:
        """Kind -> monthly total."""
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.kind] = totals.get(line.kind, 0.0) + line.monthly
        return totals

    def by_shard(self) -> dict[str, dict[str, float]]:
        """Shard -> role -> monthly total (only the shards' resources)."""
        totals: dict[str, dict[str, float]] = {}
        for line in self.lines:
            if line.shard is not None:
                roles = totals.setdefault(line.shard, {})
                roles[line.role] = roles.get(line.role, 0.0) + line.monthly
        return totals

    def shard_total(self, shard: str) -> float:
        """One shard's monthly total."""
        return sum(self.by_shard().get(shard, {}).values())


def estimate(run: StackRun, region: str, *, prices: Mapping[str, RegionPrices] = PRICES) -> Estimate:
    """Price the recorded resources of a run in ``region``."""
    table = prices.get(region)
    resources = list(run)
    if table is None:
        priced_types = {RDS_INSTANCE, RDS_PROXY, CACHE_GROUP, EKS_CLUSTER, NODE_GROUP, NAT_GATEWAY, EIP}
        priced_types |= {LOAD_BALANCER, KMS_KEY, SECRET}
        unpriced = tuple(
            Unpriced(r.urn, f"region {region} is not in the price table")
            for r in resources
            if r.type in priced_types
        )
        return Estimate(region, (), unpriced, _left_out(resources))
    pricer = _Pricer(resources, table)
    for resource in resources:
        pricer.price(resource)
    return Estimate(region, tuple(pricer.lines), tuple(pricer.unpriced), _left_out(resources))


def _left_out(resources: Iterable[RecordedResource]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in resources:
        if resource.type in LEFT_OUT:
            counts[resource.type] = counts.get(resource.type, 0) + 1
    return counts


class _Pricer:
    def __init__(self, resources: list[RecordedResource], table: RegionPrices) -> None:
        self.table = table
        self.by_urn = {r.urn: r for r in resources}
        self.instances = {
            str(r.outputs.get(key)): r
            for r in resources
            if r.type == RDS_INSTANCE
            for key in ("identifier", "arn")
            if r.outputs.get(key)
        }
        self.proxy_targets: dict[str, str] = {
            str(r.inputs.get("dbProxyName")): str(r.inputs.get("dbInstanceIdentifier"))
            for r in resources
            if r.type == RDS_PROXY_TARGET
        }
        self.launch_templates = {str(r.id): r for r in resources if r.type == LAUNCH_TEMPLATE}
        self.lines: list[Line] = []
        self.unpriced: list[Unpriced] = []

    def _shard(self, resource: RecordedResource) -> str | None:
        parent = resource.parent
        while parent is not None and parent in self.by_urn:
            component = self.by_urn[parent]
            if component.type == SHARD_COMPONENT:
                return component.name
            parent = component.parent
        return None

    def _add(self, resource: RecordedResource, kind: str, monthly: float, basis: str, role: str = "") -> None:
        shard = self._shard(resource)
        role = role if shard else ""
        self.lines.append(Line(kind, resource.urn, resource.name, monthly, basis, shard, role))

    def _missing(self, resource: RecordedResource, what: str) -> None:
        self.unpriced.append(Unpriced(resource.urn, f"{what} is not in the price table"))

    def price(self, resource: RecordedResource) -> None:
        handler = {
            RDS_INSTANCE: self._rds_instance,
            RDS_PROXY: self._rds_proxy,
            CACHE_GROUP: self._cache,
            EKS_CLUSTER: self._eks_cluster,
            NODE_GROUP: self._node_group,
            NAT_GATEWAY: self._nat_gateway,
            EIP: self._eip,
            LOAD_BALANCER: self._load_balancer,
            KMS_KEY: self._kms_key,
            SECRET: self._secret,
            VPC_ENDPOINT: self._vpc_endpoint,
            WEB_ACL: self._web_acl,
        }.get(resource.type)
        if handler is not None:
            handler(resource)

    def _rds_instance(self, resource: RecordedResource) -> None:
        inputs = resource.inputs
        instance_class = str(inputs.get("instanceClass"))
        engine = inputs.get("engine")
        source_ref = inputs.get("replicateSourceDb")
        source = self.instances.get(str(source_ref)) if source_ref else None
        if source_ref and source is None:
            self.unpriced.append(Unpriced(resource.urn, f"replica source {source_ref} not in the plan"))
            return
        if source is not None:
            engine = source.inputs.get("engine")
        if engine != "postgres":
            self._missing(resource, f"RDS engine {engine}")
            return
        hourly = self.table.rds_postgres_hourly.get(instance_class)
        if hourly is None:
            self._missing(resource, f"RDS class {instance_class}")
            return
        storage = inputs.get("allocatedStorage") or (source.inputs.get("allocatedStorage") if source else 0)
        storage_type = inputs.get("storageType") or (source.inputs.get("storageType") if source else None)
        if storage_type != "gp3":
            self._missing(resource, f"RDS storage type {storage_type}")
            return
        copies = 2 if inputs.get("multiAz") else 1
        monthly = copies * (hourly * HOURS_PER_MONTH + int(storage or 0) * self.table.rds_gp3_gb_month)
        multi = " Multi-AZ" if copies == 2 else ""
        basis = f"{instance_class}{multi}, {storage} GiB gp3"
        self._add(resource, "RDS instances", monthly, basis, "replicas" if source else "primary")

    def _rds_proxy(self, resource: RecordedResource) -> None:
        name = str(resource.outputs.get("name") or resource.inputs.get("name"))
        target = self.instances.get(self.proxy_targets.get(name, ""))
        if target is None:
            self.unpriced.append(Unpriced(resource.urn, "no target instance in the plan to count vCPUs of"))
            return
        instance_class = str(target.inputs.get("instanceClass"))
        if instance_class not in RDS_INSTANCE_CLASSES:
            self._missing(resource, f"vCPU count of {instance_class}")
            return
        vcpus = RDS_INSTANCE_CLASSES[instance_class][0]
        billed = max(vcpus, self.table.rds_proxy_min_vcpus)
        monthly = billed * self.table.rds_proxy_vcpu_hourly * HOURS_PER_MONTH
        self._add(resource, "RDS Proxy", monthly, f"{billed} vCPUs ({instance_class})", "proxy")

    def _cache(self, resource: RecordedResource) -> None:
        engine = str(resource.inputs.get("engine") or "redis")
        node_type = str(resource.inputs.get("nodeType"))
        hourly = self.table.elasticache_node_hourly.get(engine, {}).get(node_type)
        if hourly is None:
            self._missing(resource, f"ElastiCache {engine} node {node_type}")
            return
        nodes = int(resource.inputs.get("numCacheClusters") or 1)
        monthly = nodes * hourly * HOURS_PER_MONTH
        self._add(resource, "ElastiCache nodes", monthly, f"{nodes} x {node_type} ({engine})")

    def _eks_cluster(self, resource: RecordedResource) -> None:
        monthly = self.table.eks_cluster_hourly * HOURS_PER_MONTH
        self._add(resource, "EKS control plane", monthly, "standard support")

    def _node_group(self, resource: RecordedResource) -> None:
        scaling: Any = resource.inputs.get("scalingConfig") or {}
        desired = int(scaling.get("desiredSize") or 0)
        types = list(resource.inputs.get("instanceTypes") or [])
        missing = [t for t in types if t not in self.table.ec2_hourly]
        if not types or missing:
            self._missing(resource, f"EC2 type {', '.join(missing) or '(none given)'}")
            return
        dearest = max(types, key=lambda t: self.table.ec2_hourly[t])
        disk_gib = self._root_volume_gib(resource)
        if disk_gib is None:
            self._missing(resource, "the node group's root volume (no gp3 volume size found)")
            return
        per_node = self.table.ec2_hourly[dearest] * HOURS_PER_MONTH + disk_gib * self.table.ebs_gp3_gb_month
        capacity = str(resource.inputs.get("capacityType") or "ON_DEMAND")
        basis = f"{desired} x {dearest} ({capacity}, desiredSize) + {disk_gib} GiB gp3 each"
        self._add(resource, "EKS nodes (EC2 + EBS)", desired * per_node, basis)

    def _root_volume_gib(self, resource: RecordedResource) -> int | None:
        if resource.inputs.get("diskSize"):
            return int(resource.inputs["diskSize"])
        template: Any = resource.inputs.get("launchTemplate") or {}
        lt = self.launch_templates.get(str(template.get("id")))
        for mapping in (lt.inputs.get("blockDeviceMappings") or []) if lt else []:
            ebs = mapping.get("ebs") or {}
            if ebs.get("volumeType") == "gp3" and ebs.get("volumeSize"):
                return int(ebs["volumeSize"])
        return None

    def _nat_gateway(self, resource: RecordedResource) -> None:
        self._add(resource, "NAT gateways", self.table.nat_gateway_hourly * HOURS_PER_MONTH, "hourly")

    def _eip(self, resource: RecordedResource) -> None:
        monthly = self.table.public_ipv4_hourly * HOURS_PER_MONTH
        self._add(resource, "Public IPv4 (Elastic IPs)", monthly, "in-use public IPv4 address")

    def _load_balancer(self, resource: RecordedResource) -> None:
        lb_type = resource.inputs.get("loadBalancerType") or "application"
        if lb_type != "application":
            self._missing(resource, f"load balancer type {lb_type}")
            return
        monthly = self.table.alb_hourly * HOURS_PER_MONTH
        self._add(resource, "Load balancers (ALB)", monthly, "hourly, no LCUs")

    def _kms_key(self, resource: RecordedResource) -> None:
        self._add(resource, "KMS keys", self.table.kms_key_month, "per key-month")

    def _vpc_endpoint(self, resource: RecordedResource) -> None:
        # A gateway endpoint (S3) costs nothing; an interface endpoint is billed per AZ, one ENI per subnet.
        if resource.inputs.get("vpcEndpointType") != "Interface":
            return
        zones = len(resource.inputs.get("subnetIds") or [])
        monthly = self.table.interface_endpoint_az_hourly * HOURS_PER_MONTH * zones
        self._add(resource, "VPC interface endpoints", monthly, f"{zones} AZ(s), hourly")

    def _web_acl(self, resource: RecordedResource) -> None:
        rules = len(resource.inputs.get("rules") or [])
        monthly = self.table.waf_web_acl_month + self.table.waf_rule_month * rules
        self._add(resource, "WAF web ACLs", monthly, f"web ACL and {rules} rule(s), no requests")

    def _secret(self, resource: RecordedResource) -> None:
        self._add(resource, "Secrets Manager secrets", self.table.secret_month, "per secret-month", "secrets")


def _money(value: float) -> str:
    return f"${value:,.2f}"


def shard_id(component_name: str, shard_ids: Iterable[str]) -> str:
    """The config's shard id a TenantShard component stands for (its name ends in ``-<id>``)."""
    matches = [sid for sid in shard_ids if component_name.endswith(f"-{sid}") or component_name == sid]
    return max(matches, key=len) if matches else component_name


def report_lines(result: Estimate, shard_ids: Sequence[str] = ()) -> list[str]:
    """The readable estimate: per kind, per shard, total, unpriced, left out, assumptions."""
    lines = [f"Region {result.region}; prices of {PRICE_DATE} (stacks/prices.py), USD per month"]
    kinds = result.by_kind()
    width = max((len(kind) for kind in kinds), default=10)
    lines.append("By kind")
    for kind, monthly in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {kind:<{width}}  {_money(monthly):>12}")
    lines.append("By shard (primary, replicas, proxy, secrets)")
    for component, roles in sorted(result.by_shard().items()):
        parts = ", ".join(f"{role} {_money(value)}" for role, value in sorted(roles.items()))
        name = shard_id(component, shard_ids)
        lines.append(f"  {name}: {_money(sum(roles.values()))} ({parts})")
    lines.append(f"Total: {_money(result.total)} a month")
    if result.unpriced:
        lines.append(f"Unpriced ({len(result.unpriced)}; not in the total, not zero):")
        lines += [f"  {item.urn}: {item.reason}" for item in result.unpriced]
    if result.left_out:
        lines.append("Left out (usage-based):")
        left_out = sorted(result.left_out.items())
        lines += [f"  {count} x {type_}: {LEFT_OUT[type_]}" for type_, count in left_out]
    lines.append("Assumptions:")
    lines += [f"  {assumption}" for assumption in ASSUMPTIONS]
    return lines


def preview_lines(config: Any, run: StackRun) -> list[str]:
    """The preview's cost section (stacks/preview_sections.py)."""
    return report_lines(estimate(run, config.region), sorted(config.shards))


def delta_lines(before: Estimate, after: Estimate, shard_ids: Sequence[str] = ()) -> list[str]:
    """The change in monthly cost from ``before`` to ``after``: per kind, per shard, total (changes only)."""
    lines = []
    kinds_before, kinds_after = before.by_kind(), after.by_kind()
    for kind in sorted(set(kinds_before) | set(kinds_after)):
        change = kinds_after.get(kind, 0.0) - kinds_before.get(kind, 0.0)
        if round(change, 2):
            lines.append(f"  {kind}: {_signed(change)}")
    shards_before, shards_after = before.by_shard(), after.by_shard()
    for component in sorted(set(shards_before) | set(shards_after)):
        old, new = before.shard_total(component), after.shard_total(component)
        name = shard_id(component, shard_ids)
        if component not in shards_before:
            lines.append(f"  shard {name} (new): {_signed(new)}")
        elif component not in shards_after:
            lines.append(f"  shard {name} (removed): {_signed(-old)}")
        elif round(new - old, 2):
            lines.append(f"  shard {name}: {_signed(new - old)}")
    lines.append(
        f"  total: {_money(before.total)} -> {_money(after.total)} ({_signed(after.total - before.total)})"
    )
    newly_unpriced = sorted({item.urn for item in after.unpriced} - {item.urn for item in before.unpriced})
    if newly_unpriced:
        lines.append("  newly unpriced (not in the change): " + ", ".join(newly_unpriced))
    return lines


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}{_money(abs(value))} a month"


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print the estimate of a stack; the exit statuses are the preview's (stacks/preview.py)."""
    from stacks.errors import ArgumentParser
    from stacks.preview import EXIT_OK, PROJECT_DIR

    parser = ArgumentParser(prog="python -m stacks.cost", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument(
        "--config-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument(
        "--against", type=Path, help="also print the change in monthly cost from this stack file"
    )
    args = parser.parse_args(argv)
    stack_file = args.config_file or PROJECT_DIR / f"Pulumi.{args.stack}.yaml"
    current = _estimate_file(Path(stack_file), args.stack, err)
    if isinstance(current, int):
        return current
    run, config, result = current
    out.write(f"Monthly cost estimate of {run.project}/{run.stack} ({Path(stack_file).name})\n")
    out.write("\n".join(report_lines(result, sorted(config.shards))) + "\n")
    if args.against is not None:
        base = _estimate_file(args.against, args.stack, err)
        if isinstance(base, int):
            return base
        shard_ids = sorted(set(config.shards) | set(base[1].shards))
        out.write(f"Change in monthly cost against {args.against.name}\n")
        out.write("\n".join(delta_lines(base[2], result, shard_ids)) + "\n")
    return EXIT_OK


def _estimate_file(stack_file: Path, stack: str, err: TextIO) -> tuple[StackRun, Any, Estimate] | int:
    """Run a stack file and price it; an exit status (printed reason) when it cannot run."""
    from stacks.config import load_stack_file
    from stacks.preview import run_or_status  # the preview's run, its printed reasons and exit statuses

    run = run_or_status(stack_file, stack, err)
    if isinstance(run, int):
        return run
    config = load_stack_file(stack_file, stack=run.stack)
    return run, config, estimate(run, config.region)


if __name__ == "__main__":
    from stacks.errors import guarded

    sys.exit(guarded(main))
