"""Pod logs to CloudWatch: the EKS ``amazon-cloudwatch-observability`` add-on (Fluent Bit + CloudWatch agent).

The add-on runs Fluent Bit on every node and ships container logs to
``/aws/containerinsights/<cluster>/application`` (and node logs to ``dataplane`` and ``host``, metrics events
to ``performance``): CloudWatch user guide, Container-Insights-setup-EKS-addon.html and
Container-Insights-setup-logs-FluentBit.html. Fluent Bit would create those groups without retention, so
they are created here first, with the stack's retention and key.

Permissions: from add-on version 3.1.0 the add-on accepts EKS Pod Identity (same page: "If you use version
3.1.0 or later of the add-on, you can use EKS Pod Identity"), for the ``cloudwatch-agent`` service account in
the ``amazon-cloudwatch`` namespace, with AWS's CloudWatchAgentServerPolicy (EKS user guide,
amazon-cloudwatch-observability.html). Version: EKS's default for the cluster's minor, asked with
``eks.getAddonVersion(most_recent=False)`` as for the Pod Identity agent (infra/eks/addons.py: add-ons
without a per-minor table); every default of a supported minor (1.32+) is past 3.1.0. A pin wins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws

from infra.cluster import pod_identity_trust_policy

ADDON: Final = "amazon-cloudwatch-observability"
NAMESPACE: Final = "amazon-cloudwatch"
SERVICE_ACCOUNT: Final = "cloudwatch-agent"
AGENT_POLICY: Final = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
LOG_GROUPS: Final = ("application", "dataplane", "host", "performance")


def log_group_name(cluster_name: str, kind: str) -> str:
    """A Container Insights log group of the cluster."""
    return f"/aws/containerinsights/{cluster_name}/{kind}"


@dataclass(frozen=True, kw_only=True)
class PodLogsArgs:
    """Inputs of PodLogs."""

    cluster_name: str
    """The cluster (its name from config: the log group names derive from it)."""
    kubernetes_version: str
    """The cluster's minor, for the add-on's default version."""
    addon_version: str | None = None
    """A pinned add-on version (vX.Y.Z-eksbuild.N); None: EKS's default for the minor."""
    retention_days: int
    """Retention of the Container Insights log groups."""
    kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of those log groups."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the add-on waits for (nodes: its DaemonSets need somewhere to run; the Pod Identity agent)."""


class PodLogs(pulumi.ComponentResource):
    """The add-on, its Pod Identity role and its log groups."""

    application_log_group: pulumi.Output[str]
    """Where the pods' stdout/stderr land."""

    def __init__(self, name: str, args: PodLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:cluster:PodLogs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-{kind}",
                name=log_group_name(args.cluster_name, kind),
                retention_in_days=args.retention_days,
                kms_key_id=args.kms_key_arn,
                opts=child,
            )
            for kind in LOG_GROUPS
        ]
        role = aws.iam.Role(
            f"{name}-role",
            description=f"{args.cluster_name}: the CloudWatch agent and Fluent Bit (Pod Identity)",
            assume_role_policy=json.dumps(
                pod_identity_trust_policy(args.cluster_name, NAMESPACE, SERVICE_ACCOUNT), sort_keys=True
            ),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-agent-policy", role=role.name, policy_arn=AGENT_POLICY, opts=child
        )
        version: pulumi.Input[str] = (
            args.addon_version
            if args.addon_version is not None
            else aws.eks.get_addon_version_output(
                addon_name=ADDON,
                kubernetes_version=args.kubernetes_version,
                most_recent=False,
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).version
        )
        aws.eks.Addon(
            f"{name}-addon",
            cluster_name=args.cluster_name,
            addon_name=ADDON,
            addon_version=version,
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=SERVICE_ACCOUNT)
            ],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *groups, attachment]),
        )
        self.application_log_group = groups[0].name
        self.register_outputs({"applicationLogGroup": self.application_log_group})
