"""Compute rules: the EKS control plane (private endpoint, Secrets encryption) and the nodes (IMDSv2,
auto-named node groups)."""

from __future__ import annotations

from collections.abc import Iterator

from infra.k8s.charts import LB_CONTROLLER_CHART, lb_controller_crds_url
from policy.core import (
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    Graph,
    PolicyResource,
    PolicyRule,
    Violation,
    as_int,
    is_prod,
    waits_for,
)
from policy.network import WORLD_CIDRS

K8S_PROVIDER = "pulumi:providers:kubernetes"


def _eks_endpoint_not_world(graph: Graph) -> Iterator[Violation]:
    for cluster in graph.by_type(EKS_CLUSTER):
        vpc = cluster.inputs.get("vpcConfig") or {}
        if vpc.get("endpointPrivateAccess") is not True:
            yield Violation(
                "eks-endpoint-private",
                cluster.urn,
                "the private API endpoint is off; nodes and pods would reach the API over the internet "
                "(set endpoint_private_access=True)",
            )
        # EKS's own default for a public endpoint is 0.0.0.0/0 and the public endpoint is on by default.
        if vpc.get("endpointPublicAccess", True) is not False:
            cidrs = vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]
            world = sorted(set(cidrs) & WORLD_CIDRS)
            if world:
                yield Violation(
                    "eks-endpoint-private",
                    cluster.urn,
                    f"the public API endpoint admits {', '.join(world)}; list specific CIDRs "
                    "(nexus:cluster.publicAccessCidrs) or turn the public endpoint off",
                )


def _eks_secrets_encrypted_in_prod(graph: Graph) -> Iterator[Violation]:
    for cluster in graph.by_type(EKS_CLUSTER):
        if not is_prod(graph, cluster):
            continue
        encryption = cluster.inputs.get("encryptionConfig") or {}
        # Before the key exists (a first preview) its ARN is unknown; the dependency on a KMS key still shows.
        key = (encryption.get("provider") or {}).get("keyArn") or any(
            dep.type == "aws:kms/key:Key" for dep in graph.referenced(cluster, "encryptionConfig")
        )
        if "secrets" not in (encryption.get("resources") or []) or not key:
            yield Violation(
                "eks-secrets-encrypted-in-prod",
                cluster.urn,
                "a prod cluster envelope-encrypts Secrets with a KMS key (encryption_config with "
                "resources=['secrets']; nexus:cluster.secretsEncryption)",
            )


def _imdsv2_required(graph: Graph) -> Iterator[Violation]:
    for template in graph.by_type("aws:ec2/launchTemplate:LaunchTemplate"):
        metadata = template.inputs.get("metadataOptions") or {}
        hops = as_int(metadata.get("httpPutResponseHopLimit"))
        tokens = metadata.get("httpTokens")
        if tokens != "required" or hops != 1:
            yield Violation(
                "imdsv2-required",
                template.urn,
                "launch templates require IMDSv2 tokens with a hop limit of 1 (metadata_options "
                "http_tokens='required', http_put_response_hop_limit=1), so pods cannot read node "
                f"credentials; got httpTokens={tokens!r}, hop limit {hops}",
            )


def _node_groups_auto_named(graph: Graph) -> Iterator[Violation]:
    for group in graph.by_type(EKS_NODE_GROUP):
        # In state (what the policy pack sees) an auto-named group also has its generated name; the prefix,
        # which the provider refuses next to a fixed name, tells the two apart.
        if group.inputs.get("nodeGroupName") and not group.inputs.get("nodeGroupNamePrefix"):
            yield Violation(
                "node-groups-auto-named",
                group.urn,
                f"fixed node group name {group.inputs['nodeGroupName']!r}: a change that replaces the group "
                "(instance types, capacity type, subnets) fails on the name; use node_group_name_prefix",
            )


EKS_ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
EKS_CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _eks_access_entries_only(graph: Graph) -> Iterator[Violation]:
    # pulumi_aws eks/_inputs.py ClusterAccessConfigArgs: bootstrap_cluster_creator_admin_permissions "Default
    # is `true`". EKS then creates an access entry for the creating principal itself (EKS user guide,
    # "Bootstrap cluster administrator access"), and an AccessEntry of the program for that principal fails
    # with ResourceInUseException (409). Our model: off, and every admin is an access entry of the program.
    for cluster in graph.by_type(EKS_CLUSTER):
        access = cluster.inputs.get("accessConfig") or {}
        if access.get("bootstrapClusterCreatorAdminPermissions") is not False:
            yield Violation(
                "eks-access-entries-only",
                cluster.urn,
                "creator admin permissions are on (the provider's default): EKS adds an access entry for the "
                "creator, so an access entry for the same role fails with 409; set "
                "bootstrap_cluster_creator_admin_permissions=False and list every admin, the deploy role "
                "too, in nexus:cluster.adminRoleArns",
            )
        admins = [
            association
            for association in graph.by_type(EKS_ACCESS_POLICY_ASSOCIATION)
            if association.inputs.get("policyArn") == EKS_CLUSTER_ADMIN_POLICY
            and cluster in graph.referenced(association, "clusterName")
        ]
        if not admins:
            yield Violation(
                "eks-access-entries-only",
                cluster.urn,
                "no access entry grants cluster admin, so no one could reach the Kubernetes API; list the "
                "deploy role in nexus:cluster.adminRoleArns",
            )


