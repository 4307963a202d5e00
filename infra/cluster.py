"""The EKS cluster: control plane, managed node groups, managed add-ons, access entries and the Kubernetes
provider built from it.

Order of creation, and why:

1. IAM roles, the control-plane log group (created first so that its retention is ours, not EKS's
   never-expire default) and, when Secrets are encrypted, the KMS key.
2. The cluster (API authentication mode, private endpoint always, public endpoint only for listed CIDRs),
   the access entries of its admins, and the HTTPS ingress rules that let the deployers reach the endpoint.
3. vpc-cni, kube-proxy and eks-pod-identity-agent: before any node, so nodes come up with the managed
   versions and pods can get AWS credentials from their first start.
4. The node groups: each ``nexus:cluster.nodeGroups`` entry becomes one managed node group per AZ, with the
   entry's sizes in every AZ. The Cluster Autoscaler "does not support Auto Scaling Groups which span multiple
   Availability Zones; instead you should use an Auto Scaling Group for each Availability Zone and enable the
   --balance-similar-node-groups feature" (kubernetes/autoscaler, cluster-autoscaler/cloudprovider/aws/
   README.md, "Common Notes and Gotchas"; the EKS user guide says the same for managed node groups): with one
   multi-AZ group it cannot add a node in the zone a DoNotSchedule zone spread needs, and the pods stay
   Pending. Identical groups per zone (same types, labels, taints) are "similar", so it keeps them balanced.
5. coredns and metrics-server: after the node groups, since their pods need a node (coredns goes DEGRADED
   or times out when created on an empty cluster).

Vertical scaling: every node group is auto-named (``node_group_name_prefix``; EKS appends a unique suffix),
and Pulumi replaces resources create-before-delete. Changing ``instanceTypes`` (or any other property that
forces a new node group) therefore creates a new group next to the old one, then drains and deletes the
old one; a fixed name would fail with ResourceInUseException.

Why one long module: it is one ComponentResource whose private helpers each create one part in the
order above, and the order is the point (add-ons before and after nodes, access entries, the provider last);
splitting the helpers out would scatter that sequence. The IAM documents and node sizing it uses already
live elsewhere (infra/iam_policies.py, infra/eks/).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.eks.addons import ADDON_CONFIGURATION, ADDONS, AddonName, pinned_versions
from infra.eks.nodes import ami_type_for
from infra.kms import key_policy, role_usage

CLUSTER_ADMIN_POLICY: Final = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
POD_IDENTITY_PRINCIPAL: Final = "pods.eks.amazonaws.com"
# Add-ons whose pods are DaemonSets (or hostNetwork) and that nodes need to become Ready / get credentials.
ADDONS_BEFORE_NODES: Final[tuple[AddonName, ...]] = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# Add-ons whose pods are Deployments: they need a node to schedule on.
ADDONS_AFTER_NODES: Final[tuple[AddonName, ...]] = ("coredns", "metrics-server")
NODE_POLICIES: Final = {
    # Stable child-name suffix -> AWS managed policy.
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "ssm": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}

assert set(ADDONS) == set(ADDONS_BEFORE_NODES) | set(ADDONS_AFTER_NODES)


@dataclass(frozen=True, kw_only=True)
class NodeTaintSpec:
    """A Kubernetes taint on every node of a group."""

    key: str
    """Taint key."""
    value: str
    """Taint value (may be empty)."""
    effect: str
    """EKS spelling of the effect: NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."""


@dataclass(frozen=True, kw_only=True)
class NodeGroupSpec:
    """One managed node group."""

    instance_types: Sequence[str]
    """EC2 instance types, one architecture (the AMI type derives from them)."""
    capacity_type: str = "ON_DEMAND"
    """ON_DEMAND or SPOT."""
    min_size: int = 1
    """Cluster Autoscaler floor, per AZ."""
    desired_size: int = 2
    """Initial size per AZ only (Pulumi ignores later changes; the autoscaler owns it)."""
    max_size: int = 3
    """Cluster Autoscaler ceiling, per AZ."""
    disk_gib: int = 50
    """Root volume (gp3, encrypted), GiB."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Kubernetes labels on every node."""
    taints: Sequence[NodeTaintSpec] = ()
    """Kubernetes taints on every node."""


