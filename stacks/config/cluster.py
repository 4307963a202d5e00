"""``nexus:cluster``: the EKS cluster, its managed node groups, add-ons and the controllers it runs."""

from __future__ import annotations

import ipaddress
import math
import re
from typing import TYPE_CHECKING, Annotated, Final, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from infra.eks.addons import (
    ADDON_VERSIONS,
    NETWORK_POLICY_MIN_VPC_CNI,
    AddonName,
    missing_versions,
    vpc_cni_minor,
)
from infra.eks.nodes import (
    INSTANCE_TYPES,
    ZERO,
    NodePool,
    Resources,
    Workload,
    architectures,
    fit_problems,
    pods_per_node,
)
from infra.k8s.charts import LB_CONTROLLER_APP_VERSIONS
from stacks.config.base import ConfigModel
from stacks.config.sections import check_min_max, field_error

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
DEFAULT_NODE_GROUP: Final = {"instanceTypes": ["m6i.xlarge"], "minSize": 1, "desiredSize": 1, "maxSize": 5}
"""Per AZ (2 AZs by default: 2-10 nodes); sized for the default nexus:api and nexus:worker at their HPA
maxima, with rollout surge."""
DEFAULT_LOG_TYPES: Final[tuple[LogType, ...]] = ("api", "audit", "authenticator")
NODE_GROUP_NAME_PATTERN: Final = r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$"
ROLE_ARN_PATTERN: Final = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
SECURITY_GROUP_ID_PATTERN: Final = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
"""EC2 security group ids: ``sg-`` and 8 (older) or 17 hexadecimal digits."""
ADDON_VERSION_PATTERN: Final = r"^v\d+\.\d+\.\d+-eksbuild\.\d+$"
KUBERNETES_VERSION_PATTERN: Final = r"^1\.(3[0-9])$"
ROLLOUT_SURGE: Final = 0.25
"""The Deployments' RollingUpdate maxSurge: with maxUnavailable 0 a rollout at maxReplicas needs this room."""

AddonVersion = Annotated[str, StringConstraints(pattern=ADDON_VERSION_PATTERN)]
LabelValue = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]


class NodeTaint(ConfigModel):
    """A Kubernetes taint on every node of a group."""

    key: str = Field(pattern=r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
    """Taint key, e.g. ``dedicated``."""
    value: LabelValue = ""
    """Taint value (may be empty)."""
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]
    """EKS spelling of the effect."""