# Creation order on the cluster: see policy.core.waits_for for what the engine waits for, and its source.


def _target_clusters(graph: Graph, resource: PolicyResource) -> list[PolicyResource]:
    clusters = graph.by_type(EKS_CLUSTER)
    if resource.type.startswith("aws:eks/"):
        by_reference = [c for c in graph.referenced(resource, "clusterName") if c.type == EKS_CLUSTER]
        if by_reference:
            return by_reference
        name = resource.inputs.get("clusterName")
        by_name = [c for c in clusters if name is not None and c.inputs.get("name") == name]
        if by_name:
            return by_name
    return clusters if len(clusters) == 1 else []


def _is_kubernetes(resource: PolicyResource) -> bool:
    return resource.type == K8S_PROVIDER or resource.type.startswith("kubernetes:")


def _eks_after_cluster(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        on_cluster = resource.type.startswith("aws:eks/") and resource.type != EKS_CLUSTER
        if not (on_cluster or _is_kubernetes(resource)):
            continue
        clusters = _target_clusters(graph, resource)
        if not clusters:
            continue  # no cluster in the stack (or several, and no way to tell which): nothing to order
        if not {cluster.urn for cluster in clusters} & waits_for(graph, resource):
            yield Violation(
                "eks-resources-wait-for-cluster",
                resource.urn,
                f"does not wait for the EKS cluster {clusters[0].name} (no dependency, input Output, "
                "parent or provider leads to it): it would be created while the cluster is still CREATING, "
                "or before it exists; take the cluster name from the cluster's output or depend on it",
            )


COMPUTE_RULES: list[PolicyRule] = [
    PolicyRule(
        "eks-endpoint-private",
        "EKS clusters keep the private endpoint on and never open the public one to 0.0.0.0/0 or ::/0.",
        _eks_endpoint_not_world,
    ),
    PolicyRule(
        "eks-secrets-encrypted-in-prod",
        "Prod EKS clusters envelope-encrypt Kubernetes Secrets with a KMS key.",
        _eks_secrets_encrypted_in_prod,
    ),
    PolicyRule(
        "imdsv2-required",
        "Launch templates require IMDSv2 with a hop limit of 1.",
        _imdsv2_required,
    ),
    PolicyRule(
        "node-groups-auto-named",
        "EKS node groups are auto-named (prefix), so a replacement never collides with the old group's name.",
        _node_groups_auto_named,
    ),
    PolicyRule(
        "eks-access-entries-only",
        "EKS clusters are created without creator admin permissions, and at least one access entry of the "
        "program grants cluster admin (one access model, no duplicate entry for the creator).",
        _eks_access_entries_only,
    ),
    PolicyRule(
        "eks-resources-wait-for-cluster",
        "Every aws:eks/* resource on a cluster and every Kubernetes resource (and provider) waits, "
        "transitively through dependencies, parents and providers, for the EKS cluster.",
        _eks_after_cluster,
    ),
]


# --- cluster branch rules (issue 14): each names its source ------------------------------------------------


def _versions_follow_the_cluster(graph: Graph) -> Iterator[Violation]:
    # pulumi-aws eks.NodeGroup `version`: "Defaults to EKS Cluster Kubernetes version. The provider will only
    # perform drift detection if a configuration value is provided" (node_group.py); an eks.Addon without
    # `addon_version` keeps the version EKS installed at creation. Either way a bump of the cluster's version
    # would upgrade the control plane alone. Design rule: node groups name the cluster's version, add-ons a
    # version (infra/eks/addons.py keeps the reviewed ones per minor).
    clusters = graph.by_type(EKS_CLUSTER)
    for group in graph.by_type(EKS_NODE_GROUP):
        owners = graph.referenced(group, "clusterName") or clusters
        expected = {str(cluster.inputs.get("version")) for cluster in owners}
        version = group.inputs.get("version")
        if version is None or str(version) not in expected:
            yield Violation(
                "eks-versions-follow-the-cluster",
                group.urn,
                f"node group version {version!r} is not its cluster's ({', '.join(sorted(expected))}); set "
                "version to the cluster's, or a version bump leaves the nodes behind",
            )
    for addon in graph.by_type(EKS_ADDON):
        if not addon.inputs.get("addonVersion") and not addon.property_dependencies.get("addonVersion"):
            yield Violation(
                "eks-versions-follow-the-cluster",
                addon.urn,
                f"add-on {addon.inputs.get('addonName')} has no addonVersion: it keeps what EKS installed at "
                "creation through every version bump; pin it per minor (infra/eks/addons.py)",
            )


COMPUTE_RULES += [
    PolicyRule(
        "eks-versions-follow-the-cluster",
        "Every EKS node group sets its cluster's Kubernetes version and every add-on a version, so that a "
        "version bump upgrades them with the control plane.",
        _versions_follow_the_cluster,
    ),
]


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"


def _chart_crds_managed(graph: Graph) -> Iterator[Violation]:
    # Helm installs a chart's crds/ once and never upgrades them ("There is no support at this time for
    # upgrading or deleting CRDs using Helm", helm.sh chart best practices, Custom Resource Definitions). The
    # load balancer controller's release must leave its CRDs to a ConfigFile pinned to the chart's own
    # version, which it waits for. The chart -> CRD source table is infra/k8s/charts.py (pure).
    for release in graph.by_type(HELM_RELEASE):
        if release.inputs.get("chart") != LB_CONTROLLER_CHART:
            continue
        version = str(release.inputs.get("version"))
        problems = []
        if release.inputs.get("skipCrds") is not True:
            problems.append("skipCrds is not set, so Helm owns the CRDs and never upgrades them")
        try:
            expected: str | None = lb_controller_crds_url(version)
        except KeyError as exc:
            problems.append(str(exc.args[0]))
            expected = None
        crd_files = [
            dep
            for dep in map(graph.get, release.dependencies)
            if dep is not None and dep.type == K8S_CONFIG_FILE
        ]
        if expected is not None and not any(dep.inputs.get("file") == expected for dep in crd_files):
            found = ", ".join(str(dep.inputs.get("file")) for dep in crd_files) or "none"
            problems.append(f"it does not wait for a ConfigFile of {expected} (its CRD files: {found})")
        if problems:
            yield Violation("chart-crds-managed", release.urn, f"chart {version}: " + "; ".join(problems))


COMPUTE_RULES += [
    PolicyRule(
        "chart-crds-managed",
        "The load balancer controller's helm release skips its CRDs and waits for a ConfigFile of the CRDs "
        "at the chart's own version (Helm never upgrades CRDs).",
        _chart_crds_managed,
    ),
]


CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler"


def _node_groups_one_zone_each(graph: Graph) -> Iterator[Violation]:
    # "Cluster autoscaler does not support Auto Scaling Groups which span multiple Availability Zones; instead
    # you should use an Auto Scaling Group for each Availability Zone and enable the
    # --balance-similar-node-groups feature" (kubernetes/autoscaler, cluster-autoscaler/cloudprovider/aws/
    # README.md, Common Notes and Gotchas). A multi-AZ group leaves pods of a DoNotSchedule zone spread
    # Pending: the autoscaler cannot choose the zone of the node it adds.
    groups = graph.by_type(EKS_NODE_GROUP)
    for group in groups:
        subnets = group.inputs.get("subnetIds")
        count = len(subnets) if isinstance(subnets, list) else 0
        if count != 1:
            yield Violation(
                "node-groups-one-zone-each",
                group.urn,
                f"the node group spans {count} subnets; give each AZ its own node group (one subnet each) so "
                "that the Cluster Autoscaler can add nodes in the zone a pending pod needs",
            )
    if not groups:
        return
    for release in graph.by_type(HELM_RELEASE):
        if release.inputs.get("chart") != CLUSTER_AUTOSCALER_CHART:
            continue
        values = release.inputs.get("values")
        extra = values.get("extraArgs") if isinstance(values, dict) else None
        if not isinstance(extra, dict) or extra.get("balance-similar-node-groups") is not True:
            yield Violation(
                "node-groups-one-zone-each",
                release.urn,
                "the Cluster Autoscaler runs without --balance-similar-node-groups: it would grow one zone's "
                "node group and leave the others, against the zone spread",
            )


COMPUTE_RULES += [
    PolicyRule(
        "node-groups-one-zone-each",
        "Every EKS managed node group lives in one AZ (one subnet), and the Cluster Autoscaler balances "
        "similar node groups (its AWS README: one Auto Scaling Group per AZ, --balance-similar-node-groups).",
        _node_groups_one_zone_each,
    ),
]
