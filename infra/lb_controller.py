"""The AWS Load Balancer Controller, used only to keep the API pods' IPs registered in the Pulumi-owned ALB
target group (a ``TargetGroupBinding``), with pod readiness gates.

The ALB, its listeners, target group and security groups are Pulumi resources (infra/alb.py); the controller
creates no load balancer. Its Service mutating webhook is off (it would claim Services of type LoadBalancer)
and no IngressClass is created, and its IAM policy (``infra/policies/aws-load-balancer-controller.json``,
golden-tested) allows only read calls plus Register/DeregisterTargets on target groups tagged
``nexus.io/target-group-binding=enabled``. The TargetGroupBinding has no ``networking`` section: the ALB ->
pods security group rule is Pulumi's too, so the controller needs no security-group permission at all.

Pod Identity supplies its credentials; region and VPC id are passed in because pods cannot reach IMDS.

CRDs: Helm installs a chart's CRDs once and never upgrades them, so a chart bump would run the new controller
against old CRDs. They are a ``yaml.v2.ConfigFile`` of their own, read from the controller's repository at the
chart's appVersion tag (``infra.k8s.charts``), created before the release; the release sets ``skip_crds``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from infra._helpers import chart_release
from infra.cluster import pod_identity_role
from infra.k8s.charts import LB_CONTROLLER_CHART, lb_controller_crds_url
from infra.k8s.manifests import Resources

NAMESPACE: Final = "kube-system"
SERVICE_ACCOUNT: Final = "aws-load-balancer-controller"
CHART_REPO: Final = "https://aws.github.io/eks-charts"
POLICY_FILE: Final = Path(__file__).parent / "policies" / "aws-load-balancer-controller.json"
BINDING_TAG: Final = {"nexus.io/target-group-binding": "enabled"}
"""Tag a target group must carry for the controller to (de)register targets in it."""


def controller_policy() -> dict[str, Any]:
    """The controller's IAM policy, as kept in the repository."""
    document: dict[str, Any] = json.loads(POLICY_FILE.read_text())
    return document


def controller_values(
    cluster_name: str, region: str, vpc_id: str, replicas: int, cpu_m: int, memory_mib: int
) -> dict[str, Any]:
    """Helm values of the aws-load-balancer-controller chart."""
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": replicas,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        # TargetGroupBinding only: no Service takeover, no IngressClass.
        "enableServiceMutatorWebhook": False,
        "createIngressClassResource": False,
        "resources": Resources(cpu_m, memory_mib).to_json(),
        "podDisruptionBudget": {"maxUnavailable": 1},
        "priorityClassName": "system-cluster-critical",
    }


@dataclass(frozen=True, kw_only=True)
class LoadBalancerControllerArgs:
    """Inputs of the LoadBalancerController."""

    cluster_name: str
    """The EKS cluster's name."""
    region: str
    """AWS region."""
    vpc_id: pulumi.Input[str]
    """The VPC (the controller cannot discover it through IMDS)."""
    chart_version: str
    """Pinned chart version."""
    replicas: int
    """Controller replicas."""
    cpu_m: int
    """CPU request per replica, millicores."""
    memory_mib: int
    """Memory request and limit per replica, MiB."""
    k8s_provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist first: the node groups and the Pod Identity agent."""


class LoadBalancerController(pulumi.ComponentResource):
    """AWS Load Balancer Controller (helm) with its Pod Identity role."""

    role_arn: pulumi.Output[str]
    release: k8s.helm.v3.Release
    crds: k8s.yaml.v2.ConfigFile

    def __init__(
        self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:lbcontroller:LoadBalancerController", name, None, opts)
        role, association = pod_identity_role(
            name,
            self,
            cluster_name=args.cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy_json=json.dumps(controller_policy(), sort_keys=True),
            description=f"AWS Load Balancer Controller of {args.cluster_name} (TargetGroupBinding only)",
        )
        values = pulumi.Output.from_input(args.vpc_id).apply(
            lambda vpc: controller_values(
                args.cluster_name, args.region, vpc, args.replicas, args.cpu_m, args.memory_mib
            )
        )
        # The chart's CRDs at its own version, managed by Pulumi (Helm would install them once, then never
        # upgrade them); a chart bump changes the URL and so updates the CRDs before the controller.
        self.crds = k8s.yaml.v2.ConfigFile(
            f"{name}-crds",
            file=lb_controller_crds_url(args.chart_version),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.k8s_provider, depends_on=list(args.depends_on)
            ),
        )
        # The pod webhook comes with this release (the TargetGroupBinding CRD with the one above): workloads
        # depend on both.
        self.release = chart_release(
            name,
            self,
            chart=LB_CONTROLLER_CHART,
            version=args.chart_version,
            repo=CHART_REPO,
            namespace=NAMESPACE,
            values=values,
            provider=args.k8s_provider,
            depends_on=[association, self.crds, *args.depends_on],
            skip_crds=True,
        )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn})