class NodeGroupConfig(ConfigModel):
    """One managed node group."""

    instance_types: list[str] = Field(min_length=1, max_length=20)
    """EC2 instance types (several only for SPOT diversification); one architecture per group."""
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    """On-demand or spot capacity."""
    min_size: int = Field(default=1, ge=0, le=450)
    """Per AZ: the Cluster Autoscaler never goes below this in any AZ (the group is one node group per AZ)."""
    desired_size: int = Field(default=2, ge=0, le=450)
    """Initial size per AZ only: after creation the Cluster Autoscaler owns it (Pulumi ignores changes)."""
    max_size: int = Field(default=3, ge=1, le=450)
    """Per AZ: the Cluster Autoscaler never goes above this; the capacity checks count maxSize x azCount."""
    disk_gib: int = Field(default=50, ge=20, le=16384)
    """Root volume (gp3, encrypted), GiB."""
    labels: dict[str, LabelValue] = Field(default_factory=dict)
    """Kubernetes labels on every node."""
    taints: list[NodeTaint] = Field(default_factory=list)
    """Kubernetes taints on every node (a NoSchedule group is not counted for the stack's pods)."""

    @field_validator("instance_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in INSTANCE_TYPES]
        if unknown:
            families = ", ".join(sorted({name.split(".")[0] for name in INSTANCE_TYPES}))
            raise PydanticCustomError(
                "unknown_instance_type",
                "unknown instance type(s) {unknown}; use one of the families {families} with a size such as "
                "large or xlarge (see infra/eks/nodes.py)",
                {"unknown": ", ".join(unknown), "families": families},
            )
        if len(set(value)) != len(value):
            raise PydanticCustomError(
                "duplicate", "instance types are listed twice: {value}", {"value": value}
            )
        arches = architectures(value)
        if len(arches) > 1:
            raise PydanticCustomError(
                "mixed_arch",
                "instance types {value} mix architectures ({arches}); one AMI serves a group, so split them "
                "into two node groups",
                {"value": ", ".join(value), "arches": ", ".join(sorted(arches))},
            )
        return value

    @model_validator(mode="after")
    def _sizes(self) -> NodeGroupConfig:
        check_min_max("minSize", self.min_size, "maxSize", self.max_size)
        check_min_max("minSize", self.min_size, "desiredSize", self.desired_size)
        check_min_max("desiredSize", self.desired_size, "maxSize", self.max_size)
        return self

    @property
    def schedulable(self) -> bool:
        """Whether the stack's pods (no tolerations) may land on this group."""
        return not any(taint.effect in ("NO_SCHEDULE", "NO_EXECUTE") for taint in self.taints)


class AutoscalerConfig(ConfigModel):
    """The Cluster Autoscaler (helm chart ``cluster-autoscaler``)."""

    chart_version: str = Field(default="9.53.0", pattern=r"^\d+\.\d+\.\d+$")
    """Helm chart version, pinned (9.53.0 ships Cluster Autoscaler 1.34)."""
    image_tag: str = Field(default="v1.34.2", pattern=r"^v1\.\d+\.\d+$")
    """Cluster Autoscaler image tag; its minor must match the cluster's Kubernetes minor."""
    cpu: int = Field(default=100, ge=10, le=4000)
    """CPU request, millicores."""
    memory_mib: int = Field(default=300, ge=64, le=8192)
    """Memory request and limit, MiB."""


class LoadBalancerControllerConfig(ConfigModel):
    """The AWS Load Balancer Controller (helm chart ``aws-load-balancer-controller``)."""

    chart_version: str = Field(default="1.14.0", pattern=r"^\d+\.\d+\.\d+$")
    """Helm chart version, pinned (1.14.0 ships controller v2.14.0); its CRDs are applied from the
    controller's release tag, so a version needs a row in infra/k8s/charts.py."""

    @field_validator("chart_version")
    @classmethod
    def _crds_known(cls, value: str) -> str:
        if value not in LB_CONTROLLER_APP_VERSIONS:
            raise PydanticCustomError(
                "chart_version",
                "no CRD source known for chart {value} (known: {known}); add its appVersion from the chart's "
                "Chart.yaml to LB_CONTROLLER_APP_VERSIONS in infra/k8s/charts.py",
                {"value": value, "known": ", ".join(sorted(LB_CONTROLLER_APP_VERSIONS))},
            )
        return value

    replicas: int = Field(default=2, ge=1, le=5)
    """Controller replicas (one leader; two keep its webhook available during a node drain)."""
    cpu: int = Field(default=100, ge=10, le=4000)
    """CPU request per replica, millicores."""
    memory_mib: int = Field(default=256, ge=64, le=8192)
    """Memory request and limit per replica, MiB."""


def _check_cidr(cidr: str, example: str) -> None:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise PydanticCustomError(
            "cidr",
            "'{cidr}' is not a CIDR such as {example} ({exc})",
            {"cidr": cidr, "example": example, "exc": str(exc)},
        ) from exc
    if network.prefixlen == 0:
        raise PydanticCustomError(
            "cidr",
            "{cidr} opens the Kubernetes API to every address; list the deployers' CIDRs",
            {"cidr": cidr},
        )


class ApiAccessConfig(ConfigModel):
    """Who may reach the cluster's API endpoint from inside the network: HTTPS (443) ingress rules on the
    cluster security group, which EKS attaches to the endpoint's network interfaces."""

    source_security_group_ids: list[Annotated[str, StringConstraints(pattern=SECURITY_GROUP_ID_PATTERN)]] = (
        Field(default_factory=list)
    )
    """Security groups of the deployers (a CI runner in the VPC or a peered one, a bastion)."""
    cidrs: list[str] = Field(default_factory=list)
    """CIDRs of the deployers inside the VPC or reached over a VPN, peering or transit gateway."""

    @field_validator("cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            _check_cidr(cidr, "10.20.0.0/16")
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "CIDRs are listed twice: {value}", {"value": value})
        return value

    @field_validator("source_security_group_ids")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise PydanticCustomError(
                "duplicate", "security groups are listed twice: {value}", {"value": value}
            )
        return value

    @property
    def empty(self) -> bool:
        """No deployer source at all."""
        return not (self.source_security_group_ids or self.cidrs)


class ClusterConfig(ConfigModel):
    """``nexus:cluster``: the EKS cluster."""

    version: str = Field(default="1.34", pattern=KUBERNETES_VERSION_PATTERN)
    """Kubernetes minor version, e.g. 1.34 (upgrade one minor at a time)."""
    admin_role_arns: list[Annotated[str, StringConstraints(pattern=ROLE_ARN_PATTERN)]] = Field(
        default_factory=list
    )
    """IAM role ARNs granted AmazonEKSClusterAdminPolicy (cluster scope) by access entries; at least one: the
    role that runs pulumi up (the cluster is created without creator admin permissions)."""
    public_access_cidrs: list[str] = Field(default_factory=list)
    """CIDRs allowed to reach the public API endpoint; empty = no public endpoint (private always on)."""
    api_access: ApiAccessConfig = ApiAccessConfig()
    """Deployer sources admitted on 443 through the cluster security group (the private endpoint)."""
    log_types: list[LogType] = Field(default_factory=lambda: list(DEFAULT_LOG_TYPES))
    """Control-plane log types sent to CloudWatch Logs."""
    log_retention_days: int = Field(default=90, ge=1, le=3653)
    """Retention of the control-plane log group, days."""
    secrets_encryption: bool = False
    """Envelope-encrypt Kubernetes Secrets with a KMS key of the stack (rotation on); prod requires it."""
    node_groups: dict[str, NodeGroupConfig] = Field(
        default_factory=lambda: {"general": NodeGroupConfig.model_validate(DEFAULT_NODE_GROUP)},
        min_length=1,
    )
    """Managed node groups by stable name (2-16 lowercase letters, digits, hyphens); each becomes one managed
    node group per AZ with these sizes in every AZ (Cluster Autoscaler: one group per zone, balanced)."""
    addon_versions: dict[AddonName, AddonVersion] = Field(default_factory=dict)
    """Add-on versions pinned here win over the reviewed per-minor table of infra/eks/addons.py (vpc-cni,
    kube-proxy, coredns); eks-pod-identity-agent and metrics-server otherwise take EKS's default for the
    cluster's minor. Every add-on moves with nexus:cluster.version unless pinned here."""
    autoscaler: AutoscalerConfig = AutoscalerConfig()
    """Cluster Autoscaler settings."""
    load_balancer_controller: LoadBalancerControllerConfig = LoadBalancerControllerConfig()
    """AWS Load Balancer Controller settings."""

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise PydanticCustomError(
                    "cidr",
                    "'{cidr}' is not a CIDR such as 203.0.113.0/24 ({exc})",
                    {"cidr": cidr, "exc": str(exc)},
                ) from exc
            if network.prefixlen == 0:
                raise PydanticCustomError(
                    "cidr",
                    "{cidr} opens the Kubernetes API to the whole internet; list your offices' or CI's "
                    "CIDRs, or leave publicAccessCidrs empty for a private-only endpoint",
                    {"cidr": cidr},
                )
        return value

    @field_validator("node_groups")
    @classmethod
    def _group_names(cls, value: dict[str, NodeGroupConfig]) -> dict[str, NodeGroupConfig]:
        bad = [name for name in value if not re.fullmatch(NODE_GROUP_NAME_PATTERN, name)]
        if bad:
            raise PydanticCustomError(
                "node_group_name",
                "node group name(s) {bad} are not valid; use 2-16 lowercase letters, digits and inner "
                "hyphens (they become part of the AWS node group name)",
                {"bad": ", ".join(repr(name) for name in bad)},
            )
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _unique_roles(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "roles are listed twice: {value}", {"value": value})
        return value

    @model_validator(mode="after")
    def _one_access_model(self) -> ClusterConfig:
        # One model of cluster access: every admin is an access entry of this program, the deploy role too,
        # and the cluster is created with bootstrap_cluster_creator_admin_permissions=False. With creator
        # admin permissions on, EKS itself creates an access entry for the creator, and the program's entry
        # for the same role then fails with ResourceInUseException (409); without any entry, no one reaches
        # the API. (A model validator: an omitted key keeps its default without field validation.)
        if not self.admin_role_arns:
            raise field_error(
                "adminRoleArns",
                "no cluster admin: the cluster is created without creator admin permissions, so list the IAM "
                "role that runs pulumi up (the Kubernetes provider acts as it) and any human admin roles, "
                "e.g. [arn:aws:iam::123456789012:role/deploy]",
            )
        return self

    @model_validator(mode="after")
    def _addons_versioned(self) -> ClusterConfig:
        missing = missing_versions(self.version, {str(k): v for k, v in self.addon_versions.items()})
        if missing:
            raise field_error(
                "addonVersions",
                f"Kubernetes {self.version} has no reviewed versions of {', '.join(missing)} in "
                f"infra/eks/addons.py (reviewed: {', '.join(sorted(ADDON_VERSIONS))}); pin them here, e.g. "
                f"{{{missing[0]}: vX.Y.Z-eksbuild.N}} from `aws eks describe-addon-versions "
                f"--kubernetes-version {self.version}`, or add the row with its source",
            )
        return self

    @model_validator(mode="after")
    def _cni_enforces_network_policies(self) -> ClusterConfig:
        pinned = self.addon_versions.get("vpc-cni")
        if pinned is not None and vpc_cni_minor(pinned) < NETWORK_POLICY_MIN_VPC_CNI:
            low = ".".join(map(str, NETWORK_POLICY_MIN_VPC_CNI))
            raise field_error(
                "addonVersions",
                f"vpc-cni {pinned} cannot enforce the namespace's network policies (the VPC CNI does from "
                f"v{low}); pin v{low}.0 or later, or leave vpc-cni out to use the reviewed version",
            )
        return self

    @model_validator(mode="after")
    def _autoscaler_matches(self) -> ClusterConfig:
        # Cluster Autoscaler only supports the Kubernetes minor it was built for.
        ca_minor = ".".join(self.autoscaler.image_tag.lstrip("v").split(".")[:2])
        if ca_minor != self.version:
            raise field_error(
                "autoscaler.imageTag",
                f"{self.autoscaler.image_tag} is for Kubernetes {ca_minor}, the cluster runs "
                f"{self.version}; use a Cluster Autoscaler {self.version}.x image and its chart",
            )
        return self


# Cluster-wide system pods that are Deployments (daemonsets are counted per node in infra.eks.nodes).
_COREDNS = Resources(cpu_m=100, memory_mib=70)
_COREDNS_REPLICAS = 2
_METRICS_SERVER = Resources(cpu_m=100, memory_mib=200)


def _system_workloads(cluster: ClusterConfig) -> list[Workload]:
    lbc = cluster.load_balancer_controller
    return [
        Workload(
            "coredns", _COREDNS, _COREDNS_REPLICAS, "nexus:cluster.nodeGroups", "nexus:cluster.nodeGroups"
        ),
        Workload(
            "metrics-server", _METRICS_SERVER, 1, "nexus:cluster.nodeGroups", "nexus:cluster.nodeGroups"
        ),
        Workload(
            "cluster-autoscaler",
            Resources(cluster.autoscaler.cpu, cluster.autoscaler.memory_mib),
            1,
            "nexus:cluster.autoscaler.cpu / memoryMib",
            "nexus:cluster.nodeGroups",
        ),
        Workload(
            "aws-load-balancer-controller",
            Resources(lbc.cpu, lbc.memory_mib),
            lbc.replicas,
            "nexus:cluster.loadBalancerController.cpu / memoryMib",
            "nexus:cluster.loadBalancerController.replicas",
        ),
    ]


def with_surge(replicas: int) -> int:
    """Pods alive during a rollout at ``replicas``: maxUnavailable 0 plus a 25% surge (rounded up)."""
    return replicas + math.ceil(replicas * ROLLOUT_SURGE)


def stack_workloads(config: StackConfig) -> list[Workload]:
    """Every kind of pod the stack schedules, at its maximum count (HPA max plus rollout surge)."""
    workloads = [
        Workload(
            "api",
            Resources(config.api.cpu, config.api.memory_mib),
            with_surge(config.api.max_replicas),
            "nexus:api.cpu / memoryMib",
            "nexus:api.maxReplicas",
        )
    ]
    worker = config.worker
    workloads.append(
        Workload(
            "worker",
            Resources(worker.cpu, worker.memory_mib),
            with_surge(worker.max_replicas),
            "nexus:worker.cpu / memoryMib",
            "nexus:worker.maxReplicas",
        )
    )
    return workloads + _system_workloads(config.cluster)


def node_pools(cluster: ClusterConfig, zones: int) -> list[NodePool]:
    """The node groups as the capacity checks see them: each one managed node group per AZ."""
    return [
        NodePool(
            name=name,
            instance_types=tuple(group.instance_types),
            max_size=group.max_size,
            schedulable=group.schedulable,
            zones=zones,
        )
        for name, group in cluster.node_groups.items()
    ]


def node_capacity_problems(config: StackConfig) -> list[str]:
    """Cross-check: every pod fits a node, and every workload at max fits the node groups at max."""
    return fit_problems(node_pools(config.cluster, config.network.az_count), stack_workloads(config))


def api_reachability_problems(config: StackConfig) -> list[str]:
    """Cross-check: some deployer can reach the API endpoint (else every Kubernetes resource times out)."""
    cluster = config.cluster
    if cluster.public_access_cidrs or not cluster.api_access.empty:
        return []
    return [
        "nexus:cluster.apiAccess: the API endpoint is private (publicAccessCidrs is empty) and the cluster "
        "security group admits only the cluster's own nodes, so pulumi up could not reach it; list the "
        "deployer's security group in apiAccess.sourceSecurityGroupIds or its CIDR in apiAccess.cidrs (or "
        "set publicAccessCidrs)"
    ]


def cluster_prod_problems(config: StackConfig) -> list[str]:
    """Cross-check: prod encrypts Secrets with KMS and keeps the audit log."""
    if not config.is_prod:
        return []
    problems = []
    if not config.cluster.secrets_encryption:
        problems.append(
            "nexus:cluster.secretsEncryption: prod envelope-encrypts Kubernetes Secrets (DB passwords, Redis "
            "token, JWT keys) with KMS; set it to true"
        )
    if "audit" not in config.cluster.log_types:
        problems.append("nexus:cluster.logTypes: prod keeps the audit log; add 'audit'")
    return problems


def node_capacity_lines(config: StackConfig, run: object = None) -> list[str]:
    """The preview's node capacity section: per-node allocatable of each group and the pods at full scale."""
    zones = config.network.az_count
    pools = node_pools(config.cluster, zones)
    lines = []
    for pool in pools:
        group = config.cluster.node_groups[pool.name]
        taint = "" if pool.schedulable else "  (tainted: not counted)"
        lines.append(
            f"{pool.name}: {', '.join(pool.instance_types)} {group.capacity_type}, {group.min_size}-"
            f"{group.max_size} nodes per AZ x {zones} AZs; per node {pool.per_node.describe()} "
            f"allocatable{taint}"
        )
    usable = [pool for pool in pools if pool.schedulable]
    # "need" is what the stack may ask for (an HPA at its maximum during a rollout, whose surge adds pods
    # before old ones go); "have" is what the schedulable groups hold at their maxSize.
    hpa_max = {"api": config.api.max_replicas, "worker": config.worker.max_replicas}
    for workload in stack_workloads(config):
        per_node = {pool.name: pods_per_node(workload.request, pool.per_node) for pool in usable}
        slots = sum(per_node[pool.name] * pool.max_nodes for pool in usable)
        count = f"{workload.max_pods} pods"
        if workload.name in hpa_max:
            surge = workload.max_pods - hpa_max[workload.name]
            count += (
                f" (HPA max {hpa_max[workload.name]} + {surge} rolling-update surge, "
                f"{ROLLOUT_SURGE:.0%} of it)"
            )
        lines.append(
            f"  {workload.name}: need {count} of {workload.request.cpu_m}m / "
            f"{workload.request.memory_mib} MiB; have room for {slots} at maxSize"
        )
    need = sum((w.request.times(w.max_pods) for w in stack_workloads(config)), ZERO)
    have = sum((pool.at_max for pool in usable), ZERO)
    lines.append(f"  all at full scale: need {need.describe()}; have {have.describe()} at maxSize")
    return lines
