"""The Cluster Autoscaler: adds nodes when pods are Pending for lack of room, removes idle ones.

Installed with the upstream helm chart (``kubernetes.helm.v3.Release``: a real resource whose inputs, chart
version and values included, are recorded and diffed; a ``helm.v4.Chart`` would be one opaque component
offline). Auto-discovery by cluster name: it manages every auto scaling group tagged
``k8s.io/cluster-autoscaler/enabled`` and ``k8s.io/cluster-autoscaler/<cluster>`` (EKS tags the managed node
groups' groups so). Its AWS credentials come from EKS Pod Identity; the pod cannot use the node's role because
IMDS is closed to pods (hop limit 1), which is also why the region is passed explicitly.

IAM: read-only calls on ``*`` (Describe* has no resource-level permissions), and the two calls that change
capacity only on groups tagged as owned by this cluster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi

from infra._helpers import chart_release
from infra.cluster import pod_identity_role
from infra.k8s.manifests import Resources

NAMESPACE: Final = "kube-system"
SERVICE_ACCOUNT: Final = "cluster-autoscaler"
CHART_REPO: Final = "https://kubernetes.github.io/autoscaler"
IMAGE: Final = "registry.k8s.io/autoscaling/cluster-autoscaler"


def autoscaler_policy(cluster_name: str, region: str, account_id: str) -> dict[str, Any]:
    """IAM policy of the Cluster Autoscaler, limited to this cluster's node groups for every write."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                # Labels and taints of a group scaled to zero come from the EKS API.
                "Sid": "DescribeOwnNodeGroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:aws:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
            },
            {
                "Sid": "ScaleOwnNodeGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                },
            },
        ],
    }


def autoscaler_values(
    cluster_name: str, region: str, image_tag: str, cpu_m: int, memory_mib: int
) -> dict[str, Any]:
    """Helm values of the cluster-autoscaler chart."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "fullnameOverride": SERVICE_ACCOUNT,
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        "image": {"repository": IMAGE, "tag": image_tag},
        "replicaCount": 1,
        "priorityClassName": "system-cluster-critical",
        "resources": Resources(cpu_m, memory_mib).to_json(),
        "extraArgs": {
            # Spread scale-ups over same-shaped groups (e.g. one per AZ) and pick the group that wastes least.
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            # kube-system pods are all replicated or DaemonSets here: do not let them pin idle nodes.
            "skip-nodes-with-system-pods": False,
            "scale-down-unneeded-time": "10m",
        },
        "podDisruptionBudget": {"maxUnavailable": 1},
    }


@dataclass(frozen=True, kw_only=True)
class ClusterAutoscalerArgs:
    """Inputs of the ClusterAutoscaler."""

    cluster_name: str
    """The EKS cluster's name (auto-discovery and the IAM condition key)."""
    region: str
    """AWS region (the pod cannot read it from IMDS)."""
    account_id: pulumi.Input[str]
    """AWS account id (for the node group ARNs in the policy)."""
    chart_version: str
    """Pinned chart version."""
    image_tag: str
    """Pinned image tag (its minor matches the cluster's)."""
    cpu_m: int
    """CPU request, millicores."""
    memory_mib: int
    """Memory request and limit, MiB."""
    k8s_provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist first: the node groups and the Pod Identity agent."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """Cluster Autoscaler with its own Pod Identity role."""

    role_arn: pulumi.Output[str]
    release_status: pulumi.Output[Any]

    def __init__(
        self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:autoscaler:ClusterAutoscaler", name, None, opts)
        policy = pulumi.Output.from_input(args.account_id).apply(
            lambda account: json.dumps(
                autoscaler_policy(args.cluster_name, args.region, account), sort_keys=True
            )
        )
        role, association = pod_identity_role(
            name,
            self,
            cluster_name=args.cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy_json=policy,
            description=f"Cluster Autoscaler of {args.cluster_name}",
        )
        release = chart_release(
            name,
            self,
            chart="cluster-autoscaler",
            version=args.chart_version,
            repo=CHART_REPO,
            namespace=NAMESPACE,
            values=autoscaler_values(
                args.cluster_name, args.region, args.image_tag, args.cpu_m, args.memory_mib
            ),
            provider=args.k8s_provider,
            depends_on=[association, *args.depends_on],
        )
        self.role_arn = role.arn
        self.release_status = release.status
        self.register_outputs({"roleArn": self.role_arn, "releaseStatus": self.release_status})