@dataclass(frozen=True, kw_only=True)
class EksClusterArgs:
    """Inputs of an EksCluster. Plain values where the component branches on them."""

    cluster_name: str
    """Physical cluster name (the network tags its subnets with kubernetes.io/cluster/<name>)."""
    version: str
    """Kubernetes minor version, e.g. 1.34."""
    region: str
    """AWS region (for the kubeconfig's token command)."""
    vpc_id: pulumi.Input[str]
    """The VPC."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets for the control-plane ENIs."""
    node_subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnet of each AZ index: every node group gets one managed node group per entry here."""
    workload_security_group_id: pulumi.Input[str]
    """The network's workload security group: every node carries it, so data stores can admit the pods."""
    admin_role_arns: Sequence[str] = ()
    """IAM roles granted cluster admin (AmazonEKSClusterAdminPolicy, cluster scope) by access entries. The
    only admins: the cluster is created without creator admin permissions, so the deploying role is one."""
    public_access_cidrs: Sequence[str] = ()
    """CIDRs allowed on the public endpoint; empty = no public endpoint."""
    api_access_security_group_ids: Sequence[str] = ()
    """Security groups admitted on 443 by the cluster security group (deployers inside the network)."""
    api_access_cidrs: Sequence[str] = ()
    """CIDRs (IPv4 or IPv6) admitted on 443 by the cluster security group."""
    log_types: Sequence[str] = ("api", "audit", "authenticator")
    """Control-plane log types."""
    log_retention_days: int = 90
    """Retention of the control-plane log group."""
    secrets_encryption: bool = False
    """Envelope-encrypt Kubernetes Secrets with a KMS key of this cluster (rotation on)."""
    node_groups: Mapping[str, NodeGroupSpec] = field(default_factory=dict)
    """Managed node groups by stable name."""
    addon_versions: Mapping[str, str] = field(default_factory=dict)
    """Add-on versions pinned by config; they win over the reviewed per-minor table (infra.eks.addons)."""
    is_prod: bool = False
    """Protect the cluster and the KMS key, and turn on the cluster's deletion protection."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of the control-plane log group (None: CloudWatch Logs' default encryption; nexus:logs.kms)."""


def assume_role_policy(service: str, *, tag_session: bool = False) -> str:
    """Trust policy for an AWS service principal."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else ["sts:AssumeRole"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}],
        },
        sort_keys=True,
    )


def pod_identity_trust_policy(
    cluster_name: str, namespace: str, service_account: str, *, sid: str | None = None
) -> dict[str, Any]:
    """Trust for EKS Pod Identity, narrowed to one cluster, namespace and service account.

    Pod Identity passes these as session tags (hence sts:TagSession); without the conditions any
    association in the account could hand the role to any pod. ``sid`` names the statement when given.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-name": cluster_name,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }
        },
    }
    if sid is not None:
        statement["Sid"] = sid
    return {"Version": "2012-10-17", "Statement": [statement]}


