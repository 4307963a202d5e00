"""Composition of the compute tier: the EKS cluster, its controllers, and the ALB in front of the API.

Kept out of ``stacks/program.py`` so that the program stays a short list of components: this module turns
``nexus:cluster`` and ``nexus:alb`` into the components' plain args and wires in the network's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.alarms import AlarmTarget
from infra.alb import ApiLoadBalancer, ApiLoadBalancerArgs
from infra.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from infra.cluster import EksCluster, EksClusterArgs, NodeGroupSpec, NodeTaintSpec
from infra.iam_policies import ALB_ACCESS_LOG_PREFIX
from infra.lb_controller import LoadBalancerController, LoadBalancerControllerArgs
from infra.network import Network
from stacks.config.cluster import NodeGroupConfig
from stacks.config.model import StackConfig


def cluster_name(config: StackConfig) -> str:
    """The EKS cluster's physical name (the network tags its subnets with it)."""
    return f"{config.name_prefix}-eks"


@dataclass(frozen=True, slots=True)
class Compute:
    """The cluster, its controllers and the load balancer."""

    cluster: EksCluster
    autoscaler: ClusterAutoscaler
    lb_controller: LoadBalancerController
    alb: ApiLoadBalancer

    @property
    def workloads_ready(self) -> list[pulumi.Resource]:
        """What the workloads must wait for: nodes, add-ons (Pod Identity agent, coredns) and the controller
        that serves the TargetGroupBinding CRD and the readiness-gate webhook."""
        return [*self.cluster.ready, self.lb_controller.release]


def node_group_spec(group: NodeGroupConfig) -> NodeGroupSpec:
    """A validated node group as the cluster component's plain spec."""
    return NodeGroupSpec(
        instance_types=tuple(group.instance_types),
        capacity_type=group.capacity_type,
        min_size=group.min_size,
        desired_size=group.desired_size,
        max_size=group.max_size,
        disk_gib=group.disk_gib,
        labels=dict(group.labels),
        taints=tuple(NodeTaintSpec(key=t.key, value=t.value, effect=t.effect) for t in group.taints),
    )


def eks_cluster_args(
    config: StackConfig, network: Network, log_kms_key_arn: pulumi.Input[str] | None = None
) -> EksClusterArgs:
    """The EksCluster's inputs: nexus:cluster plus the network's outputs."""
    cluster = config.cluster
    return EksClusterArgs(
        cluster_name=cluster_name(config),
        version=cluster.version,
        region=config.region,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        node_subnet_ids=list(network.private_subnet_ids_by_az),
        workload_security_group_id=network.workload_security_group_id,
        admin_role_arns=tuple(cluster.admin_role_arns),
        public_access_cidrs=tuple(cluster.public_access_cidrs),
        api_access_security_group_ids=tuple(cluster.api_access.source_security_group_ids),
        api_access_cidrs=tuple(cluster.api_access.cidrs),
        log_types=tuple(cluster.log_types),
        log_retention_days=cluster.log_retention_days,
        secrets_encryption=cluster.secrets_encryption,
        node_groups={name: node_group_spec(group) for name, group in cluster.node_groups.items()},
        addon_versions={str(addon): version for addon, version in cluster.addon_versions.items()},
        is_prod=config.is_prod,
        log_kms_key_arn=log_kms_key_arn,
    )


def build_compute(
    config: StackConfig,
    network: Network,
    *,
    opts: pulumi.ResourceOptions,
    access_logs_bucket: pulumi.Input[str] | None = None,
    access_logs_prefix: str = ALB_ACCESS_LOG_PREFIX,
    alb_depends_on: Sequence[pulumi.Resource] = (),
    alarms: AlarmTarget | None = None,
    log_kms_key_arn: pulumi.Input[str] | None = None,
) -> Compute:
    """Build the cluster, the Cluster Autoscaler, the Load Balancer Controller and the ALB.

    ``opts`` carries the explicit AWS provider; the helm releases use the cluster's own Kubernetes provider.
    """
    prefix = config.name_prefix
    cluster = EksCluster(f"{prefix}-cluster", eks_cluster_args(config, network, log_kms_key_arn), opts=opts)
    name = cluster_name(config)
    # The controllers know the cluster by its name from config (a plain string, which orders nothing): their
    # Pod Identity associations would be created while the cluster is still CREATING. As their parent's
    # dependency, the cluster comes before every child (policy rule eks-resources-wait-for-cluster).
    on_cluster = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[cluster.control_plane])
    )
    autoscaler = ClusterAutoscaler(
        f"{prefix}-autoscaler",
        ClusterAutoscalerArgs(
            cluster_name=name,
            region=config.region,
            account_id=cluster.account_id,
            chart_version=config.cluster.autoscaler.chart_version,
            image_tag=config.cluster.autoscaler.image_tag,
            cpu_m=config.cluster.autoscaler.cpu,
            memory_mib=config.cluster.autoscaler.memory_mib,
            k8s_provider=cluster.k8s_provider,
            depends_on=cluster.ready,
        ),
        opts=on_cluster,
    )
    lbc = config.cluster.load_balancer_controller
    lb_controller = LoadBalancerController(
        f"{prefix}-lb-controller",
        LoadBalancerControllerArgs(
            cluster_name=name,
            region=config.region,
            vpc_id=network.vpc_id,
            chart_version=lbc.chart_version,
            replicas=lbc.replicas,
            cpu_m=lbc.cpu,
            memory_mib=lbc.memory_mib,
            k8s_provider=cluster.k8s_provider,
            depends_on=cluster.ready,
        ),
        opts=on_cluster,
    )
    alb_config = config.alb
    alb = ApiLoadBalancer(
        f"{prefix}-alb",
        ApiLoadBalancerArgs(
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            workload_security_group_id=network.workload_security_group_id,
            allowed_cidrs=tuple(alb_config.allowed_cidrs),
            certificate_arn=alb_config.certificate_arn,
            target_port=alb_config.target_port,
            deregistration_delay_seconds=alb_config.deregistration_delay_seconds,
            idle_timeout=alb_config.idle_timeout,
            access_logs_bucket=access_logs_bucket if alb_config.access_logs else None,
            access_logs_prefix=access_logs_prefix,
            is_prod=config.is_prod,
            depends_on=tuple(alb_depends_on),
            alarms=alarms,
        ),
        opts=opts,
    )
    return Compute(cluster=cluster, autoscaler=autoscaler, lb_controller=lb_controller, alb=alb)


def export_compute(compute: Compute, domain_name: str | None = None) -> None:
    """The stack outputs a user of the compute tier needs (the kubeconfig only as a secret).

    With ``nexus:alb.domainName`` the url is that name over HTTPS (the certificate's name, a DNS record of
    the adopter's points it at ``albDnsName``); without it, the ALB's own name over HTTP (dev).
    """
    pulumi.export("clusterName", compute.cluster.cluster_name)
    pulumi.export("kubeconfig", compute.cluster.kubeconfig)
    pulumi.export("url", f"https://{domain_name}" if domain_name is not None else compute.alb.url)
    pulumi.export("albDnsName", compute.alb.dns_name)
    pulumi.export("nodeGroups", compute.cluster.node_group_names)