def kms_policy_for_cluster(key_arn: str) -> str:
    """What the cluster role needs to envelope-encrypt Secrets with one key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"],
                    "Resource": key_arn,
                },
                {
                    "Effect": "Allow",
                    "Action": "kms:CreateGrant",
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        },
        sort_keys=True,
    )


def autoscaler_tags(cluster_name: str) -> dict[str, str]:
    """Tags Cluster Autoscaler's auto-discovery looks for (EKS also puts them on the groups' ASGs)."""
    return {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
    }


def principal_key(arn: str) -> str:
    """A stable, readable child-name key for an IAM principal ARN: its name plus a short hash of the ARN."""
    tail = arn.rsplit("/", 1)[-1]
    slug = re.sub(r"[^a-z0-9]+", "-", tail.lower()).strip("-")[:32] or "principal"
    return f"{slug}-{hashlib.sha256(arn.encode()).hexdigest()[:6]}"


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig whose credentials come from ``aws eks get-token`` at each use: nothing static in it."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def launch_template_metadata() -> dict[str, Any]:
    """IMDSv2 only, hop limit 1: a pod (one hop further) cannot reach the node's credentials."""
    return {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1}


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with managed node groups, managed add-ons and a Kubernetes provider."""

    control_plane: aws.eks.Cluster
    """The EKS cluster resource: ACTIVE once created, so whatever acts on the cluster waits for it."""
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    node_group_names: dict[str, pulumi.Output[str]]
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider
    node_groups: dict[str, aws.eks.NodeGroup]
    addons: dict[str, aws.eks.Addon]
    kms_key_arn: pulumi.Output[str] | None
    account_id: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:cluster:EksCluster", name, None, opts)
        self._name = name
        self._args = args

        cluster_role, role_ready = self._cluster_role()
        key = None
        if args.secrets_encryption:
            key, key_grant = self._kms_key(cluster_role)
            role_ready.append(key_grant)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # EKS writes to exactly this name; creating it first keeps the retention ours.
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            opts=self._child(),
        )
        cluster = self._cluster(cluster_role, key, [log_group, *role_ready])
        self.control_plane = cluster
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.certificate_authority = cluster.certificate_authority.apply(lambda ca: ca.data or "")
        self.cluster_security_group_id = cluster.vpc_config.apply(
            lambda vpc: vpc.cluster_security_group_id or ""
        )
        self.kms_key_arn = key.arn if key is not None else None
        # The account, read from the cluster's ARN rather than by an extra lookup.
        self.account_id = cluster.arn.apply(lambda arn: arn.split(":")[4])

        self._access_entries(cluster)
        self._api_access_rules()
        before: dict[str, aws.eks.Addon] = {
            addon: self._addon(cluster, addon, []) for addon in ADDONS_BEFORE_NODES
        }
        node_role, node_role_attachments = self._node_role()
        self.node_role_arn = node_role.arn
        self.node_groups = {
            f"{group_name}-{az_index}": node_group
            for group_name, group in args.node_groups.items()
            for az_index, node_group in enumerate(
                self._node_groups(
                    cluster, node_role, group_name, group, [*node_role_attachments, *before.values()]
                )
            )
        }
        self.node_group_names = {key_: group.node_group_name for key_, group in self.node_groups.items()}
        after: dict[str, aws.eks.Addon] = {
            addon: self._addon(cluster, addon, list(self.node_groups.values()))
            for addon in ADDONS_AFTER_NODES
        }
        self.addons = {**before, **after}

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, self.certificate_authority).apply(
                lambda parts: kubeconfig(parts[0], parts[1], parts[2], args.region)
            )
        )
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Server-side apply: field ownership is tracked by the API server, so controllers that also write
            # to these objects (the HPA on replicas, the LB controller on bindings) do not fight Pulumi.
            enable_server_side_apply=True,
            opts=self._child(),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeRoleArn": self.node_role_arn,
                "nodeGroupNames": self.node_group_names,
                "kubeconfig": self.kubeconfig,
            }
        )

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What must exist before pods are scheduled: every node group and every add-on."""
        return [*self.node_groups.values(), *self.addons.values()]

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _cluster_role(self) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        role = aws.iam.Role(
            f"{self._name}-cluster-role",
            assume_role_policy=assume_role_policy("eks.amazonaws.com", tag_session=True),
            description=f"EKS control plane of {self._args.cluster_name}",
            opts=self._child(),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=self._child(),
        )
        return role, [attachment]

    def _kms_key(self, cluster_role: aws.iam.Role) -> tuple[aws.kms.Key, aws.iam.RolePolicy]:
        key = aws.kms.Key(
            f"{self._name}-secrets-key",
            description=f"Envelope encryption of Kubernetes Secrets in {self._args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # Administered by the cluster's admin roles only; used by the cluster role only (infra/kms.py).
            policy=cluster_role.arn.apply(
                lambda role_arn: key_policy(
                    tuple(self._args.admin_role_arns), role_usage([role_arn], "ClusterEnvelopeEncryption")
                )
            ),
            # Losing this key makes every Secret in etcd unreadable: prod protects it from deletion.
            opts=self._child(protect=self._args.is_prod),
        )
        aws.kms.Alias(
            f"{self._name}-secrets-key-alias",
            name=f"alias/{self._args.cluster_name}-secrets",
            target_key_id=key.key_id,
            opts=self._child(),
        )
        grant = aws.iam.RolePolicy(
            f"{self._name}-cluster-kms",
            role=cluster_role.id,
            policy=key.arn.apply(kms_policy_for_cluster),
            opts=self._child(),
        )
        return key, grant

    def _cluster(
        self, role: aws.iam.Role, key: aws.kms.Key | None, depends_on: list[pulumi.Resource]
    ) -> aws.eks.Cluster:
        args = self._args
        public = bool(args.public_access_cidrs)
        encryption = (
            aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            )
            if key is not None
            else None
        )
        return aws.eks.Cluster(
            f"{self._name}-eks",
            name=args.cluster_name,
            version=args.version,
            role_arn=role.arn,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Every admin is an access entry of this program (admin_role_arns), the deploying role too.
                # With this on (the provider's default, eks/_inputs.py ClusterAccessConfigArgs), EKS creates
                # an entry for the creator itself, and the program's entry for the same role fails with
                # ResourceInUseException (409); an entry made by EKS is also outside Pulumi's state.
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(args.public_access_cidrs) if public else None,
            ),
            enabled_cluster_log_types=list(args.log_types),
            encryption_config=encryption,
            # STANDARD: no extended-support fees; keep nexus:cluster.version current instead.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=args.is_prod,
            # The role's policies and the log group must exist before the control plane starts using them.
            opts=self._child(protect=args.is_prod, depends_on=depends_on),
        )

    def _access_entries(self, cluster: aws.eks.Cluster) -> None:
        for arn in self._args.admin_role_arns:
            key = principal_key(arn)
            entry = aws.eks.AccessEntry(
                f"{self._name}-admin-{key}",
                cluster_name=cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=self._child(),
            )
            aws.eks.AccessPolicyAssociation(
                f"{self._name}-admin-{key}",
                cluster_name=cluster.name,
                principal_arn=arn,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=self._child(depends_on=[entry]),
            )

    def _api_access_rules(self) -> None:
        # EKS attaches the cluster security group to the endpoint's network interfaces in the VPC; by default
        # it admits only itself (the nodes), so a deployer in the VPC, or reaching it over a VPN or peering,
        # needs a rule on 443 (docs/cluster.md). Keyed by the source, so adding one never touches another.
        # (key, security group, IPv4 CIDR, IPv6 CIDR): exactly one source per rule.
        sources: list[tuple[str, str | None, str | None, str | None]] = [
            (group_id, group_id, None, None) for group_id in self._args.api_access_security_group_ids
        ]
        for cidr in self._args.api_access_cidrs:
            key = re.sub(r"[^0-9a-f]+", "-", cidr.lower()).strip("-")
            sources.append((key, None, None, cidr) if ":" in cidr else (key, None, cidr, None))
        for key, group_id, ipv4, ipv6 in sources:
            aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-api-from-{key}",
                security_group_id=self.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                referenced_security_group_id=group_id,
                cidr_ipv4=ipv4,
                cidr_ipv6=ipv6,
                description="Kubernetes API from a deployer (nexus:cluster.apiAccess)",
                opts=self._child(),
            )

    def _addon_version(self, addon: AddonName) -> pulumi.Input[str]:
        """The reviewed (or config-pinned) version for the cluster's minor, else EKS's default for it.

        Either way the version is set on the add-on and follows nexus:cluster.version: an add-on without a
        version keeps whatever EKS installed when it was created, through every later version bump.
        """
        pinned = pinned_versions(self._args.version, self._args.addon_versions)
        if addon in pinned:
            return pinned[addon]
        return aws.eks.get_addon_version_output(
            addon_name=addon,
            kubernetes_version=self._args.version,
            most_recent=False,
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).version

    def _addon(
        self, cluster: aws.eks.Cluster, addon: AddonName, after: list[pulumi.Resource]
    ) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=self._addon_version(addon),
            configuration_values=(
                json.dumps(dict(ADDON_CONFIGURATION[addon]), sort_keys=True)
                if addon in ADDON_CONFIGURATION
                else None
            ),
            # The add-on's settings are Pulumi's: overwrite what a self-managed copy left behind.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=self._child(depends_on=after),
        )

    def _node_role(self) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        role = aws.iam.Role(
            f"{self._name}-node-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            description=f"Nodes of {self._args.cluster_name}",
            opts=self._child(),
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-node-{suffix}", role=role.name, policy_arn=policy, opts=self._child()
            )
            for suffix, policy in NODE_POLICIES.items()
        ]
        return role, attachments

    def _node_groups(
        self,
        cluster: aws.eks.Cluster,
        role: aws.iam.Role,
        group_name: str,
        group: NodeGroupSpec,
        depends_on: list[pulumi.Resource],
    ) -> list[aws.eks.NodeGroup]:
        """One launch template for the entry, one managed node group per AZ (``<name>-<group>-<index>``)."""
        args = self._args
        child = f"{self._name}-{group_name}"
        template = aws.ec2.LaunchTemplate(
            f"{child}-lt",
            description=f"Nodes of {args.cluster_name}/{group_name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**launch_template_metadata()),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=group.disk_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            # The cluster SG keeps node <-> control plane and node <-> node traffic open; the workload SG is
            # what the databases and Redis admit.
            vpc_security_group_ids=[
                self.cluster_security_group_id,
                args.workload_security_group_id,
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={"Name": f"{args.cluster_name}-{group_name}"}
                )
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            opts=self._child(),
        )
        return [
            self._zone_node_group(cluster, role, group_name, group, template, az_index, subnet_id, depends_on)
            for az_index, subnet_id in enumerate(args.node_subnet_ids)
        ]

    def _zone_node_group(
        self,
        cluster: aws.eks.Cluster,
        role: aws.iam.Role,
        group_name: str,
        group: NodeGroupSpec,
        template: aws.ec2.LaunchTemplate,
        az_index: int,
        subnet_id: pulumi.Input[str],
        depends_on: list[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        args = self._args
        child = f"{self._name}-{group_name}"
        # AZ 0's group carries the URN the single multi-AZ group had, so a stack deployed before the split
        # replaces that group (create-before-delete, new subnets) rather than deleting it beside new ones.
        aliases = [pulumi.Alias(name=child)] if az_index == 0 else []
        return aws.eks.NodeGroup(
            f"{child}-{az_index}",
            cluster_name=cluster.name,
            # A prefix, not a name: a replacement (new instance types, capacity type, subnets...) gets a new
            # unique name and is created before the old group is deleted.
            node_group_name_prefix=f"{group_name}-{az_index}-",
            # The cluster's minor: pulumi-aws "will only perform drift detection if a configuration value is
            # provided" (node_group.py, version); without it a version bump upgrades the control plane only.
            version=args.version,
            node_role_arn=role.arn,
            # One AZ per group: the Cluster Autoscaler then adds nodes in the zone the pending pods need.
            subnet_ids=[subnet_id],
            instance_types=list(group.instance_types),
            capacity_type=group.capacity_type,
            ami_type=ami_type_for(group.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={**group.labels, "nexus.io/node-group": group_name},
            taints=[
                aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value or None, effect=taint.effect)
                for taint in group.taints
            ],
            tags={**autoscaler_tags(args.cluster_name), "nexus.io/node-group": group_name},
            opts=self._child(
                depends_on=depends_on,
                # The Cluster Autoscaler owns the size between min and max after creation.
                ignore_changes=["scalingConfig.desiredSize"],
                aliases=aliases,
            ),
        )


def pod_identity_role(
    name: str,
    parent: pulumi.Resource,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy_json: pulumi.Input[str],
    description: str,
) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    """An IAM role that only Pod Identity may hand to one service account, its inline policy, and the
    association that hands it over. Children of ``parent``, named from ``name``."""
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=pulumi.Output.from_input(cluster_name).apply(
            lambda cluster: json.dumps(
                pod_identity_trust_policy(cluster, namespace, service_account), sort_keys=True
            )
        ),
        description=description,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy", role=role.id, policy=policy_json, opts=pulumi.ResourceOptions(parent=parent)
    )
    association = aws.eks.PodIdentityAssociation(
        f"{name}-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        # The pod must not start with a role that has no permissions yet.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
    return role, association
